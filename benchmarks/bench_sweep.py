"""Issue 3 speed targets for `guanxi sweep`. Prints its figures.

1. Overhead of the sweep machinery (scheduling, pickling, seeding, Parquet writing,
   manifest) for a sweep of 200 short runs: the sweep's wall time with one local
   worker against the bare time of the same runs in a plain loop in this process
   (build the scenario, run the model, read the outcomes). Target < 5% of the total.
2. Throughput of two local workers against one, on the same 200 runs.
   Target >= 1.8x.

The workers' start-up (the fork server importing the model, once per sweep
process) is measured separately and reported with and without.

    .venv/bin/python benchmarks/bench_sweep.py [--runs 200] [--users 1000] [--steps 60]
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.runner import run_model  # noqa: E402
from sim.scenario import scenario_from_data  # noqa: E402
from sim.sweep.engines import LocalEngine, available_cores  # noqa: E402
from sim.sweep.outcomes import final_outcomes  # noqa: E402
from sim.sweep.run import run_sweep  # noqa: E402
from sim.sweep.spec import load_sweep  # noqa: E402

SWEEP = """
[sweep]
name = "bench"
scenario = "baseline"
seed = 99
replications = {replications}
steps = {steps}

[sweep.fixed]
"model.n_users" = {users}

[design]
method = "grid"

[[parameters]]
path = "firms.ours.strategies.china.posts_per_day"
values = [1.0, 2.0, 3.0, 4.0]

[[parameters]]
path = "guanxi.enabled"
"""


def bare_loop(plan) -> tuple[float, float]:
    """(wall, CPU) seconds to run every run of ``plan`` in a plain loop in this process."""
    base = plan.base_data()
    start, cpu = time.perf_counter(), time.process_time()
    for run in plan.runs():
        spec = scenario_from_data(base, "bench", plan.point_parameters(run.point))
        final_outcomes(run_model(spec, plan.steps, run.seed), plan.outcomes)
    return time.perf_counter() - start, time.process_time() - cpu


def timed_sweep(plan, workers: int, folder: Path) -> tuple[float, float]:
    """(wall, CPU of this sweep process) seconds of a whole sweep with local workers.

    The sweep process's CPU time is the machinery's own work: scheduling, pickling,
    seeding, writing Parquet and the manifest; the runs execute in the workers.
    """
    start, cpu = time.perf_counter(), time.process_time()
    with LocalEngine(workers) as engine:
        status = run_sweep(plan, folder / f"workers-{workers}", engine)
    elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    assert status.ran == plan.n_runs and status.failed == 0, status
    return elapsed, used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200, help="runs (a multiple of 8)")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sweep_file = folder / "bench.toml"
        sweep_file.write_text(
            SWEEP.format(replications=args.runs // 8, steps=args.steps, users=args.users)
        )
        plan = load_sweep(sweep_file)
        print(
            f"sweep: {plan.n_runs} runs x {args.steps} days, {args.users} users, "
            f"{len(plan.outcomes)} outcomes; cores available {available_cores()}, "
            f"load average {os.getloadavg()[0]:.2f}"
        )

        start = time.perf_counter()
        with LocalEngine(1) as engine:  # cold start of the fork server (once per process)
            engine.executor.submit(int, 0).result()
        startup = time.perf_counter() - start

        bare, bare_cpu = bare_loop(plan)
        one, one_cpu = timed_sweep(plan, 1, folder)
        two, two_cpu = timed_sweep(plan, 2, folder)
        load = os.getloadavg()[0]

    overhead_warm = (one - bare) / one
    overhead_cold = (one + startup - bare) / (one + startup)
    machinery_cpu = one_cpu / (bare_cpu + one_cpu)
    speedup = one / two
    print(
        f"bare loop in-process: {bare:.2f} s wall, {bare_cpu:.2f} s CPU "
        f"({bare_cpu / plan.n_runs * 1000:.0f} ms CPU per run)"
    )
    print(f"worker start-up (fork server importing the model, once per process): {startup:.2f} s")
    print(
        f"sweep, 1 worker: {one:.2f} s -> {plan.n_runs / one:.2f} runs/s; "
        f"sweep process CPU {one_cpu:.2f} s ({one_cpu / plan.n_runs * 1000:.1f} ms per run)"
    )
    print(
        f"sweep, 2 workers: {two:.2f} s -> {plan.n_runs / two:.2f} runs/s; "
        f"sweep process CPU {two_cpu:.2f} s"
    )
    print(
        f"overhead of the sweep machinery (wall): {overhead_warm:.1%} with workers started, "
        f"{overhead_cold:.1%} including their start-up; target < 5% -> "
        f"{'MET' if overhead_cold < 0.05 else 'NOT MET'}"
    )
    print(
        f"overhead of the sweep machinery (CPU of the sweep process / total CPU): "
        f"{machinery_cpu:.1%}; target < 5% -> {'MET' if machinery_cpu < 0.05 else 'NOT MET'}"
    )
    print(
        f"throughput 2 workers / 1 worker: {speedup:.2f}x; target >= 1.8x -> "
        f"{'MET' if speedup >= 1.8 else 'NOT MET'}"
    )
    print(
        f"load average at the end {load:.2f} on {available_cores()} cores "
        "(other processes competing for the cores distort the wall-clock figures)"
    )


if __name__ == "__main__":
    main()
