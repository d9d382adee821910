"""Robustness measures over market states, their confidence intervals and Pareto checks.

A candidate's runs form an array ``(market states, replications)`` per objective.
Replications are averaged within a market state (with common random numbers every
candidate shares the same seeds there); the robustness measure is then taken over
market states:

* ``mean``: the mean over market states;
* ``percentile``: a low percentile of the outcome over market states (for an outcome
  to minimise, the matching high one: the bad tail either way);
* ``regret``: the largest shortfall, over market states, from the best candidate of
  the reference set in that state (Savage's minimax regret), always minimised.

Confidence intervals come from a bootstrap over market states (over replications when
there is one state), drawn alike for every candidate, so differences are paired.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.optimise.spec import Objective

BOOTSTRAP = 1000


def state_means(runs: np.ndarray) -> np.ndarray:
    """``(candidates, states, replications)`` -> ``(candidates, units)``: the resampled units.

    With one market state the replications are the units; otherwise the state means.
    """
    runs = np.asarray(runs, dtype=float)
    if runs.shape[1] == 1:
        return runs[:, 0, :]
    return np.nanmean(runs, axis=2)


def measure(
    objective: Objective, units: np.ndarray, reference: np.ndarray | None = None
) -> np.ndarray:
    """The robustness measure of each candidate (rows of ``units``, candidates x units).

    ``reference``: the best value per unit among the reference candidates (regret);
    default: the best among ``units`` itself. Returned in the search's direction
    (:attr:`Objective.minimise`): the outcome itself, or the regret.
    """
    units = np.asarray(units, dtype=float)
    match objective.robustness:
        case "mean":
            return units.mean(axis=1)
        case "percentile":
            q = (
                objective.percentile
                if objective.direction == "maximise"
                else 100 - objective.percentile
            )
            return np.percentile(units, q, axis=1)
        case _:  # regret
            if reference is None:
                reference = best_per_unit(objective, units)
            if objective.direction == "maximise":
                return (reference[None, :] - units).max(axis=1)
            return (units - reference[None, :]).max(axis=1)


def best_per_unit(objective: Objective, units: np.ndarray) -> np.ndarray:
    """The best value in each unit (market state) over candidates."""
    return units.max(axis=0) if objective.direction == "maximise" else units.min(axis=0)


def bootstrap(
    objectives: Sequence[Objective], units: Sequence[np.ndarray], rng: np.random.Generator
) -> np.ndarray:
    """Resampled measures: ``(BOOTSTRAP, candidates, objectives)``, units drawn alike for all."""
    n_units = units[0].shape[1]
    draws = rng.integers(0, n_units, size=(BOOTSTRAP, n_units))
    out = np.empty((BOOTSTRAP, units[0].shape[0], len(objectives)))
    for b, pick in enumerate(draws):
        for k, (objective, u) in enumerate(zip(objectives, units, strict=True)):
            out[b, :, k] = measure(objective, u[:, pick])
    return out


def oriented(objectives: Sequence[Objective], values: np.ndarray) -> np.ndarray:
    """Values with every objective turned into "higher is better"."""
    sign = np.array([-1.0 if o.minimise else 1.0 for o in objectives])
    return np.asarray(values, dtype=float) * sign


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """``a`` dominates ``b`` (both "higher is better")."""
    return bool(np.all(a >= b) and np.any(a > b))


def pareto_mask(better: np.ndarray) -> np.ndarray:
    """Rows of ``better`` (higher is better) that no other row dominates."""
    n = len(better)
    keep = np.ones(n, bool)
    for i in range(n):
        for j in range(n):
            if i != j and dominates(better[j], better[i]):
                keep[i] = False
                break
    return keep


def noise_status(
    objectives: Sequence[Objective], estimates: np.ndarray, resampled: np.ndarray
) -> list[tuple[str, int | None]]:
    """Each candidate's standing after re-evaluation, and who dominates it.

    * ``"pareto"``: no other candidate dominates its estimates;
    * ``"dominated"``: another does, and is better with 95% confidence (bootstrap of
      the paired difference above zero) in at least one objective;
    * ``"dominated within noise"``: another does, but by no difference that the runs
      can tell from chance: the two are indistinguishable and it stays a contender.
    """
    better = oriented(objectives, estimates)
    diffs = oriented(objectives, resampled)  # (B, candidates, objectives)
    out: list[tuple[str, int | None]] = []
    for i in range(len(better)):
        status: tuple[str, int | None] = ("pareto", None)
        for j in range(len(better)):
            if i == j or not dominates(better[j], better[i]):
                continue
            low = np.percentile(diffs[:, j, :] - diffs[:, i, :], 2.5, axis=0)
            if np.any(low > 0):
                status = ("dominated", j)
                break
            status = ("dominated within noise", j)
        out.append(status)
    return out


def hypervolume(points: np.ndarray, reference: np.ndarray) -> float:
    """Hypervolume dominated by ``points`` (minimisation) up to ``reference``.

    Exact, by slicing along the first objective (fine for the few dozen points and
    few objectives of a Pareto front).
    """
    pts = np.asarray(points, dtype=float)
    pts = pts[np.all(pts < reference, axis=1)]
    if len(pts) == 0:
        return 0.0
    if pts.shape[1] == 1:
        return float(reference[0] - pts[:, 0].min())
    pts = pts[np.argsort(pts[:, 0])]
    volume = 0.0
    for i, p in enumerate(pts):
        upper = pts[i + 1, 0] if i + 1 < len(pts) else reference[0]
        width = upper - p[0]
        if width > 0:
            volume += width * hypervolume(pts[: i + 1, 1:], reference[1:])
    return float(volume)
