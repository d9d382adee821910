"""Firms: Mesa agents with a social media strategy per target market (phase 1).

A firm's strategy lives in the model's strategy table (one row per firm, one
column per market) so that the user phases can read every firm's plan at once;
the firm owns its row and changes it when it acts (adaptive imitation). Each day
it plans its posts and ads within budget (its own ``posts_today`` and
``ad_reach_today``, which the model gathers) and may look for a partner. Its
social CRM capability and books are its own attributes; what it is measured by
(followers, attitude, performance, ties) it reads from the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.model import crm

if TYPE_CHECKING:
    from sim.model.ledger import Ledger
    from sim.model.model import MarketModel
    from sim.scenario import FirmSection, Scenario


def clip_unit(x: float) -> float:
    """``float(np.clip(x, 0, 1))`` for one number, without numpy's per-call overhead.

    The same result bit for bit: NaN stays NaN and a zero keeps its sign.
    """
    if x < 0.0:
        return 0.0
    if x > 1.0:
        return 1.0
    return float(x)


class Firm(mesa.Agent):
    """A firm in the market: our business or a competitor or partner."""

    model: MarketModel

    def __init__(self, model: MarketModel, spec: FirmSection, index: int) -> None:
        super().__init__(model)
        self.name = spec.name
        self.index = index  # row in the model's strategy and user arrays
        self.home_market = model.market_index[spec.home_market]
        self.product_quality = spec.product_quality
        self.price = spec.price
        self.gross_margin = spec.gross_margin
        self.crm_capability = spec.initial_crm_capability
        self.base_response_capacity = spec.response_capacity
        self.cost_per_post = spec.cost_per_post
        self.cost_per_response = spec.cost_per_response
        self.adaptive = spec.adaptive
        self.revision_interval = spec.revision_interval
        self.imitation_rate = spec.imitation_rate
        self.seeks_partners = spec.seeks_partners
        self.reciprocity = spec.reciprocity
        self.is_focal = spec.name == model.spec.focal_firm
        # Today's books (currency) and the running totals.
        self.revenue = 0.0
        self.costs = 0.0
        self.profit = 0.0
        self.total_revenue = 0.0
        self.total_costs = 0.0
        self.total_profit = 0.0
        self.interactions = 0.0  # weighted interactions a day, running volume (crm.py)
        self.strategy_revisions = 0
        # Today's plan per market (phase 1), which the model gathers for the user phases.
        self.posts_today = [0] * model.n_markets
        self.ad_reach_today = [0.0] * model.n_markets
        self.spend_posts_today = [0.0] * model.n_markets  # currency
        self.spend_ads_today = [0.0] * model.n_markets  # currency

    # ------------------------------------------------------------------ views
    @property
    def target_markets(self) -> np.ndarray:
        return self.model.strategy.active[self.index].nonzero()[0]

    @property
    def response_capacity(self) -> float:
        """Comments the firm can answer today; grows with social CRM capability."""
        effect = self.model.spec.crm.response_effect
        return crm.response_capacity(self.base_response_capacity, effect, self.crm_capability)

    @property
    def social_media_use(self) -> float:
        """Social media use (0-1) from the running volume of interactions captured."""
        return crm.social_media_use(self.interactions, self.model.spec.crm.half_saturation)

    @property
    def guanxi_level(self) -> float:
        """Sum of tie strengths, capped at 1: the moderator of CRM learning (Luo 2024)."""
        return self.model.guanxi.level(self.index)

    @property
    def reputation(self) -> float:
        """Reputation among firms as a guanxi partner (0-1; free riding lowers it)."""
        return self.model.guanxi.reputation(self.index)

    @property
    def ties(self) -> int:
        return self.model.guanxi.degree(self.index)

    @property
    def centrality(self) -> float:
        """Degree centrality in the guanxi network."""
        return float(self.model.guanxi.measures().centrality.get(self.index, 0.0))

    # The day's measures of the firm (:func:`sim.model.stocks.measure`).
    @property
    def performance(self) -> float:
        """Marketing performance index, 0-1 (:func:`sim.model.stocks.performance_index`)."""
        return float(self.model.metrics.performance[self.index])

    @property
    def mean_attitude(self) -> float:
        """Mean attitude toward the firm among the users aware of it, over its markets."""
        return float(self.model.metrics.mean_attitude[self.index])

    @property
    def aware(self) -> int:
        return int(self.model.metrics.aware[self.index])

    @property
    def followers(self) -> int:
        return int(self.model.metrics.followers[self.index])

    @property
    def customers(self) -> int:
        return int(self.model.metrics.customers[self.index])

    # ------------------------------------------------------------------ phase 1
    def act(self) -> None:
        """Plan today's posts and ads within budget, revise strategy, look for partners."""
        model = self.model
        if self.adaptive and (model.steps + self.index) % self.revision_interval == 0:
            self.revise_strategy()
        self.plan_day()
        guanxi = model.spec.guanxi
        if (
            guanxi.enabled
            and self.seeks_partners
            and (model.steps + self.index) % guanxi.search_interval == 0
        ):
            model.guanxi.search_partner(self)

    def plan_day(self) -> None:
        """Draw today's posts per market; pay posts first, then ads, within the budget.

        One Poisson draw per target market, in market order. Ads are paid at the
        market's CPM per real person reached (non-followers x people per user x paid
        reach). The arithmetic runs on Python floats (the same IEEE operations as on
        numpy scalars, without their per-operation overhead).
        """
        model, f = self.model, self.index
        strategy = model.strategy
        posts = [0] * model.n_markets
        ad_reach = [0.0] * model.n_markets
        spend_posts = [0.0] * model.n_markets
        spend_ads = [0.0] * model.n_markets
        people = model.people_per_user.tolist()
        cost_per_post = self.cost_per_post
        spend = 0.0
        rates = strategy.posts_per_day[f].tolist()
        budgets = strategy.budget[f].tolist()
        paid_reaches = strategy.paid_reach[f].tolist()
        for m in self.target_markets.tolist():
            budget, paid_reach = budgets[m], paid_reaches[m]
            wanted = int(model.rng.poisson(rates[m]))
            affordable = int(budget // cost_per_post) if cost_per_post > 0 else wanted
            planned = min(wanted, affordable)
            left = budget - planned * cost_per_post
            impression_price = people[m] * model.markets[m].ad_cpm / 1000.0
            ad_cost = paid_reach * model.non_followers(f, m) * impression_price
            scale = 1.0 if ad_cost <= left else max(left, 0.0) / ad_cost
            posts[m] = planned
            ad_reach[m] = paid_reach * scale
            spend_posts[m] = planned * cost_per_post
            spend_ads[m] = ad_cost * scale
            spend += spend_posts[m] + spend_ads[m]
        self.posts_today = posts
        self.ad_reach_today = ad_reach
        self.spend_posts_today = spend_posts
        self.spend_ads_today = spend_ads
        self.costs = spend

    def revise_strategy(self) -> None:
        """Imitate a better-performing partner, else peer, in the markets both target."""
        model = self.model
        partners = model.guanxi.partners(self.index)
        if partners:
            reference = model.firm_by_index[partners[model.rng.integers(len(partners))]]
        else:
            peers = [
                other
                for other in model.firms
                if other is not self
                and np.any(model.strategy.active[other.index] & model.strategy.active[self.index])
            ]
            if not peers:
                return
            reference = peers[model.rng.integers(len(peers))]
        if reference.performance <= self.performance:
            return
        model.strategy.imitate(self.index, reference.index, self.imitation_rate, model.rng)
        self.strategy_revisions += 1

    # ------------------------------------------------------------------ phase 9
    def close_books(self, revenue: float, commission: float, extra_costs: float) -> None:
        """Record today's revenue and the costs incurred after planning (answers, upkeep).

        Profit = revenue x gross margin - the shop's commission - social media costs
        (posts, ads, answers) - the upkeep of guanxi ties.
        """
        self.revenue = revenue
        self.costs += extra_costs + commission
        self.profit = revenue * self.gross_margin - self.costs
        self.total_revenue += self.revenue
        self.total_costs += self.costs
        self.total_profit += self.profit


def book_plans(model: MarketModel, ledger: Ledger) -> None:
    """Today's planned spend on posts and ads per (firm, market), in the ledger."""
    for firm in model.ordered_firms:
        ledger["spend_posts"][firm.index] = firm.spend_posts_today
        ledger["spend_ads"][firm.index] = firm.spend_ads_today


def close_books(model: MarketModel, ledger: Ledger) -> None:
    """Every firm's books for the day: revenue, commission, answers and tie upkeep.

    Answers cost the staff cost per answered comment of real people.
    """
    upkeep_cost = model.spec.guanxi.upkeep_cost
    cost_per_response = np.array([firm.cost_per_response for firm in model.ordered_firms])
    ledger["spend_answers"] = (
        ledger["answered"] * model.people_per_user[None, :] * cost_per_response[:, None]
    )
    answers = ledger.by_firm("spend_answers").tolist()
    revenue = ledger.by_firm("revenue").tolist()
    commission = ledger.by_firm("commission").tolist()
    for firm in model.firms:
        f = firm.index
        upkeep = upkeep_cost * model.guanxi.degree(f)
        firm.close_books(revenue[f], commission[f], answers[f] + upkeep)


def create_firms(model: mesa.Model, spec: Scenario) -> None:
    """The scenario's firms as Mesa agents, and the model's views of them: ``firms``
    (the AgentSet), ``ordered_firms`` (by index), ``firm_by_index`` and ``focal``."""
    for index, firm_spec in enumerate(spec.firms):
        Firm(model, firm_spec, index)
    model.firms = model.agents_by_type[Firm]
    model.ordered_firms = sorted(model.firms, key=lambda firm: firm.index)
    model.firm_by_index = {firm.index: firm for firm in model.firms}
    model.focal = next(firm for firm in model.firms if firm.is_focal)
