"""Executing a sweep: one task per run, results streamed to disk as runs complete.

:func:`execute_run` is what a worker runs (in a local process or on a Dask worker):
build the run's scenario from the base and the design point, run the model with the
run's seed, return its outcomes, or the error it raised. :func:`run_sweep` is the
loop in the sweep process: it keeps a bounded number of runs in flight (about two
per worker, so memory does not grow with the sweep), writes each result as soon as
it arrives and skips the runs already recorded (``--resume``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.runner import run_model
from sim.scenario import scenario_from_data
from sim.sweep.durable import StoreWriteError
from sim.sweep.engines import Engine
from sim.sweep.outcomes import daily_outcomes, final_outcomes
from sim.sweep.plan import Run, SweepPlan
from sim.sweep.spec import SweepError
from sim.sweep.store import RunResult, SweepStore

MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class RunSettings:
    """What every run of a sweep shares; sent with each task."""

    base: dict[str, Any]  # the resolved base scenario (JSON data)
    steps: int  # days per run
    record: str  # "final" or "daily"
    outcomes: tuple[str, ...]


def execute_run(
    settings: RunSettings,
    run: Run,
    parameters: Mapping[str, Any],
    on_step: Callable[[int], None] | None = None,
) -> RunResult:
    """Run one design point with the run's seed; errors are returned, not raised.

    ``on_step`` is called after each simulated day (the UI stops a cancelled
    optimisation from it by raising a BaseException, which is not caught here).
    """
    start = time.perf_counter()
    try:
        spec = scenario_from_data(settings.base, f"run {run.run}", dict(parameters))
        model = run_model(spec, settings.steps, run.seed, on_step)
        if settings.record == "daily":
            steps, values = daily_outcomes(model, settings.outcomes)
        else:
            final = final_outcomes(model, settings.outcomes)
            steps = np.array([settings.steps], np.int64)
            values = {name: np.array([value]) for name, value in final.items()}
        return RunResult(run.run, "ok", None, time.perf_counter() - start, steps, values)
    except Exception as exc:
        message = " ".join(f"{type(exc).__name__}: {exc}".split())[:MAX_ERROR_CHARS]
        return RunResult(
            run.run, "error", message, time.perf_counter() - start, np.empty(0, np.int64), {}
        )


@dataclass
class SweepStatus:
    """Counts of a sweep session (this invocation) and of the whole sweep."""

    total: int  # runs in the design
    already_done: int  # recorded before this session (resume)
    ran: int = 0  # finished in this session
    failed: int = 0  # of which failed (error or dead worker)
    elapsed_s: float = 0.0
    already_ok: int = 0  # of already_done, those that succeeded
    set_aside: list[Path] = field(default_factory=list)  # unreadable files moved away
    first_error: str | None = None  # the first error of this session: "run N: message"

    @property
    def done(self) -> int:
        return self.already_done + self.ran


ProgressCallback = Callable[[SweepStatus], None]


def run_sweep(
    plan: SweepPlan,
    out_dir: Path,
    engine: Engine,
    *,
    resume: bool = False,
    retry_failed: bool = False,
    on_progress: ProgressCallback | None = None,
    run_function: Callable[..., RunResult] = execute_run,
) -> SweepStatus:
    """Run every run of ``plan`` not yet recorded in ``out_dir`` on ``engine``.

    With ``retry_failed`` (and ``resume``), the runs recorded as failed run again
    too, and their new result replaces the old one: worth it when a worker or the
    cluster failed, not when the scenario itself is invalid (that fails again).

    Results are identical whatever the engine, the number of workers or the order in
    which runs finish: each run's seed is fixed by the plan. Raises
    :class:`SweepError` if the engine itself fails (e.g. the scheduler is lost); what
    was recorded stays and ``resume=True`` continues.
    """
    store = SweepStore.create(out_dir, plan, resume=resume)
    # What is on disk is read, not assumed: a damaged file is set aside and runs again.
    files = store.scan()
    moved = store.set_aside(files.unreadable)
    done = files.ok | files.failed
    if retry_failed:
        done -= files.failed
    status = SweepStatus(
        total=plan.n_runs, already_done=len(done), already_ok=len(files.ok), set_aside=moved
    )
    settings = RunSettings(plan.base_data(), plan.steps, plan.record, plan.outcomes)
    pending = (run for run in plan.runs() if run.run not in done)
    in_flight: dict[Future, Run] = {}
    start = time.perf_counter()
    if on_progress is not None:
        on_progress(status)
    exhausted = False
    while True:
        # About two runs per slot: workers never wait, memory stays bounded.
        while not exhausted and len(in_flight) < 2 * engine.slots() + 1:
            run = next(pending, None)
            if run is None:
                exhausted = True
                break
            future = engine.executor.submit(run_function, settings, run, plan.run_parameters(run))
            in_flight[future] = run
        if not in_flight:
            break
        finished, _ = wait(in_flight, timeout=5, return_when=FIRST_COMPLETED)
        if not finished:
            # Nothing finished for a while: is the engine still able to run anything?
            problem = engine.problem()
            if problem is not None:
                raise SweepError(f"{problem}; {_saved(status, out_dir, store)}")
        # In run order: futures that finish together come as a set, and the first error
        # reported must not depend on it.
        for future in sorted(finished, key=lambda done: in_flight[done].run):
            run = in_flight.pop(future)
            result = _result(future, run, engine, out_dir, status, store)
            try:
                store.write_result(run, result)
            except StoreWriteError as exc:
                raise SweepError(f"{exc}; {_saved(status, out_dir, store)}") from None
            status.ran += 1
            status.failed += result.status != "ok"
            if result.status != "ok" and status.first_error is None:
                status.first_error = f"run {run.run}: {result.error}"
            status.elapsed_s = time.perf_counter() - start
            if on_progress is not None:
                on_progress(status)
    status.elapsed_s = time.perf_counter() - start
    return status


def _saved(status: SweepStatus, out_dir: Path, store: SweepStore) -> str:
    from sim.sweep.store import resume_command

    return (
        f"{status.done} of {status.total} runs are saved in {out_dir}: "
        f"`{resume_command(store)}` finishes it"
    )


def _result(
    future: Future, run: Run, engine: Engine, out_dir: Path, status: SweepStatus, store: SweepStore
) -> RunResult:
    try:
        return future.result()
    except Exception as exc:
        if engine.is_worker_death(exc):
            message = f"{type(exc).__name__}: {exc}"
            return RunResult(run.run, "error", message, float("nan"), np.empty(0, np.int64), {})
        why = engine.problem() or (
            f"run {run.run} could not be executed ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:300]})"
        )
        raise SweepError(f"{why}; {_saved(status, out_dir, store)}") from None


def print_interrupted(out_dir: Path, status: SweepStatus | None) -> None:
    """The line printed when a sweep is stopped with Ctrl-C."""
    done = f"{status.done} of {status.total} runs" if status is not None else "finished runs"
    print(
        f"guanxi: sweep stopped; {done} are saved in {out_dir}: continue with --resume",
        file=sys.stderr,
    )
