"""Firms: Mesa agents with a social media strategy per target market.

A firm's strategy lives in the model's strategy arrays (one row per firm, one
column per market) so that the user phases can read every firm's plan at once;
the firm owns its row and changes it when it acts (daily plan, budget, adaptive
imitation, partner search). Its social CRM capability, books and marketing
performance are its own attributes, which the DataCollector reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sim.model import MarketModel
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
        self.performance = 0.0
        self.interactions = 0.0  # weighted social media interactions captured today
        self.strategy_revisions = 0

    # ------------------------------------------------------------------ views
    @property
    def target_markets(self) -> np.ndarray:
        return self.model.strategy.active[self.index].nonzero()[0]

    @property
    def response_capacity(self) -> float:
        """Comments the firm can answer today; grows with social CRM capability."""
        crm = self.model.spec.crm
        return self.base_response_capacity * (1.0 + crm.response_effect * self.crm_capability)

    @property
    def guanxi_level(self) -> float:
        """Sum of tie strengths, capped at 1: the moderator of CRM learning (Luo 2024)."""
        return self.model.guanxi.level(self.index)

    @property
    def ties(self) -> int:
        return self.model.guanxi.degree(self.index)

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

        One Poisson draw per target market, in market order. The arithmetic runs on
        Python floats (the same IEEE operations as on numpy scalars, without their
        per-operation overhead).
        """
        model, f = self.model, self.index
        strategy = model.strategy
        posts = [0] * model.n_markets
        ad_reach = [0.0] * model.n_markets
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
            ad_cost = (
                paid_reach * model.non_followers(f, m) * model.markets[m].ad_cost_per_impression
            )
            scale = 1.0 if ad_cost <= left else max(left, 0.0) / ad_cost
            posts[m] = planned
            ad_reach[m] = paid_reach * scale
            spend += planned * cost_per_post + ad_cost * scale
        model.posts_today[f] = posts
        model.ad_reach_today[f] = ad_reach
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

    # ------------------------------------------------------------------ phase 8
    @property
    def social_media_use(self) -> float:
        """x / (x + half_saturation), x the weighted interactions captured (0-1)."""
        x = self.interactions
        return x / (x + self.model.spec.crm.half_saturation)

    def update_crm(self) -> None:
        """Social CRM capability: learned from interactions, faster with guanxi, decays
        (:meth:`crm_after_day`, clipped to 0-1)."""
        model = self.model
        self.crm_capability = clip_unit(
            self.crm_after_day(
                self.crm_capability,
                self.interactions,
                self.guanxi_level,
                model.knowledge_boost[self.index],
                model.spec,
            )
        )

    @staticmethod
    def crm_after_day[T: (float, np.ndarray)](
        capability: T, interactions: T, guanxi: T, knowledge: T, spec: Scenario
    ) -> T:
        """Social CRM capability after a day's learning and decay, before clipping to 0-1.

        growth = learning_rate * use * (1 + acceleration * guanxi + knowledge)
                 * (1 - capability),
        with use = x / (x + half_saturation), x the weighted interactions captured
        today, and knowledge the boost from partners' know-how (computed by the model,
        see ``MarketModel.update_crm_capability``); minus decay * capability.

        Works on one firm's numbers (:meth:`Firm.update_crm`) or element-wise on arrays
        of all firms' (the model's daily update), with the same operations in the same
        order, hence the same results.
        """
        crm = spec.crm
        use = interactions / (interactions + crm.half_saturation)
        boost = spec.guanxi.crm_acceleration * guanxi + knowledge
        growth = crm.learning_rate * use * (1.0 + boost) * (1.0 - capability)
        return capability + growth - crm.decay * capability

    def close_books(self, revenue: float, extra_costs: float) -> None:
        """Record today's revenue and the costs incurred after planning (answers, upkeep)."""
        self.revenue = revenue
        self.costs += extra_costs
        self.profit = revenue * self.gross_margin - self.costs
        self.total_revenue += self.revenue
        self.total_costs += self.costs
        self.total_profit += self.profit


def knowledge_transfer(
    firms: Sequence[Firm], strength: np.ndarray, spec: Scenario
) -> tuple[np.ndarray, np.ndarray]:
    """Partners' know-how today: (boost per firm, value of each giver's know-how).

    Knowledge spill-over (Luo 2024: guanxi gives access to knowledge that "optimizes
    social-media-enabled CRM processes"): each more capable partner g raises firm f's
    learning from its own social media interactions by ``knowledge_spillover`` x
    strength[g, f] x g's reciprocity x the capability gap. Know-how is absorbed
    through the firm's own use (absorptive capacity, Cohen & Levinthal 1990): a firm
    without social media interactions learns nothing from it, so knowledge
    complements social media use, as guanxi does in Luo's moderation.

    ``firms`` are in index order, ``strength`` is (givers, receivers). Returns the
    boost per receiver (added to 1 + acceleration x guanxi in :meth:`Firm.update_crm`)
    and, per (giver, receiver), the capability the giver's know-how adds to the
    receiver's learning today, valued at ``crm_point_value`` (the giver's favour).
    """
    crm = np.array([firm.crm_capability for firm in firms])
    use = np.array([firm.social_media_use for firm in firms])
    reciprocity = np.array([firm.reciprocity for firm in firms])
    gap = np.maximum(0.0, crm[:, None] - crm[None, :])  # (G, F): giver above receiver
    boost = spec.guanxi.knowledge_spillover * strength * reciprocity[:, None] * gap
    learning = spec.crm.learning_rate * use * (1.0 - crm)
    return boost.sum(axis=0), boost * learning[None, :] * spec.guanxi.crm_point_value
