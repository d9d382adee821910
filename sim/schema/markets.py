"""``[[markets]]``: a market's culture, its users' traits and its platforms, with presets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import model_validator

from sim.schema.culture import culture_defaults
from sim.schema.platforms import PLATFORMS, PlatformName
from sim.schema.sections import Section, param


# --------------------------------------------------------------------------- markets
class MarketSection(Section):
    """A market: culture, SNS dependency, motives and platform traits."""

    name: str = param(..., "Unique market name, referenced by firms.")
    preset: Literal["china", "western_europe", "australia", "none"] = param(
        "none",
        "Defaults taken from a named market (see PRESETS); explicit keys override.",
    )
    user_share: float = param(
        1.0,
        "Relative number of simulated users in this market (normalised over markets).",
        gt=0,
        le=1e6,
    )
    population: float = param(
        1_000_000.0,
        "Real people in the market: the platform's users who buy in the product category "
        "(the brands' addressable audience). A simulated user stands for population / "
        "simulated users of the market; counts, money and favours are per real person.",
        unit="people",
        ge=1,
        le=1e10,
    )
    platform: PlatformName = param(
        "instagram",
        "The market's main platform; its profile (sim/schema/platforms.py) gives the "
        "defaults of organic_reach, ad_cpm and engagement_offset.",
    )
    individualism: float = param(
        50.0,
        "Hofstede individualism index (China 20; Germany 67, Netherlands 80, UK 89; "
        "Australia 90). Sets collectivism, hence SNS dependency and relational motives "
        "(sim/schema/culture.py).",
        ge=0,
        le=100,
    )
    power_distance: float = param(
        50.0,
        "Hofstede power distance index (China 80; Germany 35, France 68, Netherlands 38, "
        "UK 35; Australia 38). Sets institutional_weight (sim/schema/culture.py).",
        ge=0,
        le=100,
    )
    dependency_mean: float = param(
        0.5,
        "Mean SNS dependency on a 0-1 scale. When absent it follows from the market's "
        "individualism (sim/schema/culture.py: higher where collectivism is, Zhang 2025).",
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
        "Mean relational motive (social integration, identification), 0-1. When absent "
        "it follows from the market's individualism (sim/schema/culture.py: stronger "
        "where collectivism is, Zhang 2025).",
        gt=0,
        lt=1,
    )
    motive_sd: float = param(
        0.15, "Standard deviation of motives (Beta distributed). Assumption.", gt=0, lt=0.5
    )
    brands_followed_mean: float = param(
        5.0,
        "Mean number of brand accounts a user follows on the platform, most of them "
        "outside the scenario (Fractl 2015: half of users follow 1-4 brands; QuestMobile "
        "2019: 73% of WeChat users follow fewer than 20 official accounts). They share "
        "the user's attention with the scenario's brands.",
        unit="brands",
        ge=0,
        le=1000,
    )
    purchase_cycle: float = param(
        180.0,
        "Mean days between a person's purchases in the product category; each purchase "
        "chooses among the brands the person is aware of, or another brand. Assumption.",
        unit="days",
        ge=1,
        le=10_000,
    )
    other_brands_appeal: float = param(
        20.0,
        "Appeal of buying a brand outside the scenario when in the market for the "
        "category, against exp(choice_per_attitude x attitude) for each scenario brand "
        "the person knows. Assumption.",
        ge=0,
        le=1e6,
    )
    shop_seamlessness: float = param(
        0.3,
        "How seamless in-platform shopping is (0 = redirect only, 1 = in-app purchase "
        "and payment). High in China (second seed; McKinsey 2021-2023); assumption.",
        ge=0,
        le=1,
    )
    shop_commission: float = param(
        0.05,
        "Share of in-platform shop revenue kept by the platform (commission and payment "
        "fees). Assumption (category rates on Douyin and Tmall are of the order of 2-8%).",
        ge=0,
        le=1,
    )
    organic_reach: float = param(
        0.25,
        "Share of followers who see a post, for a user of average attention who follows "
        "the market's mean number of brands. Default from the platform profile.",
        ge=0,
        le=1,
    )
    engagement_offset: float = param(
        0.0,
        "Platform shift of the engagement logit (formats and interface), calibrated so "
        "that engagement per follower per post matches the platform's published median "
        "(python -m sim.calibration). Default from the platform profile.",
        ge=-10,
        le=10,
    )
    content_regulation: float = param(
        0.02,
        "Share of unlocalised foreign content filtered by platform regulation. Assumption.",
        ge=0,
        le=1,
    )
    institutional_weight: float = param(
        0.1,
        "How much policy support through local ties matters in this market (Luo 2024). "
        "When absent it follows from power distance (sim/schema/culture.py).",
        ge=0,
        le=1,
    )
    ad_cpm: float = param(
        5.0,
        "Price of 1,000 paid impressions on real people. Default from the platform profile.",
        unit="currency/1000 impressions",
        ge=0,
        le=1e6,
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
            data = {**PRESETS[preset], **data, "preset": preset}
        return derived_defaults(data)


def derived_defaults(data: Mapping[str, Any]) -> dict[str, Any]:
    """The keys a market leaves out that follow from its platform or its culture.

    Platform (sim/schema/platforms.py): organic reach, ad CPM and the engagement
    offset; culture (sim/schema/culture.py): SNS dependency, relational motive and
    institutional weight from the Hofstede indices (sim/schema/culture.py). Explicit keys win; invalid values
    are left for the schema to reject with its own message.
    """
    filled = dict(data)
    platform = filled.get("platform", "instagram")
    if isinstance(platform, str) and platform in PLATFORMS:
        for key, value in PLATFORMS[platform].defaults().items():
            filled.setdefault(key, value)
    for key, value in culture_defaults(filled).items():
        filled.setdefault(key, value)
    return filled


# Market presets: culture (Hofstede 2015 matrix, ../shared/kpi_targets.md section 12),
# platform and size. SNS dependency, relational motives and institutional weight follow
# from the culture (sim/schema/culture.py); organic reach, CPM and the engagement offset
# from the platform (sim/schema/platforms.py). Other magnitudes are assumptions.
PRESETS: dict[str, dict[str, Any]] = {
    "china": {
        "individualism": 20.0,  # Hofstede
        "power_distance": 80.0,  # Hofstede
        "platform": "weibo",
        # The category's buyers among Weibo's ~580 million monthly users (RECALL): an
        # assumption that sets the size of the money, not the shares.
        "population": 2.0e7,
        "brands_followed_mean": 15.0,  # QuestMobile 2019: 73% follow < 20 accounts
        "transactional_motive_mean": 0.6,  # matters in both markets (Zhang 2025)
        "shop_seamlessness": 0.9,  # social commerce fused with the platform (seed 2)
        "content_regulation": 0.15,  # state presence in media (seed 2); magnitude assumed
    },
    "western_europe": {
        # Hofstede, mean of Germany, France, Netherlands and UK: IDV 77, PDI 44
        "individualism": 77.0,
        "power_distance": 44.0,
        "platform": "instagram",
        "population": 1.0e7,  # the category's buyers among Instagram users: assumption
        "brands_followed_mean": 5.0,  # Fractl 2015: half follow only 1-4 brands
        "transactional_motive_mean": 0.6,
        "shop_seamlessness": 0.3,
        "content_regulation": 0.02,
    },
    "australia": {
        "individualism": 90.0,  # Hofstede
        "power_distance": 38.0,  # Hofstede
        "platform": "facebook",
        "population": 2.0e6,  # the category's buyers among Facebook users: assumption
        "brands_followed_mean": 5.0,
        "transactional_motive_mean": 0.6,
        "shop_seamlessness": 0.3,
        "content_regulation": 0.02,
    },
}
