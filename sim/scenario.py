"""Scenario schema: the one source of truth for every parameter.

A scenario is a TOML file with the tables ``[model]``, ``[users]``, ``[network]``,
``[crm]``, ``[guanxi]``, ``[[markets]]`` and ``[[firms]]`` (each firm with
``[[firms.strategies]]``, one per target market). Every field below carries its
default, bounds, unit and help text; the CLI, the UI controls and the docs read
them from here. Where a default is not a published number, its help text says
"Assumption". Sources are the short names of the studies cited in docs/model.md.

Loading never executes anything: files are parsed with :mod:`tomllib` as data and
validated with pydantic. Every failure becomes a :class:`ScenarioError` whose
message is one line naming the file, the key and what is allowed. Parameters are
read, written and described by dotted path in :mod:`sim.parameters`.
"""

from __future__ import annotations

import codecs
import difflib
import os
import stat
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.errors import GuanxiError


def _scenario_dir() -> Path:
    """Where the bundled scenarios (and their ``sweeps/``) are: the top-level
    ``scenarios/`` folder of a source checkout (an editable install reads it in
    place), else the copy a wheel carries as package data in ``sim/scenarios/``
    (made at build time by setup.py from that same folder, its one source)."""
    package = Path(__file__).resolve().parent
    checkout = package.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "scenarios").is_dir():
        return checkout / "scenarios"
    return package / "scenarios"


SCENARIO_DIR = _scenario_dir()
MAX_SCENARIO_BYTES = 1_000_000
CONTENT_TYPES = ("informational", "promotional", "entertaining", "relational")


class ScenarioError(GuanxiError):
    """A scenario (file, override or value) that cannot be used; message is one line."""


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
        "Total simulated users, split across markets by user_share.",
        unit="users",
        ge=10,
        le=50_000_000,
    )
    steps: int = param(365, "Days simulated by `guanxi run`.", unit="days", ge=1, le=100_000)
    seed: int = param(42, "Seed of the model's random generators.", ge=0, le=2**63 - 1)
    focal_firm: str = param("", "Name of 'our business'; empty means the first firm listed.")
    edge_snapshot_interval: int = param(
        1, "Record the guanxi edges every this many days.", unit="days", ge=1, le=10_000
    )


# --------------------------------------------------------------------------- users
class UsersSection(Section):
    """How users react to firms' social media. Coefficients on the logit scale."""

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
        -4.0,
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
    engage_per_collectivism: float = param(
        0.3,
        "Direct effect of collectivism (1 - individualism/100) on the engagement logit, "
        "beyond the two mediators. Assumption.",
        ge=-10,
        le=10,
    )
    follow_intercept: float = param(
        -5.5,
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
    unfollow_base: float = param(
        0.0015,
        "Daily probability that a follower unfollows. Assumption.",
        unit="1/day",
        ge=0,
        le=1,
    )
    unfollow_per_fatigue: float = param(
        0.02,
        "Added daily unfollow probability per post seen beyond the fatigue threshold. Assumption.",
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
        0.03,
        "Probability that consuming a firm's content on a day leads to a purchase "
        "intent, at neutral attitude. Assumption.",
        ge=0,
        le=1,
    )
    incentive_effect: float = param(
        1.0,
        "Relative increase in purchase intent per unit promotional content share "
        "(deals, incentives). Assumption.",
        ge=0,
        le=10,
    )
    experience_weight: float = param(
        0.2, "Share of the gap to product quality closed by a purchase. Assumption.", ge=0, le=1
    )
    redirect_checkout_rate: float = param(
        0.03,
        "Share of purchase intents completed when the shop is outside the platform "
        "(conventional e-commerce about 3%, McKinsey 2021).",
        ge=0,
        le=1,
    )
    shop_checkout_rate: float = param(
        0.30,
        "Share of purchase intents completed in a fully seamless in-platform shop "
        "(livestream commerce 'approaching 30%', McKinsey 2021).",
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
        0.004,
        "Maximum daily growth of CRM capability (toward 1). Assumption.",
        unit="1/day",
        ge=0,
        le=1,
    )
    half_saturation: float = param(
        200.0,
        "Weighted interactions per day at which growth reaches half its maximum. Assumption.",
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
        "Daily share of CRM capability lost without use. Assumption.",
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
        2.0, "Weight of being introduced through a shared partner. Assumption.", ge=0, le=100
    )
    initial_strength: float = param(0.3, "Strength of a new tie.", ge=0.01, le=1)
    upkeep_cost: float = param(
        5.0,
        "Daily cost of keeping one tie, to each side. Assumption.",
        unit="currency/day",
        ge=0,
        le=1e9,
    )
    cross_promotion: float = param(
        0.5,
        "Share of its own organic reach a partner gives our posts among its followers, at "
        "strength 1. Assumption.",
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
        0.8,
        "Sever a tie when |benefit_a - benefit_b| / (benefit_a + benefit_b) exceeds this "
        "(too one-sided). Assumption.",
        ge=0,
        le=1,
    )
    crm_point_value: float = param(
        5_000.0,
        "Value to a firm of one unit of CRM capability gained, used to weigh "
        "knowledge in tie decisions. Assumption.",
        unit="currency",
        ge=0,
        le=1e12,
    )


# --------------------------------------------------------------------------- markets
class MarketSection(Section):
    """A market: culture, SNS dependency, motives and platform traits."""

    name: str = param(..., "Unique market name, referenced by firms.")
    preset: Literal["china", "western_europe", "australia", "none"] = param(
        "none",
        "Defaults taken from a named market (see PRESETS); explicit keys override.",
    )
    user_share: float = param(
        1.0, "Relative number of users in this market (normalised over markets).", gt=0, le=1e6
    )
    individualism: float = param(
        50.0,
        "Hofstede individualism index (China 20; Germany 67, Netherlands 80, UK 89; Australia 90).",
        ge=0,
        le=100,
    )
    dependency_mean: float = param(
        0.5,
        "Mean SNS dependency on a 0-1 scale. Higher in China (Zhang 2025); the "
        "magnitudes are an assumption.",
        gt=0,
        lt=1,
    )
    dependency_sd: float = param(
        0.15,
        "Standard deviation of SNS dependency (Beta distributed). Assumption.",
        gt=0,
        lt=0.5,
    )
    transactional_motive_mean: float = param(
        0.6,
        "Mean transactional motive (information, incentives), 0-1. Similar in all "
        "markets (Zhang 2025); magnitude assumption.",
        gt=0,
        lt=1,
    )
    relational_motive_mean: float = param(
        0.4,
        "Mean relational motive (social integration, identification), 0-1. Stronger in "
        "China (Zhang 2025); magnitude assumption.",
        gt=0,
        lt=1,
    )
    motive_sd: float = param(
        0.15, "Standard deviation of motives (Beta distributed). Assumption.", gt=0, lt=0.5
    )
    shop_seamlessness: float = param(
        0.3,
        "How seamless in-platform shopping is (0 = redirect only, 1 = in-app purchase "
        "and payment). High in China (second seed; McKinsey 2021-2023); assumption.",
        ge=0,
        le=1,
    )
    organic_reach: float = param(
        0.1,
        "Share of followers a post reaches organically per day at full attention. Assumption.",
        ge=0,
        le=1,
    )
    content_regulation: float = param(
        0.02,
        "Share of unlocalised foreign content filtered by platform regulation. Assumption.",
        ge=0,
        le=1,
    )
    institutional_weight: float = param(
        0.1,
        "How much policy support through local ties matters in this market (Luo 2024). Assumption.",
        ge=0,
        le=1,
    )
    ad_cost_per_impression: float = param(
        0.5,
        "Cost of one paid impression on a simulated user (who stands for a segment of real "
        "users; money is in the simulated market's units). Assumption.",
        unit="currency",
        ge=0,
        le=1e6,
    )
    purchase_value: float = param(
        100.0, "Revenue per purchase. Assumption.", unit="currency", ge=0, le=1e9
    )

    @model_validator(mode="after")
    def _beta_feasible(self) -> MarketSection:
        # Traits are Beta distributed: the spread must be below sqrt(mean * (1 - mean)).
        for mean_key, sd_key in (
            ("dependency_mean", "dependency_sd"),
            ("transactional_motive_mean", "motive_sd"),
            ("relational_motive_mean", "motive_sd"),
        ):
            mean, sd = getattr(self, mean_key), getattr(self, sd_key)
            limit = (mean * (1 - mean)) ** 0.5
            if sd >= limit:
                raise ValueError(
                    f"markets.{self.name}.{sd_key}: {sd} is too large for {mean_key} {mean}; "
                    f"allowed: < {limit:.3f}"
                )
        return self

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        preset = data.get("preset")
        if preset is None and isinstance(data.get("name"), str) and data["name"] in PRESETS:
            preset = data["name"]
        # Anything but a known preset name is left for the schema to reject.
        if isinstance(preset, str) and preset in PRESETS:
            return {**PRESETS[preset], **data, "preset": preset}
        return data


# Market presets. Directions are findings; magnitudes are assumptions unless a source
# gives the number (individualism: Hofstede; checkout rates: McKinsey, in [users]).
PRESETS: dict[str, dict[str, Any]] = {
    "china": {
        "individualism": 20.0,  # Hofstede
        "dependency_mean": 0.65,  # higher than Western Europe (Zhang 2025); magnitude assumed
        "transactional_motive_mean": 0.6,  # matters in both markets (Zhang 2025)
        "relational_motive_mean": 0.6,  # stronger in China (Zhang 2025); magnitude assumed
        "shop_seamlessness": 0.9,  # social commerce fused with the platform (seed 2)
        "organic_reach": 0.1,
        "content_regulation": 0.15,  # state presence in media (seed 2); magnitude assumed
        "institutional_weight": 0.8,  # guanxi gives policy support (Luo 2024); assumed
    },
    "western_europe": {
        "individualism": 77.0,  # Hofstede: mean of Germany 67, France 71, NL 80, UK 89
        "dependency_mean": 0.45,
        "transactional_motive_mean": 0.6,
        "relational_motive_mean": 0.35,
        "shop_seamlessness": 0.3,
        "organic_reach": 0.1,
        "content_regulation": 0.02,
        "institutional_weight": 0.1,
    },
    "australia": {
        "individualism": 90.0,  # commonly cited Hofstede value, not checked (research.md)
        "dependency_mean": 0.47,
        "transactional_motive_mean": 0.6,
        "relational_motive_mean": 0.33,
        "shop_seamlessness": 0.3,
        "organic_reach": 0.1,
        "content_regulation": 0.02,
        "institutional_weight": 0.1,
    },
}


# --------------------------------------------------------------------------- firms
class ContentMix(Section):
    """Relative weights of the four content types; normalised to shares."""

    informational: float = param(
        0.3, "Weight of informational posts (transactional).", ge=0, le=1000
    )
    promotional: float = param(
        0.3, "Weight of promotional posts, deals (transactional).", ge=0, le=1000
    )
    entertaining: float = param(0.2, "Weight of entertaining posts (relational).", ge=0, le=1000)
    relational: float = param(
        0.2, "Weight of community, relational posts (relational).", ge=0, le=1000
    )

    @model_validator(mode="after")
    def _not_all_zero(self) -> ContentMix:
        if sum(getattr(self, k) for k in CONTENT_TYPES) <= 0:
            raise ValueError("at least one content weight must be above 0")
        return self

    def shares(self) -> list[float]:
        total = sum(getattr(self, k) for k in CONTENT_TYPES)
        return [getattr(self, k) / total for k in CONTENT_TYPES]


class StrategySection(Section):
    """A firm's social media strategy in one target market."""

    market: str = param(..., "Target market (a market name).")
    posts_per_day: float = param(2.0, "Mean posts per day.", unit="posts/day", ge=0, le=50)
    content_mix: ContentMix = Field(default_factory=ContentMix, description="Content mix.")
    responsiveness: float = param(
        0.3, "Share of users' comments the firm aims to answer.", ge=0, le=1
    )
    localisation: float = param(
        0.5,
        "How far content is adapted to the market's culture (0 = standardised).",
        ge=0,
        le=1,
    )
    shop: bool = param(False, "Sells through an in-platform (social-commerce) shop.")
    paid_reach: float = param(
        0.0,
        "Share of the market's non-followers reached by ads per day.",
        unit="1/day",
        ge=0,
        le=1,
    )
    budget: float = param(
        300.0,
        "Daily social media budget: posts are paid first, then ads, then answers.",
        unit="currency/day",
        ge=0,
        le=1e12,
    )
    initial_awareness: float = param(
        0.05, "Share of the market aware of the firm at the start.", ge=0, le=1
    )
    initial_followers: float = param(
        0.01,
        "Share of the market following the firm at the start (at most the aware share).",
        ge=0,
        le=1,
    )
    initial_attitude: float = param(
        0.1, "Mean attitude of aware users at the start (-1 to 1).", ge=-1, le=1
    )

    @model_validator(mode="after")
    def _followers_are_aware(self) -> StrategySection:
        if self.initial_followers > self.initial_awareness:
            raise ValueError(
                f"initial_followers ({self.initial_followers}) must be at most "
                f"initial_awareness ({self.initial_awareness})"
            )
        return self


class FirmSection(Section):
    """A firm: home market, economics, CRM, guanxi behaviour and strategies."""

    name: str = param(..., "Unique firm name.")
    home_market: str = param(..., "Market the firm comes from (a market name).")
    product_quality: float = param(
        0.2,
        "How good buyers find the product (-1 to 1); purchases move attitude toward it.",
        ge=-1,
        le=1,
    )
    gross_margin: float = param(0.4, "Share of revenue kept after cost of goods.", ge=0, le=1)
    initial_crm_capability: float = param(0.2, "Social CRM capability at the start.", ge=0, le=1)
    response_capacity: float = param(
        40.0,
        "Comments the firm can answer per day at CRM capability 0.",
        unit="comments/day",
        ge=0,
        le=1e9,
    )
    cost_per_post: float = param(
        20.0, "Cost of producing one post. Assumption.", unit="currency", ge=0, le=1e9
    )
    cost_per_response: float = param(
        0.5, "Cost of answering one comment. Assumption.", unit="currency", ge=0, le=1e9
    )
    adaptive: bool = param(False, "Imitates better-performing partners or peers.")
    revision_interval: int = param(
        30, "Days between strategy revisions of an adaptive firm.", unit="days", ge=1, le=10_000
    )
    imitation_rate: float = param(
        0.3, "Share of the gap to a better performer's strategy closed per revision.", ge=0, le=1
    )
    seeks_partners: bool = param(True, "Searches for guanxi partners.")
    reciprocity: float = param(
        1.0, "How fully the firm returns favours to its partners (0 = free rider).", ge=0, le=1
    )
    strategies: list[StrategySection] = Field(
        ..., min_length=1, description="One strategy per target market."
    )

    @model_validator(mode="after")
    def _unique_strategy_markets(self) -> FirmSection:
        _require_unique((s.market for s in self.strategies), "strategies", "market")
        return self


# --------------------------------------------------------------------------- scenario
class Scenario(Section):
    """A whole market scenario."""

    model: ModelSection = Field(default_factory=ModelSection)
    users: UsersSection = Field(default_factory=UsersSection)
    network: NetworkSection = Field(default_factory=NetworkSection)
    crm: CrmSection = Field(default_factory=CrmSection)
    guanxi: GuanxiSection = Field(default_factory=GuanxiSection)
    markets: list[MarketSection] = Field(..., min_length=1)
    firms: list[FirmSection] = Field(..., min_length=1)

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        _require_unique((m.name for m in self.markets), "markets", "name")
        _require_unique((f.name for f in self.firms), "firms", "name")
        markets = [m.name for m in self.markets]
        for firm in self.firms:
            if firm.home_market not in markets:
                raise ValueError(
                    f"firms.{firm.name}.home_market: '{firm.home_market}' is not a market; "
                    f"allowed: {', '.join(markets)}"
                )
            for strategy in firm.strategies:
                if strategy.market not in markets:
                    raise ValueError(
                        f"firms.{firm.name}.strategies.market: '{strategy.market}' is not a "
                        f"market; allowed: {', '.join(markets)}"
                    )
        if self.model.focal_firm and self.model.focal_firm not in [f.name for f in self.firms]:
            raise ValueError(
                f"model.focal_firm: '{self.model.focal_firm}' is not a firm; allowed: "
                f"{', '.join(f.name for f in self.firms)}"
            )
        return self

    @property
    def focal_firm(self) -> str:
        return self.model.focal_firm or self.firms[0].name

    def to_toml(self) -> str:
        """The fully resolved scenario as TOML text that :func:`load_scenario` reads back."""
        return tomli_w.dumps(self.model_dump(mode="json"))


def _require_unique(names: Iterable[str], table: str, key: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{table}: duplicate {key} '{name}'; each {key} must be unique")
        seen.add(name)


# --------------------------------------------------------------------------- loading
def bundled_scenarios() -> dict[str, Path]:
    """Bundled scenario files by name (file stem)."""
    return {p.stem: p for p in sorted(SCENARIO_DIR.glob("*.toml"))}


def resolve_scenario_path(name_or_path: str | Path) -> Path:
    """A bundled scenario's name or a path to a TOML file."""
    text = str(name_or_path)
    bundled = bundled_scenarios()
    if text in bundled and not Path(text).exists():
        return bundled[text]
    return Path(text)


def read_scenario_file(path: Path) -> dict[str, Any]:
    """Parse a scenario file into raw data; every failure is one ScenarioError line.

    Only a regular file is read (a FIFO, a device such as /dev/zero or a socket is
    refused without waiting on it), and at most :data:`MAX_SCENARIO_BYTES` + 1 bytes.
    """
    raw = read_limited(path, MAX_SCENARIO_BYTES, "a TOML scenario file", ScenarioError)
    return parse_scenario_bytes(raw, str(path))


def read_limited(path: Path, limit: int, expected: str, error: type[GuanxiError]) -> bytes:
    """The bytes of the regular file ``path``, refused in one line if above ``limit``."""
    try:
        # Non-blocking: opening a FIFO for reading would otherwise wait for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        bundled = f"; bundled scenarios: {', '.join(bundled_scenarios())}"
        raise error(f"{path}: no such file{bundled if error is ScenarioError else ''}") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, expected {expected}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise error(f"{path}: is a directory, expected {expected}")
        if not stat.S_ISREG(info.st_mode):
            kind = _file_kind(info.st_mode)
            raise error(f"{path}: not a regular file ({kind}); expected {expected}")
        if info.st_size > limit:
            raise error(
                f"{path}: {info.st_size:,} bytes; {expected} may be at most {limit:,} bytes"
            )
        chunks, size = [], 0
        while size <= limit:  # at most limit + 1 bytes
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        raw = b"".join(chunks)
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(raw) > limit:  # the file grew since fstat
        raise error(f"{path}: more than {limit:,} bytes; {expected} may be at most {limit:,} bytes")
    return raw


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a file")


def parse_scenario_bytes(raw: bytes, source: str) -> dict[str, Any]:
    """Parse the bytes of a scenario (file or upload) as TOML data.

    A UTF-8 byte-order mark at the start is accepted (and dropped).
    """
    if len(raw) > MAX_SCENARIO_BYTES:
        raise ScenarioError(
            f"{source}: {len(raw)} bytes; a scenario may be at most {MAX_SCENARIO_BYTES} bytes"
        )
    raw = raw.removeprefix(codecs.BOM_UTF8)
    if not raw.strip():
        raise ScenarioError(
            f"{source}: file is empty; expected a TOML scenario with [[markets]] and [[firms]]"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(f"{source}: not a text file (not UTF-8); expected TOML") from None
    if "\x00" in text:
        raise ScenarioError(f"{source}: not a text file (binary data); expected TOML")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: malformed TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(
            f"{source}: malformed TOML: arrays or inline tables nested too deeply"
        ) from None


def load_scenario(
    name_or_path: str | Path = "baseline", overrides: Iterable[str] | Mapping[str, Any] = ()
) -> Scenario:
    """Load, override and validate a scenario; raises ScenarioError with one line.

    The file and ``--set`` text are read strictly: a value must be of its key's type
    (``enabled = "yes"``, ``n_users = true`` or ``n_users = 2000.0`` are refused, not
    converted). Overrides given by a program as a mapping are validated as before.
    """
    path = resolve_scenario_path(name_or_path)
    raw = read_scenario_file(path)
    if isinstance(overrides, Mapping):
        if overrides:
            scenario_from_data(raw, str(path), strict=True)  # the file itself, strictly
        return scenario_from_data(raw, str(path), overrides, strict=not overrides)
    return scenario_from_data(raw, str(path), overrides, strict=True)


def scenario_from_data(
    raw: Mapping[str, Any],
    source: str,
    overrides: Iterable[str] | Mapping[str, Any] = (),
    strict: bool = False,
) -> Scenario:
    """Validate raw scenario data after applying dotted-path overrides.

    ``strict``: no conversion between types (pydantic's strict mode), as for files.
    """
    from sim.parameters import describe_validation_error, parse_assignment, set_path

    data = _deep_copy(raw)
    pairs = (
        overrides.items() if isinstance(overrides, Mapping) else map(parse_assignment, overrides)
    )
    for dotted, value in pairs:
        set_path(data, dotted, value, source)
    try:
        return Scenario.model_validate(data, strict=strict)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: {describe_validation_error(exc, data)}") from None
    except ValueError as exc:  # raised by validators outside pydantic's wrapping
        raise ScenarioError(f"{source}: {exc}") from None
    except RecursionError:
        raise ScenarioError(f"{source}: values nested too deeply") from None


def suggest(word: str, choices: Iterable[str]) -> str:
    """ "; did you mean 'x'?" for the closest choice, else the list of choices."""
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=1)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; allowed: {', '.join(choices)}"


def _deep_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


# Walking the schema by dotted path (overrides, field info, error messages) lives in
# sim.parameters, which reads the models above; its names stay importable from here.
_PARAMETERS_API = {
    "LIST_KEYS",
    "describe_validation_error",
    "field_bounds",
    "field_unit",
    "iter_parameters",
    "parse_assignment",
    "parse_value",
    "set_path",
}


def __getattr__(name: str) -> Any:
    if name in _PARAMETERS_API:
        import sim.parameters

        return getattr(sim.parameters, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
