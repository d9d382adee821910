"""Purchase (phase 7): users who consumed a firm's content today may buy.

intent = base x (1 + incentive x promotional share) x (1 + attitude)
         x (1 + conversion_effect x CRM capability);
P(buy) = intent x checkout rate, where the checkout rate is the redirect rate, or
with an in-platform shop the redirect rate plus the shop premium x the market's
seamlessness. A purchase makes the user a customer and moves its attitude toward
the product's quality (experience); a purchase referred by a partner is that
partner's favour (:mod:`sim.model.benefits`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.attitude import toward
from sim.model.benefits import referral_value
from sim.model.elementwise import clip
from sim.model.entries import Touched, per_entry

if TYPE_CHECKING:
    from sim.model.ledger import Ledger
    from sim.model.model import MarketModel
    from sim.scenario import UsersSection


def content_multiplier[T](incentive_effect: float, promotional_share: T) -> T:
    """Intent multiplier of a content mix: promotions are incentives to buy."""
    return 1.0 + incentive_effect * promotional_share


def checkout_rate(users: UsersSection, shop: np.ndarray, seamlessness: np.ndarray) -> np.ndarray:
    """Share of purchase intents completed per (firm, market): redirect, or shop."""
    redirect = users.redirect_checkout_rate
    return np.where(shop, redirect + (users.shop_checkout_rate - redirect) * seamlessness, redirect)


def purchase_probability[T](
    intent_base: float,
    content: T,
    attitude: T,
    conversion_effect: float,
    capability: T,
    checkout: T,
) -> T:
    """P(buying after consuming a firm's content today)."""
    intent = intent_base * content * (1.0 + attitude) * (1.0 + conversion_effect * capability)
    return clip(intent * checkout, 0.0, 1.0)


def purchase(
    model: MarketModel,
    ledger: Ledger,
    touched: Touched,
    consumed: np.ndarray,
    referral_source: dict[int, int],
) -> np.ndarray:
    """Purchases by users who consumed a firm's content today (bool per touched entry)."""
    pop, users, stocks = model.population, model.spec.users, model.stocks
    f, m, cell = touched.firm, touched.market, touched.cell
    seamless = np.array([market.shop_seamlessness for market in model.markets])
    p_buy = purchase_probability(
        users.purchase_intent_base,
        per_entry(
            content_multiplier(users.incentive_effect, model.strategy.promotional_share), cell
        ),
        pop.attitude.reshape(-1)[touched.index],
        model.spec.crm.conversion_effect,
        model.crm_capability()[f],
        per_entry(checkout_rate(users, model.strategy.shop, seamless[None, :]), cell),
    )
    bought = (consumed > 0) & (model.rng.random(touched.index.size) < p_buy)
    np.add.at(pop.purchases_total, touched.user[bought], np.int32(1))
    customers = pop.customer.reshape(-1)
    new_customers = bought & ~customers[touched.index]
    customers[touched.index[bought]] = True
    stocks.customer_by_firm[f[bought], touched.user[bought]] = True
    stocks.customers += model.cells.total(touched.cell, new_customers)
    quality = np.array([firm.product_quality for firm in model.ordered_firms])
    idx = touched.index[bought]
    current = pop.attitude.reshape(-1)[idx]
    stocks.set_attitude(pop, idx, toward(current, quality[f[bought]], users.experience_weight))
    value = np.array([market.purchase_value for market in model.markets])
    revenue = bought * value[m]
    ledger.add("conversions", touched.cell, bought)
    ledger.add("new_customers", touched.cell, new_customers)
    ledger.add("revenue", touched.cell, revenue)
    referred = bought & touched.referred
    for entry, spent in zip(touched.index[referred], revenue[referred], strict=True):
        receiver = int(entry) % model.n_firms
        margin = model.firm_by_index[receiver].gross_margin
        ledger.benefit[referral_source[int(entry)], receiver] += referral_value(spent, margin)
    return bought
