"""ABC-SMC with pyabc on the engines of sweeps, reproducible by seed: the heart of `guanxi calibrate`.

pyabc runs the sequential Monte Carlo (Beaumont et al. 2009; Toni et al. 2009):
generation 0 samples the priors, each later one perturbs the previous population
(a multivariate normal kernel) and keeps a particle when its simulation is within
epsilon (the median of the previous distances) of the data; an adaptive p-norm
distance reweights the summary statistics each generation (Prangle 2017). Its
history is a SQLite database (``DIR/history.db``), written whole after each
generation: a kill loses at most the generation in progress, and ``--resume``
continues from the last one stored.

What this module adds is the sampler (:class:`SeededSampler`). Proposal ``i`` of
generation ``t`` draws its parameters from numpy's global generator seeded from
``(seed, "calibrate-proposal", t + 1, i)`` and runs the model with the seed
``derive_seed(seed, "calibrate", t + 1, i)`` (:mod:`sim.seeds`; the prior sample
that calibrates the distance is ``t = -1``). Proposals run on the engines of sweeps
(local processes or Dask, :func:`sim.sweep.engines.make_engine`) and are taken in
index order: a generation keeps the first ``n`` accepted proposals and records the
proposals before the ``n``-th. So a calibration gives the same particles for a
given seed on any number of workers, as long as each generation starts from the
same state; a resumed run restarts the adaptive distance from the stored
population (pyabc keeps no rejected particles), so its later generations may
differ from an uninterrupted run's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from sim.inference.spec import CalibrationError, CalibrationPlan
from sim.seeds import derive_seed, seed_sequence

DATABASE = "history.db"
FILE_COPY = "calibration.toml"
RUN_FILE = "run.json"
#: pyabc's run id in the database (one calibration per directory).
ABC_ID = 1

# The proposal being evaluated in this process: (seed, generation key, index).
_PARTICLE: tuple[int, int, int] | None = None
# simulate_one closures unpickled in this worker, by digest (the latest only).
_LOADED: dict[str, Callable] = {}


# --------------------------------------------------------------------------- the model
class SimulationModel:
    """What pyabc calls: parameters -> the summary statistics of one seeded run."""

    def __init__(self, plan: CalibrationPlan) -> None:
        self.base_data = plan.base.model_dump(mode="json")
        self.source = plan.source
        self.days = plan.days
        self.firm = plan.firm
        self.observed = plan.observed
        self.transform = plan.distance.transform

    def __call__(self, parameters: dict[str, float]) -> dict[str, float]:
        from sim.inference.observed import simulated_statistics
        from sim.runner import firm_market_frame, run_model
        from sim.scenario import scenario_from_data

        if _PARTICLE is None:
            raise RuntimeError("SimulationModel runs only inside SeededSampler (no particle key)")
        seed, generation, index = _PARTICLE
        spec = scenario_from_data(
            self.base_data,
            f"{self.source}: particle {index} of generation {generation - 1}",
            {path: float(value) for path, value in parameters.items()},
        )
        model = run_model(spec, self.days, particle_seed(seed, generation, index))
        return simulated_statistics(
            firm_market_frame(model), self.observed, self.firm, self.transform
        )


def particle_seed(seed: int, generation: int, index: int) -> int:
    """The model seed of proposal ``index`` of generation key ``generation`` (t + 1)."""
    return derive_seed(seed, "calibrate", generation, index)


def evaluate_proposal(
    payload: bytes | Callable, digest: str, seed: int, generation: int, index: int
):
    """Run one proposal: seed the proposal draw and the model from its key, then simulate.

    ``payload`` is pyabc's ``simulate_one`` (cloudpickled for a worker process).
    """
    global _PARTICLE
    if callable(payload):
        simulate_one = payload
    else:
        simulate_one = _LOADED.get(digest)
        if simulate_one is None:
            import cloudpickle

            _LOADED.clear()
            simulate_one = _LOADED[digest] = cloudpickle.loads(payload)
    state = seed_sequence(seed, "calibrate-proposal", generation, index).generate_state(8)
    # pyabc's priors and kernels draw from numpy's legacy global generator: seed it per proposal.
    np.random.seed(state)  # noqa: NPY002
    _PARTICLE = (seed, generation, index)
    try:
        return simulate_one()
    finally:
        _PARTICLE = None


# --------------------------------------------------------------------------- the sampler
def _sampler_class():
    from pyabc.sampler import Sampler

    class SeededSampler(Sampler):
        """Proposals by index, seeded from (seed, generation, index); first ``n`` accepted kept."""

        def __init__(
            self,
            seed: int,
            executor: Executor | None,
            slots: int,
            deadline: float | None,
            max_simulations: int | None,
            report: Callable[[str], None],
        ) -> None:
            super().__init__()
            self.seed = seed
            self.executor = executor
            self.window = max(1, 2 * slots)
            self.deadline = deadline
            self.max_simulations = max_simulations
            self.report = report
            self.stopped_by: str | None = None
            self.simulations = 0  # every proposal run, the calibration sample included
            self.generation_simulations = 0  # those of generations 0, 1, ...

        def sample_until_n_accepted(
            self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None
        ):
            generation = t + 1
            limit = max_eval
            if self.max_simulations is not None and t >= 0:
                limit = min(limit, max(0, self.max_simulations - self.generation_simulations))
            started = time.monotonic()
            results = self._run(n, simulate_one, generation, limit)
            sample = self._create_empty_sample()
            accepted = 0
            for particle in results:
                sample.append(particle)
                accepted += bool(particle.accepted)
            self.nr_evaluations_ = len(results)
            self.simulations += len(results)
            if t >= 0:
                self.generation_simulations += len(results)
            if accepted < n:
                sample.ok = False
            what = "prior sample for the distance" if t < 0 else f"generation {t}"
            self.report(
                f"{what}: {accepted} accepted of {len(results)} simulations "
                f"({time.monotonic() - started:.0f} s)"
                + (f"; stopped: {self.stopped_by}" if accepted < n else "")
            )
            return sample

        def _stop_reason(self, evaluated: int, limit: float) -> str | None:
            if self.deadline is not None and time.monotonic() > self.deadline:
                return "budget.max_walltime_minutes reached"
            if evaluated >= limit:
                return "simulation limit of the budget reached"
            return None

        def _run(self, n: int, simulate_one, generation: int, limit: float) -> list:
            """Proposals 0, 1, ... in index order until the n-th acceptance."""
            results: list = []
            accepted = 0
            if self.executor is None:
                index = 0
                while accepted < n:
                    self.stopped_by = self._stop_reason(index, limit)
                    if self.stopped_by:
                        break
                    particle = evaluate_proposal(simulate_one, "", self.seed, generation, index)
                    results.append(particle)
                    accepted += bool(particle.accepted)
                    index += 1
                return results
            import cloudpickle

            payload = cloudpickle.dumps(simulate_one)
            digest = hashlib.sha256(payload).hexdigest()
            pending: dict[int, Future] = {}
            submitted = 0
            try:
                while accepted < n:
                    while len(pending) < self.window and submitted < limit:
                        if self.deadline is not None and time.monotonic() > self.deadline:
                            break
                        pending[submitted] = self.executor.submit(
                            evaluate_proposal, payload, digest, self.seed, generation, submitted
                        )
                        submitted += 1
                    index = len(results)
                    if index not in pending:
                        self.stopped_by = self._stop_reason(index, limit) or "no proposal left"
                        break
                    particle = pending.pop(index).result()
                    results.append(particle)
                    accepted += bool(particle.accepted)
            finally:
                for future in pending.values():
                    future.cancel()
            return results

    return SeededSampler


# --------------------------------------------------------------------------- the run
@dataclass(frozen=True)
class CalibrationRun:
    out: Path
    generations: int  # stored in the database
    new_generations: int  # added by this invocation
    simulations: int  # run by this invocation
    seconds: float
    stopped_by: str | None


def prepare_directory(plan: CalibrationPlan, out: Path, resume: bool) -> None:
    """Check ``out`` for a new calibration (new or empty) or a resumed one (same file, seed)."""
    from sim.errors import ensure_writable_dir

    database = out / DATABASE
    if resume:
        if not database.is_file():
            raise CalibrationError(f"--resume: {out} holds no calibration ({DATABASE} missing)")
        saved = _read_run_file(out)
        if saved.get("digest") != plan.digest():
            raise CalibrationError(
                f"--resume: {out} was started from a different calibration (only [budget] may "
                f"change); resume with the same file (a copy is in {out / FILE_COPY}) or use "
                "a new --out"
            )
        if saved.get("seed") != plan.seed:
            raise CalibrationError(
                f"--resume: {out} was started with seed {saved.get('seed')}, not {plan.seed}; "
                "use the same --seed"
            )
        return
    # A directory holding only what a start writes before its database (killed at
    # once) starts again.
    started_only = {FILE_COPY, RUN_FILE}
    if out.is_dir() and not {p.name for p in out.iterdir()} <= started_only:
        hint = "; continue it with --resume" if database.is_file() else ""
        raise CalibrationError(f"--out {out}: not empty{hint} (or choose a new directory)")
    ensure_writable_dir(out, f"--out {out}", CalibrationError)


def _read_run_file(out: Path) -> dict[str, Any]:
    try:
        return json.loads((out / RUN_FILE).read_text())
    except (OSError, ValueError):
        raise CalibrationError(f"--resume: {out / RUN_FILE} is missing or unreadable") from None


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all (a temporary file renamed over it, fsync'd)."""
    import os

    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def run_calibration(
    plan: CalibrationPlan,
    out: Path,
    executor: Executor | None = None,
    slots: int = 1,
    workers_text: str = "1 (in this process)",
    resume: bool = False,
    report: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> CalibrationRun:
    """Run (or continue) the ABC-SMC of ``plan`` with its history in ``out/history.db``."""
    import pyabc
    from pyabc.distance import AdaptivePNormDistance, PNormDistance

    prepare_directory(plan, out, resume)
    if not resume:
        write_atomic(out / FILE_COPY, plan.text.encode())
        run_info = {
            "name": plan.name,
            "source": plan.source,
            "digest": plan.digest(),
            "seed": plan.seed,
            "scenario": plan.base.model.name,
            "firm": plan.firm,
            "parameters": [p.path for p in plan.priors],
            "days": plan.days,
            "workers": workers_text,
        }
        write_atomic(out / RUN_FILE, json.dumps(run_info, indent=2).encode())
    for name in ("ABC", "Sampler", "History", "Epsilon", "Distance", "Acceptor", "Adaptation"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("ABC.Distance").setLevel(logging.ERROR)

    budget = plan.budget
    started = time.monotonic()
    deadline = started + budget.max_walltime_minutes * 60
    sampler = _sampler_class()(plan.seed, executor, slots, deadline, budget.max_simulations, report)
    prior = pyabc.Distribution(**{p.path: p.rv() for p in plan.priors})
    p = plan.distance.p
    distance = (
        AdaptivePNormDistance(p=p, scale_function=pyabc.distance.mad)
        if plan.distance.kind == "adaptive"
        else PNormDistance(p=p, fixed_weights=_fixed_weights(plan))
    )
    abc = pyabc.ABCSMC(
        SimulationModel(plan),
        prior,
        distance,
        population_size=budget.population_size,
        sampler=sampler,
    )
    database = f"sqlite:///{(out / DATABASE).resolve()}"
    observed = plan.observed.summary_statistics(plan.distance.transform)
    if resume:
        history = abc.load(database, ABC_ID)
        done_before = history.n_populations
    else:
        history = abc.new(database, observed)
        done_before = 0
    remaining = budget.generations - done_before
    if remaining > 0 and not _converged(history, budget.min_epsilon):
        report(
            f"{plan.name}: {len(plan.priors)} parameters, {len(observed)} observed values, "
            f"population {budget.population_size}, generations {done_before + 1}.."
            f"{budget.generations}, seed {plan.seed}, workers: {workers_text}"
        )
        run_kwargs: dict[str, Any] = {
            "minimum_epsilon": budget.min_epsilon,
            "max_nr_populations": remaining,
            "min_acceptance_rate": budget.min_acceptance_rate,
            "max_walltime": timedelta(minutes=budget.max_walltime_minutes),
        }
        if budget.max_simulations is not None:
            run_kwargs["max_total_nr_simulations"] = budget.max_simulations
        abc.run(**run_kwargs)
    else:
        report(f"{plan.name}: nothing left to run ({done_before} generations stored)")
    generations = history.n_populations
    if generations == 0:
        raise CalibrationError(
            f"empty posterior: no generation was accepted within the budget "
            f"({sampler.stopped_by or 'budget'}, {sampler.simulations} simulations); the "
            f"database is kept in {out / DATABASE}: raise budget.max_walltime_minutes or "
            "budget.max_simulations and run again with --resume"
        )
    return CalibrationRun(
        out=out,
        generations=generations,
        new_generations=generations - done_before,
        simulations=sampler.simulations,
        seconds=time.monotonic() - started,
        stopped_by=sampler.stopped_by,
    )


def _converged(history, min_epsilon: float) -> bool:
    if history.n_populations == 0 or min_epsilon <= 0:
        return False
    populations = history.get_all_populations()
    return float(populations.epsilon.iloc[-1]) <= min_epsilon


def _fixed_weights(plan: CalibrationPlan) -> dict[str, float]:
    """Weights of the fixed distance: each statistic over the spread of its metric's data."""
    observed = plan.observed
    stats = observed.summary_statistics(plan.distance.transform)
    table = observed.table.assign(stat=list(stats.values()))
    spread = table.groupby(["market", "metric"]).stat.transform(
        lambda s: max(float(np.std(s)), 1e-3 * max(float(np.mean(np.abs(s))), 1.0))
    )
    return {key: 1.0 / float(v) for key, v in zip(stats, spread, strict=True)}


def remove_directory(out: Path) -> None:  # used by tests and the benchmark
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(out)
