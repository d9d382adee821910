"""The search: NSGA-II (optuna) over the levers, each candidate run in every market state.

Every candidate of a generation is run in the same sampled market states with the
same seeds (common random numbers: replication r of state s has the seed of key
``("optimise-search", s, r)`` under the optimisation seed, :mod:`sim.seeds`), on the
sweeps' engines (:mod:`sim.sweep.engines`) through the sweeps' worker function
(:func:`sim.sweep.run.execute_run`). Each finished run is written at once (one
Parquet file, fsync'd and renamed: :mod:`sim.sweep.durable`), and optuna keeps its
trials in SQLite under the results directory, so a killed optimisation loses no
finished run and ``--resume`` carries on where it stopped.

Reproducible for a given seed, on any number of workers and across ``--resume``: a
generation's candidates are asked together from a sampler seeded for that generation
(key ``("optimise-sampler", g)``), and told together, in trial order, once all their
runs are in. NSGA-II's parents depend only on the trials told before, so an
interrupted generation is asked again alike.
"""

from __future__ import annotations

import contextlib
import json
import time
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from sim.optimise.robust import measure, oriented
from sim.optimise.spec import OptimisationPlan, OptimiseError
from sim.seeds import derive_rng, derive_seed
from sim.sweep.durable import StoreWriteError, atomic_write, parquet_bytes

STUDY_FILE = "study.db"
STUDY_NAME = "optimisation"
MANIFEST = "optimisation.json"
SEARCH_DIR = "search"
FINAL_DIR = "robustness"
#: Objective values given to a candidate that is not run (it breaks a constraint, or a
#: run of it failed); NSGA-II ranks such candidates by their violation only.
NOT_RUN = 0.0
#: The constraint key of failed runs (a run that raised: an invalid combination).
RUNS_FAILED = "runs failed"


@dataclass(frozen=True)
class RunKey:
    phase: str  # SEARCH_DIR or FINAL_DIR
    candidate: int  # optuna trial number
    state: int  # market state
    replication: int

    def file_name(self) -> str:
        return f"c{self.candidate:05d}-s{self.state:04d}-r{self.replication:03d}.parquet"


@dataclass
class Progress:
    total: int
    done: int = 0
    ran: int = 0
    failed: int = 0
    generation: int = 0
    started: float = field(default_factory=time.perf_counter)

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self.started


# --------------------------------------------------------------------------- market states
def market_states(plan: OptimisationPlan, phase: str) -> list[dict[str, Any]]:
    """The sampled market states (uncertain parameter values) of a phase: a Latin
    hypercube from the sweeps' sampler, drawn with its own key; fresh for the
    re-evaluation. With a calibration posterior, state s also takes the parameters of
    :meth:`Posterior.draw` ``(base, s)``, whose base seed is derived for the phase
    (key ``("optimise-<phase>-posterior",)``)."""
    count = plan.scenarios if phase == SEARCH_DIR else plan.final_scenarios
    if not plan.uncertainties and plan.posterior is None:
        return [{}]
    states: list[dict[str, Any]] = [{} for _ in range(count)]
    if plan.uncertainties:
        from sim.sweep.design import build_design
        from sim.sweep.spec import DesignSection

        design = build_design(
            plan.uncertainties,
            DesignSection(method="lhs", samples=count),
            derive_rng(plan.seed, f"optimise-{phase}-states"),
            plan.source,
        )
        paths = [f.path for f in plan.uncertainties]
        states = [dict(zip(paths, point, strict=True)) for point in design.points]
    if plan.posterior is not None:
        base = derive_seed(plan.seed, f"optimise-{phase}-posterior")
        for state, drawn in zip(states, plan.posterior.draws(base, count), strict=True):
            state.update(drawn)
    return states


def uncertain_paths(plan: OptimisationPlan) -> list[str]:
    """The market parameters that vary between states: sampled, then from the posterior."""
    drawn = list(plan.posterior.paths) if plan.posterior is not None else []
    return [f.path for f in plan.uncertainties] + drawn


def posterior_data(plan: OptimisationPlan) -> dict[str, Any] | None:
    """What the manifest records of the posterior (its file's digest is checked on --resume)."""
    return None if plan.posterior is None else plan.posterior.manifest_data()


def run_seed(plan: OptimisationPlan, phase: str, state: int, replication: int) -> int:
    """The same for every candidate (common random numbers); fresh for the re-evaluation."""
    return derive_seed(plan.seed, f"optimise-{phase}", state, replication)


# --------------------------------------------------------------------------- the directory
def manifest_data(plan: OptimisationPlan) -> dict[str, Any]:
    from sim.runner import package_version
    from sim.sweep.plan import sha256_json

    return {
        "format": 1,
        "package": "guanxi-sim",
        "version": package_version(),
        "name": plan.name,
        "file": plan.source,
        "text": plan.text,
        "overrides": list(plan.overrides),
        "seed": plan.seed,
        "steps": plan.steps,
        "base_scenario_sha256": sha256_json(plan.base_data()),
        "base_scenario": plan.base_data(),
        "decisions": [d.describe() for d in plan.decisions],
        "uncertainties": [f.describe() for f in plan.uncertainties],
        "objectives": [o.__dict__ | {"key": o.key} for o in plan.objectives],
        "posterior": posterior_data(plan),
        "market_states": {p: market_states(plan, p) for p in (SEARCH_DIR, FINAL_DIR)},
    }


IDENTITY = ("text", "overrides", "seed", "base_scenario_sha256", "version", "posterior_sha256")


def prepare_directory(plan: OptimisationPlan, out: Path, resume: bool) -> None:
    """Check ``out`` (new or empty, or this optimisation's with ``--resume``); write the manifest."""
    from sim.errors import ensure_writable_dir

    manifest = out / MANIFEST
    if resume:
        if not manifest.is_file():
            raise OptimiseError(f"--resume: {out} holds no optimisation ({MANIFEST} missing)")
        old = json.loads(manifest.read_text())
        new = manifest_data(plan)
        for data in (old, new):  # the posterior's file, or None without one
            data["posterior_sha256"] = (data.get("posterior") or {}).get("posterior_sha256")
        for key in IDENTITY:
            if old.get(key) != new.get(key):
                what = {
                    "text": "the optimisation file",
                    "base_scenario_sha256": "the base scenario",
                    "posterior_sha256": "the calibration posterior",
                }
                raise OptimiseError(
                    f"--resume: {out} holds another optimisation ({what.get(key, key)} "
                    "differs); use a new --out DIR"
                )
        return
    if out.exists() and any(out.iterdir()):
        hint = " (add --resume to continue it)" if manifest.is_file() else ""
        raise OptimiseError(f"--out {out}: not empty{hint}; use a new or empty directory")
    ensure_writable_dir(out, f"--out {out}", OptimiseError)
    for sub in (SEARCH_DIR, FINAL_DIR):
        (out / sub).mkdir(exist_ok=True)
    text = json.dumps(manifest_data(plan), indent=1, default=_json_default)
    atomic_write(manifest, text.encode())


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(type(value).__name__)


def read_runs(folder: Path) -> dict[RunKey, dict[str, Any]]:
    """The run records in ``folder``; a file that cannot be read is removed (it runs again)."""
    import pyarrow.parquet as pq

    records: dict[RunKey, dict[str, Any]] = {}
    if not folder.is_dir():
        return records
    for path in sorted(folder.glob("c*-s*-r*.parquet")):
        try:
            row = pq.read_table(path).to_pylist()[0]
            key = RunKey(row["phase"], row["candidate"], row["state"], row["replication"])
        except Exception:
            path.unlink(missing_ok=True)
            continue
        records[key] = row
    return records


def write_run(out: Path, key: RunKey, row: dict[str, Any]) -> None:
    table = pa.Table.from_pylist([row])
    atomic_write(out / key.phase / key.file_name(), parquet_bytes(table))


# --------------------------------------------------------------------------- running
def execute_runs(
    plan: OptimisationPlan,
    out: Path,
    engine: Any,
    jobs: list[tuple[RunKey, dict[str, Any], dict[str, Any]]],
    states: list[dict[str, Any]],
    progress: Progress,
    on_progress: Callable[[Progress], None] | None,
    run_function: Callable[..., Any] | None = None,
) -> dict[RunKey, dict[str, Any]]:
    """Run ``jobs`` (key, decision values, extra row fields) on ``engine``; write each at once."""
    from sim.sweep.plan import Run
    from sim.sweep.run import RunSettings, execute_run

    function = run_function or execute_run
    record = "final" if plan.horizons == (plan.steps,) else "daily"
    settings = RunSettings(plan.base_data(), plan.steps, record, plan.outcomes)
    results: dict[RunKey, dict[str, Any]] = {}
    pending = iter(jobs)
    in_flight: dict[Future, tuple[RunKey, dict[str, Any], dict[str, Any]]] = {}
    exhausted = False
    while True:
        while not exhausted and len(in_flight) < 2 * engine.slots() + 1:
            job = next(pending, None)
            if job is None:
                exhausted = True
                break
            key, decisions, _ = job
            seed = run_seed(plan, key.phase, key.state, key.replication)
            parameters = {**decisions, **states[key.state]}
            run = Run(key.candidate, key.candidate, key.replication, seed)
            in_flight[engine.executor.submit(function, settings, run, parameters)] = job
        if not in_flight:
            break
        finished, _ = wait(in_flight, timeout=5, return_when=FIRST_COMPLETED)
        if not finished:
            problem = engine.problem()
            if problem is not None:
                raise OptimiseError(f"{problem}; finished runs are saved in {out}: use --resume")
        for future in sorted(finished, key=lambda f: in_flight[f][0].file_name()):
            key, decisions, extra = in_flight.pop(future)
            try:
                result = future.result()
            except Exception as exc:
                if not engine.is_worker_death(exc):
                    raise OptimiseError(
                        f"run {key.file_name()} could not be executed ({type(exc).__name__}); "
                        f"finished runs are saved in {out}: use --resume"
                    ) from None
                result = None
            row = _row(plan, key, decisions, states[key.state], extra, result)
            try:
                write_run(out, key, row)
            except StoreWriteError as exc:
                raise OptimiseError(f"{exc}; finished runs are saved: use --resume") from None
            results[key] = row
            progress.done += 1
            progress.ran += 1
            progress.failed += row["status"] != "ok"
            if on_progress is not None:
                on_progress(progress)
    return results


def _row(plan, key: RunKey, decisions, state, extra, result) -> dict[str, Any]:
    row: dict[str, Any] = {
        "phase": key.phase,
        "candidate": key.candidate,
        "state": key.state,
        "replication": key.replication,
        "seed": run_seed(plan, key.phase, key.state, key.replication),
        **extra,
        **{d.path: decisions[d.path] for d in plan.decisions},
        **{path: state.get(path) for path in uncertain_paths(plan)},
    }
    ok = result is not None and result.status == "ok"
    for objective in plan.objectives:
        value = float("nan")
        if ok:
            steps = np.asarray(result.steps)
            where = np.flatnonzero(steps == objective.horizon)
            series = result.values[objective.outcome]
            value = float(series[where[0]] if where.size else series[-1])
        row[objective.key] = value
    row["status"] = "ok" if ok else "error"
    row["error"] = None if ok else (result.error if result is not None else "worker died")
    row["elapsed_s"] = float(result.elapsed_s) if result is not None else float("nan")
    return row


def runs_array(
    plan: OptimisationPlan,
    records: dict[RunKey, dict[str, Any]],
    phase: str,
    candidates: Iterable[int],
    n_states: int,
    n_reps: int,
) -> np.ndarray:
    """``(candidates, objectives, states, replications)`` of the recorded runs."""
    candidates = list(candidates)
    out = np.full((len(candidates), len(plan.objectives), n_states, n_reps), np.nan)
    for i, c in enumerate(candidates):
        for s in range(n_states):
            for r in range(n_reps):
                row = records.get(RunKey(phase, c, s, r))
                if row is None:
                    continue
                for k, objective in enumerate(plan.objectives):
                    out[i, k, s, r] = row[objective.key]
    return out


# --------------------------------------------------------------------------- the search
def distributions(plan: OptimisationPlan) -> dict[str, Any]:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out: dict[str, Any] = {}
    for d in plan.decisions:
        if d.values is not None:
            out[d.path] = CategoricalDistribution(list(d.values))
        elif d.kind == "int":
            out[d.path] = IntDistribution(int(d.low), int(d.high), step=int(d.step or 1))
        else:
            out[d.path] = FloatDistribution(d.low, d.high, step=d.step, log=d.log)
    return out


def _quiet_optuna() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")


def generation_sampler(plan: OptimisationPlan, generation: int):
    """NSGA-II's sampler for ``generation``, seeded for it alone (so a resumed
    generation draws what an uninterrupted one would)."""
    import optuna

    return optuna.samplers.NSGAIISampler(
        population_size=plan.population,
        # numpy's RandomState (optuna's samplers) takes 32-bit seeds.
        seed=derive_seed(plan.seed, "optimise-sampler", generation) % 2**32,
    )


def open_study(plan: OptimisationPlan, out: Path, generation: int = 0):
    """The study in ``out/study.db`` with a sampler seeded for ``generation``."""
    import optuna

    _quiet_optuna()
    _write_ahead_log(out / STUDY_FILE)
    storage = optuna.storages.RDBStorage(
        f"sqlite:///{(out / STUDY_FILE).resolve()}",
        engine_kwargs={"connect_args": {"timeout": 60}},
    )
    return optuna.create_study(
        storage=storage,
        study_name=STUDY_NAME,
        sampler=generation_sampler(plan, generation),
        directions=["minimize" if o.minimise else "maximize" for o in plan.objectives],
        load_if_exists=True,
    )


def _write_ahead_log(path: Path) -> None:
    """Put the study's SQLite file in write-ahead-log mode (kept in the file): a commit
    is one append and one flush instead of a rollback journal's several, and a killed
    process still loses no committed trial."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(path, timeout=60)) as db:
        db.execute("PRAGMA journal_mode=WAL")


def candidate_values(plan: OptimisationPlan, params: dict[str, Any]) -> dict[str, Any]:
    by_path = {d.path: d for d in plan.decisions}
    return {path: by_path[path].clean(value) for path, value in params.items()}


def violations(plan: OptimisationPlan, values: dict[str, Any]) -> dict[str, float]:
    merged = {**plan.constants, **values}
    return {c.name: c.violation(merged) for c in plan.constraints}


def run_search(
    plan: OptimisationPlan,
    out: Path,
    engine: Any,
    on_progress: Callable[[Progress], None] | None = None,
    run_function: Callable[..., Any] | None = None,
    stop_after_runs: int | None = None,
) -> Progress:
    """Every generation of the search not yet told in ``out/study.db``.

    ``stop_after_runs`` (tests) raises KeyboardInterrupt once that many runs finished
    in this call, as a kill would stop it.
    """
    from optuna.trial import TrialState

    states = market_states(plan, SEARCH_DIR)
    reps = plan.replications
    records = read_runs(out / SEARCH_DIR)
    per_candidate = len(states) * reps
    progress = Progress(total=plan.n_trials * per_candidate, done=len(records))
    counter = {"ran": 0}

    def notify(p: Progress) -> None:
        counter["ran"] += 1
        if on_progress is not None:
            on_progress(p)
        if stop_after_runs is not None and counter["ran"] >= stop_after_runs:
            raise KeyboardInterrupt

    study = open_study(plan, out)
    for g in range(plan.generations):
        progress.generation = g
        study.sampler = generation_sampler(plan, g)
        trials = [
            t
            for t in study.get_trials(deepcopy=False)
            if t.user_attrs.get("generation") == g and t.state != TrialState.FAIL
        ]
        if not study.user_attrs.get(f"asked:{g}"):
            for t in trials:  # a generation interrupted while being asked: ask it again
                study.tell(t.number, state=TrialState.FAIL)
            trials = []
            dists = distributions(plan)
            for _ in range(plan.population):
                trial = study.ask(dists)
                trial.set_user_attr("generation", g)
                values = candidate_values(plan, trial.params)
                for name, v in violations(plan, values).items():
                    trial.set_constraint(name, v)
                trial.set_user_attr(
                    "feasible", all(v <= 0 for v in violations(plan, values).values())
                )
            study.set_user_attr(f"asked:{g}", True)
            trials = [
                t
                for t in study.get_trials(deepcopy=False)
                if t.user_attrs.get("generation") == g and t.state != TrialState.FAIL
            ]
        open_trials = [t for t in trials if t.state == TrialState.RUNNING]
        if not open_trials:
            continue
        jobs = []
        for t in open_trials:
            if not t.user_attrs.get("feasible"):
                progress.done += per_candidate  # not run: outside the constraints
                continue
            values = candidate_values(plan, t.params)
            for s in range(len(states)):
                for r in range(reps):
                    key = RunKey(SEARCH_DIR, t.number, s, r)
                    if key not in records:
                        jobs.append((key, values, {"generation": g}))
        records.update(
            execute_runs(plan, out, engine, jobs, states, progress, notify, run_function)
        )
        _tell_generation(plan, study, g, records, len(states), reps)
    progress.generation = plan.generations
    return progress


def _tell_generation(plan, study, g: int, records, n_states: int, reps: int) -> None:
    """Tell every open trial of generation ``g`` its robustness values, in trial order.

    Regret is measured against the best candidate per market state among every
    feasible candidate of generations 0..g (the same set however the run was split).
    """
    from optuna.trial import Trial, TrialState

    trials = [
        t
        for t in study.get_trials(deepcopy=False)
        if t.state != TrialState.FAIL
        and t.user_attrs.get("generation") is not None
        and t.user_attrs["generation"] <= g
    ]
    feasible = [t.number for t in trials if t.user_attrs.get("feasible")]
    runs = runs_array(plan, records, SEARCH_DIR, feasible, n_states, reps)
    ok = ~np.isnan(runs).any(axis=(1, 2, 3))
    values_by_number: dict[int, list[float]] = {}
    if ok.any():
        from sim.optimise.robust import state_means

        good = [n for n, fine in zip(feasible, ok, strict=True) if fine]
        measured = np.column_stack(
            [measure(o, state_means(runs[ok, k])) for k, o in enumerate(plan.objectives)]
        )
        values_by_number = {n: list(map(float, row)) for n, row in zip(good, measured, strict=True)}
    for t in sorted(trials, key=lambda t: t.number):
        if t.state != TrialState.RUNNING or t.user_attrs.get("generation") != g:
            continue
        failed = 0
        if t.user_attrs.get("feasible"):
            failed = sum(
                records.get(RunKey(SEARCH_DIR, t.number, s, r), {}).get("status") != "ok"
                for s in range(n_states)
                for r in range(reps)
            )
        Trial(study, t._trial_id).set_constraint(RUNS_FAILED, float(failed))
        values = values_by_number.get(t.number)
        if values is None:
            values = [NOT_RUN] * len(plan.objectives)
        study.tell(t.number, values)


def search_table(plan: OptimisationPlan, out: Path):
    """Every candidate of the search: generation, levers, feasibility, objective values."""
    import pandas as pd
    from optuna.trial import TrialState

    study = open_study(plan, out, 0)
    rows = []
    for t in study.get_trials(deepcopy=False):
        if t.state != TrialState.COMPLETE:
            continue
        feasible = all(v <= 0 for v in t.constraints.values())
        row = {
            "candidate": t.number,
            "generation": t.user_attrs.get("generation"),
            "feasible": feasible,
            **candidate_values(plan, t.params),
        }
        for o, v in zip(plan.objectives, t.values, strict=True):
            row[o.key] = v if feasible else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def pareto_candidates(plan: OptimisationPlan, table) -> list[int]:
    """The search's Pareto set (feasible candidates no other dominates), at most
    ``final_candidates`` of them, spread along the first objective."""
    from sim.optimise.robust import pareto_mask

    feasible = table[table.feasible].reset_index(drop=True)
    if feasible.empty:
        return []
    keys = [o.key for o in plan.objectives]
    values = oriented(plan.objectives, feasible[keys].to_numpy())
    front = feasible[pareto_mask(values)]
    # Identical levers (NSGA-II can propose a candidate twice) are one strategy.
    paths = [d.path for d in plan.decisions]
    front = front.drop_duplicates(subset=paths).sort_values(keys[0])
    numbers = front.candidate.tolist()
    if len(numbers) > plan.final_candidates:
        picks = np.linspace(0, len(numbers) - 1, plan.final_candidates).round().astype(int)
        numbers = [numbers[i] for i in sorted(set(picks))]
    return [int(n) for n in numbers]


def hypervolume_by_generation(plan: OptimisationPlan, table) -> list[tuple[int, float]]:
    """Hypervolume of the feasible front found up to each generation, normalised.

    Objectives are scaled to 0..1 by the range seen over the whole search (so the
    curve's generations are comparable), minimised, with the reference point 1.1.
    """
    from sim.optimise.robust import hypervolume

    feasible = table[table.feasible]
    keys = [o.key for o in plan.objectives]
    if feasible.empty:
        return [(g, 0.0) for g in range(plan.generations)]
    loss = -oriented(plan.objectives, feasible[keys].to_numpy())
    low, high = loss.min(axis=0), loss.max(axis=0)
    scaled = (loss - low) / np.where(high > low, high - low, 1.0)
    reference = np.full(len(keys), 1.1)
    gens = feasible.generation.to_numpy()
    return [(g, hypervolume(scaled[gens <= g], reference)) for g in range(plan.generations)]
