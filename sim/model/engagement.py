"""Consumption and engagement (phase 3): following -> consuming -> engaging (Zhang 2025).

Each item a user sees is consumed with a probability that rises with SNS
dependency, the content's fit with the user's motives and the user's attitude;
each consumed item is engaged with (like, comment, share) with a probability that
also rises with the relational motive and the market's collectivism.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model import kernels
from sim.model.elementwise import sigmoid
from sim.model.entries import Touched, per_entry

if TYPE_CHECKING:
    from sim.model.ledger import Ledger
    from sim.model.model import MarketModel
    from sim.scenario import CrmSection, UsersSection


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


def consume_probability[T](users: UsersSection, dependency: T, fit: T, attitude: T) -> T:
    """P(consuming an item seen)."""
    return sigmoid(
        users.consume_intercept
        + users.consume_per_dependency * dependency
        + users.consume_per_fit * fit
        + users.consume_per_attitude * attitude
    )


def engage_probability[T](
    users: UsersSection, dependency: T, relational_motive: T, fit: T, attitude: T, collectivism: T
) -> T:
    """P(engaging with an item consumed)."""
    return sigmoid(
        users.engage_intercept
        + users.engage_per_dependency * dependency
        + users.engage_per_relational_motive * relational_motive
        + users.engage_per_fit * fit
        + users.engage_per_attitude * attitude
        + users.engage_per_collectivism * collectivism
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
    consumed = kernels.binomial(
        rng, touched.seen, consume_probability(users, dependency, fit, attitude)
    )
    p_engage = engage_probability(
        users,
        dependency,
        pop.relational_motive[touched.user],
        fit,
        attitude,
        model.collectivism[touched.market],
    )
    engagements = kernels.binomial(rng, consumed, p_engage)
    # Per-user totals (int32): values of the same dtype keep np.add.at on its fast path.
    np.add.at(pop.consumed_total, touched.user, consumed.astype(np.int32))
    engaged = engagements > 0
    np.add.at(pop.engaged_total, touched.user[engaged], engagements[engaged].astype(np.int32))
    ledger.add("consumed", touched.cell, consumed)
    ledger.add("consumers", touched.cell, consumed > 0)
    ledger.add("engagements", touched.cell, engagements)
    ledger.add("engagers", touched.cell, engaged)
    return fit, consumed, engagements
