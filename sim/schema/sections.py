"""The behavioural tables of a scenario: ``[model]``, ``[users]``, ``[network]``,
``[crm]`` and ``[guanxi]``, and :func:`param`, the field every parameter is."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CONTENT_TYPES = ("informational", "promotional", "entertaining", "relational")


def param(
    default: Any,
    help: str,
    *,
    unit: str = "",
    ge: float | None = None,
    le: float | None = None,
    gt: float | None = None,
    lt: float | None = None,
) -> Any:
    """A schema field with bounds, unit and help text (shown by the CLI, UI and docs)."""
    extra = {"unit": unit} if unit else {}
    return Field(
        default, description=help, ge=ge, le=le, gt=gt, lt=lt, json_schema_extra=extra or None
    )


class Section(BaseModel):
    """Base for every table: unknown keys are errors, NaN is refused, values are checked."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_assignment=True)


# --------------------------------------------------------------------------- model
class ModelSection(Section):
    name: str = param("unnamed scenario", "Short name of the scenario.")
    description: str = param("", "What question the scenario answers.")
    n_users: int = param(
        10_000,
        "Simulated users, split across markets by user_share: the resolution, not the "
        "market (each stands for population / users of its market real people).",
        unit="users",
        ge=10,
        le=50_000_000,
    )
    steps: int = param(365, "Days simulated by `guanxi run`.", unit="days", ge=1, le=100_000)
    seed: int = param(42, "Seed of the model's random generators.", ge=0, le=2**63 - 1)
    focal_firm: str = param("", "Name of 'our business'; empty means the first firm listed.")
    currency: str = param(
        "EUR", "Name of the currency of every money amount (prices, costs, budgets, CPMs)."
    )
    edge_snapshot_interval: int = param(
        1, "Record the guanxi edges every this many days.", unit="days", ge=1, le=10_000
    )


# --------------------------------------------------------------------------- users
class UsersSection(Section):
    """How users react to firms' social media. Coefficients on the logit scale."""

    attention_slots: float = param(
        10.0,
        "Brand accounts' worth of feed a user attends to before the brands followed "
        "dilute each other: a post's reach among followers is organic_reach x "
        "(attention_slots + market mean brands followed) / (attention_slots + the "
        "user's brands followed). Assumption.",
        unit="brands",
        gt=0,
        le=1000,
    )
    attention_capacity: float = param(
        4.0,
        "Brand items a user can consume a day: above it, the chance of consuming each "
        "item seen falls in proportion (limited attention). Assumption.",
        unit="items/day",
        gt=0,
        le=1000,
    )
    comment_share: float = param(
        0.2,
        "Share of engagements that are comments or messages a brand can answer (the "
        "rest are likes and shares). Assumption, of the order of Sprout Social's 39-60 "
        "messages per 1,000 followers a month at published engagement rates.",
        ge=0,
        le=1,
    )
    attention_base: float = param(
        0.4,
        "Time online of a user with zero SNS dependency, relative to a user with full "
        "dependency (1 + attention_base). Assumption.",
        ge=0,
        le=5,
    )
    consume_intercept: float = param(
        -1.0,
        "Logit of consuming a seen post at zero dependency, fit and attitude. Assumption.",
        ge=-10,
        le=10,
    )
    consume_per_dependency: float = param(
        1.5,
        "Logit increase in consuming per unit SNS dependency (Zhang 2025: direction).",
        ge=-10,
        le=10,
    )
    consume_per_fit: float = param(
        2.0, "Logit increase in consuming per unit content-motive fit. Assumption.", ge=-10, le=10
    )
    consume_per_attitude: float = param(
        1.0, "Logit increase in consuming per unit attitude. Assumption.", ge=-10, le=10
    )
    engage_intercept: float = param(
        -6.5,
        "Logit of engaging (like, comment, share) with consumed content at zero "
        "predictors; calibrated so engagement per follower per post is of the order of "
        "Rival IQ 2022 medians (0.06%-5.7%).",
        ge=-15,
        le=10,
    )
    engage_per_dependency: float = param(
        2.0,
        "Logit increase in engaging per unit SNS dependency (Zhang 2025: dependency "
        "mediates culture -> engagement).",
        ge=-10,
        le=10,
    )
    engage_per_relational_motive: float = param(
        2.0,
        "Logit increase in engaging per unit relational (social-integration) motive "
        "(Zhang 2025: second mediator).",
        ge=-10,
        le=10,
    )
    engage_per_fit: float = param(
        1.0, "Logit increase in engaging per unit content-motive fit. Assumption.", ge=-10, le=10
    )
    engage_per_attitude: float = param(
        1.0, "Logit increase in engaging per unit attitude. Assumption.", ge=-10, le=10
    )
    engage_per_entertaining: float = param(
        1.0,
        "Logit increase in engaging per unit entertaining content share (uses and "
        "gratifications: entertainment drives liking and sharing, Muntinga et al. 2011). "
        "Assumption.",
        ge=-10,
        le=10,
    )
    shares_per_entertaining: float = param(
        1.0,
        "Relative increase in the chance that an engager's ties see the post, per unit "
        "entertaining content share (entertaining posts are passed on). Assumption.",
        ge=0,
        le=10,
    )
    engage_per_collectivism: float = param(
        0.3,
        "Direct effect of collectivism (1 - individualism/100) on the engagement logit, "
        "beyond the two mediators. Assumption.",
        ge=-10,
        le=10,
    )
    follow_intercept: float = param(
        -5.0,
        "Logit of following a firm after consuming its content. Assumption.",
        ge=-15,
        le=10,
    )
    follow_per_transactional: float = param(
        3.0,
        "Logit increase in following per unit of transactional content share x "
        "transactional motive (Zhang 2025: transactional motives matter in both markets).",
        ge=-10,
        le=20,
    )
    follow_per_relational: float = param(
        2.0,
        "Logit increase in following per unit of relational content share x relational "
        "motive (Zhang 2025).",
        ge=-10,
        le=20,
    )
    follow_per_dependency: float = param(
        1.0,
        "Logit increase in following per unit SNS dependency (Zhang 2025: direction).",
        ge=-10,
        le=10,
    )
    follow_per_attitude: float = param(
        1.5, "Logit increase in following per unit attitude. Assumption.", ge=-10, le=10
    )
    follow_after_purchase: float = param(
        0.46,
        "Probability that a buyer of switching propensity 1 who does not follow the brand "
        "starts to after a purchase (to hear of new products: Sprout Social 2020, 57% "
        "follow for that); its odds are multiplied by the buyer's propensity. Assumption: "
        "0.3 over all buyers, hence 0.46 at switching_dispersion 2.5 (the mean of the "
        "scaled odds is lower than the unscaled probability).",
        ge=0,
        le=1,
    )
    follow_per_brand_followed: float = param(
        0.1,
        "Logit decrease in following per brand the user follows above the market's "
        "mean (limited attention: users follow a few brands). Assumption.",
        ge=0,
        le=10,
    )
    switching_dispersion: float = param(
        2.5,
        "Variance of the users' propensity to switch brand accounts (variety seeking, "
        "McAlister & Pessemier 1982): a persistent trait per user, gamma-distributed "
        "with mean 1, that multiplies the odds of following a brand (after its content "
        "or a purchase) and the daily probability of leaving one (capped at 1). New "
        "followers are enriched in switchers, who leave sooner, so a cohort's hazard "
        "of leaving falls with tenure (frailty: Vaupel, Manton & Stallard 1979). 0: "
        "every user alike. Set by hand on SocialBro 2013's share of new followers lost "
        "within 3 weeks (O9), follower growth (O8) in view.",
        ge=0,
        le=20,
    )
    unfollow_base: float = param(
        0.0008,
        "Daily probability that a follower of switching propensity 1 unfollows, before "
        "annoyance and dislike. Assumption.",
        unit="1/day",
        ge=0,
        le=1,
    )
    unfollow_per_fatigue: float = param(
        0.0124,
        "Added daily unfollow probability per post seen beyond the fatigue threshold. Assumption.",
        unit="1/post",
        ge=0,
        le=1,
    )
    unfollow_per_promotion: float = param(
        0.0087,
        "Added daily unfollow probability per promotional post seen (share of promotional "
        "content x own posts seen): 'too many promotions', the first reason to unfollow "
        "(Sprout Social 2016: 46%). Assumption.",
        unit="1/post",
        ge=0,
        le=1,
    )
    unfollow_per_irrelevance: float = param(
        0.008,
        "Added daily unfollow probability per own post seen, per unit of irrelevance "
        "(1 - the content's fit with the user's motives): 'irrelevant content', the "
        "second reason to unfollow (Sprout Social 2016: 41%). Assumption.",
        unit="1/post",
        ge=0,
        le=1,
    )
    unfollow_per_negative_attitude: float = param(
        0.02,
        "Added daily unfollow probability per unit of negative attitude. Assumption.",
        ge=0,
        le=1,
    )
    attitude_learning_rate: float = param(
        0.05,
        "Share of the gap to a consumed post's valence closed per post. Assumption.",
        ge=0,
        le=1,
    )
    neutral_fit: float = param(
        0.3,
        "Content-motive fit at which consumed content leaves attitude unchanged; better "
        "fitting content improves it, worse fitting content harms it. Assumption.",
        ge=0,
        lt=1,
    )
    response_effect: float = param(
        0.15, "Attitude gain when the firm answers the user's comment. Assumption.", ge=0, le=2
    )
    ignored_effect: float = param(
        0.05, "Attitude loss when the user's comment is left unanswered. Assumption.", ge=0, le=2
    )
    social_influence: float = param(
        0.1,
        "Share of the gap to neighbours' expressed opinion closed per day, multiplied by "
        "the market's collectivism (relational users weigh others more). Assumption.",
        ge=0,
        le=1,
    )
    fatigue_threshold: float = param(
        1.0,
        "Posts seen per day from one firm that a user tolerates before over-posting fatigue. Assumption.",
        unit="posts/day",
        ge=0,
        le=100,
    )
    fatigue_per_post: float = param(
        0.05,
        "Attitude loss per post seen beyond the fatigue threshold. Assumption.",
        ge=0,
        le=1,
    )
    attitude_decay: float = param(
        0.002,
        "Daily share of attitude that fades toward neutral. Assumption.",
        unit="1/day",
        ge=0,
        le=1,
    )
    purchase_intent_base: float = param(
        0.0185,
        "Probability that consuming a firm's content on a day leads to a visit to its "
        "shop (a purchase intent), at neutral attitude, for a person who needs the "
        "category. Calibrated to Facebook ads' click-through, 0.90% of items seen "
        "(WordStream 2017; docs/calibration.md).",
        ge=0,
        le=1,
    )
    information_effect: float = param(
        0.5,
        "Relative increase in purchase intent per unit informational content share "
        "(product information reduces uncertainty). Assumption.",
        ge=0,
        le=10,
    )
    choice_per_attitude: float = param(
        2.0,
        "Logit weight of attitude when a person in the market for the category chooses "
        "among the brands it knows (and other brands). Assumption.",
        ge=0,
        le=20,
    )
    choice_per_loyalty: float = param(
        1.0,
        "Logit bonus of the brand a person bought last, if it still thinks well of it "
        "(attitude >= 0: habit keeps satisfied customers, not disappointed ones). "
        "Assumption.",
        ge=0,
        le=20,
    )
    expectation_weight: float = param(
        0.5,
        "Disconfirmation: a buyer's experience is product quality + expectation_weight "
        "x (quality - attitude before buying), clipped to -1..1: high hopes make the "
        "same product disappoint (Oliver 1980). Assumption.",
        ge=0,
        le=2,
    )
    incentive_effect: float = param(
        1.0,
        "Relative increase in purchase intent per unit promotional content share "
        "(deals, incentives). Assumption.",
        ge=0,
        le=10,
    )
    experience_weight: float = param(
        0.7,
        "Share of the gap to the experience closed by a purchase (own experience "
        "outweighs advertising). Assumption.",
        ge=0,
        le=1,
    )
    redirect_checkout_rate: float = param(
        0.03,
        "Share of purchase intents completed when the shop is outside the platform "
        "(conventional e-commerce about 3%, McKinsey 2021).",
        ge=0,
        le=1,
    )
    shop_checkout_rate: float = param(
        0.08,
        "Share of shop visits that buy in a fully seamless in-platform shop (Xiaohongshu "
        "'as high as 8%' against 2-3% on other e-commerce, CBBC; live commerce reaches "
        "'approaching 30%' at best, McKinsey 2021, an anecdotal upper bound).",
        ge=0,
        le=1,
    )


# --------------------------------------------------------------------------- network
class NetworkSection(Section):
    """The user social network that carries word of mouth (Goldenberg et al. 2001)."""

    structure: Literal["social", "fully_mixed"] = param(
        "social",
        "'social': strong and weak ties; 'fully_mixed': everyone hears everyone in "
        "their market (the Bass 1969 setting, for verification).",
    )
    strong_ties: int = param(
        8,
        "Strong ties per user, all within the user's market and clustered "
        "(Goldenberg 2001 studied 5-29).",
        unit="ties",
        ge=0,
        le=100,
    )
    weak_ties: int = param(
        8,
        "Weak ties per user, random (Goldenberg 2001 studied 5-29).",
        unit="ties",
        ge=0,
        le=100,
    )
    homophily: float = param(
        0.9, "Share of weak ties that stay within the user's market. Assumption.", ge=0, le=1
    )
    strong_tie_wom: float = param(
        0.0005,
        "Daily probability that an aware strong tie makes a user aware of a firm "
        "(Goldenberg's b_s = 0.01-0.07 per period, scaled to days: assumption).",
        unit="1/day",
        ge=0,
        le=1,
    )
    weak_tie_wom: float = param(
        0.0003,
        "Daily probability that an aware weak tie makes a user aware of a firm "
        "(Goldenberg's b_w = 0.005-0.015 per period, scaled to days: assumption).",
        unit="1/day",
        ge=0,
        le=1,
    )
    mixed_wom: float = param(
        0.38,
        "Bass imitation coefficient q when structure = 'fully_mixed' (Sultan, Farley "
        "& Lehmann 1990 mean 0.38).",
        unit="1/day",
        ge=0,
        le=5,
    )
    share_reach: float = param(
        0.05,
        "Probability that a tie sees a post a user engaged with (shares). Assumption.",
        ge=0,
        le=1,
    )


# --------------------------------------------------------------------------- crm
class CrmSection(Section):
    """Social CRM capability: built from social media interactions (Luo 2024)."""

    learning_rate: float = param(
        0.002,
        "Daily growth of CRM capability at full social media use, without guanxi or "
        "partners' know-how (the inflow of the capability stock). Assumption: with "
        "crm.decay it sets the level that full use supports, learning_rate / decay = 2/3, "
        "which guanxi can raise before the ceiling of 1; chosen so that the bundled firms' "
        "capability after a year stays where the earlier equation put it (0.3-0.6).",
        unit="1/day",
        ge=0,
        le=1,
    )
    half_saturation: float = param(
        2_000.0,
        "Weighted interactions with real people per day at which growth reaches half its "
        "maximum. Assumption.",
        unit="interactions/day",
        gt=0,
        le=1e9,
    )
    answer_weight: float = param(
        2.0,
        "Weight of an answered comment relative to a captured engagement. Assumption.",
        ge=0,
        le=100,
    )
    decay: float = param(
        0.003,
        "Daily share of CRM capability forgotten (the outflow of the capability stock; "
        "a time constant of about a year). Assumption.",
        unit="1/day",
        ge=0,
        le=1,
    )
    targeting_effect: float = param(
        0.5,
        "Share of the gap to perfect content fit closed at capability 1 (targeting). Assumption.",
        ge=0,
        le=1,
    )
    response_effect: float = param(
        1.0, "Relative increase in answering capacity at capability 1. Assumption.", ge=0, le=10
    )
    conversion_effect: float = param(
        0.5, "Relative increase in purchase intent at capability 1. Assumption.", ge=0, le=10
    )
    retention_effect: float = param(
        0.5, "Relative reduction of unfollowing at capability 1. Assumption.", ge=0, le=1
    )


# --------------------------------------------------------------------------- guanxi
class GuanxiSection(Section):
    """Ties among firms (Luo 2024; the seed's advice to evaluate and sever ties)."""

    enabled: bool = param(True, "Firms form, use and sever guanxi ties.")
    max_partners: int = param(4, "Most ties a firm keeps.", unit="ties", ge=0, le=1000)
    search_interval: int = param(
        7, "Days between a firm's partner searches.", unit="days", ge=1, le=10_000
    )
    similarity_weight: float = param(
        2.0,
        "Weight of similarity (shared markets, similar performance) in partner search. Assumption.",
        ge=0,
        le=100,
    )
    success_weight: float = param(
        2.0,
        "Weight of the candidate's marketing performance in partner search. Assumption.",
        ge=0,
        le=100,
    )
    introduction_weight: float = param(
        2.0,
        "Weight of being introduced through a shared partner, times that partner's trust "
        "in the candidate. Assumption.",
        ge=0,
        le=100,
    )
    initial_strength: float = param(0.3, "Strength of a new tie.", ge=0.01, le=1)
    upkeep_cost: float = param(
        40.0,
        "Daily cost of keeping one tie with a peer firm, to each side: gifts, meals, "
        "entertainment (about 15,000 a year). Assumption; Cai, Fang & Xu (2011) put "
        "all relational spending (with officials, suppliers, customers) near 3% of "
        "value added, which validation compares (O15). At 200 or more a day, no tie "
        "pays for itself in the bundled scenarios.",
        unit="currency/day",
        ge=0,
        le=1e9,
    )
    cross_promotion: float = param(
        0.05,
        "Share of its own organic reach a partner gives our posts among its followers, at "
        "strength 1: an occasional mention. Assumption (at 0.5, partners' followers saw "
        "each other's posts every few days and three tied brands converged on 43% of a "
        "market).",
        ge=0,
        le=1,
    )
    knowledge_spillover: float = param(
        4.0,
        "Relative increase of CRM learning from social media per unit of capability gap "
        "to a more capable partner, at strength 1 (knowledge, Luo 2024). Assumption.",
        ge=0,
        le=100,
    )
    referral_rate: float = param(
        0.005,
        "Daily probability that a partner's customer is referred to us, at strength 1. Assumption.",
        unit="1/day",
        ge=0,
        le=1,
    )
    policy_support: float = param(
        0.5,
        "Share of content filtering avoided through a partner at home in a market, at "
        "strength 1, times the market's institutional weight (Luo 2024). Assumption.",
        ge=0,
        le=1,
    )
    crm_acceleration: float = param(
        2.0,
        "Relative increase of CRM learning from social media at guanxi level 1 (the "
        "moderator of Luo 2024). Assumption.",
        ge=0,
        le=100,
    )
    strengthen_rate: float = param(
        0.05,
        "Daily strengthening of a tie with reciprocated favours. Assumption.",
        unit="1/day",
        ge=0,
        le=1,
    )
    decay_rate: float = param(
        0.01, "Daily share of tie strength lost. Assumption.", unit="1/day", ge=0, le=1
    )
    evaluation_window: int = param(
        30,
        "Days over which each side totals the benefit of a tie before deciding to keep it.",
        unit="days",
        ge=1,
        le=10_000,
    )
    reform_cooldown: int = param(
        90,
        "Days after severing before the same two firms consider a tie again. Assumption.",
        unit="days",
        ge=0,
        le=100_000,
    )
    max_imbalance: float = param(
        0.9,
        "Sever a tie when |benefit_a - benefit_b| / (benefit_a + benefit_b) exceeds this "
        "(too one-sided). Assumption.",
        ge=0,
        le=1,
    )
    crm_point_value: float = param(
        3_000_000.0,
        "Value to a firm of one unit of CRM capability gained, used to weigh "
        "knowledge in tie decisions (of the order of the yearly gross margin CRM adds to "
        "the bundled firms' social sales). Assumption.",
        unit="currency",
        ge=0,
        le=1e12,
    )
    initial_trust: float = param(
        0.5,
        "Trust (xinren) between two firms that have not dealt with each other yet, 0-1. "
        "Assumption (a neutral prior).",
        ge=0,
        le=1,
    )
    min_trust: float = param(
        0.4,
        "Least pair trust at which two firms form a tie. Assumption.",
        ge=0,
        le=1,
    )
    trust_gain: float = param(
        0.02,
        "Daily trust gained by a tie with fully reciprocated favours, x balance x "
        "(1 - trust); a day on which one side gives much less (imbalance above "
        "max_imbalance) loses trust_gain x the lesser giver's shortfall of effort x trust. "
        "Assumption.",
        unit="1/day",
        ge=0,
        le=1,
    )
    trust_recovery: float = param(
        0.002,
        "Daily share of the gap to initial_trust that every pair's trust recovers "
        "(memory fading; half-life about 350 days). Assumption.",
        unit="1/day",
        ge=0,
        le=1,
    )
    betrayal_penalty: float = param(
        0.8,
        "Share of pair trust lost when a tie is severed as one-sided, times the shortfall "
        "of effort of the side that gave less (1 - its reciprocity / its partner's; 1 for "
        "a free rider). Assumption.",
        ge=0,
        le=1,
    )
    parting_penalty: float = param(
        0.3,
        "Share of pair trust lost when a tie is severed without a free rider (not "
        "mutually beneficial, or no exchange at all): firms remember a tie that did "
        "not pay, and take the same partner back only after trust recovers (about "
        "200 days from 0.5). Assumption.",
        ge=0,
        le=1,
    )
    initial_reputation: float = param(
        0.5,
        "A firm's reputation (mianzi, standing among firms) before any tie, 0-1. "
        "Assumption (a neutral prior).",
        ge=0,
        le=1,
    )
    reputation_loss: float = param(
        0.25,
        "Reputation a firm loses each time a tie is severed with it as the free rider, "
        "times its shortfall of effort (floored at 0). Assumption.",
        ge=0,
        le=1,
    )
    reputation_recovery: float = param(
        0.005,
        "Daily share of the gap to initial_reputation that a firm's reputation recovers "
        "(half-life about 140 days). Assumption.",
        unit="1/day",
        ge=0,
        le=1,
    )
    reputation_weight: float = param(
        2.0,
        "Weight of the candidate's reputation in partner search. Assumption.",
        ge=0,
        le=100,
    )


def require_unique(names: Iterable[str], table: str, key: str) -> None:
    """Refuse a repeated name in a list of tables (one line naming the table and key)."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{table}: duplicate {key} '{name}'; each {key} must be unique")
        seen.add(name)
