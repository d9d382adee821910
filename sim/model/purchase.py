"""Purchase (phase 7): social purchases from content, and category purchases by choice.

Two routes to a purchase, both per real person a simulated user stands for:

* **Social purchase** (social commerce): a user who consumed a firm's content today
  and needs the category again (:func:`readiness`: 1 - exp(-days since its last
  purchase / purchase cycle), so that content brings purchases forward rather than
  adding needs) visits its shop with the purchase intent
  base x (1 + incentive x promotional share + information x informational share)
  x (1 + attitude) x (1 + conversion_effect x CRM capability)
  (:func:`visit_probability`; calibrated to ads' click-through), and buys at the
  checkout rate: the redirect rate, or with an in-platform shop the
  redirect rate plus the shop premium x the market's seamlessness (McKinsey 2021).
* **Category purchase** (awareness that matters): each person is in the market for
  the product category once every ``purchase_cycle`` days on average (an Erlang-2
  renewal process from its last purchase, :func:`readiness`); then they
  choose among the scenario's brands they are aware of and the other brands
  (multinomial logit: appeal exp(choice_per_attitude x attitude + choice_per_loyalty
  x bought it last) against ``other_brands_appeal``). Word of mouth and ads change
  purchases by making brands known and liked; no content is needed.

A purchase makes the buyer the brand's current customer in that market (and no other
brand's), and a buyer who does not follow the brand starts to with
``follow_after_purchase``; and the product experience moves the buyer's attitude (:func:`experience`:
product quality with expectation disconfirmation, Oliver 1980), which drives the
buyer's next choice, unfollowing and word of mouth (buyers express their opinion to
their ties the next day). Revenue is purchases x people per user x the firm's price;
the platform keeps ``shop_commission`` of shop sales. A purchase referred by a partner
is that partner's favour (:mod:`sim.model.benefits`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model import kernels
from sim.model.attitude import toward
from sim.model.benefits import referral_value
from sim.model.elementwise import clip
from sim.model.entries import Touched, per_entry
from sim.model.following import start_following, with_switching
from sim.model.ledger import FLOWS
from sim.model.sampling import bernoulli_successes

if TYPE_CHECKING:
    from sim.model.ledger import Ledger
    from sim.model.model import MarketModel
    from sim.scenario import UsersSection

# The flows kernels.book_purchases books, in its order.
_PURCHASE_ROWS = np.array(
    [
        FLOWS.index(name)
        for name in (
            "conversions",
            "social_purchases",
            "category_purchases",
            "revenue",
            "commission",
            "new_customers",
            "market_purchases",
        )
    ]
)


def content_multiplier[T](
    incentive_effect: float, promotional_share: T, information_effect: float, informational: T
) -> T:
    """Intent multiplier of a content mix: deals are incentives, information reassures."""
    return 1.0 + incentive_effect * promotional_share + information_effect * informational


def checkout_rate(users: UsersSection, shop: np.ndarray, seamlessness: np.ndarray) -> np.ndarray:
    """Share of shop visits that buy, per (firm, market): redirect, or in-platform shop."""
    redirect = users.redirect_checkout_rate
    return np.where(shop, redirect + (users.shop_checkout_rate - redirect) * seamlessness, redirect)


def visit_probability[T](
    intent_base: float, content: T, attitude: T, conversion_effect: float, capability: T
) -> T:
    """P(visiting the firm's shop after consuming its content today), when ready."""
    intent = intent_base * content * (1.0 + attitude) * (1.0 + conversion_effect * capability)
    return clip(intent, 0.0, 1.0)


def readiness[T](days_since_purchase: T, purchase_cycle: T) -> T:
    """How far a person's need for the category has come back since its last
    purchase, 0-1: x / (1 + x) with x = 2 x days / cycle.

    Needs come back as an Erlang-2 renewal process with mean ``purchase_cycle``:
    its hazard is (2 / cycle) x readiness, so a person who just bought needs nothing
    and purchases are spaced about a cycle apart. Content brings a purchase forward
    (social purchases are also x readiness); it does not add needs.
    """
    x = 2.0 * np.maximum(days_since_purchase, 0.0) / purchase_cycle
    return x / (1.0 + x)


def ages_at_start(rng: np.random.Generator, purchase_cycle: np.ndarray) -> np.ndarray:
    """Days since each person's last purchase at the start: the stationary age of the
    Erlang-2 renewal process (half Exp(rate), half Gamma(2, rate), rate = 2 / cycle)."""
    scale = purchase_cycle / 2.0
    shape = np.where(rng.random(purchase_cycle.size) < 0.5, 1.0, 2.0)
    return rng.gamma(shape, scale)


def brand_appeal[T](choice_per_attitude: float, attitude: T, loyalty: float, last_bought: T) -> T:
    """Appeal of a known brand to a person in the market for the category: attitude,
    and habit for the brand it bought last if it still thinks well of it."""
    return np.exp(choice_per_attitude * attitude + loyalty * (last_bought & (attitude >= 0)))


def experience[T](quality: T, attitude: T, expectation_weight: float) -> T:
    """What a buyer makes of the product: quality, worse than hoped when hopes were high."""
    return clip(quality + expectation_weight * (quality - attitude), -1.0, 1.0)


def social_purchases(
    model: MarketModel, touched: Touched, consumed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Which touched entries visit the firm's shop after consuming its content today,
    and which of them buy (bool each)."""
    pop, users, strategy = model.population, model.spec.users, model.strategy
    seamless = np.array([market.shop_seamlessness for market in model.markets])
    content = content_multiplier(
        users.incentive_effect,
        strategy.promotional_share,
        users.information_effect,
        strategy.informational_share,
    )
    cycle = np.array([market.purchase_cycle for market in model.markets])
    ready = readiness(model.steps - pop.last_purchase[touched.user], cycle[touched.market])
    p_visit = ready * visit_probability(
        users.purchase_intent_base,
        per_entry(content, touched.cell),
        pop.attitude.reshape(-1)[touched.index],
        model.spec.crm.conversion_effect,
        model.crm_capability()[touched.firm],
    )
    visits = (consumed > 0) & (model.rng.random(touched.index.size) < p_visit)
    checkout = per_entry(checkout_rate(users, strategy.shop, seamless[None, :]), touched.cell)
    bought = visits & (model.rng.random(touched.index.size) < checkout)
    return visits, bought


def choice_probabilities(model: MarketModel, users: np.ndarray) -> np.ndarray:
    """P(each scenario brand) for ``users`` in the market for the category: (n, F)."""
    pop, spec = model.population, model.spec.users
    known = pop.aware[users] & model.active_nf[users]
    appeal = np.where(
        known,
        brand_appeal(
            spec.choice_per_attitude,
            pop.attitude[users].astype(np.float64),
            spec.choice_per_loyalty,
            pop.customer[users],
        ),
        0.0,
    )
    other = np.array([mk.other_brands_appeal for mk in model.markets])[pop.market[users]]
    return appeal / (other + appeal.sum(axis=1))[:, None]


EXPECTATION_CHUNK = 65_536  # users per chunk of expected_sales_shares


def expected_sales_shares(model: MarketModel) -> np.ndarray:
    """(F, M) expected shares of the category's purchases at the start: the mean choice
    probabilities of each market's users (the performance index's first value)."""
    pop = model.population
    shares = np.zeros((model.n_firms, model.n_markets))
    for m in range(model.n_markets):
        block = pop.block(m)
        total = np.zeros(model.n_firms)
        # In chunks: a market of millions would need (users x firms) float64 arrays.
        for start in range(block.start, block.stop, EXPECTATION_CHUNK):
            users = np.arange(start, min(start + EXPECTATION_CHUNK, block.stop))
            total += choice_probabilities(model, users).sum(axis=0)
        shares[:, m] = total / max(block.stop - block.start, 1)
    return shares


def category_choices(model: MarketModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """People in the market for the category today and what they choose.

    Returns (users, chosen firm or -1 for another brand, market) for every user in
    the market today, users ascending.
    """
    pop, rng = model.population, model.rng
    found = []
    for m, market in enumerate(model.markets):
        block = pop.block(m)
        size = block.stop - block.start
        # Drawn at the highest hazard, 2 / cycle, and thinned by readiness.
        found.append(block.start + bernoulli_successes(rng, size, 2.0 / market.purchase_cycle))
    users = np.concatenate(found).astype(np.int64)
    cycle = np.array([market.purchase_cycle for market in model.markets])
    ready = readiness(model.steps - pop.last_purchase[users], cycle[pop.market[users]])
    users = users[rng.random(users.size) < ready]
    market = pop.market[users]
    if users.size == 0:
        return users, users.copy(), market
    cumulative = np.cumsum(choice_probabilities(model, users), axis=1)
    below = rng.random(users.size)[:, None] < cumulative
    chosen = np.where(below.any(axis=1), below.argmax(axis=1), -1)
    return users, chosen, market


def purchase(
    model: MarketModel,
    ledger: Ledger,
    touched: Touched,
    consumed: np.ndarray,
    referral_source: dict[int, int],
) -> np.ndarray:
    """Social and category purchases today; returns the flat entries of the buyers."""
    pop, n_firms = model.population, model.n_firms
    visits, bought = social_purchases(model, touched, consumed)
    ledger.add("shop_visits", touched.cell, visits)
    social_user, social_firm = touched.user[bought], touched.firm[bought]
    choosers, chosen, _ = category_choices(model)
    prices = np.array([f.price for f in model.ordered_firms], np.float64)
    # Current customers: a purchase makes the buyer the brand's customer, no one else's;
    # every chooser's category purchase ends its custom with the brands of the market.
    # Counts, revenue and commission are booked in the same pass.
    chose = chosen >= 0
    user = np.concatenate([social_user, choosers[chose]])
    firm = np.concatenate([social_firm, chosen[chose]])
    unique_entries, first = np.unique(user * n_firms + firm, return_index=True)
    kernels.book_purchases(
        user,
        firm,
        social_user.size,
        first,
        choosers,
        chosen,
        model.steps,
        pop.customer.reshape(-1),
        model.stocks.customer_by_firm,
        model.stocks.customers.reshape(-1),
        pop.purchases_total,
        pop.last_purchase,
        model.strategy.shop.reshape(-1),
        model.people_per_user,
        prices,
        np.array([mk.shop_commission for mk in model.markets], np.float64),
        pop.bounds,
        ledger.flows.reshape(len(FLOWS), -1),
        _PURCHASE_ROWS,
    )

    # Experience: the buyer's attitude moves toward what it made of the product.
    users_spec = model.spec.users
    quality = np.array([f.product_quality for f in model.ordered_firms])
    current = pop.attitude.reshape(-1)[unique_entries].astype(np.float64)
    felt = experience(quality[unique_entries % n_firms], current, users_spec.expectation_weight)
    model.stocks.set_attitude(
        pop, unique_entries, toward(current, felt, users_spec.experience_weight)
    )

    # Buyers who do not follow the brand may start to (customers follow brands to hear
    # of new products: Sprout Social 2020, 57%), the odds times their switching propensity.
    not_following = ~pop.following.reshape(-1)[unique_entries]
    p_join = with_switching(
        users_spec.follow_after_purchase, pop.switching[unique_entries // model.n_firms]
    )
    joins = unique_entries[not_following & (model.rng.random(unique_entries.size) < p_join)]
    start_following(model, ledger, joins, np.empty(0, np.int64))

    # Referred social purchases are the referring partner's favour.
    referred = bought & touched.referred
    spent = model.people_per_user[touched.market[referred]] * prices[touched.firm[referred]]
    for entry, value in zip(touched.index[referred], spent, strict=True):
        receiver = int(entry) % n_firms
        margin = model.firm_by_index[receiver].gross_margin
        ledger.benefit[referral_source[int(entry)], receiver] += referral_value(value, margin)
    return unique_entries
