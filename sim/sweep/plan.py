"""A resolved sweep: :class:`SweepPlan`, its runs and their seeds.

:func:`sim.sweep.spec.load_sweep` builds a :class:`SweepPlan` from a sweep file; the
sweep loop (:mod:`sim.sweep.run`) and the results directory (:mod:`sim.sweep.store`)
read it. Every run's seed derives from the sweep seed, the design point and the
replication (:func:`run_seed`), and the samplers draw from :func:`design_rng`, both
on the one seed scheme of :mod:`sim.seeds`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.seeds import SWEEP_COMMON, SWEEP_DESIGN, SWEEP_RUNS, derive_rng, derive_seed

if TYPE_CHECKING:
    from sim.inference.posterior import Posterior
    from sim.scenario import Scenario
    from sim.sweep.factors import Factor
    from sim.sweep.spec import SweepFile


@dataclass(frozen=True)
class Run:
    """One run of a sweep: design point, replication and its seed."""

    run: int
    point: int
    replication: int
    seed: int


@dataclass(frozen=True)
class SweepPlan:
    """A resolved sweep: everything needed to run it and to recognise it on resume."""

    source: str  # the sweep file
    text: str  # its contents, kept in the manifest
    spec: SweepFile
    name: str
    base: Scenario  # base scenario after [sweep.fixed] and --set
    overrides: tuple[str, ...]  # --set given on the command line
    factors: tuple[Factor, ...]
    method: str
    points: tuple[tuple[Any, ...], ...]  # parameter values per point, in factor order
    sample: np.ndarray | None  # SALib's sample matrix (lhs, sobol, morris)
    problem: dict[str, Any] | None  # SALib problem definition
    second_order: bool
    morris_levels: int
    outcomes: tuple[str, ...]
    steps: int
    replications: int
    seed: int
    record: str
    common_random_numbers: bool
    posterior: Posterior | None = None  # replication r runs at the posterior's draw r
    posterior_option: str | None = None  # --posterior DIR as given (None: sweep.posterior)

    @property
    def n_runs(self) -> int:
        return len(self.points) * self.replications

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.factors)

    def point_parameters(self, point: int) -> dict[str, Any]:
        return dict(zip(self.parameters, self.points[point], strict=True))

    @cached_property
    def posterior_draws(self) -> tuple[dict[str, float], ...]:
        """Replication r's parameters from the posterior (none without one).

        Draw r of :meth:`Posterior.draw` under the sweep seed (key ``("posterior", r)``,
        as ``guanxi compare --posterior``): the same at every design point, whatever
        the engine or the number of workers.
        """
        if self.posterior is None:
            return ()
        return tuple(self.posterior.draws(self.seed, self.replications))

    def run_parameters(self, run: Run) -> dict[str, Any]:
        """What a run sets on the base scenario: its posterior draw, then its design point.

        The design point's own values win where both set a parameter.
        """
        drawn = self.posterior_draws[run.replication] if self.posterior is not None else {}
        return {**drawn, **self.point_parameters(run.point)}

    @cached_property
    def seeds(self) -> np.ndarray:
        """Every run's seed, by run number (computed once: a SeedSequence per run)."""
        seeds = np.empty(self.n_runs, np.int64)
        for point in range(len(self.points)):
            for replication in range(self.replications):
                seeds[point * self.replications + replication] = run_seed(
                    self.seed, point, replication, self.common_random_numbers
                )
        return seeds

    def runs(self) -> Iterator[Run]:
        """Every run, point-major: run = point * replications + replication."""
        seeds = self.seeds.tolist()
        for point in range(len(self.points)):
            for replication in range(self.replications):
                run = point * self.replications + replication
                yield Run(run, point, replication, seeds[run])

    def base_data(self) -> dict[str, Any]:
        return self.base.model_dump(mode="json")

    def base_hash(self) -> str:
        return sha256_json(self.base_data())


def run_seed(sweep_seed: int, point: int, replication: int, common: bool = False) -> int:
    """A run's model seed, 0..2^63-1, from the sweep seed, design point and replication.

    The one seed scheme (:mod:`sim.seeds`) on the sweep's stream, indexed by point
    and replication: independent streams that do not depend on how many runs there
    are or where they run. With common random numbers the point is left out, so
    replication r starts alike at every point.
    """
    if common:
        return derive_seed(sweep_seed, SWEEP_COMMON, replication)
    return derive_seed(sweep_seed, SWEEP_RUNS, point, replication)


def design_rng(sweep_seed: int) -> np.random.Generator:
    """The random source of the samplers (LHS, scrambled Sobol, Morris)."""
    return derive_rng(sweep_seed, SWEEP_DESIGN)


def sha256_json(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(text.encode()).hexdigest()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
