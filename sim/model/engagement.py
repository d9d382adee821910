"""Consumption and engagement (phase 3): following -> consuming -> engaging (Zhang 2025).

Each item a user sees is consumed with a probability that rises with SNS
dependency, the content's fit with the user's motives and the user's attitude, and
falls when the user sees more brand items today than its attention capacity
(limited attention: :func:`attention_share`); each consumed item is engaged with
(like, comment, share) with a probability that also rises with the relational
motive, the market's collectivism and the share of entertaining content, shifted by
the platform (``engagement_offset``, calibrated to the platform's published
engagement per follower per post).

The user's brand-page activity (its switching propensity s, :mod:`sim.model.users`)
multiplies the odds of engaging, as it multiplies the odds of following and the
rate of leaving (:mod:`sim.model.following`): one trait for how much a user does on
brand accounts. Heavy users follow more brands, engage more and move on sooner;
light users rarely act at all (participation inequality, Nielsen 2006's "90-9-1";
heavy category users spread over more brands, Ehrenberg, Goodhardt & Barwise 1990).
A brand whose following reaches deep into a market therefore has more light users
among its followers and a lower engagement per follower, which output target O4
checks; no equation writes that relation in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model import kernels
from sim.model.elementwise import sigmoid
from sim.model.entries import Touched, per_entry
from sim.model.following import with_switching
from sim.model.ledger import FLOWS

if TYPE_CHECKING:
    from sim.model.ledger import Ledger
    from sim.model.model import MarketModel
    from sim.scenario import CrmSection, UsersSection

# The flows consume_and_engage books, in the kernel's order.
_FLOW_ROWS = np.array(
    [FLOWS.index(name) for name in ("consumed", "consumers", "engagements", "engagers")]
)


def fit_kept[T](cultural_distance: T, localisation: T) -> T:
    """Share of content fit kept in a market: unlocalised content loses fit in
    proportion to the cultural distance between the firm's home and the market."""
    return 1.0 - cultural_distance * (1.0 - localisation)


def content_fit[T](
    transactional_share: T,
    transactional_motive: T,
    relational_share: T,
    relational_motive: T,
    kept: T,
    capability: T,
    crm: CrmSection,
) -> T:
    """Fit of a firm's content with a user's motives (0-1), after culture and CRM.

    fit = (transactional share x transactional motive + relational share x
    relational motive) x fit kept (:func:`fit_kept`); CRM capability improves
    targeting, closing part of the gap to a perfect fit.
    """
    fit = transactional_share * transactional_motive + relational_share * relational_motive
    fit *= kept
    return fit + crm.targeting_effect * capability * (1.0 - fit)


def attention_share[T](capacity: float, items_seen: T) -> T:
    """Share of its attention a user can give each brand item seen today: 1 up to
    ``capacity`` items, then capacity / items (brands seen dilute each other)."""
    return np.minimum(1.0, capacity / np.maximum(items_seen, 1.0))


def consume_probability[T](
    users: UsersSection, dependency: T, fit: T, attitude: T, attention: T = 1.0
) -> T:
    """P(consuming an item seen), times the user's attention share today."""
    return attention * sigmoid(
        users.consume_intercept
        + users.consume_per_dependency * dependency
        + users.consume_per_fit * fit
        + users.consume_per_attitude * attitude
    )


def engage_probability[T](
    users: UsersSection,
    dependency: T,
    relational_motive: T,
    fit: T,
    attitude: T,
    collectivism: T,
    entertaining_share: T = 0.0,
    platform_offset: T = 0.0,
    activity: T = 1.0,
) -> T:
    """P(engaging with an item consumed); the user's brand-page activity (its
    switching propensity) multiplies its odds (:func:`with_switching`)."""
    return with_switching(
        sigmoid(
            users.engage_intercept
            + platform_offset
            + users.engage_per_dependency * dependency
            + users.engage_per_relational_motive * relational_motive
            + users.engage_per_fit * fit
            + users.engage_per_attitude * attitude
            + users.engage_per_collectivism * collectivism
            + users.engage_per_entertaining * entertaining_share
        ),
        activity,
    )


def touched_fit(model: MarketModel, touched: Touched) -> np.ndarray:
    """:func:`content_fit` of every touched entry."""
    pop, strategy, cell = model.population, model.strategy, touched.cell
    kept = fit_kept(model.cultural_distance, strategy.localisation)
    return content_fit(
        per_entry(strategy.transactional_share, cell),
        pop.transactional_motive[touched.user],
        per_entry(strategy.relational_share, cell),
        pop.relational_motive[touched.user],
        per_entry(kept, cell),
        model.crm_capability()[touched.firm],
        model.spec.crm,
    )


def consume_and_engage(
    model: MarketModel, ledger: Ledger, touched: Touched
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Content fit, items consumed and engagements per touched entry."""
    pop, users, rng = model.population, model.spec.users, model.rng
    dependency = pop.sns_dependency[touched.user]
    attitude = pop.attitude.ravel()[touched.index]
    fit = touched_fit(model, touched)
    # Items each user sees today over all brands (touched entries are user-major).
    attending = attention_share(
        users.attention_capacity, kernels.items_per_user(touched.user, touched.seen)
    )
    p_consume = consume_probability(users, dependency, fit, attitude, attending)
    offset = np.array([m.engagement_offset for m in model.markets])
    p_engage = engage_probability(
        users,
        dependency,
        pop.relational_motive[touched.user],
        fit,
        attitude,
        model.collectivism[touched.market],
        per_entry(model.strategy.entertaining_share, touched.cell),
        offset[touched.market],
        pop.switching[touched.user],
    )
    # Both draws, the users' totals and the flows in one compiled pass (the draws in
    # the order of two binomial passes: every entry's consumption, then engagement).
    consumed, engagements = kernels.consume_and_engage(
        rng,
        touched.seen,
        p_consume,
        p_engage,
        touched.user,
        touched.cell,
        pop.consumed_total,
        pop.engaged_total,
        ledger.flows.reshape(len(FLOWS), -1),
        _FLOW_ROWS,
    )
    return fit, consumed, engagements
