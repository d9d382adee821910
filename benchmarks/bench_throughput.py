"""Throughput, scaling exponents and peak memory of the vectorised model (issue 6, items 1-3).

The baseline scenario scaled with ``run_baseline.scaled_baseline(users, firms)``, each
size in a fresh process on one core (BLAS/OpenMP threads = 1), so that peak memory is
that size's own. Prints:

* throughput in user-firm-steps per second at 10k, 100k and 1M users x 20 firms and
  at 100k users x 5, 20 and 100 firms (``--steps`` days from day 0, build excluded;
  each size run ``--repeats`` times, the median run reported with the range, since
  a shared virtual machine's timings move by 10-30% from one run to the next);
* the exponents of step time against users and against firms (log-log least squares);
* peak resident memory per size;
* the 1M x 20 x 365 run time: extrapolated from the short 1M run and the growth of the
  step time over a full year at ``--year-users`` (labelled as such), or measured with
  ``--measure-full-year`` (about 365 x the 1M step time).

    .venv/bin/python benchmarks/bench_throughput.py [--steps 20] [--quick]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import SINGLE_CORE_ENV  # noqa: E402

for _var, _value in SINGLE_CORE_ENV.items():
    os.environ.setdefault(_var, _value)

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

from benchmarks.common import fit_exponent, machine_line, peak_rss_mib, run_child  # noqa: E402

USERS_SCAN = [(10_000, 20), (100_000, 20), (1_000_000, 20)]
FIRMS_SCAN = [(100_000, 5), (100_000, 20), (100_000, 100)]
TARGET_S = 300.0  # 1M users x 20 firms x 365 steps in under 5 minutes on one core
TARGET_MIB = 4096.0


def child(users: int, firms: int, steps: int) -> None:
    """Build and step one model; print build time, step times and peak memory as JSON."""
    from benchmarks.common import load_kernels
    from benchmarks.run_baseline import scaled_baseline
    from sim.model import MarketModel

    kernels_s = load_kernels()
    spec = scaled_baseline(users, firms)
    start = time.perf_counter()
    model = MarketModel(spec)
    build_s = time.perf_counter() - start
    step_s, step_cpu_s = [], []
    for _ in range(steps):
        tick, cpu_tick = time.perf_counter(), time.process_time()
        model.step()
        step_s.append(time.perf_counter() - tick)
        step_cpu_s.append(time.process_time() - cpu_tick)
    result = {
        "users": users,
        "firms": firms,
        "steps": steps,
        "kernels_s": kernels_s,
        "build_s": build_s,
        "step_s": step_s,
        "step_cpu_s": step_cpu_s,
        "peak_rss_mib": peak_rss_mib(),
    }
    print(json.dumps(result))


def measure(users: int, firms: int, steps: int) -> dict:
    result = run_child(Path(__file__), [users, firms, steps], timeout_s=1800)
    result["mean_step_s"] = sum(result["step_s"]) / len(result["step_s"])
    result["mean_step_cpu_s"] = sum(result["step_cpu_s"]) / len(result["step_cpu_s"])
    result["throughput"] = users * firms / result["mean_step_cpu_s"]
    return result


def measure_median(users: int, firms: int, steps: int, repeats: int) -> dict:
    """The run with the median CPU step time of ``repeats`` fresh runs; peak = their max."""
    runs = sorted(
        (measure(users, firms, steps) for _ in range(repeats)),
        key=lambda r: r["mean_step_cpu_s"],
    )
    median = dict(runs[len(runs) // 2])
    median["range_ms"] = (runs[0]["mean_step_cpu_s"] * 1000, runs[-1]["mean_step_cpu_s"] * 1000)
    median["peak_rss_mib"] = max(r["peak_rss_mib"] for r in runs)
    return median


def row(r: dict) -> str:
    low, high = r["range_ms"]
    return (
        f"| {r['users']:>9,} | {r['firms']:>5} | {r['steps']:>5} | {r['build_s']:>7.2f} "
        f"| {r['mean_step_cpu_s'] * 1000:>12.1f} | {f'{low:.1f}-{high:.1f}':>13} "
        f"| {r['mean_step_s'] * 1000:>13.1f} "
        f"| {r['throughput'] / 1e6:>13.2f} | {r['peak_rss_mib']:>12,.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="days per size (default 20)")
    parser.add_argument(
        "--year-users",
        type=int,
        default=100_000,
        help="users of the 365-day run that measures how step time grows over a year "
        "(0 to skip; default 100000)",
    )
    parser.add_argument(
        "--measure-full-year",
        action="store_true",
        help="also measure 1M x 20 x 365 directly (takes 365 x the 1M step time)",
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="fresh runs per size, median reported (default 3)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="5 days per size, one run each, no year run"
    )
    parser.add_argument("--child", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.quick:
        args.steps, args.year_users, args.repeats = 5, 0, 1

    print(f"# {machine_line()}")
    print(
        f"# one core per run (BLAS threads = {os.environ['OMP_NUM_THREADS']}), fresh process per "
        f"run, {args.repeats} runs per size: the median run and the range of CPU ms / day"
    )
    print(
        f"# {args.steps} days from day 0 per size; step times exclude the build; throughput "
        "and exponents use CPU time (insensitive to other processes on a shared machine)\n"
    )
    header = (
        "|     users | firms | steps | build s | CPU ms / day | CPU ms, range | wall ms / day "
        "| M u-f-steps/s | peak RSS MiB |"
    )
    print(header)
    print("|" + "|".join("-" * len(c) for c in header.split("|")[1:-1]) + "|")
    results = {}
    for users, firms in dict.fromkeys(USERS_SCAN + FIRMS_SCAN):
        results[users, firms] = measure_median(users, firms, args.steps, args.repeats)
        print(row(results[users, firms]), flush=True)

    users_points = [results[k] for k in USERS_SCAN]
    firms_points = [results[k] for k in FIRMS_SCAN]
    users_exp = fit_exponent(
        [r["users"] for r in users_points], [r["mean_step_cpu_s"] for r in users_points]
    )
    firms_exp = fit_exponent(
        [r["firms"] for r in firms_points], [r["mean_step_cpu_s"] for r in firms_points]
    )
    print("\nScaling (step time ~ size^k, least squares on log-log):")
    print(
        f"  vs users (10k, 100k, 1M at 20 firms): k = {users_exp:.3f}  target <= 1.1 -> "
        f"{'MET' if users_exp <= 1.1 else 'NOT MET'}"
    )
    print(
        f"  vs firms (5, 20, 100 at 100k users):  k = {firms_exp:.3f}  target <= 1.0 -> "
        f"{'MET' if firms_exp <= 1.0 else 'NOT MET'}"
    )
    for label, points in (("users", users_points), ("firms", firms_points)):
        pairs = zip(points, points[1:], strict=False)
        local = ", ".join(
            f"{fit_exponent([a[label], b[label]], [a['mean_step_cpu_s'], b['mean_step_cpu_s']]):.2f}"
            for a, b in pairs
        )
        print(f"  local exponents vs {label}: {local}")

    big = results[1_000_000, 20]
    growth, growth_note = 1.0, "no year run: assumes the step time of the first days"
    if args.year_users:
        year = measure(args.year_users, 20, 365)
        first = sum(year["step_cpu_s"][: args.steps]) / args.steps
        growth = year["mean_step_cpu_s"] / first
        growth_note = (
            f"mean CPU time per day over 365 days / over the first {args.steps} days at "
            f"{args.year_users:,} users = {growth:.2f} (year run: build {year['build_s']:.1f} s "
            f"+ 365 days {sum(year['step_s']):.1f} s wall, {sum(year['step_cpu_s']):.1f} s CPU; "
            f"peak {year['peak_rss_mib']:,.0f} MiB)"
        )
    day_s = big["mean_step_cpu_s"]
    estimate = big["build_s"] + 365 * day_s * growth
    print("\n1,000,000 users x 20 firms x 365 days on one core:")
    print(
        f"  EXTRAPOLATED: build {big['build_s']:.1f} s + 365 x {day_s:.2f} s/day (CPU, first "
        f"{args.steps} days) x growth {growth:.2f} = {estimate:.0f} s ({estimate / 60:.1f} min); "
        f"target < {TARGET_S:.0f} s -> {'MET' if estimate < TARGET_S else 'NOT MET'}"
    )
    print(f"  growth factor: {growth_note}")
    print(
        f"  peak memory over the first {args.steps} days: {big['peak_rss_mib']:,.0f} MiB; "
        f"target < {TARGET_MIB:.0f} MiB -> {'MET' if big['peak_rss_mib'] < TARGET_MIB else 'NOT MET'}"
    )
    if args.measure_full_year:
        full = measure(1_000_000, 20, 365)
        total = full["kernels_s"] + full["build_s"] + sum(full["step_s"])
        print(
            f"  MEASURED: kernels {full['kernels_s']:.1f} s + build {full['build_s']:.1f} s + 365 days {sum(full['step_s']):.1f} s "
            f"wall ({sum(full['step_cpu_s']):.1f} s CPU) = {total:.0f} s, "
            f"peak {full['peak_rss_mib']:,.0f} MiB -> "
            f"{'MET' if total < TARGET_S and full['peak_rss_mib'] < TARGET_MIB else 'NOT MET'}"
        )


if __name__ == "__main__":
    main()
