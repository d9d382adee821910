"""The market model: users (numpy arrays), firms (Mesa agents) and guanxi (networkx).

One step is one day and follows ``../shared/design.md``:

1. firms act (``AgentSet.shuffle_do``): posts, ads within budget, adaptive revision,
   partner search;
2. exposure: followers see posts (organic reach x attention, which grows with SNS
   dependency), ads reach non-followers, partners cross-promote, shares travel on
   strong and weak ties, partners refer customers, and word of mouth from the users
   aware at dawn spreads awareness (Goldenberg et al. 2001; Bass 1969 when fully
   mixed);
3. consumption and engagement (following -> consuming -> engaging; Zhang 2025);
4. firms answer a share of comments within capacity (raised by CRM capability);
5. attitude update: content valence and fit, answers, neighbours' expressed
   opinions weighted by collectivism, over-posting fatigue, decay;
6. follow and unfollow;
7. purchase through an in-platform shop or a redirect;
8. social CRM capability (Luo 2024): learned from interactions, accelerated by
   guanxi, knowledge spill-over from partners, decay;
9. guanxi: book favours and benefits, strengthen and decay ties, evaluate, sever;
10. collect data.

Only the entries a user touched today (saw something from a firm) are processed in
phases 3-7, so the cost of a step grows with activity rather than users x firms.
Random events that are rare per user (word of mouth, ads, cross-promotion,
referrals, own posts seen, shares, unfollowing) are drawn as their successes only
(:mod:`sim.sampling`), and the stocks per (firm, market) (aware, followers,
customers, attitude sums) are kept up to date where the phases change them rather
than recounted over the (users x firms) arrays every day.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from sim import kernels
from sim.firms import Firm, knowledge_transfer
from sim.guanxi import GuanxiNetwork
from sim.network import UserNetwork, build_user_network
from sim.sampling import GrowingArray, bernoulli_successes
from sim.scenario import Scenario, load_scenario, scenario_from_data
from sim.strategy import StrategyTable
from sim.users import Population

# Columns of the per-firm, per-market daily flows (see MarketModel.flows).
FLOWS = (
    "posts",
    "impressions",
    "reach",
    "consumed",
    "consumers",  # users (entries) who consumed at least one item: distinct users a day
    "engagements",
    "engagers",  # users who engaged at least once
    "answered",
    "ignored",
    "new_followers",
    "unfollows",
    "conversions",
    "new_customers",
    "revenue",
    "ad_impressions",
    "cross_promotion_impressions",
    "share_impressions",
    "referrals",
)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def starts_of_runs(ordered: np.ndarray) -> np.ndarray:
    """Bool mask of the entries of a sorted array that differ from their predecessor."""
    first = np.empty(ordered.size, bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return first


def run_lengths(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of an ascending array and how often each occurs."""
    first = np.flatnonzero(starts_of_runs(ordered))
    return ordered[first], np.diff(first, append=ordered.size)


def users_by_firm(by_firm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The users of each row of a (firms x users) bool matrix, in one array.

    Returns the users (ascending within each firm) and the bounds: firm f's are
    ``users[bounds[f]:bounds[f + 1]]``.
    """
    n_firms, n_users = by_firm.shape
    positions = np.flatnonzero(by_firm)
    bounds = np.searchsorted(positions, np.arange(n_firms + 1) * n_users)
    return positions % n_users, bounds


def distinct(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct values of ``keys`` (``np.unique`` without its slow hash path)."""
    ordered = np.sort(keys)
    return ordered[starts_of_runs(ordered)]


@dataclass
class Expressed:
    """(user, firm) entries whose user expressed an opinion of the firm (they engaged or
    bought today), as flat indices user x firms + firm, ascending."""

    entries: np.ndarray

    @classmethod
    def of(cls, users: np.ndarray, firms: np.ndarray, n_firms: int) -> Expressed:
        """From distinct (user, firm) pairs."""
        return cls(np.sort(users.astype(np.int64) * n_firms + firms))

    @property
    def count(self) -> int:
        return self.entries.size

    def dense(self, n_users: int, n_firms: int) -> np.ndarray:
        """As a (users x firms) bool array."""
        out = np.zeros(n_users * n_firms, bool)
        out[self.entries] = True
        return out.reshape(n_users, n_firms)


@dataclass
class Heard:
    """(user, firm) entries whose ties expressed an opinion of the firm yesterday.

    The arrays are views of the listeners pass's working arrays: valid for the day.
    """

    index: np.ndarray  # flat index into (N, F), ascending
    speakers: np.ndarray  # number of ties who expressed
    opinion_sum: np.ndarray  # sum of their attitudes
    shared: np.ndarray  # entries that see at least one tie's share today


@dataclass
class Touched:
    """Today's (user, firm) entries with at least one exposure, as flat indices."""

    index: np.ndarray  # flat index into (N, F)
    user: np.ndarray
    firm: np.ndarray
    market: np.ndarray
    seen: np.ndarray  # items seen today (posts, ads, shares, cross-promotion, referrals)
    own_posts: np.ndarray  # of which the firm's own posts seen as a follower
    referred: np.ndarray  # bool: referred by a partner today
    cell: np.ndarray  # (firm, market) cell: firm x markets + market


class MarketModel(mesa.Model):
    """Agent-based market of users, firms and guanxi ties, built from one scenario.

    Args:
        spec: a validated :class:`Scenario`, a bundled scenario's name or a TOML path.
        rng: seed or generator for every random draw; defaults to ``[model] seed``.
        **overrides: scenario parameters by dotted path with ``__`` for dots, e.g.
            ``guanxi__enabled=False`` or ``firms__ours__strategies__china__shop=True``
            (usable with ``mesa.batch_run``); validated like the file.
    """

    def __init__(
        self, spec: Scenario | str | Path = "baseline", *, rng: Any = None, **overrides: Any
    ) -> None:
        dotted = {key.replace("__", "."): value for key, value in overrides.items()}
        if not isinstance(spec, Scenario):
            spec = load_scenario(spec, dotted)
        elif dotted:
            spec = scenario_from_data(spec.model_dump(mode="json"), "scenario", dotted)
        super().__init__(rng=spec.model.seed if rng is None else rng)
        self.spec = spec
        self.markets = spec.markets
        self.market_index = {m.name: i for i, m in enumerate(spec.markets)}
        self.n_markets = len(spec.markets)
        self.n_firms = len(spec.firms)

        self.population = Population.from_scenario(spec, self.rng)
        self.network: UserNetwork | None = None
        if spec.network.structure == "social":
            self.network = build_user_network(
                self.population.market,
                spec.network.strong_ties,
                spec.network.weak_ties,
                spec.network.homophily,
                self.rng,
            )
        self.strategy = StrategyTable.from_scenario(spec)
        for index, firm_spec in enumerate(spec.firms):
            Firm(self, firm_spec, index)
        self.firms = self.agents_by_type[Firm]
        self.firm_by_index = {firm.index: firm for firm in self.firms}
        self.focal = next(firm for firm in self.firms if firm.is_focal)
        self.guanxi = GuanxiNetwork(self)

        self._precompute()
        self.posts_today = np.zeros((self.n_firms, self.n_markets), np.int64)
        self.ad_reach_today = np.zeros((self.n_firms, self.n_markets))
        self.knowledge_boost = np.zeros(self.n_firms)
        self.flows = np.zeros((len(FLOWS), self.n_firms, self.n_markets))
        self.expressed = Expressed(np.empty(0, np.int64))
        self._benefit = np.zeros((self.n_firms, self.n_firms))
        self._count_stocks()
        self._update_metrics()
        self.datacollector = build_datacollector()
        self._collect()

    # ------------------------------------------------------------------ setup
    def _precompute(self) -> None:
        pop, spec = self.population, self.spec
        mk = pop.market
        self.collectivism = np.array([1.0 - m.individualism / 100.0 for m in self.markets])
        attention = (spec.users.attention_base + pop.sns_dependency) / (
            spec.users.attention_base + 1.0
        )
        organic = np.array([m.organic_reach for m in self.markets], np.float32)
        self.organic_seen = (organic[mk] * attention).astype(np.float32)  # (N,)
        # Highest organic_seen per market: the bound for thinned draws of posts seen.
        self._organic_seen_max = np.array(
            [self.organic_seen[pop.block(m)].max(initial=0.0) for m in range(self.n_markets)]
        )
        self.active_nf = self.strategy.active.T[mk]  # (N, F)
        home = np.array([firm.home_market for firm in sorted(self.firms, key=lambda f: f.index)])
        self.home_market = home
        individualism = np.array([m.individualism for m in self.markets])
        # Cultural distance between a firm's home and each market, 0-1 (Hofstede).
        self.cultural_distance = np.abs(individualism[home][:, None] - individualism[None, :]) / 100
        self.foreign = home[:, None] != np.arange(self.n_markets)[None, :]
        self.market_size = np.diff(pop.bounds).astype(float)
        # Firm-major copies of following and customer, kept in step with the (N, F)
        # arrays: a firm's followers or customers are then one contiguous scan.
        self._following_by_firm = np.ascontiguousarray(pop.following.T)
        self._customer_by_firm = np.ascontiguousarray(pop.customer.T)
        # Scratch (N x F) counters for gathering today's exposures; zero between uses.
        self._seen_scratch = np.zeros(pop.n_users * self.n_firms, np.int32)
        self._own_scratch = np.zeros(pop.n_users * self.n_firms, np.int32)
        if self.network is not None:
            net = spec.network
            self._ties = (self.network.strong + self.network.weak).tocsr()
            self._ties.data[:] = 1.0
            # Working arrays of the listeners pass, kept from day to day (kernels.listen).
            self._listen_scratch = kernels.listen_scratch()
            self._strong_tie_wom = min(net.strong_tie_wom, 0.999999)
            self._weak_tie_wom = min(net.weak_tie_wom, 0.999999)
            self._strong_degree = self.network.degree("strong").astype(np.int64)
            self._tie_degree = self._strong_degree + self.network.degree("weak")
            # Word of mouth draws (speaker, tie) tellings among the aware entries: every
            # aware entry in the order it became aware, with the running total of its
            # user's ties (strong first, then weak), so that telling number t belongs
            # to the entry whose running total first exceeds t.
            aware = np.flatnonzero(pop.aware)
            self._aware_entries = GrowingArray(np.int64, aware)
            self._aware_ties = GrowingArray(
                np.int64, np.cumsum(self._tie_degree[aware // self.n_firms])
            )

    # ------------------------------------------------------------------ helpers
    def non_followers(self, firm: int, market: int) -> int:
        block = self.population.block(market)
        return int(block.stop - block.start - self.followers_count[firm, market])

    @property
    def users(self) -> Population:
        return self.population

    def _flow(self, name: str, touched: Touched, weights: np.ndarray | None) -> None:
        """Add per-entry ``weights`` (None: one each) to today's flow ``name`` by (firm, market)."""
        self.flows[FLOWS.index(name)] += self._per_cell(touched.cell, weights)

    # ------------------------------------------------------------------ step
    def step(self) -> None:
        """One day, in the order of the design."""
        self.flows[:] = 0.0
        self._benefit[:] = 0.0
        self.guanxi.start_day()
        self.firms.shuffle_do("act")
        touched = self.expose()
        consumed, engagements = self.consume_and_engage(touched)
        answered, ignored = self.answer_comments(touched, engagements)
        self.update_attitudes(touched, consumed, answered, ignored)
        self.follow_and_unfollow(touched, consumed)
        bought = self.purchase(touched, consumed)
        self.remember_expressions(touched, engagements, bought)
        self.update_crm_capability()
        self.update_guanxi()
        self._update_metrics()
        self._collect()

    # ------------------------------------------------------------------ phase 2
    def expose(self) -> Touched:
        """Who sees what from which firm today, and who becomes aware.

        Each channel yields (flat entry index, items) pairs with distinct entries;
        only entries that see something are ever touched, and the channels draw only
        their successes (see :mod:`sim.sampling`), so the cost follows activity, not
        users x firms.
        """
        pop, spec = self.population, self.spec
        n_firms = self.n_firms
        ties = self.guanxi.directed_ties() if spec.guanxi.enabled else []
        pass_share, filtered_share = self._content_filter(ties)
        if ties:
            self._book_policy_support(ties, filtered_share)
        # The ties as (givers, receivers, weights) arrays, for the compiled passes.
        tie_columns = tuple(np.array(column) for column in zip(*ties, strict=True))
        # Each firm's followers (users, ascending). Following changes only in phase 6.
        self._followers = users_by_firm(self._following_by_firm)

        channels: dict[str, tuple[np.ndarray, np.ndarray]] = {
            "own": self._own_posts(pass_share),
            "ad_impressions": self._ads(),
            "cross_promotion_impressions": self._cross_promotion(tie_columns, pass_share),
            "share_impressions": self._shares(),
        }
        referral_index, referral_source = self._referrals(tie_columns)
        channels["referrals"] = (referral_index, np.ones(referral_index.size, np.int64))

        # Items per entry, summed over the channels in a scratch counter.
        seen_scratch, own_scratch = self._seen_scratch, self._own_scratch
        for index, items in channels.values():
            seen_scratch[index] += items
        own_index, own_items = channels["own"]
        own_scratch[own_index] = own_items
        all_index = np.concatenate([index for index, _ in channels.values()])
        if all_index.size * 16 >= seen_scratch.size:
            unique = np.flatnonzero(seen_scratch != 0)
        else:
            unique = distinct(all_index)
        seen = seen_scratch[unique].astype(np.int64)
        own = own_scratch[unique].astype(np.int64)
        seen_scratch[unique] = 0
        own_scratch[own_index] = 0
        referred = np.zeros(unique.size, bool)
        referred[np.searchsorted(unique, referral_index)] = True
        self._referral_source = dict(
            zip(referral_index.tolist(), referral_source.tolist(), strict=True)
        )

        user = unique // n_firms
        firm = unique - user * n_firms
        market = pop.market[user]
        touched = Touched(
            index=unique,
            user=user,
            firm=firm,
            market=market,
            seen=seen,
            own_posts=own,
            referred=referred,
            cell=firm * self.n_markets + market,
        )
        self._become_aware(touched)
        self.flows[FLOWS.index("posts")] = self.posts_today
        for name in ("ad_impressions", "cross_promotion_impressions", "share_impressions"):
            self._flow_entries(name, *channels[name])
        self._flow("impressions", touched, touched.seen)
        self._flow("reach", touched, None)
        self._flow("referrals", touched, touched.referred)
        return touched

    def _content_filter(self, ties: list[tuple[int, int, float]]):
        """Share of each firm's posts that pass platform regulation, per (firm, market).

        Regulation filters unlocalised foreign posts (content_regulation x (1 -
        localisation)); policy support from partners at home in the market (Luo 2024)
        avoids part of it where institutions matter.
        """
        regulation = np.array([m.content_regulation for m in self.markets])
        filtered_share = self.foreign * regulation[None, :] * (1.0 - self.strategy.localisation)
        policy = np.zeros((self.n_firms, self.n_markets))
        if ties:
            institutional = np.array([m.institutional_weight for m in self.markets])
            for giver, receiver, weight in ties:
                policy[receiver, self.home_market[giver]] += (
                    self.spec.guanxi.policy_support
                    * weight
                    * institutional[self.home_market[giver]]
                )
            np.minimum(policy, 1.0, out=policy)
        return 1.0 - filtered_share * (1.0 - policy), filtered_share

    def _own_posts(self, pass_share: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Own posts seen by followers: Binomial(posts, organic reach x attention x pass).

        Drawn per (firm, market) as the successes among posts x followers trials
        (:func:`sim.kernels.own_posts_seen`); returns the followers who see at least
        one post and how many they see.
        """
        followers, bounds = self._followers
        return kernels.own_posts_seen(
            followers,
            bounds,
            self.population.bounds,
            self.posts_today,
            pass_share,
            self.organic_seen,
            self._organic_seen_max,
            self.n_firms,
            self.rng,
        )

    def _ads(self) -> tuple[np.ndarray, np.ndarray]:
        """Paid reach: each non-follower in a targeted market is reached with the ad share."""
        index = kernels.ad_reach(
            self.ad_reach_today, self.population.bounds, self._following_by_firm, self.rng
        )
        return index, np.ones(index.size, np.int64)

    def _cross_promotion(self, tie_columns, pass_share):
        """Partners show our posts to their followers (guanxi favour).

        For a tie giver -> receiver with weight = strength x giver's reciprocity, each
        follower of the giver who does not follow the receiver sees one of the
        receiver's posts that day with probability
        min(1, cross_promotion x weight x organic reach x attention x pass x posts).
        The impressions are booked as the receiver's benefit at the market's ad price.
        Returns distinct entries with the number of partners that showed the post.
        """
        empty = np.empty(0, np.int64), np.empty(0, np.int64)
        if not tie_columns:
            return empty
        givers, receivers, weights = tie_columns
        chances = (
            self.spec.guanxi.cross_promotion
            * weights[:, None]
            * pass_share[receivers]
            * self.posts_today[receivers]
        )
        followers, bounds = self._followers
        found = kernels.cross_promoted(
            givers,
            receivers,
            chances,
            followers,
            bounds,
            self.population.bounds,
            self._following_by_firm,
            self.organic_seen,
            self._organic_seen_max,
            np.array([m.ad_cost_per_impression for m in self.markets]),
            self._benefit,
            self.n_firms,
            self.rng,
        )
        if found.size == 0:
            return empty
        return run_lengths(np.sort(found))

    def _shares(self) -> tuple[np.ndarray, np.ndarray]:
        """Items seen through ties' shares: P = 1 - (1 - share_reach)^(expressing ties).

        On a network each expressing tie shares independently with ``share_reach``
        (drawn in :meth:`_listeners`); a user who sees at least one share sees an item.
        Fully mixed: each user hears the market's expressers as if they were spread
        over its strong + weak tie count.
        """
        pop, net, rng = self.population, self.spec.network, self.rng
        self._heard = None
        empty = np.empty(0, np.int64), np.empty(0, np.int64)
        if self.expressed.count == 0:
            return empty
        # Who heard which opinions also drives social influence in phase 5.
        listeners = self._listeners() if self.network is not None else None
        if net.share_reach <= 0:
            return empty
        if listeners is not None:
            users = listeners.shared // self.n_firms
            firms = listeners.shared - users * self.n_firms
        else:
            degree = net.strong_ties + net.weak_ties
            expressed = self.expressed.dense(pop.n_users, self.n_firms)
            users_list, firms_list = [], []
            for m in range(self.n_markets):
                block = pop.block(m)
                size = block.stop - block.start
                share = expressed[block].sum(axis=0) / max(size, 1)
                prob = -np.expm1(-net.share_reach * degree * share)
                u, f = np.nonzero(rng.random((size, self.n_firms)) < prob[None, :])
                users_list.append(u + block.start)
                firms_list.append(f)
            users, firms = np.concatenate(users_list), np.concatenate(firms_list)
        users, firms = users.astype(np.int64), firms.astype(np.int64)
        active = self.active_nf[users, firms]
        index = users[active] * self.n_firms + firms[active]
        return index, np.ones(index.size, np.int64)

    def _listeners(self) -> Heard:
        """Per (user, firm) entry: how many ties expressed an opinion yesterday, and its sum.

        Every tie of every speaker hears it (:func:`sim.kernels.listen`): the cost
        follows speakers x ties, not users. Each (speaker, tie) pair also shares the
        post with probability ``share_reach``: the entries that see at least one share
        are ``Heard.shared``.
        """
        index, speakers, opinion_sum, shared, self._listen_scratch = kernels.listen(
            self.expressed.entries,
            self.population.attitude.reshape(-1),
            self.n_firms,
            self._ties.indptr,
            self._ties.indices,
            min(self.spec.network.share_reach, 0.999999),
            self.rng,
            self._listen_scratch,
        )
        self._heard = Heard(index, speakers, opinion_sum, shared)
        return self._heard

    def _referrals(self, tie_columns) -> tuple[np.ndarray, np.ndarray]:
        """Partners refer their customers to us: P = referral_rate x strength x reciprocity.

        Only users in a market we target who are not yet our customers count. Returns
        the referred entries (ascending) and the referring partner of each (the first
        tie listed, when several partners refer the same user on one day).
        """
        rate = self.spec.guanxi.referral_rate
        empty = np.empty(0, np.int64), np.empty(0, np.int64)
        if not tie_columns or rate <= 0:
            return empty
        givers, receivers, weights = tie_columns
        customers, bounds = users_by_firm(self._customer_by_firm)
        index, source = kernels.referred(
            givers,
            receivers,
            rate * weights,
            customers,
            bounds,
            self.active_nf,
            self._customer_by_firm,
            self.rng,
        )
        if index.size == 0:
            return empty
        order = np.argsort(index, kind="stable")
        index, source = index[order], source[order]
        first = starts_of_runs(index)
        return index[first], source[first]

    def _become_aware(self, touched: Touched) -> None:
        """Anything seen makes a user aware; so does word of mouth from the aware at dawn."""
        pop = self.population
        flat_aware = pop.aware.reshape(-1)
        dawn_count = self.aware_count.copy()
        newly = touched.index[~flat_aware[touched.index]]
        flat_aware[newly] = True
        by_word = self._word_of_mouth(dawn_count)
        flat_aware[by_word] = True
        newly = np.concatenate([newly, by_word])
        self.aware_count += self._per_cell(self._cells(newly))
        if self.network is not None and newly.size:
            running = self._aware_ties.values
            previous = int(running[-1]) if running.size else 0
            self._aware_ties.append(previous + np.cumsum(self._tie_degree[newly // self.n_firms]))
            self._aware_entries.append(newly)

    def _word_of_mouth(self, dawn_count: np.ndarray) -> np.ndarray:
        """Flat entries of unaware users made aware today by those aware at dawn.

        Social network (Goldenberg et al. 2001): P = 1 - (1 - b_s)^m_s (1 - b_w)^m_w with
        m_s, m_w the strong and weak ties aware at dawn: each such tie tells the user
        independently. Fully mixed (Bass 1969): P = 1 - (1 - q / N_m)^A_m with A_m the
        users of the market aware at dawn (``dawn_count``), a hazard of about q x
        (aware share). Users who saw the firm today are aware already, hence not drawn.
        """
        pop, rng = self.population, self.rng
        if self.network is not None:
            return self._tellings()
        q = self.spec.network.mixed_wom
        found = []
        for m in range(self.n_markets):
            block = pop.block(m)
            size = block.stop - block.start
            if size == 0:
                continue
            prob = -np.expm1(dawn_count[:, m] * np.log1p(-min(q / size, 0.999999)))
            hit = (
                ~pop.aware[block]
                & self.active_nf[block]
                & (rng.random((size, self.n_firms)) < prob[None, :])
            )
            users, firms = np.nonzero(hit)
            found.append((users + block.start) * self.n_firms + firms)
        return np.concatenate(found) if found else np.empty(0, np.int64)

    def _tellings(self) -> np.ndarray:
        """Word of mouth on the network, drawn as (speaker, tie) tellings.

        Every tie of a user aware of firm f at dawn tells it about f today with
        probability b_s (strong tie) or b_w (weak tie), independently; a user told at
        least once becomes aware, which has the probability of :meth:`_word_of_mouth`.
        Tellings are numbered over the aware entries' ties (see ``_aware_ties``) and
        drawn as the successes of Bernoulli trials at max(b_s, b_w), thinned to each
        tie's own probability: the cost follows the tellings, not the unaware users.
        """
        strong_wom, weak_wom = self._strong_tie_wom, self._weak_tie_wom
        bound = max(strong_wom, weak_wom)
        running = self._aware_ties.values
        if running.size == 0 or bound <= 0:
            return np.empty(0, np.int64)
        telling = bernoulli_successes(self.rng, int(running[-1]), bound)
        position = np.searchsorted(running, telling, side="right")
        entry = self._aware_entries.values[position]
        speaker = entry // self.n_firms
        slot = telling - (running[position] - self._tie_degree[speaker])
        strong = slot < self._strong_degree[speaker]
        keep = self.rng.random(telling.size) * bound < np.where(strong, strong_wom, weak_wom)
        entry, speaker, slot, strong = entry[keep], speaker[keep], slot[keep], strong[keep]
        listener = np.empty(entry.size, np.int64)
        for matrix, chosen, offset in (
            (self.network.strong, strong, slot),
            (self.network.weak, ~strong, slot - self._strong_degree[speaker]),
        ):
            listener[chosen] = matrix.indices[matrix.indptr[speaker[chosen]] + offset[chosen]]
        firm = entry - speaker * self.n_firms
        told = listener * self.n_firms + firm
        told = told[self.active_nf.reshape(-1)[told] & ~self.population.aware.reshape(-1)[told]]
        return distinct(told)

    def _flow_entries(self, name: str, index: np.ndarray, items: np.ndarray) -> None:
        """Add per-entry ``items`` (flat (user, firm) indices) to flow ``name``."""
        self.flows[FLOWS.index(name)] += self._per_cell(self._cells(index), items)

    # ------------------------------------------------------------------ phase 3
    def content_fit(self, touched: Touched) -> np.ndarray:
        """Fit of a firm's content with the user's motives (0-1), after culture and CRM.

        fit = transactional share x transactional motive + relational share x relational
        motive; unlocalised content loses fit in proportion to the cultural distance
        between the firm's home and the market; CRM capability improves targeting,
        closing part of the gap to a perfect fit.
        """
        pop, strategy, cell = self.population, self.strategy, touched.cell
        fit = (
            self._per_entry(strategy.transactional_share, cell)
            * pop.transactional_motive[touched.user]
            + self._per_entry(strategy.relational_share, cell) * pop.relational_motive[touched.user]
        )
        kept = 1.0 - self.cultural_distance * (1.0 - strategy.localisation)
        fit *= self._per_entry(kept, cell)
        crm = self.crm_array()[touched.firm]
        return fit + self.spec.crm.targeting_effect * crm * (1.0 - fit)

    @staticmethod
    def _per_entry(table: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """A (firm, market) table's value for each entry's cell (a 1-D gather)."""
        return table.reshape(-1)[cells]

    def consume_and_engage(self, touched: Touched) -> tuple[np.ndarray, np.ndarray]:
        """Items consumed and engagements per touched entry (Zhang 2025's behaviours)."""
        pop, users, rng = self.population, self.spec.users, self.rng
        dependency = pop.sns_dependency[touched.user]
        attitude = pop.attitude.ravel()[touched.index]
        fit = self.content_fit(touched)
        self._fit = fit
        p_consume = sigmoid(
            users.consume_intercept
            + users.consume_per_dependency * dependency
            + users.consume_per_fit * fit
            + users.consume_per_attitude * attitude
        )
        consumed = kernels.binomial(rng, touched.seen, p_consume)
        p_engage = sigmoid(
            users.engage_intercept
            + users.engage_per_dependency * dependency
            + users.engage_per_relational_motive * pop.relational_motive[touched.user]
            + users.engage_per_fit * fit
            + users.engage_per_attitude * attitude
            + users.engage_per_collectivism * self.collectivism[touched.market]
        )
        engagements = kernels.binomial(rng, consumed, p_engage)
        # Per-user totals (int32): values of the same dtype keep np.add.at on its fast path.
        np.add.at(pop.consumed_total, touched.user, consumed.astype(np.int32))
        engaged = engagements > 0
        np.add.at(pop.engaged_total, touched.user[engaged], engagements[engaged].astype(np.int32))
        self._flow("consumed", touched, consumed)
        self._flow("consumers", touched, consumed > 0)
        self._flow("engagements", touched, engagements)
        self._flow("engagers", touched, engaged)
        return consumed, engagements

    # ------------------------------------------------------------------ phase 4
    def answer_comments(
        self, touched: Touched, engagements: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Firms answer a share of comments within capacity and the budget left."""
        comments = self.flows[FLOWS.index("engagements")]  # (F, M)
        wanted = self.strategy.responsiveness * comments
        firms = [self.firm_by_index[f] for f in range(self.n_firms)]
        per_response = np.array([firm.cost_per_response for firm in firms])
        budget_left = np.maximum(
            0.0, self.strategy.budget.sum(axis=1) - np.array([firm.costs for firm in firms])
        )
        total = wanted.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            affordable = np.where(per_response > 0, budget_left / per_response, np.inf)
            capacity = np.minimum([firm.response_capacity for firm in firms], affordable)
            scale = np.where(total > 0, np.minimum(1.0, capacity / total), 0.0)
            answer_share = np.where(comments > 0, wanted * scale[:, None] / comments, 0.0)
        commented = engagements > 0
        p_answer = answer_share[touched.firm, touched.market]
        answered = commented & (self.rng.random(touched.index.size) < p_answer)
        ignored = commented & ~answered
        self._flow("answered", touched, answered)
        self._flow("ignored", touched, ignored)
        return answered, ignored

    # ------------------------------------------------------------------ phase 5
    def update_attitudes(
        self,
        touched: Touched,
        consumed: np.ndarray,
        answered: np.ndarray,
        ignored: np.ndarray,
    ) -> None:
        """Content valence, answers, fatigue, neighbours' opinions, decay."""
        pop, users = self.population, self.spec.users
        flat = pop.attitude.reshape(-1)
        attitude = flat[touched.index].astype(np.float64)
        neutral = users.neutral_fit
        valence = np.clip((self._fit - neutral) / (1.0 - neutral), -1.0, 1.0)
        learned = 1.0 - (1.0 - users.attitude_learning_rate) ** consumed
        attitude += learned * (valence - attitude)
        attitude += users.response_effect * answered - users.ignored_effect * ignored
        excess = np.maximum(0.0, touched.own_posts - users.fatigue_threshold)
        attitude -= users.fatigue_per_post * excess
        self._excess_posts = excess
        self._set_attitude(touched.index, np.clip(attitude, -1.0, 1.0))
        self._social_influence()
        keep = np.float32(1.0 - users.attitude_decay)
        pop.attitude *= keep
        self._attitude_sum *= float(keep)
        self._attitude_squares *= float(keep) ** 2

    def _social_influence(self) -> None:
        """Move aware users toward the mean opinion their ties expressed yesterday.

        The weight is social_influence x collectivism of the market: relational users
        weigh others' opinions more.
        """
        pop = self.population
        weight = self.spec.users.social_influence * self.collectivism
        if self.network is not None:
            heard = self._heard
            if heard is None:
                return
            kernels.pull_toward_heard(
                pop.attitude.reshape(-1),
                pop.aware.reshape(-1),
                heard.index,
                heard.speakers,
                heard.opinion_sum,
                pop.bounds,
                weight,
                self.n_firms,
                self._attitude_sum.reshape(-1),
                self._attitude_squares.reshape(-1),
            )
            return
        if self.expressed.count == 0:
            return
        expressed = self.expressed.dense(pop.n_users, self.n_firms)
        if not expressed.any():
            return
        for m in range(self.n_markets):
            block = pop.block(m)
            speakers = expressed[block]
            counts = speakers.sum(axis=0)
            has = counts > 0
            if not has.any():
                continue
            opinion = (pop.attitude[block] * speakers).sum(axis=0)[has] / counts[has]
            target = pop.attitude[block][:, has]
            listeners = pop.aware[block][:, has]
            updated = target + weight[m] * (opinion[None, :] - target) * listeners
            sub = pop.attitude[block]
            sub[:, has] = updated
            pop.attitude[block] = sub
            # A dense update (fully mixed markets only): count this market's sums again.
            self._attitude_sum[:, m] = sub.sum(axis=0, dtype=np.float64)
            self._attitude_squares[:, m] = np.einsum("ij,ij->j", sub, sub, dtype=np.float64)

    # ------------------------------------------------------------------ phase 6
    def follow_and_unfollow(self, touched: Touched, consumed: np.ndarray) -> None:
        pop, users, rng = self.population, self.spec.users, self.rng
        following = pop.following.reshape(-1)
        attitude = pop.attitude.reshape(-1)[touched.index]
        dependency = pop.sns_dependency[touched.user]
        could_follow = (consumed > 0) & ~following[touched.index]
        p_follow = sigmoid(
            users.follow_intercept
            + users.follow_per_transactional
            * self._per_entry(self.strategy.transactional_share, touched.cell)
            * pop.transactional_motive[touched.user]
            + users.follow_per_relational
            * self._per_entry(self.strategy.relational_share, touched.cell)
            * pop.relational_motive[touched.user]
            + users.follow_per_dependency * dependency
            + users.follow_per_attitude * attitude
        )
        follows = could_follow & (rng.random(touched.index.size) < p_follow)

        leaves = self._unfollows(touched)
        joins = touched.index[follows]
        following[leaves] = False
        following[joins] = True
        self._following_by_firm[leaves % self.n_firms, leaves // self.n_firms] = False
        self._following_by_firm[touched.firm[follows], touched.user[follows]] = True

        self._flow("new_followers", touched, follows)
        unfollows = self._per_cell(self._cells(leaves))
        self.flows[FLOWS.index("unfollows")] += unfollows
        self.followers_count += self.flows[FLOWS.index("new_followers")] - unfollows

    def _unfollows(self, touched: Touched) -> np.ndarray:
        """Flat entries of followers who unfollow today.

        P = (unfollow_base + unfollow_per_fatigue x over-posting fatigue today +
        unfollow_per_negative_attitude x max(0, -attitude)) x (1 - retention_effect x
        the firm's CRM capability). Drawn per firm in two independent parts whose
        union has exactly this probability: every follower leaves at the base rate
        p_b (only the successes are drawn), and the few followers above it (negative
        attitude, or fatigued by today's own posts: fatigue comes from own posts only,
        so they are followers) leave besides with probability (P - p_b) / (1 - p_b).
        """
        pop, users = self.population, self.spec.users
        retention = 1.0 - self.spec.crm.retention_effect * self.crm_array()
        fatigued = self._excess_posts > 0
        key = touched.firm[fatigued] * pop.n_users + touched.user[fatigued]
        order = np.argsort(key)
        followers, bounds = self._followers
        return kernels.unfollowing(
            followers,
            bounds,
            pop.attitude.reshape(-1),
            users.unfollow_base,
            retention,
            users.unfollow_per_fatigue,
            users.unfollow_per_negative_attitude,
            key[order],
            self._excess_posts[fatigued][order],
            pop.n_users,
            self.rng,
        )

    # ------------------------------------------------------------------ phase 7
    def purchase(self, touched: Touched, consumed: np.ndarray) -> np.ndarray:
        """Purchases by users who consumed a firm's content today.

        intent = base x (1 + incentive x promotional share) x (1 + attitude)
                 x (1 + conversion_effect x CRM capability);
        P(buy) = intent x checkout rate, where the checkout rate is the redirect rate, or
        with an in-platform shop the redirect rate plus the shop premium x seamlessness.
        """
        pop, users, rng = self.population, self.spec.users, self.rng
        f, m, cell = touched.firm, touched.market, touched.cell
        attitude = pop.attitude.reshape(-1)[touched.index]
        crm = self.crm_array()
        # Per (firm, market): the intent multiplier of the content and the checkout rate.
        content = 1.0 + users.incentive_effect * self.strategy.promotional_share
        seamless = np.array([mk.shop_seamlessness for mk in self.markets])
        checkout = np.where(
            self.strategy.shop,
            users.redirect_checkout_rate
            + (users.shop_checkout_rate - users.redirect_checkout_rate) * seamless[None, :],
            users.redirect_checkout_rate,
        )
        intent = (
            users.purchase_intent_base
            * self._per_entry(content, cell)
            * (1.0 + attitude)
            * (1.0 + self.spec.crm.conversion_effect * crm[f])
        )
        checkout = self._per_entry(checkout, cell)
        bought = (consumed > 0) & (
            rng.random(touched.index.size) < np.minimum(1.0, intent * checkout)
        )
        np.add.at(pop.purchases_total, touched.user[bought], np.int32(1))
        customers = pop.customer.reshape(-1)
        new_customers = bought & ~customers[touched.index]
        customers[touched.index[bought]] = True
        self._customer_by_firm[f[bought], touched.user[bought]] = True
        self.customers_count += self._per_cell(touched.cell, new_customers)
        quality = np.array([self.firm_by_index[i].product_quality for i in range(self.n_firms)])
        idx = touched.index[bought]
        current = pop.attitude.reshape(-1)[idx]
        self._set_attitude(idx, current + users.experience_weight * (quality[f[bought]] - current))
        value = np.array([mk.purchase_value for mk in self.markets])
        revenue = bought * value[m]
        self._flow("conversions", touched, bought)
        self._flow("new_customers", touched, new_customers)
        self._flow("revenue", touched, revenue)
        if touched.referred.any():
            self._book_referrals(touched, bought & touched.referred, revenue)
        return bought

    def remember_expressions(
        self, touched: Touched, engagements: np.ndarray, bought: np.ndarray
    ) -> None:
        """Users who engaged or bought today express their opinion to ties tomorrow."""
        speaking = (engagements > 0) | bought
        self.expressed = Expressed(touched.index[speaking])

    # ------------------------------------------------------------------ phase 8
    def crm_array(self) -> np.ndarray:
        return np.array([self.firm_by_index[f].crm_capability for f in range(self.n_firms)])

    def update_crm_capability(self) -> None:
        """Interactions captured and answered build CRM capability; partners share know-how
        (:func:`sim.firms.knowledge_transfer`).

        Every firm's :meth:`Firm.update_crm` at once: :meth:`Firm.crm_after_day`
        element-wise over the firms, then clipped to 0-1.
        """
        flows = self.flows
        engagements = flows[FLOWS.index("engagements")].sum(axis=1)
        answered = flows[FLOWS.index("answered")].sum(axis=1)
        interactions = engagements + self.spec.crm.answer_weight * answered
        ordered = [self.firm_by_index[f] for f in range(self.n_firms)]
        for firm, captured in zip(ordered, interactions, strict=True):
            firm.interactions = captured
        self.knowledge_boost[:] = 0.0
        if self.spec.guanxi.enabled and self.guanxi.tie_count():
            boost, value = knowledge_transfer(ordered, self.guanxi.strength_matrix(), self.spec)
            self.knowledge_boost[:] = boost
            self._benefit += value
        capability = np.array([firm.crm_capability for firm in ordered])
        guanxi = np.array([self.guanxi.level(f) for f in range(self.n_firms)])
        updated = Firm.crm_after_day(
            capability, interactions, guanxi, self.knowledge_boost, self.spec
        )
        for firm, value in zip(ordered, np.clip(updated, 0, 1).tolist(), strict=True):
            firm.crm_capability = value

    # ------------------------------------------------------------------ phase 9
    def update_guanxi(self) -> None:
        """Book favours, strengthen or decay ties, evaluate and sever; close the books."""
        spec = self.spec.guanxi
        if spec.enabled:
            self.guanxi.exchange(self._benefit)
            self.guanxi.evaluate()
        answered = self.flows[FLOWS.index("answered")].sum(axis=1).tolist()
        revenue = self.flows[FLOWS.index("revenue")].sum(axis=1).tolist()
        for firm in self.firms:
            f = firm.index
            upkeep = spec.upkeep_cost * self.guanxi.degree(f)
            firm.close_books(revenue[f], answered[f] * firm.cost_per_response + upkeep)

    def _book_policy_support(
        self, ties: list[tuple[int, int, float]], filtered_share: np.ndarray
    ) -> None:
        """Value of policy support: filtered posts avoided x the receiver's cost of a post."""
        institutional = np.array([m.institutional_weight for m in self.markets])
        for giver, receiver, weight in ties:
            m = self.home_market[giver]
            avoided = (
                self.spec.guanxi.policy_support
                * weight
                * institutional[m]
                * filtered_share[receiver, m]
                * self.posts_today[receiver, m]
            )
            self._benefit[giver, receiver] += avoided * self.firm_by_index[receiver].cost_per_post

    def _book_referrals(self, touched: Touched, referred_buys: np.ndarray, revenue: np.ndarray):
        """Gross margin on referred purchases, booked as the referring partner's favour."""
        for entry, value in zip(touched.index[referred_buys], revenue[referred_buys], strict=True):
            giver = self._referral_source[int(entry)]
            receiver = int(entry) % self.n_firms
            self._benefit[giver, receiver] += value * self.firm_by_index[receiver].gross_margin

    # ------------------------------------------------------------------ metrics
    def _count_stocks(self) -> None:
        """Count the stocks per (firm, market) over all users (at build time).

        Afterwards the phases keep them up to date as they change the users' state
        (:meth:`_add_to_stock`, :meth:`_set_attitude`), so no day re-reads the
        (users x firms) arrays. Unaware users hold attitude 0 (only touched, hence
        aware, entries change), so attitude sums over all users equal sums over the aware.
        """
        pop = self.population
        shape = (self.n_firms, self.n_markets)
        self.aware_count, self.followers_count, self.customers_count = (
            np.zeros(shape) for _ in range(3)
        )
        self._attitude_sum, self._attitude_squares = np.zeros(shape), np.zeros(shape)
        for m in range(self.n_markets):
            block = pop.block(m)
            attitude = pop.attitude[block]
            self.aware_count[:, m] = np.count_nonzero(pop.aware[block], axis=0)
            self.followers_count[:, m] = np.count_nonzero(pop.following[block], axis=0)
            self.customers_count[:, m] = np.count_nonzero(pop.customer[block], axis=0)
            self._attitude_sum[:, m] = attitude.sum(axis=0, dtype=np.float64)
            self._attitude_squares[:, m] = np.einsum(
                "ij,ij->j", attitude, attitude, dtype=np.float64
            )

    def _cells(self, index: np.ndarray) -> np.ndarray:
        """(firm, market) cell, firm x markets + market, of flat (user, firm) entries."""
        users = index // self.n_firms
        return (index - users * self.n_firms) * self.n_markets + self.population.market[users]

    def _per_cell(self, cells: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """(F, M) totals of ``weights`` (or counts) by (firm, market) cell."""
        totals = np.bincount(cells, weights, minlength=self.n_firms * self.n_markets)
        return totals.reshape(self.n_firms, self.n_markets)

    def _set_attitude(self, index: np.ndarray, values: np.ndarray) -> None:
        """Write new attitudes of distinct flat entries; keep the sums per (firm, market)."""
        kernels.set_attitudes(
            self.population.attitude.reshape(-1),
            index,
            values,
            self.population.bounds,
            self.n_firms,
            self._attitude_sum.reshape(-1),
            self._attitude_squares.reshape(-1),
        )

    def _update_metrics(self) -> None:
        """Firm-market means from the running stocks; firm performance and attributes.

        Quotients with a zero count are 0 (``np.divide`` with ``where``: the other
        entries are the same quotients as ``np.where(count > 0, a / count, 0)``).
        """
        count = self.aware_count
        known = count > 0
        mean = np.divide(self._attitude_sum, count, out=np.zeros(count.shape), where=known)
        second = np.divide(self._attitude_squares, count, out=np.zeros(count.shape), where=known)
        self.attitude_mean = mean
        self.attitude_sd = np.sqrt(np.maximum(0.0, second - mean**2))
        size = np.maximum(self.market_size, 1)[None, :]
        customers_all = self.customers_count.sum(axis=0, keepdims=True)
        customer_share = np.divide(
            self.customers_count, customers_all, out=np.zeros(count.shape), where=customers_all > 0
        )
        # Marketing performance index, 0-1: mean over target markets (every firm has
        # one at least) of awareness share, attitude among the aware (rescaled to 0-1)
        # and share of the market's customers.
        components = (count / size + (mean + 1) / 2 + customer_share) / 3
        active = self.strategy.active
        performance = np.where(active, components, 0.0).sum(axis=1) / active.sum(axis=1)
        aware = count.sum(axis=1)
        mean_attitude = np.divide(
            self._attitude_sum.sum(axis=1), aware, out=np.zeros(aware.shape), where=aware > 0
        )
        # Python numbers per firm (tolist: no numpy scalar per attribute).
        performance, aware, mean_attitude = (
            performance.tolist(),
            aware.tolist(),
            mean_attitude.tolist(),
        )
        followers = self.followers_count.sum(axis=1).tolist()
        customers = self.customers_count.sum(axis=1).tolist()
        centrality = self.guanxi.centrality()
        for firm in self.firms:
            f = firm.index
            firm.performance = performance[f]
            firm.followers = int(followers[f])
            firm.aware = int(aware[f])
            firm.customers = int(customers[f])
            firm.mean_attitude = mean_attitude[f]
            firm.centrality = float(centrality.get(f, 0.0))
            firm.guanxi = firm.guanxi_level
            firm.tie_count = firm.ties

    def firm_market_columns(self) -> dict[str, list[Any]]:
        """Today's outcomes per firm and target market, as the firm_market table's columns.

        One entry per (firm, target market): firms by index, each one's markets in
        order. Every column is computed for all entries at once and holds Python
        numbers (the values of the numpy arrays they come from).
        """
        firm, market = np.nonzero(self.strategy.active)  # row-major: firm, then market
        ordered = [self.firm_by_index[f] for f in range(self.n_firms)]
        flows = dict(zip(FLOWS, self.flows[:, firm, market], strict=True))
        followers = self.followers_count[firm, market]
        posts = flows["posts"]
        cost_per_post = np.array([f.cost_per_post for f in ordered])[firm]
        ad_price = np.array([m.ad_cost_per_impression for m in self.markets])[market]
        marketing_cost = posts * cost_per_post + flows["ad_impressions"] * ad_price
        impressions = self.flows[FLOWS.index("impressions")]
        market_impressions = np.array([impressions[:, m].sum() for m in range(self.n_markets)])
        market_impressions = market_impressions[market]
        new_customers = flows["new_customers"]
        followers_before = followers - flows["new_followers"] + flows["unfollows"]
        with np.errstate(invalid="ignore", divide="ignore"):
            engagement_rate = np.where(
                (followers != 0) & (posts != 0), flows["engagements"] / followers / posts, 0.0
            )
            acquisition_cost = np.where(new_customers != 0, marketing_cost / new_customers, np.nan)
            retention = np.where(
                followers_before != 0, 1.0 - flows["unfollows"] / followers_before, 1.0
            )
            share_of_voice = np.where(
                market_impressions != 0, flows["impressions"] / market_impressions, 0.0
            )
        names = [f.name for f in ordered]
        focal = [f.is_focal for f in ordered]
        market_names = [m.name for m in self.markets]
        firm_list, market_list = firm.tolist(), market.tolist()
        return {
            "step": [self.steps] * len(firm_list),
            "firm": [names[f] for f in firm_list],
            "market": [market_names[m] for m in market_list],
            "focal": [focal[f] for f in firm_list],
            "attitude_mean": self.attitude_mean[firm, market].tolist(),
            "attitude_sd": self.attitude_sd[firm, market].tolist(),
            "awareness": (
                self.aware_count[firm, market] / np.maximum(self.market_size, 1)[market]
            ).tolist(),
            "followers": followers.tolist(),
            "customers": self.customers_count[firm, market].tolist(),
            **{name: values.tolist() for name, values in flows.items()},
            "engagement_rate": engagement_rate.tolist(),
            "marketing_cost": marketing_cost.tolist(),
            "customer_acquisition_cost": acquisition_cost.tolist(),
            "retention": retention.tolist(),
            "share_of_voice": share_of_voice.tolist(),
        }

    def _collect(self) -> None:
        """Record today's model and firm variables, firm-market outcomes and (on snapshot
        days) the guanxi ties; the tables are appended column-wise (:func:`append_columns`)."""
        self.datacollector.collect(self)
        append_columns(self.datacollector, "firm_market", self.firm_market_columns())
        if self.steps % self.spec.model.edge_snapshot_interval == 0:
            rows = self.guanxi.edge_rows()
            append_columns(
                self.datacollector,
                "guanxi_edges",
                {column: [row[column] for row in rows] for column in EDGE_COLUMNS},
            )


# ---------------------------------------------------------------------- reporters
# Module-level functions so that models pickle and run in worker processes.
def focal_attitude(model: MarketModel) -> float:
    return model.focal.mean_attitude


def focal_followers(model: MarketModel) -> int:
    return model.focal.followers


def focal_customers(model: MarketModel) -> int:
    return model.focal.customers


def focal_crm_capability(model: MarketModel) -> float:
    return model.focal.crm_capability


def focal_profit(model: MarketModel) -> float:
    return model.focal.profit


def focal_revenue(model: MarketModel) -> float:
    return model.focal.revenue


def focal_performance(model: MarketModel) -> float:
    return model.focal.performance


def tie_count(model: MarketModel) -> int:
    return model.guanxi.tie_count()


def ties_formed(model: MarketModel) -> int:
    return model.guanxi.formed_today


def ties_severed(model: MarketModel) -> int:
    return model.guanxi.severed_today


def tie_density(model: MarketModel) -> float:
    return model.guanxi.density()


def tie_clustering(model: MarketModel) -> float:
    return model.guanxi.clustering()


def mean_tie_strength(model: MarketModel) -> float:
    return model.guanxi.mean_strength()


MODEL_REPORTERS = {
    "focal_attitude": focal_attitude,
    "focal_followers": focal_followers,
    "focal_customers": focal_customers,
    "focal_crm_capability": focal_crm_capability,
    "focal_revenue": focal_revenue,
    "focal_profit": focal_profit,
    "focal_performance": focal_performance,
    "ties": tie_count,
    "ties_formed": ties_formed,
    "ties_severed": ties_severed,
    "tie_density": tie_density,
    "tie_clustering": tie_clustering,
    "mean_tie_strength": mean_tie_strength,
}

# The firm reporters: column -> Firm attribute (a number or a name).
FIRM_ATTRIBUTES = {
    "firm": "name",
    "focal": "is_focal",
    "crm_capability": "crm_capability",
    "performance": "performance",
    "mean_attitude": "mean_attitude",
    "aware": "aware",
    "followers": "followers",
    "customers": "customers",
    "revenue": "revenue",
    "costs": "costs",
    "profit": "profit",
    "total_profit": "total_profit",
    "ties": "tie_count",
    "guanxi_level": "guanxi",
    "centrality": "centrality",
    "strategy_revisions": "strategy_revisions",
}
# attrgetter rather than attribute names: Mesa wraps names in closures, which do not pickle.
FIRM_REPORTERS = {column: attrgetter(attribute) for column, attribute in FIRM_ATTRIBUTES.items()}

EDGE_COLUMNS = [
    "step",
    "firm_a",
    "firm_b",
    "strength",
    "age",
    "benefit_a",
    "benefit_b",
    "favours_a",
    "favours_b",
]


def build_datacollector() -> mesa.DataCollector:
    firm_market_columns = [
        "step",
        "firm",
        "market",
        "focal",
        "attitude_mean",
        "attitude_sd",
        "awareness",
        "followers",
        "customers",
        *FLOWS,
        "engagement_rate",
        "marketing_cost",
        "customer_acquisition_cost",
        "retention",
        "share_of_voice",
    ]
    return MarketDataCollector(
        model_reporters=MODEL_REPORTERS,
        agent_reporters=FIRM_REPORTERS,
        tables={"firm_market": firm_market_columns, "guanxi_edges": EDGE_COLUMNS},
    )


def append_columns(
    datacollector: mesa.DataCollector, table: str, columns: dict[str, list[Any]]
) -> None:
    """Append rows, given as columns, to a DataCollector table.

    Mesa stores a table as one list per column and ``add_table_row`` appends a row's
    value to each list; extending the lists by whole columns stores the same values
    without the per-row, per-column checks. Every column of the table must be given,
    all of the same length.
    """
    stored = datacollector.tables[table]
    missing = stored.keys() - columns.keys()
    if missing:
        raise KeyError(f"table {table!r}: no values for columns {sorted(missing)}")
    if len({len(columns[column]) for column in stored}) > 1:
        raise ValueError(f"table {table!r}: columns of different lengths")
    for column, values in stored.items():
        values.extend(columns[column])


class MarketDataCollector(mesa.DataCollector):
    """Mesa's DataCollector, with each firm's reporters read in one call.

    The firm reporters (:data:`FIRM_REPORTERS`) each read one attribute:
    ``attrgetter`` over all of them (:data:`FIRM_ATTRIBUTES`) returns a firm's values
    at once. As in Mesa, values of immutable types are stored as they are and other
    values deep-copied, so the records (``get_agent_vars_dataframe()``) are the ones
    Mesa's own loop over reporters and values would make. Other agent reporters fall
    back to that loop.
    """

    _firm_values = staticmethod(attrgetter(*FIRM_ATTRIBUTES.values()))
    _stored_as_is = (str, int, bool, float, tuple)  # Mesa's immutable types

    def _record_agents(self, model: mesa.Model) -> list[tuple]:
        """The records (time, agent id, *values) of one collection (Mesa's hook)."""
        if list(self.agent_reporters.items()) != list(FIRM_REPORTERS.items()):
            return super()._record_agents(model)
        exact_types = frozenset(self._stored_as_is)
        time = model.time
        records = []
        for agent in model.agents:
            values = self._firm_values(agent)
            if not exact_types.issuperset(map(type, values)):
                from copy import deepcopy  # rarely needed: imported here

                values = tuple(
                    value if isinstance(value, self._stored_as_is) else deepcopy(value)
                    for value in values
                )
            records.append((time, agent.unique_id, *values))
        return records
