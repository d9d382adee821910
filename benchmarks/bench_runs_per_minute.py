"""Sweep throughput: runs per minute with 1 and 2 local workers (issue 6, item 5).

Every run is the baseline scenario (``--users`` users, its 5 firms, ``--steps`` days).
The default engine is the product's own ``guanxi sweep --workers N`` on a generated
sweep file (``--runs`` replications of one design point, end-of-run outcomes); the
wall time of the whole command, start-up and result writing included, gives the runs
per minute. ``--engine pool`` measures ``concurrent.futures.ProcessPoolExecutor`` over
``sim.runner.run_model`` instead (no result writing), for comparison or when the sweep
command is unavailable. Each worker is one single-threaded process.

    .venv/bin/python benchmarks/bench_runs_per_minute.py [--workers 1 2] [--runs 40]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import REPO, SINGLE_CORE_ENV  # noqa: E402

for _var, _value in SINGLE_CORE_ENV.items():
    os.environ.setdefault(_var, _value)

import argparse  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402

from benchmarks.common import machine_line  # noqa: E402

SWEEP_FILE = """\
[sweep]
name = "bench_runs_per_minute"
scenario = "baseline"
seed = 7
replications = {runs}
steps = {steps}
record = "final"

[sweep.fixed]
"model.n_users" = {users}

[design]
method = "grid"

[[parameters]]
path = "users.response_effect"
values = [0.15]
"""


def one_run(users: int, steps: int, seed: int) -> float:
    """One baseline run in a worker; returns the focal firm's final attitude."""
    from sim.runner import run_model
    from sim.scenario import load_scenario

    spec = load_scenario("baseline", {"model.n_users": users})
    return run_model(spec, steps=steps, seed=seed).focal.mean_attitude


def children_cpu_s() -> float:
    """CPU seconds of finished child processes (and the children they reaped)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_pool(workers: int, runs: int, users: int, steps: int) -> float:
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one_run, [users] * runs, [steps] * runs, range(runs)))
    return time.perf_counter() - start


def time_sweep(workers: int, runs: int, users: int, steps: int) -> float:
    guanxi = shutil.which("guanxi", path=str(Path(sys.executable).parent)) or "guanxi"
    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as tmp:
        sweep = Path(tmp) / "bench.toml"
        sweep.write_text(SWEEP_FILE.format(runs=runs, steps=steps, users=users))
        command = [guanxi, "sweep", str(sweep), "--workers", str(workers), "--out", f"{tmp}/out"]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runs", type=int, default=40, help="runs per measurement (default 40)")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=365)
    parser.add_argument("--engine", choices=["sweep", "pool"], default="sweep")
    args = parser.parse_args()

    print(f"# {machine_line()}")
    engine = (
        "guanxi sweep --workers N (wall time of the command)"
        if args.engine == "sweep"
        else "ProcessPoolExecutor over sim.runner.run_model"
    )
    print(f"# engine: {engine}")
    print(f"# run: baseline, {args.users:,} users x 5 firms x {args.steps} days; {args.runs} runs")
    pool = args.engine == "pool"
    if pool:
        print(
            "# runs / min is measured (wall); 'CPU-bound' is workers x 60 / (CPU s per run):\n"
            "# what idle cores would give, an upper bound when other processes share the machine"
        )
    print()
    header = "| workers | runs | wall s | runs / min | speed-up |"
    if pool:
        header += " CPU s / run | CPU-bound runs / min |"
    print(header)
    print("|" + "|".join("-" * len(c) for c in header.split("|")[1:-1]) + "|")
    timer = time_pool if pool else time_sweep
    first = None
    for workers in args.workers:
        cpu_before = children_cpu_s()
        elapsed = timer(workers, args.runs, args.users, args.steps)
        # The pool's workers are this process's children; the sweep's are not (fork server).
        cpu_per_run = (children_cpu_s() - cpu_before) / args.runs
        rate = args.runs / elapsed * 60
        first = first or rate
        line = (
            f"| {workers:>7} | {args.runs:>4} | {elapsed:>6.1f} | {rate:>10.1f} "
            f"| {rate / first:>7.2f}x |"
        )
        if pool:
            line += f" {cpu_per_run:>11.2f} | {workers * 60 / cpu_per_run:>20.1f} |"
        print(line, flush=True)


if __name__ == "__main__":
    main()
