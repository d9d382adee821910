"""The agent-per-user reference of the market model.

The model of :class:`sim.model.MarketModel`, built from the same validated
:class:`sim.scenario.Scenario`, written the way the Mesa examples are: every user
is a :class:`~tests.reference.agents.UserAgent` stepped phase by phase with
``AgentSet.do``. Firms, their strategies, the guanxi network and the user network
are the model package's own (``sim.model.firms.Firm``,
``sim.model.strategy.StrategyTable``, ``sim.model.guanxi.GuanxiNetwork``,
``sim.model.network.build_user_network``), and so are the equations: the users
and the firm-side steps below call the mechanism modules' functions.

What the reference does its own way is the sampling and the bookkeeping: each
user's draws one at a time from Python's ``random`` (no thinned or compiled draws,
no sets of touched entries), the day's flows tallied per (firm, market) as users
add to them, the stocks (aware users, followers, customers, attitudes) counted
over all users every day rather than kept up to date, and each user's share of a
followed brand's posts seen recomputed by the user when it follows or leaves a
brand. Agreeing in distribution with ``MarketModel``
(``tests/test_reference_oracle.py``) therefore checks the vectorised model's
sampling and running books. ``benchmarks/bench_reference.py`` also times the
vectorised model against it, as the idiomatic-Mesa baseline.

It is written as a competent Mesa user would write it, not to be slow: what users
learn from their ties is pushed by the few who have news (a user who becomes aware
adds to its ties' counts of aware ties; yesterday's speakers send their opinions to
their ties' inboxes at dawn) instead of every user scanning its ties every day, and
the firm-level quantities every user reads are fixed once a day.

It records what ``MarketModel`` records for the oracle: the ``firm_market`` table of
stocks and the day's flows per (firm, market) (the same columns, laid out by
:func:`sim.model.reporting.firm_market_columns` from the reference's own tallies and
counts) and each firm's CRM capability (the ``Firm`` agents' series).

One step, in the order of ``sim/model/model.py``: firms act (and book their planned
spend); exposure; consumption and engagement (with comments); answers; attitudes;
follow and unfollow; purchase (social and category purchases); CRM capability;
guanxi; the books; the running sales shares; metrics and data collection.
Firm-level quantities that every user reads during a phase (today's posts, pass
shares, answer shares, ...) are fixed once before the phase in :class:`Today`, as
nested lists indexed ``[firm][market]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mesa
import numpy as np

from sim.model.answers import answer_share, budget_left, expected_comments
from sim.model.attitude import influence_weight, kept_after_decay
from sim.model.awareness import MAX_PROBABILITY, mixed_word_of_mouth_probability
from sim.model.benefits import cross_promotion_chance, referral_probability
from sim.model.crm import update_crm_capability
from sim.model.culture import Culture
from sim.model.engagement import fit_kept
from sim.model.entries import Cells
from sim.model.exposure import (
    book_policy_support,
    content_filter,
    impression_value,
    mixed_share_probability,
    share_chances,
)
from sim.model.firms import Firm, book_plans, close_books, create_firms
from sim.model.following import retention
from sim.model.guanxi import GuanxiNetwork
from sim.model.ledger import FLOWS, Ledger
from sim.model.network import UserNetwork, build_user_network
from sim.model.purchase import checkout_rate, content_multiplier
from sim.model.reporting import (
    FIRM_MARKET_COLUMNS,
    firm_market_columns,
    focal_attitude,
    focal_crm_capability,
    focal_customers,
    focal_followers,
    tie_count,
)
from sim.model.stocks import Metrics, Stocks, measure
from sim.model.strategy import StrategyTable
from sim.model.users import users_per_market
from sim.scenario import Scenario
from tests.reference.agents import UserAgent

# The day's flows per (firm, market) that users add to: all but the firm side's (posts
# and spend, booked by the firms) and the market's purchases (counted per market).
FIRM_SIDE = ("posts", "spend_posts", "spend_ads", "spend_answers", "market_purchases")
TALLIES = tuple(name for name in FLOWS if name not in FIRM_SIDE)


@dataclass
class Today:
    """Firm-side quantities fixed for a day; ``x[firm][market]`` unless noted."""

    posts: list[list[int]]
    ad_reach: list[list[float]]  # share of non-followers reached by ads
    pass_share: list[list[float]]  # share of posts not filtered by regulation
    # [giver]: (receiver, per market the chance a follower of the giver sees the
    # receiver's post, before the follower's organic share seen)
    promoted_by: list[list[tuple[int, list[float]]]]
    referrers: list[list[tuple[int, float]]]  # [receiver]: (giver, P(referral) per customer)
    impression_value: list[float]  # [market]: value of one simulated impression (CPM)
    share_chance: list[list[float]]  # P(a tie sees a post an engager passes on)
    transactional_share: list[list[float]]
    relational_share: list[list[float]]
    entertaining_share: list[list[float]]
    promotional_share: list[list[float]]
    content_multiplier: list[list[float]]  # purchase intent multiplier of the content mix
    fit_kept: list[list[float]]  # fit kept after cultural distance and localisation
    checkout: list[list[float]]  # share of purchase intents completed
    shop: list[list[bool]]  # sells through an in-platform shop
    crm: list[float]  # [firm]: social CRM capability
    retention: list[float]  # [firm]: factor on its followers' unfollow probability
    word_of_mouth: list[list[float]] | None = None  # fully mixed: P(told), from the aware at dawn
    share_probability: list[list[float]] | None = None  # fully mixed: P(seeing a share)
    answer_share: list[list[float]] | None = None  # set in phase 4
    market_opinion: list[list[float | None]] | None = None  # fully mixed, set in phase 5


class ReferenceModel(mesa.Model):
    """The market model with one ``mesa.Agent`` per user.

    Args:
        spec: a validated :class:`Scenario` (``sim.scenario.load_scenario``).
        rng: seed or generator; defaults to ``[model] seed``.
    """

    def __init__(self, spec: Scenario, *, rng: Any = None) -> None:
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
        self.attitude_kept = kept_after_decay(spec.users.attitude_decay)

        counts = users_per_market(spec.markets, spec.model.n_users)
        self.market_size = counts.astype(float)
        # A simulated user of market m stands for people_per_user[m] real people.
        population = np.array([m.population for m in self.markets], float)
        self.people_per_user = population / np.maximum(self.market_size, 1.0)
        self.brands_followed_mean = [m.brands_followed_mean for m in self.markets]
        self.engagement_offset = [m.engagement_offset for m in self.markets]
        # The highest daily hazard of a person's need for the category (Erlang-2).
        self.need_hazard = [2.0 / m.purchase_cycle for m in self.markets]
        for m, count in enumerate(counts):
            UserAgent.create_agents(self, int(count), market=m)
        self.users = self.agents_by_type[UserAgent]
        self.cells = Cells(
            np.array([user.market for user in self.users]), self.n_firms, self.n_markets
        )
        self.speakers: list[UserAgent] = []  # users who expressed an opinion yesterday
        self.speakers_tomorrow: list[UserAgent] = []
        self.network: UserNetwork | None = None
        if spec.network.structure == "social":
            self.network = self._tie_users(list(self.users))

        create_firms(self, spec)
        self.guanxi = GuanxiNetwork(self)

        self.home_market = np.array([firm.home_market for firm in self.ordered_firms])
        culture = Culture.of(self.markets, self.home_market)
        self.collectivism = culture.collectivism.tolist()
        self.influence_weight = [
            influence_weight(spec.users.social_influence, c) for c in self.collectivism
        ]
        self.cultural_distance, self.foreign = culture.cultural_distance, culture.foreign

        self.today: Today | None = None
        self.expected_comments: np.ndarray | None = None  # (F, M) real comments a day
        self.interaction_volume: np.ndarray | None = None  # (F,) read by the CRM phase
        self.focal_conversions = 0  # cumulative, for the reporter
        self._new_day_books()
        self.sales_share = self.expected_sales_shares()
        self.count_stocks()
        self.datacollector = mesa.DataCollector(
            model_reporters=MODEL_REPORTERS,
            agenttype_reporters={Firm: {"crm_capability": "crm_capability"}},
            tables={"firm_market": FIRM_MARKET_COLUMNS},
        )
        self.collect()

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
        # P(no aware tie tells) = (1 - b_s)^m_s (1 - b_w)^m_w, as tables by count.
        most = max((len(user.ties) for user in users), default=0) + 1
        strong_keep = 1.0 - min(net.strong_tie_wom, MAX_PROBABILITY)
        weak_keep = 1.0 - min(net.weak_tie_wom, MAX_PROBABILITY)
        self.strong_miss = [strong_keep**k for k in range(most)]
        self.weak_miss = [weak_keep**k for k in range(most)]
        for user in users:
            aware = [f for f, known in enumerate(user.aware) if known]
            if aware:
                user.tell_ties_aware(aware)
        return network

    def _new_day_books(self) -> None:
        self.ledger = Ledger.open(self.cells)
        self.tally = {
            name: [[0.0] * self.n_markets for _ in range(self.n_firms)] for name in TALLIES
        }
        self.benefit = [[0.0] * self.n_firms for _ in range(self.n_firms)]  # [giver][receiver]
        self.market_purchases = [0] * self.n_markets  # every brand's, social and category

    def non_followers(self, firm: int, market: int) -> int:
        return int(self.market_size[market] - self.stocks.followers[firm, market])

    # ------------------------------------------------------------------ step
    def step(self) -> None:
        """One day, in the order of sim/model/model.py."""
        self._new_day_books()
        self.speakers, self.speakers_tomorrow = self.speakers_tomorrow, []
        self.guanxi.start_day()
        self.firms.shuffle_do("act")
        book_plans(self, self.ledger)
        self.plan_exposure()
        if self.network is not None:
            for speaker in self.speakers:
                speaker.speak()
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
        self.close_the_day()
        self.count_stocks()
        self.collect()

    def collect(self) -> None:
        """Record the model series, the firms' CRM and the firm_market table."""
        self.datacollector.collect(self)
        columns = firm_market_columns(self)
        for row in zip(*columns.values(), strict=True):
            self.datacollector.add_table_row("firm_market", dict(zip(columns, row, strict=True)))

    # ------------------------------------------------------------------ phase 2 (firm side)
    def plan_exposure(self) -> None:
        """Fix today's firm-side quantities that users read: posts, filtering, partners."""
        spec, strategy = self.spec, self.strategy
        n_firms = self.n_firms
        posts = np.array([firm.posts_today for firm in self.ordered_firms], np.int64)
        ad_reach = [firm.ad_reach_today for firm in self.ordered_firms]
        self.ledger["posts"][:] = posts
        # (giver, receiver, strength x giver's reciprocity), both ways for each tie.
        ties = self.guanxi.directed_ties() if spec.guanxi.enabled else []
        passed, filtered = content_filter(self, ties)
        if ties:
            book_policy_support(self, self.ledger, ties, filtered, posts)

        promoted_by: list[list[tuple[int, list[float]]]] = [[] for _ in range(n_firms)]
        referrers: list[list[tuple[int, float]]] = [[] for _ in range(n_firms)]
        for giver, receiver, weight in ties:
            chances = cross_promotion_chance(
                spec.guanxi.cross_promotion, weight, passed[receiver], posts[receiver]
            )
            promoted_by[giver].append((receiver, chances.tolist()))
            if spec.guanxi.referral_rate > 0:
                chance = referral_probability(spec.guanxi.referral_rate, weight)
                referrers[receiver].append((giver, chance))

        seamless = np.array([m.shop_seamlessness for m in self.markets])
        capability = [firm.crm_capability for firm in self.ordered_firms]
        self.today = Today(
            posts=posts.tolist(),
            ad_reach=ad_reach,
            pass_share=passed.tolist(),
            promoted_by=promoted_by,
            referrers=referrers,
            impression_value=impression_value(self).tolist(),
            share_chance=share_chances(self).tolist(),
            transactional_share=strategy.transactional_share.tolist(),
            relational_share=strategy.relational_share.tolist(),
            entertaining_share=strategy.entertaining_share.tolist(),
            promotional_share=strategy.promotional_share.tolist(),
            content_multiplier=content_multiplier(
                spec.users.incentive_effect,
                strategy.promotional_share,
                spec.users.information_effect,
                strategy.informational_share,
            ).tolist(),
            fit_kept=fit_kept(self.cultural_distance, strategy.localisation).tolist(),
            checkout=checkout_rate(spec.users, strategy.shop, seamless[None, :]).tolist(),
            shop=strategy.shop.tolist(),
            crm=capability,
            retention=[retention(spec.crm.retention_effect, c) for c in capability],
        )
        if self.network is None:
            self.plan_fully_mixed()

    def plan_fully_mixed(self) -> None:
        """Fully mixed: each market's word of mouth and shares, per firm, for today.

        Word of mouth hears the users aware at dawn (yesterday's count, before
        today's exposure); shares come from the users who expressed an opinion
        yesterday, counted here over those speakers.
        """
        net = self.spec.network
        chances = np.array(self.today.share_chance)
        expressers = np.zeros((self.n_firms, self.n_markets))
        for user in self.speakers:
            for f in user.expressed:
                expressers[f, user.market] += 1
        word_of_mouth = np.zeros((self.n_firms, self.n_markets))
        share = np.zeros((self.n_firms, self.n_markets))
        for m, size in enumerate(self.market_size.tolist()):
            if size == 0:
                continue
            word_of_mouth[:, m] = mixed_word_of_mouth_probability(
                net.mixed_wom, size, self.aware_count[:, m]
            )
            if net.share_reach > 0:
                share[:, m] = mixed_share_probability(
                    chances[:, m], net.strong_ties + net.weak_ties, expressers[:, m] / size
                )
        self.today.word_of_mouth = word_of_mouth.tolist()
        self.today.share_probability = share.tolist()

    # ------------------------------------------------------------------ phase 4 (firm side)
    def set_answer_shares(self) -> None:
        """Share of comments each firm answers today, within capacity and budget: planned
        on the running volume of real comments (simulated comments x people per user)."""
        firms = self.ordered_firms
        spent = np.array([firm.costs for firm in firms])  # posts and ads, planned today
        self.expected_comments = expected_comments(
            self.expected_comments, np.array(self.tally["comments"]) * self.people_per_user[None, :]
        )
        self.today.answer_share = answer_share(
            self.strategy.responsiveness,
            self.expected_comments,
            np.array([firm.response_capacity for firm in firms]),
            budget_left(self.strategy.budget.sum(axis=1), spent),
            np.array([firm.cost_per_response for firm in firms]),
        ).tolist()

    # ------------------------------------------------------------------ phase 5 (fully mixed)
    def gather_market_opinions(self) -> None:
        """Fully mixed: the mean attitude of each market's users who expressed yesterday."""
        if self.network is not None:
            return
        total = [[0.0] * self.n_markets for _ in range(self.n_firms)]
        count = [[0] * self.n_markets for _ in range(self.n_firms)]
        for user in self.speakers:
            for f in user.expressed:
                total[f][user.market] += user.attitude[f]
                count[f][user.market] += 1
        self.today.market_opinion = [
            [t / c if c else None for t, c in zip(total[f], count[f], strict=True)]
            for f in range(self.n_firms)
        ]

    # ------------------------------------------------------------------ phases 8 and 9
    def close_the_day(self) -> None:
        """The users' tallies and favours into the day's ledger; CRM, guanxi and the books.

        From the ledger the firm side runs as in ``MarketModel``: CRM capability learns
        from the interactions captured (and books partners' know-how), guanxi ties book
        the favours and are evaluated, and each firm closes its books.
        """
        ledger = self.ledger
        for name in TALLIES:
            ledger[name] = np.array(self.tally[name])
        ledger["market_purchases"][:] = np.array(self.market_purchases, float)[None, :]
        ledger.benefit += np.array(self.benefit)
        self.focal_conversions += int(ledger["conversions"][self.focal.index].sum())
        update_crm_capability(self, ledger)
        self.guanxi.end_day(ledger)
        close_books(self, ledger)
        self.stocks.note_sales(ledger)  # the running sales shares (performance)

    # ------------------------------------------------------------------ metrics
    def expected_sales_shares(self) -> np.ndarray:
        """(F, M) expected shares of the category's purchases at the start: each
        market's users' mean choice probabilities (the performance index's first value)."""
        shares = np.zeros((self.n_firms, self.n_markets))
        for user in self.users:
            shares[:, user.market] += user.choice_probabilities()
        return shares / np.maximum(self.market_size, 1.0)[None, :]

    def count_stocks(self) -> None:
        """Stocks per (firm, market) counted over the users, and the day's metrics."""
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
        self.stocks = Stocks(
            aware=np.array(aware, float),
            followers=np.array(followers, float),
            customers=np.array(customers, float),
            attitude_sum=np.array(attitude_sum),
            attitude_squares=np.array(attitude_sq),
            # Firm-major copies of following and customer: read by the vectorised
            # phases only, so not kept here.
            following_by_firm=np.empty((n_f, 0), bool),
            customer_by_firm=np.empty((n_f, 0), bool),
            sales_share=self.sales_share,  # kept up to date by Stocks.note_sales
        )
        self.aware_count = self.stocks.aware
        self.followers_count = self.stocks.followers
        self.customers_count = self.stocks.customers
        self.metrics: Metrics = measure(self.stocks, self.market_size, self.strategy.active)


# ---------------------------------------------------------------------- reporters
def focal_conversions(model: ReferenceModel) -> int:
    """The focal firm's purchases since the start of the run."""
    return model.focal_conversions


MODEL_REPORTERS = {
    "focal_attitude": focal_attitude,
    "focal_followers": focal_followers,
    "focal_customers": focal_customers,
    "focal_conversions": focal_conversions,
    "focal_crm_capability": focal_crm_capability,
    "ties": tie_count,
}
