"""Vectorised model against the agent-per-user Mesa reference (``tests/reference``).

Both models are built from the same scenario (``scaled_baseline(users, firms)``) and
run in this one process, on one core, for the same ``--reference-steps`` days from
day 0 (default: a whole year). Times are CPU seconds of this single-threaded
process, which other processes on a shared machine barely disturb. Prints, per size,
build and step times and two speed ratios (reference / vectorised): over the first
30 days, and over all the days run, builds included. The vectorised model's day
costs more as the market fills (more aware users, followers and speakers), while
the reference's costs about the same every day, so the whole-run ratio is the lower
one. The target is at least 100x at 10,000 users.

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
from benchmarks.run_baseline import scaled_baseline  # noqa: E402
from sim.model import MarketModel  # noqa: E402
from tests.reference.model import ReferenceModel  # noqa: E402

TARGET_RATIO = 100.0
FIRST_DAYS = 30


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
        "--reference-steps",
        type=int,
        default=365,
        help="days both models run (default 365; 30 for a quick look)",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    days = args.reference_steps
    first = min(FIRST_DAYS, days)
    print(f"# {machine_line()}")
    print(
        f"# compiled kernels loaded in {load_kernels():.2f} s (once per process, not timed below)"
    )
    print(f"# one process, one core, CPU time; both models run the same {days} days from day 0\n")
    header = (
        f"|  users | firms | ref build s | ref ms/day, first {first} d | ref ms/day | "
        f"vec build s | vec ms/day, first {first} d | vec ms/day | ratio first {first} d | "
        f"ratio {days} d incl. build |"
    )
    widths = [len(c) for c in header.split("|")[1:-1]]
    print(header)
    print("|" + "|".join("-" * w for w in widths) + "|")
    ratios = {}
    for firms in args.firms:
        for users in args.users:
            spec = scaled_baseline(users, firms)
            ref_build, ref_steps = time_model(ReferenceModel, spec, days, args.seed)
            vec_build, vec_steps = time_model(MarketModel, spec, days, args.seed)
            ref_first, vec_first = sum(ref_steps[:first]) / first, sum(vec_steps[:first]) / first
            ratio_first = ref_first / vec_first
            ratio_run = (ref_build + sum(ref_steps)) / (vec_build + sum(vec_steps))
            ratios[users, firms] = ratio_first, ratio_run
            cells = [
                f"{users:,}",
                f"{firms}",
                f"{ref_build:.2f}",
                f"{ref_first * 1000:.0f}",
                f"{sum(ref_steps) / days * 1000:.0f}",
                f"{vec_build:.3f}",
                f"{vec_first * 1000:.1f}",
                f"{sum(vec_steps) / days * 1000:.1f}",
                f"{ratio_first:.0f}x",
                f"{ratio_run:.0f}x",
            ]
            print(
                "|" + "|".join(f" {c:>{w - 2}} " for c, w in zip(cells, widths, strict=True)) + "|",
                flush=True,
            )
    print()
    for (users, firms), (ratio_first, ratio_run) in ratios.items():
        if users == 10_000:
            for label, ratio in ((f"first {first} days", ratio_first), (f"{days} days", ratio_run)):
                verdict = "MET" if ratio >= TARGET_RATIO else "NOT MET"
                print(
                    f"target >= {TARGET_RATIO:.0f}x at 10,000 users, {firms} firms, {label}: "
                    f"{ratio:.0f}x -> {verdict}"
                )


if __name__ == "__main__":
    main()
