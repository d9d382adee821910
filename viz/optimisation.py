"""An optimisation from the UI: ``guanxi optimise`` in a background thread, and its
Pareto front as :class:`viz.hooks.ParetoPoint` s for Compare.

The work is the CLI's own (:mod:`sim.optimise`: the search, the re-evaluation in
fresh market states, the files written), run in this process on one thread so the
page stays usable (the same pattern as comparisons, :class:`viz.comparison.ComparisonJob`).
Cancel really stops it: every simulated day of the run in progress checks the
cancel flag, and the runs not yet started are dropped. A budget preset shrinks the
file's search (fewer candidates, generations, market states, days and users) so that
it finishes in about a minute; the results folder is then the same as the CLI's,
and an existing one (``pareto.parquet`` beside ``optimisation.json``) can be loaded.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
import tomllib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import GuanxiError
from viz.hooks import ParetoPoint
from viz.jobs import BackgroundJob
from viz.labels import describe_changes, subject
from viz.posterior import checked_folder, data_folder

PARETO_FILE = "pareto.parquet"
MANIFEST_FILE = "optimisation.json"
UI_RUNS = "ui-optimise"


@dataclass(frozen=True)
class Preset:
    """A budget for the search: the file's [optimisation] sizes replaced (None: as in the file)."""

    label: str
    sizes: Mapping[str, int] = field(default_factory=dict)
    n_users: int | None = None


PRESETS: dict[str, Preset] = {
    "quick": Preset(
        "Quick look (about a minute): 8 strategies x 2 generations in 2 market states, "
        "60 days, 500 users; up to 4 of the best checked in 2 fresh states",
        {
            "population": 8,
            "generations": 2,
            "scenarios": 2,
            "replications": 1,
            "final_scenarios": 2,
            "final_replications": 1,
            "final_candidates": 4,
            "steps": 60,
        },
        n_users=500,
    ),
    "file": Preset(
        "As in the file (the full search: china_entry took 5.7 min on 2 worker processes "
        "from the CLI; about twice that on the UI's one thread)"
    ),
}


class OptimisationCancelled(BaseException):
    """The user cancelled (a BaseException, so a run's own error handling lets it through)."""


def preset_plan(
    name_or_path: str | Path,
    preset: str = "quick",
    seed: int | None = None,
    posterior: str | Path | None = None,
):
    """The optimisation file with ``preset``'s budget, resolved and checked by
    :func:`sim.optimise.spec.resolve` (one OptimiseError line if unusable); with a
    calibration ``posterior`` folder, each market state also draws its parameters from
    it, as ``guanxi optimise --posterior`` does."""
    from sim.optimise.spec import (
        OptimisationFile,
        OptimiseError,
        load_optimisation,
        resolve,
        resolve_optimisation_path,
    )

    chosen = PRESETS[preset]
    if not chosen.sizes and chosen.n_users is None:
        return load_optimisation(name_or_path, seed=seed, posterior=posterior)
    path = resolve_optimisation_path(name_or_path)
    text = path.read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    section = raw.setdefault("optimisation", {})
    section.update(chosen.sizes)
    if chosen.n_users is not None:
        section.setdefault("fixed", {})["model.n_users"] = chosen.n_users
    steps = section.get("steps")
    if steps:
        for objective in raw.get("objectives", []):
            if objective.get("horizon"):
                objective["horizon"] = min(int(objective["horizon"]), int(steps))
    try:
        spec = OptimisationFile.model_validate(raw)
    except Exception as exc:  # the file's own errors are reported by load_optimisation
        raise OptimiseError(
            f"{path}: preset {preset}: {' '.join(str(exc).split())[:200]}"
        ) from None
    stamped = text + f"\n# guanxi ui preset '{preset}': {json.dumps(dict(chosen.sizes))}\n"
    return resolve(spec, str(path), stamped, path.parent, (), path.stem, seed, posterior)


class ThreadEngine:
    """The sweeps' engine interface (:mod:`sim.sweep.engines`) on one thread of this
    process: no worker process to start, and a cancel reaches the run in progress."""

    description = "one thread of the UI's process"

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="guanxi-optimise-run")

    def slots(self) -> int:
        return 1

    def is_worker_death(self, error: BaseException) -> bool:
        return False

    def problem(self) -> None:
        return None

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True)
class ParetoFront:
    """An optimisation's re-evaluated strategies: table, objectives and points."""

    directory: Path
    name: str
    scenario: str
    focal: str
    currency: str
    decisions: tuple[str, ...]
    objectives: tuple[tuple[str, str, bool], ...]  # (column key, title, minimise)
    table: pd.DataFrame
    points: tuple[ParetoPoint, ...]
    # how each objective is measured, in words ("25th percentile over market states, day 60")
    details: tuple[str, ...] = ()
    # the calibration posterior the market states drew from, in words; None without one
    posterior: str | None = None

    def lever_words(self, point: ParetoPoint) -> str:
        return describe_changes(point.overrides, self.focal, self.currency)

    def lever_names(self) -> list[str]:
        return [subject(path, self.focal) for path in self.decisions]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def load_front(text: str | Path) -> ParetoFront:
    """Read an optimisation's results folder (``pareto.parquet`` and
    ``optimisation.json``, data only); one GuanxiError line if unusable."""
    folder = checked_folder(str(text), "Optimisation folder")
    where = f"Optimisation folder {folder}"
    for name in (PARETO_FILE, MANIFEST_FILE):
        if not (folder / name).is_file():
            raise GuanxiError(
                f"{where}: no {name} (a finished `guanxi optimise --out` folder holds it)"
            )
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        table = pd.read_parquet(folder / PARETO_FILE)
        decisions = tuple(d["path"] for d in manifest["decisions"])
        base = manifest.get("base_scenario", {})
        objectives = tuple(
            (
                o["key"],
                o.get("label") or o["outcome"],
                o.get("robustness") == "regret" or o.get("direction") == "minimise",
            )
            for o in manifest["objectives"]
        )
        details = tuple(_measured(o) for o in manifest["objectives"])
        model = base.get("model", {})
        focal = str(model.get("focal_firm") or _focal(base))
        currency = str(model.get("currency", "EUR"))
        scenario = str(model.get("name", "?"))
        name = str(manifest.get("name", folder.name))
        posterior = posterior_words(manifest.get("posterior"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise GuanxiError(f"{where}: not readable ({' '.join(str(exc).split())[:160]})") from None
    missing = [
        c for c in ("strategy", *decisions, *(k for k, _, _ in objectives)) if c not in table
    ]
    if missing:
        raise GuanxiError(f"{where}: {PARETO_FILE} has no column '{missing[0]}'")
    if table.empty:
        raise GuanxiError(f"{where}: {PARETO_FILE} holds no strategy")
    points = []
    for _, row in table.iterrows():
        overrides = {path: _plain(row[path]) for path in decisions}
        values = {title: float(row[key]) for key, title, _ in objectives}
        points.append(ParetoPoint(overrides, values, str(row["strategy"])))
    return ParetoFront(
        directory=folder,
        name=name,
        scenario=scenario,
        focal=focal,
        currency=currency,
        decisions=decisions,
        objectives=objectives,
        table=table,
        points=tuple(points),
        details=details,
        posterior=posterior,
    )


def posterior_words(recorded: Mapping[str, Any] | None) -> str | None:
    """The posterior an optimisation's manifest records, in words (None without one)."""
    if not recorded:
        return None
    return (
        f"calibration '{recorded.get('calibration', '?')}', "
        f"{recorded.get('particles', '?')} particles, from {recorded.get('directory', '?')}"
    )


def _measured(objective: Mapping[str, Any]) -> str:
    """How an objective is measured, in words."""
    robustness = objective.get("robustness")
    if robustness == "percentile":
        how = f"{float(objective.get('percentile', 0)):g}th percentile over market states"
    elif robustness == "regret":
        how = "worst-case shortfall from the best strategy"
    else:
        how = "mean over market states"
    return f"{how}, day {objective.get('horizon')}"


def _focal(base: Mapping[str, Any]) -> str:
    for firm in base.get("firms", []):
        if firm.get("focal"):
            return str(firm.get("name"))
    return "ours"


def new_output_folder(name: str, root: Path | None = None) -> Path:
    """A fresh folder for an optimisation started in the UI, under the data folder."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S-%f")
    return (root or data_folder()) / UI_RUNS / f"{name}-{stamp}"


def planned_runs(plan) -> int:
    """Runs of the search and of the re-evaluation at most (infeasible ones count as done)."""
    search = plan.n_trials * plan.scenarios * plan.replications
    return search + plan.final_candidates * plan.final_scenarios * plan.final_replications


def run_optimisation(
    plan,
    out: Path,
    on_progress: Callable[[int, int, str], None] | None = None,
    cancel: threading.Event | None = None,
    run_function: Callable[..., Any] | None = None,
) -> ParetoFront:
    """The CLI's search and re-evaluation of ``plan`` into ``out``, on one thread.

    ``on_progress(done, total, phase)`` after each run; setting ``cancel`` stops at
    the next simulated day with :class:`OptimisationCancelled`. ``run_function``
    (tests) replaces :func:`sim.sweep.run.execute_run`.
    """
    from sim.optimise.report import reevaluate, robust_table, write_report
    from sim.optimise.search import pareto_candidates, prepare_directory, run_search, search_table
    from sim.sweep.run import execute_run

    def check(_day: int = 0) -> None:
        if cancel is not None and cancel.is_set():
            raise OptimisationCancelled

    search_runs = plan.n_trials * plan.scenarios * plan.replications
    total = planned_runs(plan)
    run_function = run_function or functools.partial(execute_run, on_step=check)
    prepare_directory(plan, out, False)
    engine = ThreadEngine()
    try:

        def searching(progress) -> None:
            check()
            if on_progress is not None:
                on_progress(progress.done, total, f"search, generation {progress.generation + 1}")

        run_search(plan, out, engine, searching, run_function)
        table = search_table(plan, out)
        candidates = pareto_candidates(plan, table)
        if not candidates:
            raise GuanxiError(
                f"{plan.source}: no candidate met the constraints and ran without error; "
                "try the full search or widen the decisions"
            )

        def checking(progress) -> None:
            check()
            if on_progress is not None:
                on_progress(search_runs + progress.done, total, "checking the best strategies")

        records = reevaluate(plan, out, engine, candidates, table, checking, run_function)
        robust = robust_table(plan, candidates, table, records)
        write_report(plan, out, table, robust, records)
    finally:
        engine.close()
    return load_front(out)


class OptimisationJob(BackgroundJob):
    """An optimisation in a background thread, with progress, cancel and outcome."""

    what = "optimisation"
    cancelled = OptimisationCancelled

    def __init__(self, plan, out: Path, on_update: Callable[[], None]) -> None:
        super().__init__(on_update)
        self.plan = plan
        self.out = out
        self.done = 0
        self.total = planned_runs(plan)
        self.phase = "starting"
        self.front: ParetoFront | None = None
        self.recorded = False

    @property
    def progress(self) -> float:
        return self.done / self.total if self.total else 0.0

    def _progress(self, done: int, total: int, phase: str) -> None:
        self.done, self.total, self.phase = done, total, phase
        self._on_update()

    def work(self) -> None:
        self.front = run_optimisation(self.plan, self.out, self._progress, self._cancel)
