"""Vectorised model against the agent-per-user Mesa reference (``tests/reference``).

Both models are built from the same scenario (``scaled_baseline(users, firms)``) and
run one at a time, on one core, for the same ``--reference-steps`` days from day 0
(default: a whole year). Times are CPU seconds of the single-threaded processes,
which other processes on a shared machine disturb less than wall time (not
entirely: they share the caches and the memory bus). Prints, per size, build
and step times (over the first 30 days, the last 30 and all of them) and two speed
ratios (reference / vectorised): over the first 30 days, and over all the days run,
builds included. The two models take turns, ``--block`` days of the reference
then the same days of the vectorised model: this virtual machine's speed moves by
up to 2x from one minute to the next (other guests on the host; the load average
does not show it), so both models must be timed in the same minutes for their
ratio to mean anything. The vectorised model runs in a child process, one at a time
with the reference (never both at once), so that the reference's large Python heap
does not slow it. The vectorised model's day costs more as the market fills
(more aware users, followers and speakers), more than the reference's does, so the
whole-run ratio is the lower one. The target is at least 100x at 10,000 users.
The first line names the model source and the reference's (``tests/reference``)
digests and the load average; the last line gives the load average after the run.

    .venv/bin/python benchmarks/bench_reference.py [--users 2000 10000] [--firms 5 20] [--block 5]
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
import hashlib  # noqa: E402
import multiprocessing  # noqa: E402
import time  # noqa: E402

from benchmarks.common import load_kernels, machine_line  # noqa: E402
from benchmarks.run_baseline import scaled_baseline  # noqa: E402
from sim.model import MarketModel  # noqa: E402
from tests.reference.model import ReferenceModel  # noqa: E402

TARGET_RATIO = 100.0
FIRST_DAYS = 30
REFERENCE_DIR = Path(__file__).resolve().parent.parent / "tests" / "reference"


def reference_digest() -> str:
    """Digest of the reference's source (``tests/reference/*.py``)."""
    digest = hashlib.sha256()
    for path in sorted(REFERENCE_DIR.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def timed_days(model, days: int) -> list[float]:
    """Step ``model`` ``days`` times; CPU seconds of each day."""
    seconds = []
    for _ in range(days):
        tick = time.process_time()
        model.step()
        seconds.append(time.process_time() - tick)
    return seconds


def vectorised_worker(conn, users: int, firms: int, seed: int) -> None:
    """A child process with the vectorised model only: builds it, then steps it on request.

    Sends the build's CPU seconds, then for every number of days received the CPU
    seconds of each of those days; 0 ends it.
    """
    load_kernels()
    spec = scaled_baseline(users, firms)
    gc.collect()
    start = time.process_time()
    model = MarketModel(spec, rng=seed)
    conn.send(time.process_time() - start)
    while days := conn.recv():
        conn.send(timed_days(model, days))


def time_both(
    users: int, firms: int, steps: int, seed: int, block: int
) -> tuple[tuple[float, list[float]], tuple[float, list[float]]]:
    """(build s, CPU s per day) of the reference and of the vectorised model.

    The reference runs in this process and the vectorised model in a child process
    (a heap of its own: 10,000 live Mesa agents next to it slowed its days by 5-20%),
    taking turns of ``block`` days so that both are timed in the same minutes.
    """
    context = multiprocessing.get_context("spawn")
    conn, child_conn = context.Pipe()
    worker = context.Process(target=vectorised_worker, args=(child_conn, users, firms, seed))
    worker.start()
    vec_build, vec_steps = conn.recv(), []
    gc.collect()
    start = time.process_time()
    reference = ReferenceModel(scaled_baseline(users, firms), rng=seed)
    ref_build, ref_steps = time.process_time() - start, []
    for first_day in range(0, steps, block):
        days = min(block, steps - first_day)
        ref_steps += timed_days(reference, days)
        conn.send(days)
        vec_steps += conn.recv()
    conn.send(0)
    worker.join()
    return (ref_build, ref_steps), (vec_build, vec_steps)


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
    parser.add_argument(
        "--block", type=int, default=5, help="days each model runs before the other's turn"
    )
    args = parser.parse_args()

    days = args.reference_steps
    first = min(FIRST_DAYS, days)
    print(f"# {machine_line()}; reference source {reference_digest()}")
    print(
        f"# compiled kernels loaded in {load_kernels():.2f} s (once per process, not timed below)"
    )
    print(
        f"# one core, CPU time; both models run the same {days} days from day 0, "
        f"taking turns of {args.block} days (the vectorised model in a child process)\n"
    )
    header = (
        f"|  users | firms | ref build s | ref ms/day, first {first} d | ref ms/day, last {first} d "
        f"| ref ms/day | vec build s | vec ms/day, first {first} d | vec ms/day, last {first} d "
        f"| vec ms/day | ratio first {first} d | ratio {days} d incl. build |"
    )
    widths = [len(c) for c in header.split("|")[1:-1]]
    print(header)
    print("|" + "|".join("-" * w for w in widths) + "|")
    ratios = {}
    for firms in args.firms:
        for users in args.users:
            (ref_build, ref_steps), (vec_build, vec_steps) = time_both(
                users, firms, days, args.seed, args.block
            )
            ref_first, vec_first = sum(ref_steps[:first]) / first, sum(vec_steps[:first]) / first
            ref_last, vec_last = sum(ref_steps[-first:]) / first, sum(vec_steps[-first:]) / first
            ratio_first = ref_first / vec_first
            ratio_run = (ref_build + sum(ref_steps)) / (vec_build + sum(vec_steps))
            ratios[users, firms] = ratio_first, ratio_run
            cells = [
                f"{users:,}",
                f"{firms}",
                f"{ref_build:.2f}",
                f"{ref_first * 1000:.0f}",
                f"{ref_last * 1000:.0f}",
                f"{sum(ref_steps) / days * 1000:.0f}",
                f"{vec_build:.3f}",
                f"{vec_first * 1000:.1f}",
                f"{vec_last * 1000:.1f}",
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
    print(f"# load avg after the run: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
