"""Time the strategist's question "Should we localise our content in China?" as the
UI's Compare tab answers it (issue 16): A = the scenario, B = our China content fully
localised, R replications x D days with common random numbers, run as the page runs
it (a background job with one worker process per core, ``--serial`` for the earlier
way: one run after the other in the background thread); prints the time from the
click to the result, the verdict and its caveats. Target: under 30 s for 10
replications x 365 days at 10,000 users on 2 cores.

    .venv/bin/python benchmarks/bench_ui_question.py [--users 10000] [--reps 10] [--days 365]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.scenario import bundled_scenarios, read_scenario_file  # noqa: E402
from viz.comparison import (  # noqa: E402
    ComparisonJob,
    ComparisonRecord,
    ComparisonRequest,
    comparison_workers,
    run_comparison,
)
from viz.state import ExploreSession  # noqa: E402

LOCALISE = "firms.ours.strategies.china.localisation"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument(
        "--serial", action="store_true", help="one run after the other in this process"
    )
    args = parser.parse_args()
    raw = read_scenario_file(bundled_scenarios()[args.scenario])
    session = ExploreSession.from_data(raw, args.scenario, {"model.n_users": args.users})
    request = ComparisonRequest(
        session.spec, {}, {LOCALISE: 1.0}, reps=args.reps, steps=args.days, seed=42
    )
    started = time.perf_counter()
    if args.serial:
        result, how = run_comparison(request), "serial, one thread"
    else:
        job = ComparisonJob(request, lambda: None).start()
        job.join()
        if job.result is None:
            raise SystemExit(f"comparison {job.state}: {job.error}")
        result, how = job.result, f"{comparison_workers(request)} worker processes"
    elapsed = time.perf_counter() - started
    record = ComparisonRecord.of(1, result)
    days = 2 * args.reps * args.days
    print(
        f"{args.scenario}, {args.users:,} users, {args.reps} replications x {args.days} days: "
        f"{elapsed:.1f} s ({1000 * elapsed / days:.1f} ms per simulated day; {how})"
    )
    print(f"baseline localisation in China: {session.value(LOCALISE)}")
    print("verdict:", record.verdict)
    for line in record.caveats:
        print("  -", line)


if __name__ == "__main__":
    main()
