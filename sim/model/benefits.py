"""What a guanxi tie is worth to each side: the favours partners do each other.

Luo (2024): guanxi gives access to knowledge, information and policy support. A
giver does four kinds of favour for a receiver; each is valued in currency:

* **cross-promotion**: the giver shows the receiver's posts to its own followers,
  valued at the market's CPM per real person reached;
* **referrals**: the giver refers its customers; a referred purchase is worth the
  receiver's gross margin on it;
* **policy support**: where the giver is at home and institutions matter, part of
  the receiver's filtered (unlocalised foreign) posts get through, valued at the
  receiver's cost of a post;
* **knowledge**: a more capable giver's know-how raises the receiver's CRM learning
  (:func:`sim.model.crm.knowledge_transfer`), valued per CRM point.

The model books what each favour actually brought (exposure, purchase and CRM
phases); :func:`expected_benefit` uses the same equations with a new tie's strength
to decide whether a tie is worth forming.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.model import crm

if TYPE_CHECKING:
    from sim.model.firms import Firm
    from sim.model.model import MarketModel


def cross_promotion_chance[T](cross_promotion: float, weight: T, pass_share: T, posts: T) -> T:
    """Per follower of the giver: chance of seeing one of the receiver's posts, before
    that follower's own attention (x organic share seen, capped at 1)."""
    return cross_promotion * weight * pass_share * posts


def referral_probability[T](referral_rate: float, weight: T) -> T:
    """Per customer of the giver and day: chance of being referred to the receiver."""
    return referral_rate * weight


def referral_value[T](revenue: T, gross_margin: T) -> T:
    """The receiver's benefit from a referred purchase: its gross margin on it."""
    return revenue * gross_margin


def filtered_share[T](foreign: T, regulation: T, localisation: T) -> T:
    """Share of a firm's posts that platform regulation filters in a market.

    Regulation filters unlocalised foreign content: content_regulation x (1 -
    localisation) for a foreign firm, nothing at home.
    """
    return foreign * regulation * (1.0 - localisation)


def policy_support[T](support: float, weight: T, institutional_weight: T) -> T:
    """Share of the receiver's filtering a partner at home in the market avoids."""
    return support * weight * institutional_weight


def pass_share[T](filtered: T, avoided: T) -> T:
    """Share of posts that get through: filtered ones, less what policy support avoids."""
    return 1.0 - filtered * (1.0 - avoided)


def policy_support_value[T](avoided: T, filtered: T, posts: T, cost_per_post: T) -> T:
    """The receiver's benefit from policy support: filtered posts avoided x cost of a post."""
    return avoided * filtered * posts * cost_per_post


def knowledge_value[T](boost: T, learning: T, point_value: float) -> T:
    """The receiver's benefit from a partner's know-how: capability added x its value."""
    return boost * learning * point_value


def expected_benefit(model: MarketModel, receiver: Firm, giver: Firm) -> float:
    """Daily benefit ``receiver`` expects from a new tie with ``giver`` (currency/day).

    Expectations use a new tie's strength and assume the giver reciprocates fully:
    cross-promotion to all the giver's followers at the market's organic reach,
    referrals of the giver's customers at the base purchase intent, policy support
    where the giver is at home and institutions matter, and know-how from a more
    capable giver.
    """
    spec = model.spec.guanxi
    strength = spec.initial_strength
    f, g = receiver.index, giver.index
    strategy = model.strategy
    value = 0.0
    for m in receiver.target_markets:
        market = model.markets[m]
        people = model.people_per_user[m]
        posts = strategy.posts_per_day[f, m]
        impressions = (
            cross_promotion_chance(spec.cross_promotion, strength, 1.0, posts)
            * model.followers_count[g, m]
            * market.organic_reach
        )
        value += impressions * people * market.ad_cpm / 1000.0
        referrals = referral_probability(spec.referral_rate, strength) * model.customers_count[g, m]
        purchases = referrals * model.spec.users.purchase_intent_base
        value += referral_value(purchases * people * receiver.price, receiver.gross_margin)
        if giver.home_market == m and receiver.home_market != m:
            value += policy_support_value(
                policy_support(spec.policy_support, strength, market.institutional_weight),
                filtered_share(True, market.content_regulation, strategy.localisation[f, m]),
                posts,
                receiver.cost_per_post,
            )
    gap = max(0.0, giver.crm_capability - receiver.crm_capability)
    boost = crm.knowledge_boost(spec.knowledge_spillover, strength, 1.0, gap)
    learning = crm.learning(model.spec.crm.learning_rate, receiver.social_media_use)
    value += knowledge_value(boost, learning, spec.crm_point_value)
    return value
