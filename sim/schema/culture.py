"""Culture of a market, from Hofstede's indices (0-100): culture as the cause.

The equations (pure, light: the schema fills a market's defaults with them, and
:mod:`sim.model.culture` uses them in the model).

Collectivism (1 - individualism / 100) weighs engagement and others' opinions
(Zhang 2025: relational motives are stronger where collectivism is); the cultural
distance between a firm's home and a market costs unlocalised content its fit.

A market is described by its culture; the users' traits follow from it through the
linear equations of :func:`culture_defaults` (unless a scenario sets them):

* mean SNS dependency = 0.37 + 0.35 x collectivism;
* mean relational motive = 0.25 + 0.44 x collectivism;
* institutional weight = (power distance - 35) / 55, clipped to 0-1.

Directions are Zhang (2025)'s (dependency and relational motives higher in
collectivist China) and Luo (2024)'s (policy support through ties matters where
institutions are personal, i.e. at high power distance). The slopes and intercepts
are assumptions chosen so that Western Europe (individualism 77) has dependency 0.45
and relational motive 0.35, and China (20) 0.65 and 0.60: validation target V1 is
therefore an input check of these equations, not a finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEPENDENCY_BASE, DEPENDENCY_PER_COLLECTIVISM = 0.37, 0.35
RELATIONAL_BASE, RELATIONAL_PER_COLLECTIVISM = 0.25, 0.44
POWER_DISTANCE_FLOOR, POWER_DISTANCE_SPAN = 35.0, 55.0


def dependency_mean[T](collectivism: T) -> T:
    """Mean SNS dependency of a market's users from its collectivism."""
    return DEPENDENCY_BASE + DEPENDENCY_PER_COLLECTIVISM * collectivism


def relational_motive_mean[T](collectivism: T) -> T:
    """Mean relational motive of a market's users from its collectivism."""
    return RELATIONAL_BASE + RELATIONAL_PER_COLLECTIVISM * collectivism


def institutional_weight(power_distance: float) -> float:
    """How much policy support through local ties matters, from power distance."""
    return min(1.0, max(0.0, (power_distance - POWER_DISTANCE_FLOOR) / POWER_DISTANCE_SPAN))


def culture_defaults(market: Mapping[str, Any]) -> dict[str, float]:
    """The traits a market's culture implies (for the keys its table leaves out).

    Reads ``individualism`` and ``power_distance`` (50 when absent); a value that is
    not a number is left for the schema to reject.
    """
    idv, pdi = market.get("individualism", 50.0), market.get("power_distance", 50.0)
    out: dict[str, float] = {}
    if isinstance(idv, int | float) and not isinstance(idv, bool) and 0 <= idv <= 100:
        c = collectivism(float(idv))
        out["dependency_mean"] = round(dependency_mean(c), 6)
        out["relational_motive_mean"] = round(relational_motive_mean(c), 6)
    if isinstance(pdi, int | float) and not isinstance(pdi, bool) and 0 <= pdi <= 100:
        out["institutional_weight"] = round(institutional_weight(float(pdi)), 6)
    return out


def collectivism[T](individualism: T) -> T:
    """1 - individualism / 100, 0-1."""
    return 1.0 - individualism / 100.0


def cultural_distance[T](home_individualism: T, market_individualism: T) -> T:
    """|individualism at home - in the market| / 100, 0-1."""
    return abs(home_individualism - market_individualism) / 100
