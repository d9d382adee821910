"""Start-up time of the ``guanxi`` command: ``guanxi --help`` and ``guanxi scenarios``.

Target: each answers in under 1 s (the command line imports the model, Mesa, numba,
pandas, Dask and the UI only in the commands that need them). Each command runs as
a fresh process, N times (after one untimed warm-up run that fills the OS file cache
and Python's bytecode cache), timed from spawn to exit; the median, min and max wall
times are printed, with the median CPU time (user + system) of the process, which
other load on the machine moves less. Runs the installed entry point ``guanxi``
next to this Python (``.venv/bin/guanxi``), else ``python -m sim``.

    .venv/bin/python benchmarks/bench_cli_startup.py [--runs 10]

To time another checkout with the same environment (e.g. before a change), put it
first on the path: ``PYTHONPATH=/path/to/checkout .venv/bin/python benchmarks/...``.
This machine is shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_S = 1.0
COMMANDS: tuple[tuple[str, ...], ...] = (("--help",), ("scenarios",))


def guanxi_command() -> list[str]:
    """The installed entry point next to this interpreter, else ``python -m sim``."""
    name = "guanxi.exe" if sys.platform == "win32" else "guanxi"
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return [str(beside)]
    found = shutil.which("guanxi")
    return [found] if found else [sys.executable, "-m", "sim"]


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_once(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``command``; fails loudly unless it exits 0."""
    cpu = children_cpu_s()
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} exited {done.returncode}:\n{done.stderr.strip()[-2000:]}"
        )
    return elapsed, children_cpu_s() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per command (10)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs: expected a whole number >= 1")

    base = guanxi_command()
    print(f"command: {' '.join(base)}")
    if os.environ.get("PYTHONPATH"):
        print(f"PYTHONPATH={os.environ['PYTHONPATH']}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"{args.runs} runs each after 1 warm-up run; seconds; target: median wall < {TARGET_S:g} s"
    )
    print(f"{'command':<18} {'median':>7} {'min':>7} {'max':>7} {'CPU med':>8}  target")
    for extra in COMMANDS:
        command = [*base, *extra]
        time_once(command)  # warm-up: file cache, __pycache__
        runs = [time_once(command) for _ in range(args.runs)]
        wall = [w for w, _ in runs]
        median = statistics.median(wall)
        cpu = statistics.median(c for _, c in runs)
        verdict = "met" if median < TARGET_S else "MISSED"
        label = "guanxi " + " ".join(extra)
        print(
            f"{label:<18} {median:7.3f} {min(wall):7.3f} {max(wall):7.3f} {cpu:8.3f}  "
            f"{verdict} (< {TARGET_S:g} s)"
        )
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
