"""Guanxi: ties among firms on a networkx graph.

Luo (2024): guanxi is "a close and universal interpersonal relationship built on
high-quality social interactions and mutual benefits" that gives access to
knowledge, information and policy support and strengthens social-media-enabled CRM.
The seed adds that ties must be evaluated for equal benefit and severed when no
longer mutually beneficial. Here:

* **Search** (every ``search_interval`` days): a firm with room for a partner scores
  the others by similarity (shared markets, similar performance), success
  (performance), reputation and introduction (a shared partner, weighted by that
  partner's trust in the candidate), and picks one with probability proportional to
  exp(score).
* **Formation**: both sides must expect a positive net benefit (cross-promotion,
  knowledge, policy support, referrals, minus upkeep) and trust each other at least
  ``min_trust``.
* **Exchange** (daily): the benefits each side actually received are computed by the
  model's user phases (cross-promotion impressions valued at the market's ad price,
  referral margin, knowledge spill-over valued per CRM point, avoided filtering
  valued per post) and booked on the edge: ``benefit`` received and ``favours``
  given, both ways. Reciprocated favours strengthen the tie and raise the pair's
  trust; a one-sided day lowers the trust; every tie decays.
* **Evaluation** (every ``evaluation_window`` days of a tie's life): each side
  totals what the tie brought it in the window minus upkeep; the tie is severed when
  the exchange is too one-sided (the side that gave less is blamed as a free rider
  in proportion to its shortfall of effort) or either side's net benefit is negative.

**Memory: trust and reputation.** Luo (2024) and the seed say what a tie is for
and when to cut it, but not what happens after. The guanxi literature
(``../shared/research.md``: ganqing, renqing and xinren; the seed's "be cautious
when choosing these businesses") describes ties governed by the norm of reciprocity
(renqing: a favour received is a debt), by trust (xinren) built up through
reciprocated exchange, and by face (mianzi): a firm that takes without returning
loses standing not only with the partner it let down but in the network that hears
of it, and introductions through a trusted third party (a shared partner) carry that
party's trust. No published numbers exist for these; every rate below is an
**assumption** chosen for the behaviour it gives:

* *Free riding is judged by effort, not by value.* The value of a favour depends on
  the giver's audience and customers (a small firm's cross-promotion is worth less
  than a large one's), so between honest firms of different sizes the exchange is
  lopsided in value. Renqing asks a firm to return favours according to its means:
  what a partner sees is whether its posts are shared and its customers referred,
  i.e. the giver's ``reciprocity`` (the share of the favours it could do that it
  does). The side that gave less in value carries a *shortfall* = 1 - its
  reciprocity / its partner's (0 between two honest firms, 1 for a free rider with
  reciprocity 0). **Assumption.**
* *Pair trust* ``T`` (F x F, symmetric, 0-1, starts at ``initial_trust``, 0.5, a
  neutral prior). Each day of a tie: ``T += trust_gain x balance x (1 - T)``, balance =
  the smaller / the larger of the day's favours (value); on a day where one side gives
  much less (imbalance > ``max_imbalance``) also ``T -= trust_gain x shortfall x T``.
  Every pair, tied or not, recovers ``trust_recovery`` of its gap to
  ``initial_trust`` a day.
* *Severance*: a tie cut as one-sided marks the side that gave less in the window as
  the free rider, in proportion to its shortfall: ``T x= 1 - max(parting_penalty,
  betrayal_penalty x shortfall)`` (multiplicative, so trust stays in 0-1 and a pair
  betrayed twice ends lower still) and the free rider's reputation falls by
  ``reputation_loss x shortfall`` (floored at 0). A tie cut without a free rider (not
  mutually beneficial, one-sided between honest firms, or no exchange) costs ``T x=
  1 - parting_penalty``.
* *Reputation* ``R`` (F, 0-1, starts at ``initial_reputation``) recovers
  ``reputation_recovery`` of its gap a day; partner search adds
  ``reputation_weight x R[candidate]`` to the score.
* *Formation* needs ``T[a, b] >= min_trust`` (0.4) on top of the benefit test and the
  ``reform_cooldown``. With the defaults a free rider's pair trust falls to about 0.5
  x 0.98^30 x 0.2 = 0.06 when it is cut after one window, and takes about
  ln(0.44 / 0.1) / 0.002 = 740 days (two years) to climb back to 0.4: the partner it
  let down does not take it back within the scenario's year, while honest partners
  that parted (x 0.7, to 0.35) tie again once trust has recovered to 0.4, about 200
  days later: a tie that did not pay is remembered too.
* *Introductions*: a candidate sharing partners with the searcher scores
  ``introduction_weight x max over shared partners p of T[p, candidate]``; a tie formed
  with an introduced candidate starts the pair's trust at least at that introducer's
  trust.

Node and edge keys are firm indices; edge data carry both directions keyed by index.
Ties are formed and severed only here (:meth:`GuanxiNetwork.form`,
:meth:`GuanxiNetwork.sever`), which lets the graph-wide measures that depend on the
ties alone (density, clustering, degree centrality) be computed once per change of
ties rather than every day.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np

from sim.model.benefits import expected_benefit
from sim.model.firms import clip_unit

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from sim.model.firms import Firm
    from sim.model.ledger import Ledger
    from sim.model.model import MarketModel


def edges_with_data(graph: nx.Graph) -> Iterator[tuple[int, int, dict]]:
    """``graph.edges(data=True)``, in its order, read from the adjacency dicts (the
    networkx view costs about 2 us an edge; the model reads the ties a few times a day)."""
    seen = set()
    for a, neighbours in graph._adj.items():
        for b, data in neighbours.items():
            if b not in seen:
                yield a, b, data
        seen.add(a)


@dataclass
class TieEvent:
    step: int
    firm_a: str
    firm_b: str
    event: str  # "formed" or "severed"
    reason: str = ""


@dataclass
class GuanxiNetwork:
    model: MarketModel
    graph: nx.Graph = field(default_factory=nx.Graph)
    events: list[TieEvent] = field(default_factory=list)
    severed_at: dict[frozenset, int] = field(default_factory=dict)
    formed_today: int = 0
    severed_today: int = 0
    # Pair trust (F x F, symmetric) and firm reputation (F,), both 0-1 (set from the spec).
    trust_matrix: np.ndarray = field(init=False, repr=False)
    reputations: np.ndarray = field(init=False, repr=False)
    # Changes of ties so far, and the measures of the ties at a given count of changes.
    ties_version: int = field(default=0, init=False, repr=False)
    _measures: tuple[int, TieMeasures] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        for firm in self.model.firms:
            self.graph.add_node(firm.index, name=firm.name)
        spec = self.model.spec.guanxi
        n = self.model.n_firms
        self.trust_matrix = np.full((n, n), spec.initial_trust)
        self.reputations = np.full(n, spec.initial_reputation)
        self.form_chosen_partners()

    def form_chosen_partners(self) -> None:
        """Day 0: each firm's chosen local partner (``local_partner``) is tied to it,
        without a search and without a draw (so a scenario without one runs exactly
        as before); with guanxi off there are no ties."""
        if not self.model.spec.guanxi.enabled:
            return
        by_name = {firm.name: firm for firm in self.model.firms}
        for spec in self.model.spec.firms:
            if spec.local_partner:
                firm, partner = by_name[spec.name], by_name[spec.local_partner]
                if not self.graph.has_edge(firm.index, partner.index):
                    self.form(firm, partner)

    # ------------------------------------------------------------------ queries
    def partners(self, firm: int) -> list[int]:
        return sorted(self.graph.neighbors(firm))

    def degree(self, firm: int) -> int:
        """The firm's ties (the graph has no self-loops: its degree is its neighbours)."""
        return len(self.graph._adj[firm])

    def trust(self, a: int, b: int) -> float:
        """Trust between firms a and b (indices), 0-1."""
        return float(self.trust_matrix[a, b])

    def reputation(self, firm: int) -> float:
        """The firm's reputation among firms, 0-1."""
        return float(self.reputations[firm])

    def level(self, firm: int) -> float:
        """Guanxi level: the sum of the firm's tie strengths, capped at 1."""
        return min(1.0, sum([data["strength"] for data in self.graph._adj[firm].values()]))

    def directed_ties(self) -> list[tuple[int, int, float]]:
        """(giver, receiver, strength x giver's reciprocity) for both directions of each tie."""
        firms = self.model.firm_by_index
        ties = []
        for a, b, data in edges_with_data(self.graph):
            ties.append((a, b, data["strength"] * firms[a].reciprocity))
            ties.append((b, a, data["strength"] * firms[b].reciprocity))
        return ties

    def strength_matrix(self) -> np.ndarray:
        """(F, F) symmetric tie strengths (0 where no tie)."""
        n = self.model.n_firms
        matrix = np.zeros((n, n))
        for a, b, data in edges_with_data(self.graph):
            matrix[a, b] = matrix[b, a] = data["strength"]
        return matrix

    # ------------------------------------------------------------------ search
    def search_partner(self, firm: Firm) -> None:
        """One partner search by ``firm``; forms a tie if both expect to gain."""
        spec = self.model.spec.guanxi
        if self.degree(firm.index) >= spec.max_partners:
            return
        adjacency = self.graph._adj  # the dicts behind graph.adj (its views cost more)
        partners = adjacency[firm.index]
        trusted = self.trust_matrix[firm.index].tolist()
        # No tie severed yet: no pair is cooling down.
        severed = bool(self.severed_at)
        candidates = [
            other
            for other in self.model.firms
            if other is not firm
            and other.seeks_partners
            and other.index not in partners
            and len(adjacency[other.index]) < spec.max_partners
            and not (severed and self.cooling_down(firm.index, other.index))
        ]
        if not candidates:
            return
        scores = self.attractiveness_scores(firm, candidates)
        weights = np.exp(scores - scores.max())
        choice = candidates[self.model.rng.choice(len(candidates), p=weights / weights.sum())]
        if (
            trusted[choice.index] >= spec.min_trust
            and expected_benefit(self.model, firm, choice) > spec.upkeep_cost
            and expected_benefit(self.model, choice, firm) > spec.upkeep_cost
        ):
            self.form(
                firm, choice, introduced_trust=self.introducer_trust(firm.index, choice.index)
            )

    def cooling_down(self, a: int, b: int) -> bool:
        """Whether a and b severed a tie less than reform_cooldown days ago."""
        severed = self.severed_at.get(frozenset((a, b)))
        return (
            severed is not None
            and self.model.steps - severed < self.model.spec.guanxi.reform_cooldown
        )

    def introducer_trust(self, firm: int, candidate: int) -> float:
        """The most any shared partner of ``firm`` and ``candidate`` trusts the candidate
        (0 when they share no partner): what an introduction vouches for."""
        adjacency = self.graph.adj
        shared = adjacency[firm].keys() & adjacency[candidate].keys()
        return max((float(self.trust_matrix[p, candidate]) for p in shared), default=0.0)

    def attractiveness_scores(self, firm: Firm, others: Sequence[Firm]) -> np.ndarray:
        """Partner-search scores: similarity, success, reputation and introductions.

        similarity = 0.5 x shared / union of target markets + 0.5 x (1 - |performance
        gap|); a candidate is introduced when it shares a partner p with ``firm`` and
        then scores ``introduction_weight`` x the largest such p's trust in it. One
        score per candidate. A search scores a handful of firms over a few markets:
        plain Python numbers cost less here than numpy calls on tiny arrays (and the
        operations, hence the scores, are the same).
        """
        spec = self.model.spec.guanxi
        active = self.model.strategy.active.tolist()
        mine = active[firm.index]
        reputation = self.reputations.tolist()
        # Each firm's performance (Firm.performance), read once.
        performance = self.model.metrics.performance.tolist()
        own = performance[firm.index]
        # Sharing a partner with the firm = being a partner of one of its partners; an
        # introduction is worth the introducer's trust (the best introducer's).
        adjacency = self.graph._adj
        trust = self.trust_matrix
        introduced: dict[int, float] = {}
        for partner in adjacency[firm.index]:
            for peer in adjacency[partner]:
                vouched = float(trust[partner, peer])
                if vouched > introduced.get(peer, -1.0):
                    introduced[peer] = vouched
        scores = []
        for other in others:
            theirs = active[other.index]
            shared = sum(map(operator.and_, mine, theirs))
            union = sum(map(operator.or_, mine, theirs))
            theirs_performance = performance[other.index]
            similarity = 0.5 * shared / union + 0.5 * (1.0 - abs(own - theirs_performance))
            scores.append(
                spec.similarity_weight * similarity
                + spec.success_weight * theirs_performance
                + spec.reputation_weight * reputation[other.index]
                + spec.introduction_weight * introduced.get(other.index, 0.0)
            )
        return np.array(scores)

    # ------------------------------------------------------------------ life cycle
    def form(self, a: Firm, b: Firm, introduced_trust: float = 0.0) -> None:
        """Tie a and b; an introduction lifts their trust to at least the introducer's."""
        if introduced_trust > self.trust_matrix[a.index, b.index]:
            self.trust_matrix[a.index, b.index] = introduced_trust
            self.trust_matrix[b.index, a.index] = introduced_trust
        self.graph.add_edge(
            a.index,
            b.index,
            strength=self.model.spec.guanxi.initial_strength,
            formed_at=self.model.steps,
            benefit={a.index: 0.0, b.index: 0.0},  # received, cumulative
            favours={a.index: 0.0, b.index: 0.0},  # given, cumulative
            window_benefit={a.index: 0.0, b.index: 0.0},
        )
        self.ties_version += 1
        self.formed_today += 1
        self.events.append(TieEvent(self.model.steps, a.name, b.name, "formed"))

    def shortfall(self, giver: int, partner: int) -> float:
        """How far ``giver`` falls short of ``partner``'s effort: 1 - its reciprocity /
        the partner's (0 when it does as much or more, 1 for a free rider)."""
        firms = self.model.firm_by_index
        mine, theirs = firms[giver].reciprocity, firms[partner].reciprocity
        return 1.0 - mine / theirs if theirs > mine else 0.0

    def sever(self, a: int, b: int, reason: str, free_rider: int | None = None) -> None:
        """Remove the tie between firms a and b (indices), noting when and why.

        With a ``free_rider`` (a or b, the side that gave less) the pair's trust falls
        by ``betrayal_penalty`` x its shortfall (at least ``parting_penalty``,
        multiplicatively) and its reputation by ``reputation_loss`` x its shortfall;
        without one the pair's trust falls by ``parting_penalty``.
        """
        spec = self.model.spec.guanxi
        names = self.model.firm_by_index
        step = self.model.steps
        penalty = spec.parting_penalty
        if free_rider is not None:
            short = self.shortfall(free_rider, b if free_rider == a else a)
            penalty = max(penalty, spec.betrayal_penalty * short)
            self.reputations[free_rider] = max(
                0.0, float(self.reputations[free_rider]) - spec.reputation_loss * short
            )
        trust = float(self.trust_matrix[a, b]) * (1.0 - penalty)
        self.trust_matrix[a, b] = self.trust_matrix[b, a] = trust
        self.graph.remove_edge(a, b)
        self.ties_version += 1
        self.severed_at[frozenset((a, b))] = step
        self.severed_today += 1
        self.events.append(TieEvent(step, names[a].name, names[b].name, "severed", reason))

    def end_day(self, ledger: Ledger) -> None:
        """Book the day's favours on the ties, strengthen or decay them, evaluate, sever."""
        if self.model.spec.guanxi.enabled:
            self.exchange(ledger.benefit)
            self.evaluate()

    def exchange(self, benefit: np.ndarray) -> None:
        """Book today's benefits, ``benefit[g, f]`` = value firm f received from g.

        Each side pays the upkeep; reciprocated favours strengthen a tie
        (by strengthen_rate x the smaller/larger favour ratio x (1 - strength)) and
        every tie decays by decay_rate x strength. The same ratio raises the pair's
        trust (trust_gain x ratio x (1 - trust)); a day on which one side gives much
        less (imbalance above max_imbalance) lowers it by trust_gain x that side's
        shortfall x trust. Before that every pair's trust and every firm's reputation
        recover toward their initial values.
        """
        spec = self.model.spec.guanxi
        trust = self.trust_matrix
        # Recovery first (a fading memory), then today's exchange on the ties.
        trust += spec.trust_recovery * (spec.initial_trust - trust)
        self.reputations += spec.reputation_recovery * (spec.initial_reputation - self.reputations)
        for a, b, data in edges_with_data(self.graph):
            to_a, to_b = float(benefit[b, a]), float(benefit[a, b])
            for node, received, given in ((a, to_a, to_b), (b, to_b, to_a)):
                data["benefit"][node] += received
                data["window_benefit"][node] += received
                data["favours"][node] += given
            larger = max(to_a, to_b)
            balance = min(to_a, to_b) / larger if larger > 0 else 0.0
            strength = data["strength"]
            strength += spec.strengthen_rate * balance * (1.0 - strength)
            strength -= spec.decay_rate * strength
            data["strength"] = clip_unit(strength)
            pair = float(trust[a, b])
            pair += spec.trust_gain * balance * (1.0 - pair)
            total = to_a + to_b
            if total > 0 and (larger - min(to_a, to_b)) / total > spec.max_imbalance:
                # to_a is what b gave: the side whose partner received less gave less.
                less, more = (b, a) if to_a < to_b else (a, b)
                pair -= spec.trust_gain * self.shortfall(less, more) * pair
            trust[a, b] = trust[b, a] = clip_unit(pair)

    def evaluate(self) -> None:
        """Sever ties whose window shows too one-sided an exchange or no mutual benefit.

        A one-sided exchange (imbalance above ``max_imbalance``) is checked first: the
        side that gave less in the window (its partner received less) is the free rider,
        whether or not the tie also left a side with a net loss; :meth:`sever` weighs
        the blame by its shortfall of effort (none between two honest firms).
        """
        spec = self.model.spec.guanxi
        step = self.model.steps
        names = self.model.firm_by_index
        # A list (ties may be severed on the way) from an iterator: list() of the view
        # itself would first count its edges.
        for a, b, data in list(edges_with_data(self.graph)):
            age = step - data["formed_at"]
            if age == 0 or age % spec.evaluation_window != 0:
                continue
            window = data["window_benefit"]
            upkeep = spec.upkeep_cost * spec.evaluation_window
            net_a, net_b = window[a] - upkeep, window[b] - upkeep
            total = window[a] + window[b]
            imbalance = abs(window[a] - window[b]) / total if total > 0 else 1.0
            reason = ""
            free_rider = None
            if total > 0 and imbalance > spec.max_imbalance:
                # What a received is what b gave: the free rider's partner got less.
                free_rider = b if window[a] < window[b] else a
                short = self.shortfall(free_rider, a if free_rider == b else b)
                reason = (
                    f"one-sided (imbalance {imbalance:.2f}; {names[free_rider].name} gave "
                    f"less{f', free rider (shortfall {short:.2f})' if short > 0 else ''})"
                )
            elif net_a < 0 or net_b < 0:
                loser = names[a].name if net_a < net_b else names[b].name
                reason = f"not mutually beneficial ({loser} net {min(net_a, net_b):.0f})"
            elif imbalance > spec.max_imbalance:
                reason = f"no exchange (imbalance {imbalance:.2f})"
            if reason:
                self.sever(a, b, reason, free_rider)
            else:
                data["window_benefit"] = {a: 0.0, b: 0.0}

    def start_day(self) -> None:
        self.formed_today = 0
        self.severed_today = 0

    # ------------------------------------------------------------------ reporting
    def edge_rows(self) -> list[dict]:
        """One row per tie: strength, trust, age, benefit received and favours given each way."""
        names = self.model.firm_by_index
        rows = []
        for a, b, data in edges_with_data(self.graph):
            rows.append(
                {
                    "step": self.model.steps,
                    "firm_a": names[a].name,
                    "firm_b": names[b].name,
                    "strength": data["strength"],
                    "trust": float(self.trust_matrix[a, b]),
                    "age": self.model.steps - data["formed_at"],
                    "benefit_a": data["benefit"][a],
                    "benefit_b": data["benefit"][b],
                    "favours_a": data["favours"][a],
                    "favours_b": data["favours"][b],
                }
            )
        return rows

    def measures(self) -> TieMeasures:
        """The measures that depend on the ties alone, recomputed when ties change."""
        if self._measures is None or self._measures[0] != self.ties_version:
            self._measures = (self.ties_version, TieMeasures.of(self.graph))
        return self._measures[1]

    def tie_count(self) -> int:
        return self.measures().ties

    def density(self) -> float:
        return self.measures().density

    def clustering(self) -> float:
        return self.measures().clustering

    def mean_strength(self) -> float:
        strengths = [data["strength"] for _, _, data in edges_with_data(self.graph)]
        # np.mean's own arithmetic (the pairwise sum divided by the count), without its
        # per-call overhead.
        return float(np.array(strengths).sum() / len(strengths)) if strengths else 0.0

    def centrality(self) -> dict[int, float]:
        """Degree centrality per firm (a copy: the measures are shared)."""
        return dict(self.measures().centrality)


@dataclass(frozen=True)
class TieMeasures:
    """Graph-wide measures of the guanxi ties (networkx), which ignore tie strengths."""

    ties: int
    density: float
    clustering: float
    centrality: dict[int, float]

    @classmethod
    def of(cls, graph: nx.Graph) -> TieMeasures:
        nodes = graph.number_of_nodes()
        return cls(
            ties=graph.number_of_edges(),
            density=nx.density(graph) if nodes > 1 else 0.0,
            clustering=average_clustering(graph) if nodes else 0.0,
            centrality=nx.degree_centrality(graph) if nodes > 1 else {},
        )


def average_clustering(graph: nx.Graph) -> float:
    """``nx.average_clustering(graph)`` bit for bit, its triangles counted with numpy.

    Per node v (in the graph's order) c_v = t / (d (d - 1)), t twice v's triangles
    and d its degree (0 where t is 0), averaged with Python's ``sum`` as networkx does.
    """
    nodes = list(graph)
    place = {node: i for i, node in enumerate(nodes)}
    adjacency = np.zeros((len(nodes), len(nodes)), np.int64)
    for a, b in graph.edges():
        if a != b:
            adjacency[place[a], place[b]] = adjacency[place[b], place[a]] = 1
    degree = adjacency.sum(axis=1).tolist()
    twice_triangles = ((adjacency @ adjacency) * adjacency).sum(axis=1).tolist()
    c = [0 if t == 0 else t / (d * (d - 1)) for d, t in zip(degree, twice_triangles, strict=True)]
    return sum(c) / len(c)
