"""Social CRM capability (Luo 2024): learned from social media interactions.

A firm's capability (0-1) is a stock (Dierickx & Cool 1989, "Asset stock
accumulation and sustainability of competitive advantage", Management Science
35(12)): its inflow is learning from the interactions with real people the firm
captures and answers (social media use: their running volume over about a week,
counted per real person so that it does not depend on the number of simulated
users), amplified by guanxi (Luo's moderation) and by partners' know-how (knowledge
spill-over); its outflow is forgetting, a fixed share a day. The stock settles at
inflow / decay, so guanxi scales the level that a given use supports and the
moderation shows in capability levels, as Luo's survey measures them. Capability in turn
raises the firm's capacity to answer comments, its content's fit (targeting), its
followers' retention and its conversion (the effects read by the user phases).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.elementwise import running_mean

INTERACTION_WINDOW = 7  # days: the time constant of the interactions a firm learns from

if TYPE_CHECKING:
    from sim.model.ledger import Ledger
    from sim.model.model import MarketModel
    from sim.scenario import Scenario


def social_media_use[T](interactions: T, half_saturation: float) -> T:
    """x / (x + half_saturation), x the weighted interactions captured today (0-1)."""
    return interactions / (interactions + half_saturation)


def interactions_captured[T](engagements: T, answered: T, answer_weight: float) -> T:
    """Weighted interactions a firm captured today: engagements, answers counting extra."""
    return engagements + answer_weight * answered


def response_capacity[T](base_capacity: T, response_effect: float, capability: T) -> T:
    """Comments a firm can answer a day; grows with social CRM capability."""
    return base_capacity * (1.0 + response_effect * capability)


def crm_after_day[T: (float, np.ndarray)](
    capability: T, interactions: T, guanxi: T, knowledge: T, spec: Scenario
) -> T:
    """Social CRM capability after a day's learning and decay, before clipping to 0-1.

    growth = learning_rate * use * (1 + acceleration * guanxi + knowledge),
    with use = x / (x + half_saturation), x the weighted interactions captured
    today, and knowledge the boost from partners' know-how
    (:func:`knowledge_transfer`); minus decay * capability. Without a (1 - capability)
    factor on the inflow: with one, the inflow's guanxi multiplier and the ceiling
    cancel where capability passes 0.5 (the equilibrium slope of capability on use,
    lr (1 + b) d / (lr u (1 + b) + d)^2, falls with b once lr u (1 + b) > d), and the
    moderation vanished from capability levels (V6 failed at 180 and 365 days).
    """
    crm = spec.crm
    use = social_media_use(interactions, crm.half_saturation)
    boost = spec.guanxi.crm_acceleration * guanxi + knowledge
    growth = crm.learning_rate * use * (1.0 + boost)
    return capability + growth - crm.decay * capability


def learning[T](learning_rate: float, use: T) -> T:
    """A day's learning per unit of boost: learning_rate x use."""
    return learning_rate * use


def knowledge_boost[T](spillover: float, strength: T, reciprocity: T, gap: T) -> T:
    """Boost to the receiver's learning from one more capable partner's know-how."""
    return spillover * strength * reciprocity * gap


def knowledge_transfer(
    capability: np.ndarray,
    use: np.ndarray,
    reciprocity: np.ndarray,
    strength: np.ndarray,
    spec: Scenario,
) -> tuple[np.ndarray, np.ndarray]:
    """Partners' know-how today: (boost per firm, value of each giver's know-how).

    Knowledge spill-over (Luo 2024: guanxi gives access to knowledge that "optimizes
    social-media-enabled CRM processes"): each more capable partner g raises firm f's
    learning from its own social media interactions by ``knowledge_spillover`` x
    strength[g, f] x g's reciprocity x the capability gap. Know-how is absorbed
    through the firm's own use (absorptive capacity, Cohen & Levinthal 1990): a firm
    without social media interactions learns nothing from it, so knowledge
    complements social media use, as guanxi does in Luo's moderation.

    Arrays are per firm in index order, ``strength`` is (givers, receivers). Returns
    the boost per receiver (added to 1 + acceleration x guanxi in
    :func:`crm_after_day`) and, per (giver, receiver), the capability the giver's
    know-how adds to the receiver's learning today, valued at ``crm_point_value``.
    """
    from sim.model.benefits import knowledge_value

    gap = np.maximum(0.0, capability[:, None] - capability[None, :])  # (G, F)
    boost = knowledge_boost(spec.guanxi.knowledge_spillover, strength, reciprocity[:, None], gap)
    learned = learning(spec.crm.learning_rate, use)
    return boost.sum(axis=0), knowledge_value(boost, learned[None, :], spec.guanxi.crm_point_value)


def update_crm_capability(model: MarketModel, ledger: Ledger) -> None:
    """Interactions captured and answered build CRM capability; partners share know-how.

    :func:`crm_after_day` element-wise over the firms, then clipped to 0-1. The
    value of partners' know-how is booked in the ledger as their favour.
    """
    spec = model.spec
    firms = model.ordered_firms
    people = model.people_per_user
    today = interactions_captured(
        ledger.people_by_firm("engagements", people),
        ledger.people_by_firm("answered", people),
        spec.crm.answer_weight,
    )
    # Learning from the running volume of interactions (INTERACTION_WINDOW days).
    interactions = model.interaction_volume = running_mean(
        model.interaction_volume, today, INTERACTION_WINDOW
    )
    for firm, captured in zip(firms, interactions, strict=True):
        firm.interactions = captured
    capability = np.array([firm.crm_capability for firm in firms])
    knowledge = np.zeros(model.n_firms)
    if spec.guanxi.enabled and model.guanxi.graph.number_of_edges():
        use = np.array([firm.social_media_use for firm in firms])
        reciprocity = np.array([firm.reciprocity for firm in firms])
        knowledge, value = knowledge_transfer(
            capability, use, reciprocity, model.guanxi.strength_matrix(), spec
        )
        ledger.benefit += value
    guanxi = np.array([model.guanxi.level(f) for f in range(model.n_firms)])
    updated = crm_after_day(capability, interactions, guanxi, knowledge, spec)
    for firm, value in zip(firms, np.clip(updated, 0, 1).tolist(), strict=True):
        firm.crm_capability = value
