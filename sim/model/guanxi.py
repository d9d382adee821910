"""Guanxi: ties among firms on a networkx graph.

Luo (2024): guanxi is "a close and universal interpersonal relationship built on
high-quality social interactions and mutual benefits" that gives access to
knowledge, information and policy support and strengthens social-media-enabled CRM.
The seed adds that ties must be evaluated for equal benefit and severed when no
longer mutually beneficial. Here:

* **Search** (every ``search_interval`` days): a firm with room for a partner scores
  the others by similarity (shared markets, similar performance), success
  (performance) and introduction (a shared partner), and picks one with
  probability proportional to exp(score).
* **Formation**: both sides must expect a positive net benefit (cross-promotion,
  knowledge, policy support, referrals, minus upkeep).
* **Exchange** (daily): the benefits each side actually received are computed by the
  model's user phases (cross-promotion impressions valued at the market's ad price,
  referral margin, knowledge spill-over valued per CRM point, avoided filtering
  valued per post) and booked on the edge: ``benefit`` received and ``favours``
  given, both ways. Reciprocated favours strengthen the tie; every tie decays.
* **Evaluation** (every ``evaluation_window`` days of a tie's life): each side
  totals what the tie brought it in the window minus upkeep; the tie is severed when
  either side's net benefit is negative or the exchange is too one-sided.

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
    from collections.abc import Sequence

    from sim.model.firms import Firm
    from sim.model.ledger import Ledger
    from sim.model.model import MarketModel


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
    # Changes of ties so far, and the measures of the ties at a given count of changes.
    ties_version: int = field(default=0, init=False, repr=False)
    _measures: tuple[int, TieMeasures] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        for firm in self.model.firms:
            self.graph.add_node(firm.index, name=firm.name)

    # ------------------------------------------------------------------ queries
    def partners(self, firm: int) -> list[int]:
        return sorted(self.graph.neighbors(firm))

    def degree(self, firm: int) -> int:
        """The firm's ties (the graph has no self-loops: its degree is its neighbours)."""
        return len(self.graph.adj[firm])

    def level(self, firm: int) -> float:
        """Guanxi level: the sum of the firm's tie strengths, capped at 1."""
        return min(1.0, sum([data["strength"] for data in self.graph.adj[firm].values()]))

    def directed_ties(self) -> list[tuple[int, int, float]]:
        """(giver, receiver, strength x giver's reciprocity) for both directions of each tie."""
        firms = self.model.firm_by_index
        ties = []
        for a, b, data in self.graph.edges(data=True):
            ties.append((a, b, data["strength"] * firms[a].reciprocity))
            ties.append((b, a, data["strength"] * firms[b].reciprocity))
        return ties

    def strength_matrix(self) -> np.ndarray:
        """(F, F) symmetric tie strengths (0 where no tie)."""
        n = self.model.n_firms
        matrix = np.zeros((n, n))
        for a, b, data in self.graph.edges(data=True):
            matrix[a, b] = matrix[b, a] = data["strength"]
        return matrix

    # ------------------------------------------------------------------ search
    def search_partner(self, firm: Firm) -> None:
        """One partner search by ``firm``; forms a tie if both expect to gain."""
        spec = self.model.spec.guanxi
        if self.degree(firm.index) >= spec.max_partners:
            return
        partners = self.graph.adj[firm.index]
        candidates = [
            other
            for other in self.model.firms
            if other is not firm
            and other.seeks_partners
            and other.index not in partners
            and self.degree(other.index) < spec.max_partners
            and not self.cooling_down(firm.index, other.index)
        ]
        if not candidates:
            return
        scores = self.attractiveness_scores(firm, candidates)
        weights = np.exp(scores - scores.max())
        choice = candidates[self.model.rng.choice(len(candidates), p=weights / weights.sum())]
        if (
            expected_benefit(self.model, firm, choice) > spec.upkeep_cost
            and expected_benefit(self.model, choice, firm) > spec.upkeep_cost
        ):
            self.form(firm, choice)

    def cooling_down(self, a: int, b: int) -> bool:
        """Whether a and b severed a tie less than reform_cooldown days ago."""
        severed = self.severed_at.get(frozenset((a, b)))
        return (
            severed is not None
            and self.model.steps - severed < self.model.spec.guanxi.reform_cooldown
        )

    def attractiveness_scores(self, firm: Firm, others: Sequence[Firm]) -> np.ndarray:
        """Partner-search scores: similarity, success and introductions through partners.

        similarity = 0.5 x shared / union of target markets + 0.5 x (1 - |performance
        gap|); a candidate is introduced when it shares a partner with ``firm``. One
        score per candidate. A search scores a handful of firms over a few markets:
        plain Python numbers cost less here than numpy calls on tiny arrays (and the
        operations, hence the scores, are the same).
        """
        spec = self.model.spec.guanxi
        active = self.model.strategy.active.tolist()
        mine = active[firm.index]
        # Sharing a partner with the firm = being a partner of one of its partners.
        adjacency = self.graph.adj
        introduced = {peer for partner in adjacency[firm.index] for peer in adjacency[partner]}
        scores = []
        for other in others:
            theirs = active[other.index]
            shared = sum(map(operator.and_, mine, theirs))
            union = sum(map(operator.or_, mine, theirs))
            similarity = 0.5 * shared / union + 0.5 * (
                1.0 - abs(firm.performance - other.performance)
            )
            scores.append(
                spec.similarity_weight * similarity
                + spec.success_weight * other.performance
                + spec.introduction_weight * (other.index in introduced)
            )
        return np.array(scores)

    # ------------------------------------------------------------------ life cycle
    def form(self, a: Firm, b: Firm) -> None:
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

    def sever(self, a: int, b: int, reason: str) -> None:
        """Remove the tie between firms a and b (indices), noting when and why."""
        names = self.model.firm_by_index
        step = self.model.steps
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
        every tie decays by decay_rate x strength.
        """
        spec = self.model.spec.guanxi
        for a, b, data in self.graph.edges(data=True):
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

    def evaluate(self) -> None:
        """Sever ties whose window shows no mutual benefit or too one-sided an exchange."""
        spec = self.model.spec.guanxi
        step = self.model.steps
        names = self.model.firm_by_index
        # A list (ties may be severed on the way) from an iterator: list() of the view
        # itself would first count its edges.
        for a, b, data in list(iter(self.graph.edges(data=True))):
            age = step - data["formed_at"]
            if age == 0 or age % spec.evaluation_window != 0:
                continue
            window = data["window_benefit"]
            upkeep = spec.upkeep_cost * spec.evaluation_window
            net_a, net_b = window[a] - upkeep, window[b] - upkeep
            total = window[a] + window[b]
            imbalance = abs(window[a] - window[b]) / total if total > 0 else 1.0
            reason = ""
            if net_a < 0 or net_b < 0:
                loser = names[a].name if net_a < net_b else names[b].name
                reason = f"not mutually beneficial ({loser} net {min(net_a, net_b):.0f})"
            elif imbalance > spec.max_imbalance:
                reason = f"one-sided (imbalance {imbalance:.2f})"
            if reason:
                self.sever(a, b, reason)
            else:
                data["window_benefit"] = {a: 0.0, b: 0.0}

    def start_day(self) -> None:
        self.formed_today = 0
        self.severed_today = 0

    # ------------------------------------------------------------------ reporting
    def edge_rows(self) -> list[dict]:
        """One row per tie: strength, age, benefit received and favours given each way."""
        names = self.model.firm_by_index
        rows = []
        for a, b, data in self.graph.edges(data=True):
            rows.append(
                {
                    "step": self.model.steps,
                    "firm_a": names[a].name,
                    "firm_b": names[b].name,
                    "strength": data["strength"],
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
        strengths = [strength for _, _, strength in self.graph.edges(data="strength")]
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
            clustering=nx.average_clustering(graph) if nodes else 0.0,
            centrality=nx.degree_centrality(graph) if nodes > 1 else {},
        )
