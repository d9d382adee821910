"""Robustness of the validation targets to the model's key parameters (+/-20%).

In each of K settings every key parameter is multiplied by an independent factor
drawn from U(0.8, 1.2) (seeded from the validation seed), every experiment gets new
seeds, and all targets are re-run at two user counts (each experiment's own
``n_users`` times each of :data:`USER_FACTORS`, through the ``model.n_users``
multiplier); the result is, per target and user count, the number of settings in
which it still passes. A target holds if it passes in at least
:func:`threshold` (0.9 K, rounded up: 18 of 20) settings at every user count. The key parameters are the assumption-based
magnitudes the targets rest on: market differences in dependency and relational
motives, the behavioural coefficients on dependency, motives and content, the CRM
learning and feedback rates, guanxi's effects on CRM, and the design of the
diffusion experiments (Bass p and q; the ranges of Goldenberg et al.).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
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
#: The two user counts, as multiples of each experiment's own ``n_users``.
USER_FACTORS = (1.0, 2.0)
#: Share of the K settings in which a target must pass, at every user count.
REQUIRED_SHARE = 0.9


def threshold(k: int, share: float = REQUIRED_SHARE) -> int:
    """Settings (of ``k``) in which a target must pass: ``ceil(share x k)``, 18 of 20."""
    return math.ceil(share * k - 1e-9)


def size_label(factor: float) -> str:
    """``"n_users x2"``."""
    return f"n_users x{factor:g}"


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
    user_factors: Sequence[float] = USER_FACTORS,
) -> dict[str, Any]:
    """Re-run ``targets`` in ``k`` perturbed settings, each at every user count.

    Returns ``k``, ``threshold``, ``user_factors``, ``passed`` (target -> size label
    -> settings passing), ``verdict`` (target -> holds at every size),
    ``all_passed``, the perturbed ``parameters`` and one row per setting and size.
    ``on_setting`` is called after each setting with the results at every size.
    """
    targets = [t for t in TARGETS if t in set(targets)]
    seeds = seeds_for(settings.seed, "robustness-seeds", k)
    sizes = [size_label(factor) for factor in user_factors]
    passed = {target: dict.fromkeys(sizes, 0) for target in targets}
    base_users = settings.factor("model.n_users")
    rows = []
    for i, factors in enumerate(perturbations(k, settings.seed)):
        done: list[TargetResult] = []
        for factor, size in zip(user_factors, sizes, strict=True):
            scale = {**settings.scale, **factors}
            if factor != 1.0 or "model.n_users" in scale:
                scale["model.n_users"] = base_users * factor
            perturbed = replace(settings, seed=seeds[i], scale=scale)
            results = validate(perturbed, targets)
            for result in results:
                passed[result.target][size] += int(result.passed)
            rows.append(
                {
                    "seed": seeds[i],
                    "size": size,
                    "n_users_factor": base_users * factor,
                    "scale": factors,
                    "passed": {result.target: result.passed for result in results},
                }
            )
            done.extend(results)
        if on_setting is not None:
            on_setting(i, done)
    needed = threshold(k)
    verdict = {
        target: all(count >= needed for count in by_size.values())
        for target, by_size in passed.items()
    }
    return {
        "k": k,
        "threshold": needed,
        "user_factors": [float(f) for f in user_factors],
        "passed": passed,
        "verdict": verdict,
        "all_passed": all(verdict.values()),
        "parameters": list(KEY_PARAMETERS),
        "settings": rows,
    }
