"""Vectorised model against the agent-per-user Mesa reference (issue 6, item 4).

Both models are built from the same scenario (``scaled_baseline(users, firms)``) and
run in this one process, on one core, for the same first days; the reference is slow,
so it runs ``--reference-steps`` days and both step times are per day over those days.
The vectorised model goes on to ``--steps`` days (its mean day over a whole year is
printed too). Times are CPU seconds of this single-threaded process, which other
processes on a shared machine barely disturb. Prints, per size, build and step times
and the speed ratio (reference / vectorised); the target is at least 100x at 10,000
users.

    .venv/bin/python benchmarks/bench_reference.py [--users 2000 10000] [--firms 5 20]
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
import gc  # noqa: E402
import time  # noqa: E402

from benchmarks.common import load_kernels, machine_line  # noqa: E402
from benchmarks.reference.model import ReferenceModel  # noqa: E402
from benchmarks.run_baseline import scaled_baseline  # noqa: E402
from sim.model import MarketModel  # noqa: E402

TARGET_RATIO = 100.0


def time_model(cls: type, spec, steps: int, seed: int) -> tuple[float, list[float]]:
    """CPU seconds to build one model and CPU seconds of each day."""
    gc.collect()
    start = time.process_time()
    model = cls(spec, rng=seed)
    build_s = time.process_time() - start
    step_s = []
    for _ in range(steps):
        tick = time.process_time()
        model.step()
        step_s.append(time.process_time() - tick)
    return build_s, step_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, nargs="+", default=[2_000, 10_000])
    parser.add_argument("--firms", type=int, nargs="+", default=[5, 20])
    parser.add_argument(
        "--reference-steps", type=int, default=30, help="days the reference runs (default 30)"
    )
    parser.add_argument(
        "--steps", type=int, default=365, help="days the vectorised model runs (default 365)"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    print(f"# {machine_line()}")
    print(
        f"# compiled kernels loaded in {load_kernels():.2f} s (once per process, not timed below)"
    )
    print(
        f"# one process, one core, CPU time; both models from day 0; the ratio compares the "
        f"same first {args.reference_steps} days\n"
    )
    header = (
        "|  users | firms | ref build s | ref ms/day | vec build s | vec ms/day "
        f"| vec ms/day over {args.steps} d | ratio per day | ratio 365 d incl. build |"
    )
    print(header)
    print("|" + "|".join("-" * len(c) for c in header.split("|")[1:-1]) + "|")
    ratios = {}
    for firms in args.firms:
        for users in args.users:
            spec = scaled_baseline(users, firms)
            ref_build, ref_steps = time_model(ReferenceModel, spec, args.reference_steps, args.seed)
            vec_build, vec_steps = time_model(MarketModel, spec, args.steps, args.seed)
            ref_day = sum(ref_steps) / len(ref_steps)
            vec_day = sum(vec_steps[: args.reference_steps]) / args.reference_steps
            vec_day_long = sum(vec_steps) / len(vec_steps)
            ratio = ref_day / vec_day
            # A year's run, each model's first-days step time extrapolated, build included.
            year_ratio = (ref_build + 365 * ref_day) / (vec_build + 365 * vec_day)
            ratios[users, firms] = ratio
            print(
                f"| {users:>6,} | {firms:>5} | {ref_build:>11.2f} | {ref_day * 1000:>10.0f} "
                f"| {vec_build:>11.3f} | {vec_day * 1000:>10.1f} "
                f"| {vec_day_long * 1000:>{len(f' vec ms/day over {args.steps} d ') - 2}.1f} "
                f"| {ratio:>12.0f}x | {year_ratio:>22.0f}x |",
                flush=True,
            )
    print()
    for (users, firms), ratio in ratios.items():
        if users == 10_000:
            verdict = "MET" if ratio >= TARGET_RATIO else "NOT MET"
            print(
                f"target >= {TARGET_RATIO:.0f}x at 10,000 users, {firms} firms: "
                f"{ratio:.0f}x -> {verdict}"
            )


if __name__ == "__main__":
    main()
