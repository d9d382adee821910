"""Helpers for the optimisation tests: a synthetic model with a known optimum, an in-process engine.

:func:`synthetic_run` stands in for :func:`sim.sweep.run.execute_run` (same arguments,
same :class:`~sim.sweep.store.RunResult`): its outcomes are smooth functions of two
levers with one best point, a market parameter's effect and seeded noise, so that
the optimiser's answer can be checked against the truth in well under a second.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from sim.sweep.store import RunResult

#: Where both synthetic outcomes are best.
BEST_POSTS, BEST_RESPONSIVENESS = 3.0, 0.7
POSTS = "firms.ours.strategies.china.posts_per_day"
RESPONSIVENESS = "firms.ours.strategies.china.responsiveness"
REACH = "markets.china.organic_reach"

SYNTHETIC = """
[optimisation]
scenario = "china_entry"
seed = {seed}
steps = 30
population = {population}
generations = {generations}
scenarios = 3
replications = 2
final_scenarios = 4
final_replications = 2
final_candidates = 4

[optimisation.fixed]
"model.n_users" = 300

[[decisions]]
path = "firms.ours.strategies.china.posts_per_day"
low = 0.0
high = 8.0
step = 0.25

[[decisions]]
path = "firms.ours.strategies.china.responsiveness"
low = 0.0
high = 1.0
step = 0.05

[[objectives]]
outcome = "attitude"
robustness = "mean"

[[objectives]]
outcome = "profit"
robustness = "percentile"
percentile = 10

[[uncertainties]]
path = "markets.china.organic_reach"
low = 0.05
high = 0.2
"""


def synthetic_run(settings, run, parameters) -> RunResult:
    """Outcomes with one best point (BEST_POSTS, BEST_RESPONSIVENESS) and seeded noise."""
    x, y = float(parameters[POSTS]), float(parameters[RESPONSIVENESS])
    reach = float(parameters.get(REACH, 0.1))
    noise = np.random.default_rng(run.seed).normal(size=2)
    gap = (x - BEST_POSTS) ** 2 / 16 + (y - BEST_RESPONSIVENESS) ** 2
    attitude = 0.5 - gap + 0.5 * reach + 0.02 * noise[0]
    profit = 1000.0 * (1.0 - gap) * (0.5 + 5 * reach) + 20.0 * noise[1]
    # Every outcome asked for: attitude-like or money-like.
    values = {
        name: np.array([attitude if "attitude" in name else profit]) for name in settings.outcomes
    }
    return RunResult(run.run, "ok", None, 0.0, np.array([settings.steps]), values)


class InlineEngine:
    """The engine interface of :mod:`sim.sweep.engines`, running tasks in a thread."""

    description = "in-process"

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(1)

    def slots(self) -> int:
        return 1

    def is_worker_death(self, error: BaseException) -> bool:
        return False

    def problem(self) -> None:
        return None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.executor.shutdown(wait=True)
