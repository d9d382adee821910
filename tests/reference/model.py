"""The agent-per-user reference of the market model (issue 6).

The same model as :class:`sim.model.MarketModel`, built from the same validated
:class:`sim.scenario.Scenario`, written the way the Mesa examples are: every user
is a :class:`~benchmarks.reference.agents.UserAgent` stepped phase by phase with
``AgentSet.do``. Firms, their strategies, the guanxi network and the user network
are the model package's own (``sim.model.firms.Firm``, ``sim.model.strategy.StrategyTable``,
``sim.model.guanxi.GuanxiNetwork``, ``sim.model.network.build_user_network``): only the user
side is re-implemented, one agent at a time.

It serves two purposes: the idiomatic-Mesa baseline that ``benchmarks/bench_reference.py``
times the vectorised model against, and the oracle of ``tests/test_reference_oracle.py``
(both models must agree in distribution on the focal firm's outcomes).

One step, in the order of ``sim/model.py``: firms act; exposure; consumption and
engagement; answers; attitudes; follow and unfollow; purchase; CRM capability;
guanxi; metrics and data collection. Firm-level quantities that every user reads
during a phase (today's posts, pass shares, answer shares, ...) are fixed before
the phase in :class:`Today`, as nested lists indexed ``[firm][market]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from benchmarks.reference.agents import UserAgent
from sim.model.firms import Firm, knowledge_transfer
from sim.model.guanxi import GuanxiNetwork
from sim.model import focal_attitude, focal_crm_capability, focal_customers, focal_followers
from sim.model.network import UserNetwork, build_user_network
from sim.scenario import Scenario, load_scenario, scenario_from_data
from sim.model.strategy import StrategyTable
from sim.model.users import users_per_market

# Per (firm, market) daily counts the users add to: the user-side flows of MarketModel.
TALLIES = (
    "impressions",
    "reach",
    "ad_impressions",
    "cross_promotion_impressions",
    "share_impressions",
    "referrals",
    "consumed",
    "engagements",
    "answered",
    "ignored",
    "new_followers",
    "unfollows",
    "conversions",
    "new_customers",
    "revenue",
)


@dataclass
class Today:
    """Firm-side quantities fixed for a day; ``x[firm][market]`` unless noted."""

    posts: list[list[int]]
    ad_reach: list[list[float]]  # share of non-followers reached by ads
    pass_share: list[list[float]]  # share of posts not filtered by regulation
    promoted_by: list[list[tuple[int, float]]]  # [giver]: (receiver, cross-promotion share)
    referrers: list[list[tuple[int, float]]]  # [receiver]: (giver, P(referral) per customer)
    transactional_share: list[list[float]]
    relational_share: list[list[float]]
    promotional_share: list[list[float]]
    fit_discount: list[list[float]]  # fit kept after cultural distance and localisation
    checkout: list[list[float]]  # share of purchase intents completed
    crm: list[float]  # [firm]: social CRM capability
    expressers: list[list[int]]  # fully mixed: users who expressed an opinion yesterday
    aware_count: list[list[float]] | None = None  # fully mixed: aware at dawn
    answer_share: list[list[float]] | None = None  # set in phase 4
    market_opinion: list[list[float | None]] | None = None  # fully mixed, set in phase 5


class ReferenceModel(mesa.Model):
    """The market model with one ``mesa.Agent`` per user.

    Args:
        spec: a validated :class:`Scenario`, a bundled scenario's name or a TOML path.
        rng: seed or generator; defaults to ``[model] seed``.
        **overrides: scenario parameters by dotted path with ``__`` for dots, as in
            :class:`sim.model.MarketModel`.
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
        self.strategy = StrategyTable.from_scenario(spec)
        self.firms_here = [
            [int(f) for f in np.flatnonzero(self.strategy.active[:, m])]
            for m in range(self.n_markets)
        ]
        self.strategies_in_market: list[list[tuple[int, Any]]] = [[] for _ in self.markets]
        for f, firm_spec in enumerate(spec.firms):
            for strategy in firm_spec.strategies:
                self.strategies_in_market[self.market_index[strategy.market]].append((f, strategy))
        self.collectivism = [1.0 - m.individualism / 100.0 for m in self.markets]

        counts = users_per_market(spec.markets, spec.model.n_users)
        self.market_size = [int(c) for c in counts]
        for m, count in enumerate(counts):
            UserAgent.create_agents(self, int(count), market=m)
        self.users = self.agents_by_type[UserAgent]
        self.network: UserNetwork | None = None
        if spec.network.structure == "social":
            self.network = self._tie_users(list(self.users))

        for index, firm_spec in enumerate(spec.firms):
            Firm(self, firm_spec, index)
        self.firms = self.agents_by_type[Firm]
        self.firm_by_index = {firm.index: firm for firm in self.firms}
        self.focal = next(firm for firm in self.firms if firm.is_focal)
        self.guanxi = GuanxiNetwork(self)

        home = np.array([self.firm_by_index[f].home_market for f in range(self.n_firms)])
        self.home_market = home
        individualism = np.array([m.individualism for m in self.markets])
        self.cultural_distance = np.abs(individualism[home][:, None] - individualism[None, :]) / 100
        self.foreign = home[:, None] != np.arange(self.n_markets)[None, :]

        self.posts_today = np.zeros((self.n_firms, self.n_markets), np.int64)
        self.ad_reach_today = np.zeros((self.n_firms, self.n_markets))
        self.knowledge_boost = np.zeros(self.n_firms)
        self.today: Today | None = None
        self.focal_conversions = 0  # cumulative, for the reporter
        self._new_day_books()
        self.update_metrics()
        self.datacollector = mesa.DataCollector(model_reporters=MODEL_REPORTERS)
        self.datacollector.collect(self)

    def _tie_users(self, users: list[UserAgent]) -> UserNetwork:
        """Strong and weak ties from the model package's network generator."""
        net = self.spec.network
        market = np.array([user.market for user in users])
        network = build_user_network(
            market, net.strong_ties, net.weak_ties, net.homophily, self.rng
        )
        strong, weak = network.strong, network.weak
        for i, user in enumerate(users):
            strong_ids = strong.indices[strong.indptr[i] : strong.indptr[i + 1]].tolist()
            weak_ids = weak.indices[weak.indptr[i] : weak.indptr[i + 1]].tolist()
            user.strong_ties = [users[j] for j in strong_ids]
            user.weak_ties = [users[j] for j in weak_ids]
            user.ties = [users[j] for j in sorted(set(strong_ids) | set(weak_ids))]
        return network

    def _new_day_books(self) -> None:
        self.tally = {
            name: [[0.0] * self.n_markets for _ in range(self.n_firms)] for name in TALLIES
        }
        self.benefit = [[0.0] * self.n_firms for _ in range(self.n_firms)]  # [giver][receiver]
        self.firm_benefit = np.zeros((self.n_firms, self.n_firms))

    # ------------------------------------------------------------------ helpers
    def non_followers(self, firm: int, market: int) -> int:
        return int(self.market_size[market] - self.followers_count[firm, market])

    def crm_array(self) -> np.ndarray:
        return np.array([self.firm_by_index[f].crm_capability for f in range(self.n_firms)])

    def tally_array(self, name: str) -> np.ndarray:
        return np.array(self.tally[name])

    # ------------------------------------------------------------------ step
    def step(self) -> None:
        """One day, in the order of sim/model.py."""
        self._new_day_books()
        self.guanxi.start_day()
        self.firms.shuffle_do("act")
        self.plan_exposure()
        self.count_aware_at_dawn()
        self.users.do("expose")
        self.users.do("hear_word_of_mouth")
        self.users.do("become_aware")
        self.users.do("consume_and_engage")
        self.set_answer_shares()
        self.users.do("receive_answers")
        self.users.do("update_attitude")
        self.gather_market_opinions()
        self.users.do("listen")
        self.users.do("follow_or_unfollow")
        self.users.do("purchase")
        self.update_crm_capability()
        self.update_guanxi()
        self.focal_conversions += int(sum(self.tally["conversions"][self.focal.index]))
        self.update_metrics()
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ phase 2 (firm side)
    def plan_exposure(self) -> None:
        """Fix today's firm-side quantities that users read: posts, filtering, partners."""
        spec, strategy = self.spec, self.strategy
        n_firms, n_markets = self.n_firms, self.n_markets
        # (giver, receiver, strength x giver's reciprocity), both ways for each tie.
        ties = self.guanxi.directed_ties() if spec.guanxi.enabled else []

        # Regulation filters unlocalised foreign posts; partners at home in a market
        # give policy support there (Luo 2024).
        regulation = np.array([m.content_regulation for m in self.markets])
        filtered_share = self.foreign * regulation[None, :] * (1.0 - strategy.localisation)
        institutional = [m.institutional_weight for m in self.markets]
        policy = np.zeros((n_firms, n_markets))
        for giver, receiver, weight in ties:
            home = self.home_market[giver]
            policy[receiver, home] += spec.guanxi.policy_support * weight * institutional[home]
        pass_share = 1.0 - filtered_share * (1.0 - np.minimum(policy, 1.0))

        promoted_by: list[list[tuple[int, float]]] = [[] for _ in range(n_firms)]
        referrers: list[list[tuple[int, float]]] = [[] for _ in range(n_firms)]
        for giver, receiver, weight in ties:
            promoted_by[giver].append((receiver, spec.guanxi.cross_promotion * weight))
            if spec.guanxi.referral_rate > 0:
                referrers[receiver].append((giver, spec.guanxi.referral_rate * weight))
            # Policy support is worth the filtered posts avoided x the cost of a post.
            home = self.home_market[giver]
            avoided = (
                spec.guanxi.policy_support
                * weight
                * institutional[home]
                * filtered_share[receiver, home]
                * self.posts_today[receiver, home]
            )
            self.firm_benefit[giver, receiver] += (
                avoided * self.firm_by_index[receiver].cost_per_post
            )

        users = spec.users
        seamless = np.array([m.shop_seamlessness for m in self.markets])
        checkout = np.where(
            strategy.shop,
            users.redirect_checkout_rate
            + (users.shop_checkout_rate - users.redirect_checkout_rate) * seamless[None, :],
            users.redirect_checkout_rate,
        )
        expressers = [[0] * n_markets for _ in range(n_firms)]
        if self.network is None:
            for user in self.users:
                for f in user.expressed:
                    expressers[f][user.market] += 1
        self.today = Today(
            posts=self.posts_today.tolist(),
            ad_reach=self.ad_reach_today.tolist(),
            pass_share=pass_share.tolist(),
            promoted_by=promoted_by,
            referrers=referrers,
            transactional_share=strategy.transactional_share.tolist(),
            relational_share=strategy.relational_share.tolist(),
            promotional_share=strategy.promotional_share.tolist(),
            fit_discount=(1.0 - self.cultural_distance * (1.0 - strategy.localisation)).tolist(),
            checkout=checkout.tolist(),
            crm=self.crm_array().tolist(),
            expressers=expressers,
        )

    def count_aware_at_dawn(self) -> None:
        """Fully mixed: aware users per firm and market at dawn, before today's exposure.

        As in sim/model.py, word of mouth hears only users aware at dawn, in a fully
        mixed market as on a social network (ties aware at dawn).
        """
        if self.network is None:
            self.today.aware_count = self.aware_count.tolist()

    # ------------------------------------------------------------------ phase 4 (firm side)
    def set_answer_shares(self) -> None:
        """Share of comments each firm answers today, within capacity and budget."""
        comments = self.tally_array("engagements")
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
            scale = min(1.0, min(firm.response_capacity, affordable) / total)
            with np.errstate(invalid="ignore", divide="ignore"):
                answer_share[f] = np.where(comments[f] > 0, wanted[f] * scale / comments[f], 0)
        self.today.answer_share = answer_share.tolist()

    # ------------------------------------------------------------------ phase 5 (fully mixed)
    def gather_market_opinions(self) -> None:
        """Fully mixed: the mean attitude of each market's users who expressed yesterday."""
        if self.network is not None:
            return
        total = [[0.0] * self.n_markets for _ in range(self.n_firms)]
        count = [[0] * self.n_markets for _ in range(self.n_firms)]
        for user in self.users:
            for f in user.expressed:
                total[f][user.market] += user.attitude[f]
                count[f][user.market] += 1
        self.today.market_opinion = [
            [t / c if c else None for t, c in zip(total[f], count[f], strict=True)]
            for f in range(self.n_firms)
        ]

    # ------------------------------------------------------------------ phase 8
    def update_crm_capability(self) -> None:
        """Interactions captured and answered build CRM capability; partners share know-how."""
        engagements = self.tally_array("engagements").sum(axis=1)
        answered = self.tally_array("answered").sum(axis=1)
        for firm in self.firms:
            firm.interactions = (
                engagements[firm.index] + self.spec.crm.answer_weight * answered[firm.index]
            )
        self.knowledge_boost[:] = 0.0
        if self.spec.guanxi.enabled and self.guanxi.graph.number_of_edges():
            ordered = [self.firm_by_index[f] for f in range(self.n_firms)]
            boost, value = knowledge_transfer(ordered, self.guanxi.strength_matrix(), self.spec)
            self.knowledge_boost[:] = boost
            self.firm_benefit += value
        self.firms.do("update_crm")

    # ------------------------------------------------------------------ phase 9
    def update_guanxi(self) -> None:
        """Book favours, strengthen or decay ties, evaluate and sever; close the books."""
        spec = self.spec.guanxi
        if spec.enabled:
            self.guanxi.exchange(self.firm_benefit + np.array(self.benefit))
            self.guanxi.evaluate()
        answered = self.tally_array("answered").sum(axis=1)
        revenue = self.tally_array("revenue").sum(axis=1)
        for firm in self.firms:
            upkeep = spec.upkeep_cost * self.guanxi.degree(firm.index)
            firm.close_books(
                float(revenue[firm.index]),
                float(answered[firm.index] * firm.cost_per_response + upkeep),
            )

    # ------------------------------------------------------------------ metrics
    def update_metrics(self) -> None:
        """Stocks per (firm, market) counted over the users, and each firm's performance."""
        n_f, n_m = self.n_firms, self.n_markets
        aware = [[0] * n_m for _ in range(n_f)]
        followers = [[0] * n_m for _ in range(n_f)]
        customers = [[0] * n_m for _ in range(n_f)]
        attitude_sum = [[0.0] * n_m for _ in range(n_f)]
        attitude_sq = [[0.0] * n_m for _ in range(n_f)]
        for user in self.users:
            m = user.market
            for f in self.firms_here[m]:
                if user.aware[f]:
                    attitude = user.attitude[f]
                    aware[f][m] += 1
                    attitude_sum[f][m] += attitude
                    attitude_sq[f][m] += attitude * attitude
                if user.following[f]:
                    followers[f][m] += 1
                if user.customer[f]:
                    customers[f][m] += 1
        self.aware_count = np.array(aware, float)
        self.followers_count = np.array(followers, float)
        self.customers_count = np.array(customers, float)
        count = self.aware_count
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(count > 0, np.array(attitude_sum) / count, 0.0)
            second = np.where(count > 0, np.array(attitude_sq) / count, 0.0)
        self.attitude_mean = mean
        self.attitude_sd = np.sqrt(np.maximum(0.0, second - mean**2))

        size = np.maximum(np.array(self.market_size, float), 1)[None, :]
        customers_all = self.customers_count.sum(axis=0, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            customer_share = np.where(customers_all > 0, self.customers_count / customers_all, 0)
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


# ---------------------------------------------------------------------- reporters
def focal_conversions(model: ReferenceModel) -> int:
    """The focal firm's purchases since the start of the run."""
    return model.focal_conversions


def tie_count(model: ReferenceModel) -> int:
    return model.guanxi.graph.number_of_edges()


MODEL_REPORTERS = {
    "focal_attitude": focal_attitude,
    "focal_followers": focal_followers,
    "focal_customers": focal_customers,
    "focal_conversions": focal_conversions,
    "focal_crm_capability": focal_crm_capability,
    "ties": tie_count,
}
