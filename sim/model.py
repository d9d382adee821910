"""The market model: users (numpy arrays), firms (Mesa agents) and guanxi (networkx).

One step is one day and follows ``../shared/design.md``:

1. firms act (``AgentSet.shuffle_do``): posts, ads within budget, adaptive revision,
   partner search;
2. exposure: followers see posts (organic reach x attention, which grows with SNS
   dependency), ads reach non-followers, partners cross-promote, shares travel on
   strong and weak ties, partners refer customers, and word of mouth spreads
   awareness (Goldenberg et al. 2001; Bass 1969 when fully mixed);
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
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import scipy.sparse as sp

from sim.firms import Firm
from sim.guanxi import GuanxiNetwork
from sim.network import UserNetwork, build_user_network
from sim.scenario import Scenario, load_scenario, scenario_from_data
from sim.strategy import StrategyTable
from sim.users import Population

# Columns of the per-firm, per-market daily flows (see MarketModel.flows).
FLOWS = (
    "posts",
    "impressions",
    "reach",
    "consumed",
    "engagements",
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


def group_sums(
    keys: np.ndarray, size: int, *weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Distinct ``keys`` (sorted), how often each occurs, and each weight's sum per key.

    Keys are flat (user, firm) indices below ``size``. Sorting costs O(k log k);
    a dense bincount costs O(size); whichever is cheaper for this k is used.
    """
    if keys.size * 16 >= size:
        counts = np.bincount(keys, minlength=size)
        index = np.flatnonzero(counts)
        sums = [np.bincount(keys, w, minlength=size)[index] for w in weights]
        return index, counts[index], sums
    index, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    return index, counts, [np.bincount(inverse, w, minlength=index.size) for w in weights]


@dataclass
class Heard:
    """(user, firm) entries whose ties expressed an opinion of the firm yesterday."""

    index: np.ndarray  # flat index into (N, F), sorted
    speakers: np.ndarray  # number of ties who expressed
    opinion_sum: np.ndarray  # sum of their attitudes


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
        self.expressed = sp.csr_matrix((self.population.n_users, self.n_firms), dtype=bool)
        self._benefit = np.zeros((self.n_firms, self.n_firms))
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
        self.active_nf = self.strategy.active.T[mk]  # (N, F)
        home = np.array([firm.home_market for firm in sorted(self.firms, key=lambda f: f.index)])
        self.home_market = home
        individualism = np.array([m.individualism for m in self.markets])
        # Cultural distance between a firm's home and each market, 0-1 (Hofstede).
        self.cultural_distance = np.abs(individualism[home][:, None] - individualism[None, :]) / 100
        self.foreign = home[:, None] != np.arange(self.n_markets)[None, :]
        if self.network is not None:
            net = spec.network
            self._wom_weights = (
                self.network.strong * np.float32(np.log1p(-min(net.strong_tie_wom, 0.999999)))
                + self.network.weak * np.float32(np.log1p(-min(net.weak_tie_wom, 0.999999)))
            ).tocsr()
            self._ties = (self.network.strong + self.network.weak).tocsr()
            self._ties.data[:] = 1.0
            # log P(not made aware by word of mouth today), kept up to date incrementally.
            self._log_not_aware = np.asarray(
                self._wom_weights @ pop.aware.astype(np.float32), dtype=np.float32
            )

    # ------------------------------------------------------------------ helpers
    def non_followers(self, firm: int, market: int) -> int:
        block = self.population.block(market)
        return int(block.stop - block.start - self.followers_count[firm, market])

    @property
    def users(self) -> Population:
        return self.population

    def _flow(self, name: str, touched: Touched, weights: np.ndarray) -> None:
        """Add per-entry ``weights`` to today's flow ``name`` by (firm, market)."""
        cell = touched.firm * self.n_markets + touched.market
        self.flows[FLOWS.index(name)] += np.bincount(
            cell, weights=weights, minlength=self.n_firms * self.n_markets
        ).reshape(self.n_firms, self.n_markets)

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

        Each channel yields (flat entry index, items) pairs; only entries that see
        something are ever touched, so the cost follows activity, not users x firms.
        """
        pop, spec = self.population, self.spec
        n_firms = self.n_firms
        ties = self.guanxi.directed_ties() if spec.guanxi.enabled else []
        pass_share, filtered_share = self._content_filter(ties)
        if ties:
            self._book_policy_support(ties, filtered_share)
        following = np.flatnonzero(pop.following)
        follower_user, follower_firm = np.divmod(following, n_firms)

        channels: dict[str, tuple[np.ndarray, np.ndarray]] = {
            "own": self._own_posts(following, follower_user, follower_firm, pass_share),
            "ad_impressions": self._ads(),
            "cross_promotion_impressions": self._cross_promotion(ties, pass_share),
            "share_impressions": self._shares(),
        }
        referral_index, referral_source = self._referrals(ties)
        channels["referrals"] = (referral_index, np.ones(referral_index.size, np.int64))

        index = np.concatenate([c[0] for c in channels.values()])
        items = np.concatenate([c[1] for c in channels.values()])
        keep = items > 0
        index, items = index[keep], items[keep]
        unique, _, (seen,) = group_sums(index, pop.n_users * n_firms, items)
        seen = seen.astype(np.int64)
        own_index, own_items = channels["own"]
        own = np.zeros(unique.size, np.int64)
        own[np.searchsorted(unique, own_index[own_items > 0])] = own_items[own_items > 0]
        referred = np.zeros(unique.size, bool)
        referred[np.searchsorted(unique, referral_index)] = True
        self._referral_source = dict(
            zip(referral_index.tolist(), referral_source.tolist(), strict=True)
        )

        user, firm = np.divmod(unique, n_firms)
        touched = Touched(
            index=unique,
            user=user,
            firm=firm,
            market=pop.market[user],
            seen=seen,
            own_posts=own,
            referred=referred,
        )
        self._become_aware(touched)
        self.flows[FLOWS.index("posts")] = self.posts_today
        for name in ("ad_impressions", "cross_promotion_impressions", "share_impressions"):
            self._flow_entries(name, *channels[name])
        self._flow("impressions", touched, touched.seen)
        self._flow("reach", touched, np.ones(unique.size))
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

    def _own_posts(self, following, follower_user, follower_firm, pass_share):
        """Own posts seen by followers: Binomial(posts, organic reach x attention x pass)."""
        posts = self.posts_today[follower_firm, self.population.market[follower_user]]
        prob = (
            self.organic_seen[follower_user]
            * pass_share[follower_firm, self.population.market[follower_user]]
        )
        return following, self.rng.binomial(posts, prob)

    def _ads(self) -> tuple[np.ndarray, np.ndarray]:
        """Paid reach: each non-follower in a targeted market is reached with the ad share."""
        pop, rng = self.population, self.rng
        found = []
        for f, m in zip(*np.nonzero(self.ad_reach_today), strict=True):
            block = pop.block(m)
            size = block.stop - block.start
            users = block.start + np.flatnonzero(rng.random(size) < self.ad_reach_today[f, m])
            users = users[~pop.following[users, f]]
            found.append(users * self.n_firms + f)
        index = np.concatenate(found) if found else np.empty(0, np.int64)
        return index, np.ones(index.size, np.int64)

    def _cross_promotion(self, ties, pass_share):
        """Partners show our posts to their followers (guanxi favour).

        For a tie giver -> receiver with weight = strength x giver's reciprocity, each
        follower of the giver who does not follow the receiver sees one of the
        receiver's posts that day with probability
        min(1, cross_promotion x weight x organic reach x attention x pass x posts).
        The impressions are booked as the receiver's benefit at the market's ad price.
        """
        if not ties:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        pop, rng, spec = self.population, self.rng, self.spec.guanxi
        price = np.array([m.ad_cost_per_impression for m in self.markets])
        followers_of = {}
        found = []
        for giver, receiver, weight in ties:
            if giver not in followers_of:
                followers_of[giver] = np.flatnonzero(pop.following[:, giver])
            users = followers_of[giver]
            market = pop.market[users]
            prob = (
                spec.cross_promotion
                * weight
                * self.organic_seen[users]
                * (pass_share[receiver] * self.posts_today[receiver])[market]
            )
            users = users[rng.random(users.size) < prob]
            users = users[~pop.following[users, receiver]]
            found.append(users * self.n_firms + receiver)
            self._benefit[giver, receiver] += float(price[pop.market[users]].sum())
        index = np.concatenate(found)
        return index, np.ones(index.size, np.int64)

    def _shares(self) -> tuple[np.ndarray, np.ndarray]:
        """Items seen through ties' shares: P = 1 - (1 - share_reach)^(expressing ties).

        Fully mixed: each user hears the market's expressers as if they were spread
        over its strong + weak tie count.
        """
        pop, net, rng = self.population, self.spec.network, self.rng
        self._heard = None
        empty = np.empty(0, np.int64), np.empty(0, np.int64)
        if self.expressed.nnz == 0:
            return empty
        # Who heard which opinions also drives social influence in phase 5.
        listeners = self._listeners() if self.network is not None else None
        if net.share_reach <= 0:
            return empty
        log_miss = np.log1p(-min(net.share_reach, 0.999999))
        if listeners is not None:
            hit = rng.random(listeners.index.size) < -np.expm1(listeners.speakers * log_miss)
            users, firms = np.divmod(listeners.index[hit], self.n_firms)
        else:
            degree = net.strong_ties + net.weak_ties
            expressed = self.expressed.toarray()
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

        Gathers the ties of every speaker (CSR rows of the symmetric tie matrix) and
        groups by listener entry; the cost follows speakers x ties, not users.
        """
        pop, ties = self.population, self._ties
        speakers = self.expressed.tocoo()
        users, firms = speakers.row.astype(np.int64), speakers.col.astype(np.int64)
        opinion = pop.attitude[users, firms]
        starts, stops = ties.indptr[users], ties.indptr[users + 1]
        lengths = stops - starts
        offsets = np.repeat(stops - lengths.cumsum(), lengths) + np.arange(lengths.sum())
        key = ties.indices[offsets].astype(np.int64) * self.n_firms + np.repeat(firms, lengths)
        index, speakers_heard, (opinion_sum,) = group_sums(
            key, pop.n_users * self.n_firms, np.repeat(opinion, lengths)
        )
        heard = Heard(index=index, speakers=speakers_heard, opinion_sum=opinion_sum)
        self._heard = heard
        return heard

    def _referrals(self, ties) -> tuple[np.ndarray, np.ndarray]:
        """Partners refer their customers to us: P = referral_rate x strength x reciprocity.

        Only users in a market we target who are not yet our customers count. Returns
        the referred entries and the referring partner of each (the first, when several
        partners refer the same user on one day).
        """
        rate = self.spec.guanxi.referral_rate
        if not ties or rate <= 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        pop, rng = self.population, self.rng
        customers_of = {}
        found, sources = [], []
        for giver, receiver, weight in ties:
            if giver not in customers_of:
                customers_of[giver] = np.flatnonzero(pop.customer[:, giver])
            users = customers_of[giver]
            users = users[rng.random(users.size) < rate * weight]
            users = users[self.active_nf[users, receiver] & ~pop.customer[users, receiver]]
            found.append(users * self.n_firms + receiver)
            sources.append(np.full(users.size, giver))
        index, source = np.concatenate(found), np.concatenate(sources)
        index, first = np.unique(index, return_index=True)
        return index, source[first]

    def _become_aware(self, touched: Touched) -> None:
        """Anything seen makes a user aware; so does word of mouth among aware users."""
        pop = self.population
        flat_aware = pop.aware.reshape(-1)
        newly = touched.index[~flat_aware[touched.index]]
        flat_aware[newly] = True
        by_word = self._word_of_mouth()
        flat_aware[by_word] = True
        newly = np.concatenate([newly, by_word])
        if self.network is not None and newly.size:
            self._spread_awareness(newly)

    def _spread_awareness(self, newly: np.ndarray) -> None:
        """Add the newly aware users' tie weights to their neighbours' log P(not aware)."""
        users, firms = np.divmod(newly, self.n_firms)
        weights = self._wom_weights
        starts, stops = weights.indptr[users], weights.indptr[users + 1]
        lengths = stops - starts
        if lengths.sum() == 0:
            return
        # Positions of every neighbour entry of every newly aware user, without a loop.
        offsets = np.repeat(stops - lengths.cumsum(), lengths) + np.arange(lengths.sum())
        neighbours = weights.indices[offsets]
        target = neighbours.astype(np.int64) * self.n_firms + np.repeat(firms, lengths)
        np.add.at(self._log_not_aware.reshape(-1), target, weights.data[offsets])

    def _word_of_mouth(self) -> np.ndarray:
        """Flat entries of unaware users made aware by aware others today.

        Social network (Goldenberg et al. 2001): P = 1 - (1 - b_s)^m_s (1 - b_w)^m_w with
        m_s, m_w the aware strong and weak ties. Fully mixed (Bass 1969):
        P = 1 - (1 - q / N_m)^A_m with A_m the aware users of the market, a hazard of
        about q x (aware share).
        """
        pop, rng = self.population, self.rng
        if self.network is not None:
            candidates = np.flatnonzero((self._log_not_aware < 0) & ~pop.aware & self.active_nf)
            prob = -np.expm1(self._log_not_aware.reshape(-1)[candidates])
            return candidates[rng.random(candidates.size) < prob]
        q = self.spec.network.mixed_wom
        found = []
        for m in range(self.n_markets):
            block = pop.block(m)
            size = block.stop - block.start
            if size == 0:
                continue
            prob = -np.expm1(pop.aware[block].sum(axis=0) * np.log1p(-min(q / size, 0.999999)))
            hit = (
                ~pop.aware[block]
                & self.active_nf[block]
                & (rng.random((size, self.n_firms)) < prob[None, :])
            )
            users, firms = np.nonzero(hit)
            found.append((users + block.start) * self.n_firms + firms)
        return np.concatenate(found) if found else np.empty(0, np.int64)

    def _flow_entries(self, name: str, index: np.ndarray, items: np.ndarray) -> None:
        """Add per-entry ``items`` (flat (user, firm) indices) to flow ``name``."""
        users, firms = np.divmod(index, self.n_firms)
        cell = firms * self.n_markets + self.population.market[users]
        self.flows[FLOWS.index(name)] += np.bincount(
            cell, weights=items, minlength=self.n_firms * self.n_markets
        ).reshape(self.n_firms, self.n_markets)

    # ------------------------------------------------------------------ phase 3
    def content_fit(self, touched: Touched) -> np.ndarray:
        """Fit of a firm's content with the user's motives (0-1), after culture and CRM.

        fit = transactional share x transactional motive + relational share x relational
        motive; unlocalised content loses fit in proportion to the cultural distance
        between the firm's home and the market; CRM capability improves targeting,
        closing part of the gap to a perfect fit.
        """
        pop, f, m = self.population, touched.firm, touched.market
        fit = (
            self.strategy.transactional_share[f, m] * pop.transactional_motive[touched.user]
            + self.strategy.relational_share[f, m] * pop.relational_motive[touched.user]
        )
        fit *= 1.0 - self.cultural_distance[f, m] * (1.0 - self.strategy.localisation[f, m])
        crm = self.crm_array()[f]
        return fit + self.spec.crm.targeting_effect * crm * (1.0 - fit)

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
        consumed = rng.binomial(touched.seen, p_consume)
        p_engage = sigmoid(
            users.engage_intercept
            + users.engage_per_dependency * dependency
            + users.engage_per_relational_motive * pop.relational_motive[touched.user]
            + users.engage_per_fit * fit
            + users.engage_per_attitude * attitude
            + users.engage_per_collectivism * self.collectivism[touched.market]
        )
        engagements = rng.binomial(consumed, p_engage)
        n_users = pop.n_users
        pop.consumed_total += np.bincount(touched.user, consumed, n_users).astype(np.int32)
        pop.engaged_total += np.bincount(touched.user, engagements, n_users).astype(np.int32)
        self._flow("consumed", touched, consumed)
        self._flow("engagements", touched, engagements)
        return consumed, engagements

    # ------------------------------------------------------------------ phase 4
    def answer_comments(
        self, touched: Touched, engagements: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Firms answer a share of comments within capacity and the budget left."""
        comments = self.flows[FLOWS.index("engagements")]  # (F, M)
        wanted = self.strategy.responsiveness * comments
        answer_share = np.zeros_like(wanted)
        for firm in self.firms:
            f = firm.index
            total = wanted[f].sum()
            if total <= 0:
                continue
            budget_left = max(0.0, self.strategy.budget[f].sum() - firm.costs)
            affordable = (
                budget_left / firm.cost_per_response if firm.cost_per_response > 0 else np.inf
            )
            capacity = min(firm.response_capacity, affordable)
            scale = min(1.0, capacity / total)
            with np.errstate(invalid="ignore", divide="ignore"):
                answer_share[f] = np.where(comments[f] > 0, wanted[f] * scale / comments[f], 0)
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
        flat[touched.index] = np.clip(attitude, -1.0, 1.0)
        self._social_influence()
        pop.attitude *= np.float32(1.0 - users.attitude_decay)

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
            index = heard.index
            keep = pop.aware.reshape(-1)[index]
            index, opinion = index[keep], (heard.opinion_sum / heard.speakers)[keep]
            flat = pop.attitude.reshape(-1)
            current = flat[index]
            w = weight[pop.market[index // self.n_firms]]
            flat[index] = current + w * (opinion - current)
            return
        expressed = self.expressed.toarray()
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

    # ------------------------------------------------------------------ phase 6
    def follow_and_unfollow(self, touched: Touched, consumed: np.ndarray) -> None:
        pop, users, rng = self.population, self.spec.users, self.rng
        following = pop.following.reshape(-1)
        attitude = pop.attitude.reshape(-1)[touched.index]
        dependency = pop.sns_dependency[touched.user]
        f, m = touched.firm, touched.market
        could_follow = (consumed > 0) & ~following[touched.index]
        p_follow = sigmoid(
            users.follow_intercept
            + users.follow_per_transactional
            * self.strategy.transactional_share[f, m]
            * pop.transactional_motive[touched.user]
            + users.follow_per_relational
            * self.strategy.relational_share[f, m]
            * pop.relational_motive[touched.user]
            + users.follow_per_dependency * dependency
            + users.follow_per_attitude * attitude
        )
        follows = could_follow & (rng.random(touched.index.size) < p_follow)

        # Unfollowing: base rate, over-posting fatigue and negative attitude, reduced
        # by the firm's CRM capability (retention).
        entries = np.flatnonzero(pop.following)
        rows, cols = np.divmod(entries, self.n_firms)
        # Fatigue today of each follower entry (zero unless it was touched).
        position = np.minimum(np.searchsorted(touched.index, entries), touched.index.size - 1)
        fatigue = np.zeros(entries.size)
        if touched.index.size:
            hit = touched.index[position] == entries
            fatigue[hit] = self._excess_posts[position[hit]]
        retention = 1.0 - self.spec.crm.retention_effect * self.crm_array()[cols]
        p_unfollow = (
            users.unfollow_base
            + users.unfollow_per_fatigue * fatigue
            + users.unfollow_per_negative_attitude
            * np.maximum(0.0, -pop.attitude.reshape(-1)[entries])
        ) * retention
        leaves = rng.random(rows.size) < p_unfollow
        following[entries[leaves]] = False
        following[touched.index[follows]] = True

        self._flow("new_followers", touched, follows)
        unfollow_cells = cols[leaves] * self.n_markets + pop.market[rows[leaves]]
        self.flows[FLOWS.index("unfollows")] += np.bincount(
            unfollow_cells, minlength=self.n_firms * self.n_markets
        ).reshape(self.n_firms, self.n_markets)

    # ------------------------------------------------------------------ phase 7
    def purchase(self, touched: Touched, consumed: np.ndarray) -> np.ndarray:
        """Purchases by users who consumed a firm's content today.

        intent = base x (1 + incentive x promotional share) x (1 + attitude)
                 x (1 + conversion_effect x CRM capability);
        P(buy) = intent x checkout rate, where the checkout rate is the redirect rate, or
        with an in-platform shop the redirect rate plus the shop premium x seamlessness.
        """
        pop, users, rng = self.population, self.spec.users, self.rng
        f, m = touched.firm, touched.market
        attitude = pop.attitude.reshape(-1)[touched.index]
        crm = self.crm_array()
        intent = (
            users.purchase_intent_base
            * (1.0 + users.incentive_effect * self.strategy.promotional_share[f, m])
            * (1.0 + attitude)
            * (1.0 + self.spec.crm.conversion_effect * crm[f])
        )
        seamless = np.array([mk.shop_seamlessness for mk in self.markets])
        checkout = np.where(
            self.strategy.shop[f, m],
            users.redirect_checkout_rate
            + (users.shop_checkout_rate - users.redirect_checkout_rate) * seamless[m],
            users.redirect_checkout_rate,
        )
        bought = (consumed > 0) & (
            rng.random(touched.index.size) < np.minimum(1.0, intent * checkout)
        )
        pop.purchases_total += np.bincount(touched.user, bought, pop.n_users).astype(np.int32)
        customers = pop.customer.reshape(-1)
        new_customers = bought & ~customers[touched.index]
        customers[touched.index[bought]] = True
        quality = np.array([self.firm_by_index[i].product_quality for i in range(self.n_firms)])
        flat = pop.attitude.reshape(-1)
        idx = touched.index[bought]
        flat[idx] += users.experience_weight * (quality[f[bought]] - flat[idx])
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
        shape = (self.population.n_users, self.n_firms)
        self.expressed = sp.csr_matrix(
            (np.ones(int(speaking.sum()), bool), (touched.user[speaking], touched.firm[speaking])),
            shape=shape,
        )

    # ------------------------------------------------------------------ phase 8
    def crm_array(self) -> np.ndarray:
        return np.array([self.firm_by_index[f].crm_capability for f in range(self.n_firms)])

    def update_crm_capability(self) -> None:
        """Interactions captured and answered build CRM capability; partners share know-how.

        Knowledge spill-over (Luo 2024: guanxi gives access to knowledge that
        "optimizes social-media-enabled CRM processes"): each more capable partner's
        know-how raises the firm's learning from its own social media interactions by
        ``knowledge_spillover`` x tie strength x the partner's reciprocity x the
        capability gap. Know-how is absorbed through the firm's own use (absorptive
        capacity, Cohen & Levinthal 1990): a firm without social media interactions
        learns nothing from it, so knowledge complements social media use, as guanxi
        does in Luo's moderation, instead of pulling capability towards the partner's
        whatever the firm does.
        """
        flows = self.flows
        engagements = flows[FLOWS.index("engagements")].sum(axis=1)
        answered = flows[FLOWS.index("answered")].sum(axis=1)
        for firm in self.firms:
            firm.interactions = (
                engagements[firm.index] + self.spec.crm.answer_weight * answered[firm.index]
            )
        self.knowledge_boost[:] = 0.0
        if self.spec.guanxi.enabled and self.guanxi.graph.number_of_edges():
            crm = self.crm_array()
            use = np.array([self.firm_by_index[f].social_media_use for f in range(self.n_firms)])
            strength = self.guanxi.strength_matrix()
            reciprocity = np.array([self.firm_by_index[g].reciprocity for g in range(self.n_firms)])
            gap = np.maximum(0.0, crm[:, None] - crm[None, :])  # (G, F): giver above receiver
            boost = self.spec.guanxi.knowledge_spillover * strength * reciprocity[:, None] * gap
            self.knowledge_boost[:] = boost.sum(axis=0)
            # Capability each giver's know-how adds to the receiver's learning today.
            learning = self.spec.crm.learning_rate * use * (1.0 - crm)
            self._benefit += boost * learning[None, :] * self.spec.guanxi.crm_point_value
        self.firms.do("update_crm")

    # ------------------------------------------------------------------ phase 9
    def update_guanxi(self) -> None:
        """Book favours, strengthen or decay ties, evaluate and sever; close the books."""
        spec = self.spec.guanxi
        if spec.enabled:
            self.guanxi.exchange(self._benefit)
            self.guanxi.evaluate()
        answered = self.flows[FLOWS.index("answered")].sum(axis=1)
        revenue = self.flows[FLOWS.index("revenue")].sum(axis=1)
        for firm in self.firms:
            upkeep = spec.upkeep_cost * self.guanxi.degree(firm.index)
            firm.close_books(
                float(revenue[firm.index]),
                float(answered[firm.index] * firm.cost_per_response + upkeep),
            )

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
    def _update_metrics(self) -> None:
        """Stocks per (firm, market), firm performance and the firm attributes reported."""
        pop = self.population
        n_f, n_m = self.n_firms, self.n_markets
        self.aware_count = np.zeros((n_f, n_m))
        self.followers_count = np.zeros((n_f, n_m))
        self.customers_count = np.zeros((n_f, n_m))
        self.attitude_mean = np.zeros((n_f, n_m))
        self.attitude_sd = np.zeros((n_f, n_m))
        self.market_size = np.diff(pop.bounds).astype(float)
        for m in range(n_m):
            block = pop.block(m)
            # Unaware users hold attitude 0 (only touched, hence aware, entries change),
            # so sums over all users equal sums over the aware.
            attitude = pop.attitude[block]
            count = np.count_nonzero(pop.aware[block], axis=0)
            self.aware_count[:, m] = count
            self.followers_count[:, m] = np.count_nonzero(pop.following[block], axis=0)
            self.customers_count[:, m] = np.count_nonzero(pop.customer[block], axis=0)
            total = attitude.sum(axis=0, dtype=np.float64)
            squares = np.einsum("ij,ij->j", attitude, attitude, dtype=np.float64)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.where(count > 0, total / count, 0.0)
                second = np.where(count > 0, squares / count, 0.0)
            self.attitude_mean[:, m] = mean
            self.attitude_sd[:, m] = np.sqrt(np.maximum(0.0, second - mean**2))
        size = np.maximum(self.market_size, 1)[None, :]
        customers_all = self.customers_count.sum(axis=0, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            customer_share = np.where(customers_all > 0, self.customers_count / customers_all, 0)
        # Marketing performance index, 0-1: mean over target markets of awareness share,
        # attitude among the aware (rescaled to 0-1) and share of the market's customers.
        components = (self.aware_count / size + (self.attitude_mean + 1) / 2 + customer_share) / 3
        centrality = self.guanxi.centrality()
        for firm in self.firms:
            f, markets = firm.index, firm.target_markets
            firm.performance = float(components[f, markets].mean())
            firm.followers = int(self.followers_count[f].sum())
            firm.aware = int(self.aware_count[f].sum())
            firm.customers = int(self.customers_count[f].sum())
            aware_total = self.aware_count[f].sum()
            firm.mean_attitude = float(
                (self.attitude_mean[f] * self.aware_count[f]).sum() / aware_total
                if aware_total
                else 0.0
            )
            firm.centrality = float(centrality.get(f, 0.0))
            firm.guanxi = firm.guanxi_level
            firm.tie_count = firm.ties

    def firm_market_rows(self) -> list[dict[str, Any]]:
        """Today's outcomes per firm and target market (the firm x market time series)."""
        rows = []
        flows = {name: self.flows[i] for i, name in enumerate(FLOWS)}
        for firm in sorted(self.firms, key=lambda x: x.index):
            f = firm.index
            for m in firm.target_markets:
                followers = self.followers_count[f, m]
                posts = flows["posts"][f, m]
                impressions_m = flows["impressions"][:, m].sum()
                ad_cost = flows["ad_impressions"][f, m] * self.markets[m].ad_cost_per_impression
                marketing_cost = posts * firm.cost_per_post + ad_cost
                new_customers = flows["new_customers"][f, m]
                followers_before = (
                    followers - flows["new_followers"][f, m] + flows["unfollows"][f, m]
                )
                rows.append(
                    {
                        "step": self.steps,
                        "firm": firm.name,
                        "market": self.markets[m].name,
                        "focal": firm.is_focal,
                        "attitude_mean": self.attitude_mean[f, m],
                        "attitude_sd": self.attitude_sd[f, m],
                        "awareness": self.aware_count[f, m] / max(self.market_size[m], 1),
                        "followers": followers,
                        "customers": self.customers_count[f, m],
                        **{name: flows[name][f, m] for name in FLOWS},
                        "engagement_rate": (
                            flows["engagements"][f, m] / followers / posts
                            if followers and posts
                            else 0.0
                        ),
                        "marketing_cost": marketing_cost,
                        "customer_acquisition_cost": (
                            marketing_cost / new_customers if new_customers else float("nan")
                        ),
                        "retention": (
                            1.0 - flows["unfollows"][f, m] / followers_before
                            if followers_before
                            else 1.0
                        ),
                        "share_of_voice": (
                            flows["impressions"][f, m] / impressions_m if impressions_m else 0.0
                        ),
                    }
                )
        return rows

    def _collect(self) -> None:
        self.datacollector.collect(self)
        for row in self.firm_market_rows():
            self.datacollector.add_table_row("firm_market", row)
        if self.steps % self.spec.model.edge_snapshot_interval == 0:
            for row in self.guanxi.edge_rows():
                self.datacollector.add_table_row("guanxi_edges", row)


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
    return model.guanxi.graph.number_of_edges()


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

# attrgetter rather than attribute names: Mesa wraps names in closures, which do not pickle.
FIRM_REPORTERS = {
    column: attrgetter(attribute)
    for column, attribute in {
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
    }.items()
}

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
    return mesa.DataCollector(
        model_reporters=MODEL_REPORTERS,
        agent_reporters=FIRM_REPORTERS,
        tables={"firm_market": firm_market_columns, "guanxi_edges": EDGE_COLUMNS},
    )
