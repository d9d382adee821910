"""``[[markets]]``: a market's culture, its users' traits and its platforms, with presets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import model_validator

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
