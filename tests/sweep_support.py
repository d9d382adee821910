"""Helpers for the sweep tests: tiny sweep files, dataset comparison, worker-side faults.

The fault functions run inside worker processes (pickled by reference), so they live
in a module; the tiny sweep's one-worker results are computed once per session.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from sim.sweep.engines import LocalEngine
from sim.sweep.run import RunResult, execute_run, run_sweep
from sim.sweep.spec import load_sweep

TINY_SWEEP = """
[sweep]
name = "tiny"
scenario = "baseline"
seed = 7
replications = 2
steps = {steps}
record = "{record}"
outcomes = ["attitude", "followers", "profit", "china.attitude", "western_europe.followers"]

[sweep.fixed]
"model.n_users" = 300

[design]
method = "grid"

[[parameters]]
path = "firms.ours.strategies.china.posts_per_day"
values = [1.0, 4.0]

[[parameters]]
path = "guanxi.enabled"
"""


def write_sweep(folder: Path, text: str = TINY_SWEEP, name: str = "tiny.toml", **fields) -> Path:
    """Write a sweep file (``fields`` fill the TINY_SWEEP template)."""
    fields = {"steps": 4, "record": "final", **fields}
    path = folder / name
    path.write_text(text.format(**fields) if fields and "{" in text else text)
    return path


def results(out: Path) -> pd.DataFrame:
    """A sweep's dataset, in run and day order, without the wall-clock column."""
    frame = pd.read_parquet(out / "runs")
    frame = frame.sort_values(["run", "step"], kind="stable").reset_index(drop=True)
    return frame.drop(columns=["elapsed_s"])


_TINY: dict[str, tuple[Path, Path]] = {}


def tiny_sweep_once(tmp_path_factory) -> tuple[Path, Path]:
    """The tiny sweep run once per session with one local worker: (sweep file, results)."""
    if "tiny" not in _TINY:
        folder = tmp_path_factory.mktemp("tiny")
        path = write_sweep(folder)
        out = folder / "one-worker"
        with LocalEngine(1) as engine:
            status = run_sweep(load_sweep(path), out, engine)
        assert (status.ran, status.failed) == (8, 0)
        _TINY["tiny"] = (path, out)
    return _TINY["tiny"]


def square(x: int) -> int:
    return x * x


def die_once(marker: str, x: int) -> int:
    """Kill this worker process the first time, return x * x after."""
    if not os.path.exists(marker):
        Path(marker).write_text("died")
        os._exit(1)
    return x * x


def always_die(x: int) -> int:
    os._exit(1)


def run_dying_once(marker_dir: str, dying_run: int, settings, run, parameters):
    """execute_run, but the worker running ``dying_run`` dies on the first attempt."""
    marker = Path(marker_dir) / f"died-{run.run}"
    if run.run == dying_run and not marker.exists():
        marker.write_text("died")
        os._exit(1)
    return execute_run(settings, run, parameters)


def run_failing(failing_run: int, settings, run, parameters):
    """execute_run, but ``failing_run`` is recorded as failed (as after a dead worker)."""
    if run.run == failing_run:
        return RunResult(
            run.run, "error", "WorkerDied: died 3 times", 0.0, np.empty(0, np.int64), {}
        )
    return execute_run(settings, run, parameters)
