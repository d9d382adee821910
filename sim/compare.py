"""Two variants of one scenario compared with common random numbers.

Replication r of variant A and replication r of variant B use the same seed, so
that the user population, network and every other draw start alike and the
difference B - A reflects the variants rather than chance (Law, Simulation
Modeling and Analysis: common random numbers). The paired differences give the
confidence interval.

A comparison is a two-point design (A, B) x replications: ``guanxi compare`` runs it
on the engines of sweeps (local worker processes or a Dask cluster,
:func:`sim.sweep.engines.make_engine`), with seeds from the one seed scheme
(:mod:`sim.seeds`), so results are the same on any number of workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.runner import focal_outcomes, run_model
from sim.scenario import Scenario, scenario_from_data
from sim.seeds import derive_seeds
from sim.stats import Estimate, mean_ci

#: The focal firm's end-of-run outcomes compared (keys of
#: :func:`sim.runner.focal_outcomes`): people are real people, money is in the
#: scenario's currency (:func:`outcome_labels` names it), so that the answers do not
#: depend on how many users are simulated.
OUTCOMES = {
    "attitude": "Mean attitude toward us (aware users, -1..1)",
    "followers_people": "Followers (people)",
    "customers_people": "Customers (people)",
    "conversions_people": "Conversions (purchases by people, cumulative)",
    "revenue": "Revenue (currency, cumulative)",
    "profit": "Profit (currency, cumulative)",
    "crm_capability": "Social CRM capability (0..1)",
    "performance": "Marketing performance index (0..1)",
    "ties": "Guanxi ties",
}


def outcome_labels(currency: str) -> dict[str, str]:
    """:data:`OUTCOMES` with the currency named, e.g. "Revenue (EUR, cumulative)"."""
    return {key: label.replace("(currency", f"({currency}") for key, label in OUTCOMES.items()}


@dataclass(frozen=True)
class Comparison:
    outcomes: dict[str, dict[str, Estimate]]  # outcome -> {"A", "B", "B - A"}
    seeds: list[int]
    a: Scenario
    b: Scenario


def replication_seeds(base_seed: int, reps: int) -> list[int]:
    """The seeds of replications 0..reps-1, for A and B alike (:mod:`sim.seeds`)."""
    return derive_seeds(base_seed, reps)


def variant(base: Scenario, overrides: Mapping[str, Any] | Iterable[str], name: str) -> Scenario:
    return scenario_from_data(base.model_dump(mode="json"), f"variant {name}", overrides)


def _focal(spec: Scenario, steps: int, seed: int) -> dict[str, float]:
    outcome = focal_outcomes(run_model(spec, steps, seed))
    return {key: float(outcome[key]) for key in OUTCOMES}


def compare(
    a: Scenario,
    b: Scenario,
    reps: int,
    steps: int,
    seed: int,
    executor: Executor | None = None,
    on_done: Callable[[], None] | None = None,
    pairs: Sequence[tuple[Scenario, Scenario]] | None = None,
) -> Comparison:
    """Run both variants ``reps`` times with common random numbers.

    ``pairs``: the (A, B) scenarios of each replication, when they differ by
    replication (parameters drawn from a posterior, :mod:`sim.inference.posterior`);
    replication r of A and of B still share its seed.
    """
    seeds = replication_seeds(seed, reps)
    if pairs is None:
        pairs = [(a, b)] * reps
    jobs = [(spec, steps, s) for s, pair in zip(seeds, pairs, strict=True) for spec in pair]
    if executor is None:
        results = []
        for job in jobs:
            results.append(_focal(*job))
            if on_done:
                on_done()
    else:
        futures = [executor.submit(_focal, *job) for job in jobs]
        results = []
        for future in futures:
            results.append(future.result())
            if on_done:
                on_done()
    runs_a, runs_b = results[0::2], results[1::2]
    table = {}
    for key in OUTCOMES:
        va = np.array([r[key] for r in runs_a])
        vb = np.array([r[key] for r in runs_b])
        table[key] = {"A": mean_ci(va), "B": mean_ci(vb), "B - A": mean_ci(vb - va)}
    return Comparison(table, seeds, a, b)
