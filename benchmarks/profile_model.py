"""Profile the vectorised model at scale with cProfile (issue 6: the profile at 1M users).

Builds ``scaled_baseline(users, firms)`` on one core, runs ``--warmup`` days
unprofiled, then profiles ``--steps`` days (timed in CPU seconds) and prints the
functions with the most own time and the most cumulative time. ``--out FILE`` keeps the raw profile for
``snakeviz`` or ``python -m pstats``.

    .venv/bin/python benchmarks/profile_model.py [--users 1000000] [--firms 20] [--steps 5]
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
import cProfile  # noqa: E402
import io  # noqa: E402
import pstats  # noqa: E402
import time  # noqa: E402

from benchmarks.common import load_kernels, machine_line, peak_rss_mib  # noqa: E402
from benchmarks.run_baseline import scaled_baseline  # noqa: E402
from sim.model import MarketModel  # noqa: E402


def print_top(profile: cProfile.Profile, sort: str, limit: int) -> None:
    text = io.StringIO()
    stats = pstats.Stats(profile, stream=text).strip_dirs().sort_stats(sort)
    stats.print_stats(limit)
    # Drop pstats' preamble down to the table header.
    lines = text.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
    print("\n".join(lines[start:]).rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--firms", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=1, help="unprofiled days first")
    parser.add_argument("--steps", type=int, default=5, help="profiled days")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", type=Path, help="save the raw profile here")
    args = parser.parse_args()

    print(f"# {machine_line()}")
    print(f"# compiled kernels loaded in {load_kernels():.2f} s")
    spec = scaled_baseline(args.users, args.firms)
    start = time.perf_counter()
    model = MarketModel(spec)
    print(f"# {args.users:,} users x {args.firms} firms: build {time.perf_counter() - start:.1f} s")
    for _ in range(args.warmup):
        model.step()
    # CPU time, not wall time: on a shared machine other processes would inflate the latter.
    profile = cProfile.Profile(time.process_time)
    start, cpu_start = time.perf_counter(), time.process_time()
    profile.enable()
    for _ in range(args.steps):
        model.step()
    profile.disable()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    print(
        f"# profiled days {args.warmup + 1}-{args.warmup + args.steps} under the profiler: "
        f"{cpu:.1f} s CPU ({cpu / args.steps:.2f} s/day), {elapsed:.1f} s wall; "
        f"peak {peak_rss_mib():,.0f} MiB; times below are CPU seconds\n"
    )
    print(f"## top {args.top} by own time (tottime)")
    print_top(profile, "tottime", args.top)
    print(f"\n## top {args.top} by cumulative time")
    print_top(profile, "cumulative", args.top)
    if args.out:
        profile.dump_stats(args.out)
        print(f"\n# raw profile: {args.out}")


if __name__ == "__main__":
    main()
