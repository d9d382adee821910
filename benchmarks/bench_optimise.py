"""Speed of `guanxi optimise`: evaluations per minute on 1 and 2 workers, and the
optimisation library's overhead over plain runs. Prints its figures.

1. Throughput: one search (NSGA-II, ``--population`` x ``--generations`` candidates,
   each ``--states`` market states x 1 run of ``--steps`` days with ``--users``
   users, the bundled china_entry levers and uncertainty) on 1 and on 2 local
   workers; an evaluation is one candidate that is run (all its runs; a candidate
   that breaks a limit is not run and not counted). The workers'
   start-up (the fork server importing the model) is included, as a user sees it.
2. Overhead: the same runs (same levers, market states and seeds, read back from the
   1-worker search) in a plain loop in this process, against the 1-worker search's
   wall time: what optuna (ask/tell in SQLite), the run records (one fsync'd Parquet
   file per run) and the engine add. Also the machinery alone: the same search with a
   stand-in model that returns at once (tests/optimise_support.py), per candidate.

    .venv/bin/python benchmarks/bench_optimise.py [--users 1000] [--steps 60]
        [--population 8] [--generations 3] [--states 4]
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.optimise.search import (  # noqa: E402
    SEARCH_DIR,
    market_states,
    prepare_directory,
    read_runs,
    run_search,
    run_seed,
    search_table,
)
from sim.optimise.spec import load_optimisation  # noqa: E402
from sim.sweep.engines import LocalEngine, available_cores  # noqa: E402
from sim.sweep.plan import Run  # noqa: E402
from sim.sweep.run import RunSettings, execute_run  # noqa: E402
from sim.sweep.workers import start_worker_server  # noqa: E402

BUNDLED = ROOT / "scenarios" / "optimisations" / "china_entry.toml"


def sized(args: argparse.Namespace, folder: Path) -> Path:
    text = BUNDLED.read_text()
    for old, new in {
        "population = 8": f"population = {args.population}",
        "generations = 5": f"generations = {args.generations}",
        "scenarios = 4": f"scenarios = {args.states}",
        "steps = 180": f"steps = {args.steps}",
        "horizon = 180": f"horizon = {args.steps}",
        '"model.n_users" = 2000': f'"model.n_users" = {args.users}',
    }.items():
        text = text.replace(old, new)
    path = folder / "bench.toml"
    path.write_text(text)
    return path


def search(path: Path, out: Path, workers: int) -> tuple[float, int, int]:
    plan = load_optimisation(path)
    prepare_directory(plan, out, False)
    start = time.perf_counter()
    with LocalEngine(workers) as engine:
        progress = run_search(plan, out, engine)
    elapsed = time.perf_counter() - start
    table = search_table(plan, out)
    return elapsed, int(table.feasible.sum()), len(table), progress.ran


def plain_loop(path: Path, out: Path) -> float:
    """The search's runs again, in a plain loop here: build, run, read the outcomes."""
    plan = load_optimisation(path)
    states = market_states(plan, SEARCH_DIR)
    settings = RunSettings(plan.base_data(), plan.steps, "final", plan.outcomes)
    rows = read_runs(out / SEARCH_DIR)
    start = time.perf_counter()
    for key, row in sorted(rows.items(), key=lambda item: item[0].file_name()):
        levers = {d.path: row[d.path] for d in plan.decisions}
        seed = run_seed(plan, key.phase, key.state, key.replication)
        execute_run(settings, Run(0, 0, 0, seed), {**levers, **states[key.state]})
    return time.perf_counter() - start


def machinery(path: Path, out: Path) -> tuple[float, int]:
    sys.path.insert(0, str(ROOT / "tests"))
    from optimise_support import InlineEngine, synthetic_run

    plan = load_optimisation(path)
    prepare_directory(plan, out, False)
    start = time.perf_counter()
    with InlineEngine() as engine:
        run_search(plan, out, engine, run_function=synthetic_run)
    return time.perf_counter() - start, plan.n_trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--population", type=int, default=8)
    parser.add_argument("--generations", type=int, default=3)
    parser.add_argument("--states", type=int, default=4)
    args = parser.parse_args()
    start_worker_server()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = sized(args, folder)
        print(
            f"search: {args.population} x {args.generations} candidates, {args.states} market "
            f"states x 1 run of {args.steps} days, {args.users:,} users; cores: "
            f"{available_cores()}"
        )
        per_minute, one_worker_time = {}, 0.0
        for workers in (1, 2):
            elapsed, evaluated, proposed, runs = search(path, folder / f"w{workers}", workers)
            per_minute[workers] = 60 * evaluated / elapsed
            one_worker_time = one_worker_time or elapsed
            print(
                f"{workers} worker{'s' if workers > 1 else ''}: {evaluated} evaluations "
                f"({runs} runs; {proposed - evaluated} more candidates broke a limit and were not "
                f"run) in {elapsed:.1f} s = {per_minute[workers]:.1f} evaluations/min, "
                f"{60 * runs / elapsed:.1f} runs/min"
            )
        print(f"2 workers / 1 worker: {per_minute[2] / per_minute[1]:.2f}x")
        plain = plain_loop(path, folder / "w1")
        one = one_worker_time
        print(
            f"plain loop of the same runs in this process: {plain:.1f} s; the 1-worker search "
            f"took {one:.1f} s: overhead {one - plain:+.1f} s ({100 * (one - plain) / one:+.1f}% "
            "of its time; includes the worker's start-up)"
        )
        alone, n = machinery(path, folder / "machinery")
        print(
            f"machinery alone (optuna in SQLite, run records, no model): {alone:.2f} s for {n} "
            f"candidates = {1000 * alone / n:.0f} ms per candidate"
        )


if __name__ == "__main__":
    main()
