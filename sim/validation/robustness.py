"""Robustness of the validation targets to the model's key parameters (+/-20%).

In each of K settings every key parameter is multiplied by an independent factor
drawn from U(0.8, 1.2) (seeded from the validation seed), every experiment gets new
seeds, and all targets are re-run; the result is, per target, the number of
settings in which it still passes. The key parameters are the assumption-based
magnitudes the targets rest on: market differences in dependency and relational
motives, the behavioural coefficients on dependency, motives and content, the CRM
learning and feedback rates, guanxi's effects on CRM, and the design of the
diffusion experiments (Bass p and q; the ranges of Goldenberg et al.).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

import numpy as np

from sim.validation import TARGETS, validate
from sim.validation.common import Settings, TargetResult, seeds_for

KEY_PARAMETERS = (
    "markets.china.dependency_mean",
    "markets.western_europe.dependency_mean",
    "markets.china.relational_motive_mean",
    "markets.western_europe.relational_motive_mean",
    "users.consume_per_dependency",
    "users.engage_per_dependency",
    "users.engage_per_relational_motive",
    "users.follow_per_transactional",
    "users.follow_per_relational",
    "users.follow_per_dependency",
    "crm.learning_rate",
    "crm.half_saturation",
    "crm.decay",
    "crm.targeting_effect",
    "crm.conversion_effect",
    "guanxi.crm_acceleration",
    "guanxi.knowledge_spillover",
    "guanxi.upkeep_cost",
    "bass.p",
    "bass.q",
    "goldenberg.a",
    "goldenberg.b_w",
    "goldenberg.b_s",
    "goldenberg.ties",
)
SPREAD = 0.2


def perturbations(k: int, seed: int, spread: float = SPREAD) -> list[dict[str, float]]:
    """K dicts of multipliers, one U(1 - spread, 1 + spread) factor per key parameter."""
    rng = np.random.default_rng(seeds_for(seed, "robustness", 1)[0])
    return [
        {key: float(rng.uniform(1.0 - spread, 1.0 + spread)) for key in KEY_PARAMETERS}
        for _ in range(k)
    ]


def run_robustness(
    settings: Settings,
    k: int,
    targets: Iterable[str] = TARGETS,
    on_setting: Callable[[int, list[TargetResult]], None] | None = None,
) -> dict[str, Any]:
    """Re-run ``targets`` in ``k`` perturbed settings; per target, how many pass."""
    targets = [t for t in TARGETS if t in set(targets)]
    seeds = seeds_for(settings.seed, "robustness-seeds", k)
    passed = {target: 0 for target in targets}
    rows = []
    for i, factors in enumerate(perturbations(k, settings.seed)):
        scale = {**settings.scale, **factors}
        perturbed = replace(settings, seed=seeds[i], scale=scale)
        results = validate(perturbed, targets)
        for result in results:
            passed[result.target] += int(result.passed)
        rows.append(
            {
                "seed": seeds[i],
                "scale": factors,
                "passed": {result.target: result.passed for result in results},
            }
        )
        if on_setting is not None:
            on_setting(i, results)
    return {"k": k, "passed": passed, "parameters": list(KEY_PARAMETERS), "settings": rows}
