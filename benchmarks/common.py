"""Helpers shared by the benchmark scripts: child processes, memory, fits, machine.

Scripts set the thread variables of :data:`SINGLE_CORE_ENV` themselves, before numpy
is imported, so that every figure is for one core; child processes inherit them.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# BLAS and OpenMP pools limited to one thread: single-core figures.
SINGLE_CORE_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
}


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(script: Path, args: Sequence[str], timeout_s: float = 900) -> dict:
    """Run ``script --child ARGS`` in a fresh interpreter; return the JSON it prints last."""
    env = {**os.environ, **SINGLE_CORE_ENV}
    done = subprocess.run(
        [sys.executable, str(script), "--child", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=env,
        cwd=REPO,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{script.name} {' '.join(map(str, args))} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fit_exponent(sizes: Sequence[float], times: Sequence[float]) -> float:
    """Slope of log(time) against log(size), least squares: time ~ size^slope."""
    import numpy as np

    slope, _ = np.polyfit(np.log(sizes), np.log(times), 1)
    return float(slope)


def git_commit() -> str:
    """The checked-out commit, read from .git without running git ('?' if unknown)."""
    git = REPO / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head[:7]
        ref = head[5:]
        if (git / ref).exists():
            return (git / ref).read_text().strip()[:7]
        for line in (git / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split()[0][:7]
    except OSError:
        pass
    return "?"


def model_sources() -> list[Path]:
    """The model package's source files and the scenario schema, in a fixed order."""
    return [*sorted((REPO / "sim" / "model").glob("*.py")), REPO / "sim" / "scenario.py"]


def model_digest() -> str:
    """Short digest of the model's source files: names the exact model measured, since
    the working tree may hold uncommitted changes."""
    digest = hashlib.sha256()
    for path in model_sources():
        digest.update(path.relative_to(REPO).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()[:10]


def machine_line() -> str:
    """One line describing where and when the figures were taken."""
    import numpy as np

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{date.today()} commit {git_commit()} (model source {model_digest()}) | {cpu}, {os.cpu_count()} cores, "
        f"load avg {load} | Python {platform.python_version()}, numpy {np.__version__}"
    )


def load_kernels() -> float:
    """Load the model's compiled loops (``sim.model.kernels``) before timing; returns seconds.

    numba compiles them on a machine's first run and keeps them in ``__pycache__``;
    every later process loads each on its first call, a one-off cost per process
    that the benchmarks report apart from the per-day figures. A small market is run
    until every kernel has been called (cross-promotion and referrals wait for the
    first guanxi tie).
    """
    from benchmarks.run_baseline import scaled_baseline
    from sim.model import MarketModel, kernels

    start = time.perf_counter()
    model = MarketModel(scaled_baseline(10_000, 5), rng=0)
    while kernels.not_loaded() and model.steps < 120:
        model.step()
    return time.perf_counter() - start
