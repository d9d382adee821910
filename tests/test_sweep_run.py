"""Running sweeps locally: reproducibility, streaming results, faults, resume and reports."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.runner import focal_outcomes, run_model
from sim.scenario import scenario_from_data
from sim.stats import mean_ci
from sim.sweep.engines import LocalEngine
from sim.sweep.run import RunSettings, execute_run, run_sweep
from sim.sweep.spec import SweepError, load_sweep
from sim.sweep.store import SweepStore
from sim.sweep.workers import ResilientProcessPool, WorkerDied
from tests.sweep_support import (
    TINY_SWEEP,
    always_die,
    die_once,
    results,
    run_dying_once,
    run_failing,
    square,
    tiny_sweep_once,
    write_sweep,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tiny(tmp_path_factory):
    """The tiny sweep file and its results with one local worker."""
    return tiny_sweep_once(tmp_path_factory)


def test_results_are_identical_with_one_and_two_workers(tiny, tmp_path):
    path, one = tiny
    with LocalEngine(2) as engine:
        run_sweep(load_sweep(path), tmp_path / "two", engine)
    pd.testing.assert_frame_equal(results(one), results(tmp_path / "two"))


def test_every_row_traces_to_its_parameters_and_seed(tiny):
    path, out = tiny
    frame = results(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["runs"]["columns"] == ["run", "point", "replication", "seed"]
    assert len(manifest["runs"]["rows"]) == len(frame) == 8
    assert manifest["base_scenario_sha256"] == load_sweep(path).base_hash()
    assert manifest["sweep_text"] == path.read_text()
    assert set(frame.status) == {"ok"}
    # Rerun one row by hand from its parameters and seed: same outcomes.
    row = frame.iloc[5]
    params = {
        "firms.ours.strategies.china.posts_per_day": row[
            "firms.ours.strategies.china.posts_per_day"
        ],
        "guanxi.enabled": bool(row["guanxi.enabled"]),
    }
    spec = scenario_from_data(manifest["base_scenario"], "check", params)
    outcome = focal_outcomes(run_model(spec, 4, int(row.seed)))
    assert row.attitude == pytest.approx(outcome["attitude"])
    assert row.followers == pytest.approx(outcome["followers_people"])  # real people
    assert row["china.attitude"] == pytest.approx(outcome["markets"]["china"]["attitude"])
    design = pd.read_parquet(out / "design.parquet")
    assert design.seed.tolist() == [r[3] for r in manifest["runs"]["rows"]]


def test_daily_record_ends_with_the_final_record(tiny):
    plan = load_sweep(tiny[0])
    run = next(plan.runs())
    params = plan.point_parameters(run.point)
    outcomes = tuple(
        ["attitude", "followers", "customers", "conversions", "revenue", "profit"]
        + ["crm_capability", "performance", "ties", "tie_density", "ties_formed"]
        + [f"china.{k}" for k in ("attitude", "attitude_change", "awareness", "engagement_rate")]
        + ["western_europe.conversions", "western_europe.revenue", "western_europe.followers"]
    )
    final = execute_run(RunSettings(plan.base_data(), 6, "final", outcomes), run, params)
    daily = execute_run(RunSettings(plan.base_data(), 6, "daily", outcomes), run, params)
    assert final.status == daily.status == "ok"
    assert daily.steps.tolist() == list(range(7))
    for name in outcomes:
        assert daily.values[name][-1] == pytest.approx(final.values[name][0]), name


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(tmp_path):
    text = TINY_SWEEP.replace(
        '[[parameters]]\npath = "guanxi.enabled"',
        '[[parameters]]\npath = "firms.ours.strategies.china.initial_followers"\n'
        "values = [0.001, 0.5]",  # 0.5 > initial_awareness 0.03: invalid scenario
    )
    path = write_sweep(tmp_path, text, steps=3, record="daily")
    with LocalEngine(2) as engine:
        status = run_sweep(load_sweep(path), tmp_path / "out", engine)
    assert (status.ran, status.failed) == (8, 4)
    frame = results(tmp_path / "out")
    failed = frame[frame.status == "error"]
    assert len(failed) == 4  # one row per failed run
    assert set(failed["firms.ours.strategies.china.initial_followers"]) == {0.5}
    assert failed.error.str.contains("initial_followers (0.5) must be at most", regex=False).all()
    assert failed.attitude.isna().all() and failed.step.isna().all()
    ok = frame[frame.status == "ok"]
    assert len(ok) == 4 * 4  # four runs, days 0..3


def test_pool_replaces_a_dead_worker_and_retries(tmp_path):
    pool = ResilientProcessPool(2)
    try:
        futures = [pool.submit(die_once, str(tmp_path / "marker"), 3)]
        futures += [pool.submit(square, x) for x in range(6)]
        assert [f.result(timeout=120) for f in futures] == [9, 0, 1, 4, 9, 16, 25]
        assert pool.restarts >= 1
        # A task that kills its worker every time fails alone; the others complete.
        killer = pool.submit(always_die, 1)
        others = [pool.submit(square, x) for x in range(4)]
        with pytest.raises(WorkerDied, match="died 3 times"):
            killer.result(timeout=120)
        assert [f.result(timeout=120) for f in others] == [0, 1, 4, 9]
    finally:
        pool.shutdown()


def test_a_run_that_cannot_start_fails_instead_of_waiting_forever(monkeypatch):
    """If no worker process can start (here: the pool's submit raises), the run's
    future fails with the reason and the pool keeps dispatching."""
    pool = ResilientProcessPool(1)
    try:
        calls = []

        def refuse(*args, **kwargs):
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("cannot start a worker process")
            return real_submit(*args, **kwargs)

        real_submit = pool._pool.submit
        monkeypatch.setattr(pool._pool, "submit", refuse)
        first, second = pool.submit(square, 3), pool.submit(square, 4)
        with pytest.raises(RuntimeError, match="cannot start a worker process"):
            first.result(timeout=60)
        assert second.result(timeout=120) == 16
    finally:
        pool.shutdown()


def test_a_run_whose_worker_dies_is_retried_with_the_same_result(tiny, tmp_path):
    path, one = tiny
    dying = functools.partial(run_dying_once, str(tmp_path), 3)
    with LocalEngine(2) as engine:
        status = run_sweep(load_sweep(path), tmp_path / "out", engine, run_function=dying)
        assert engine.executor.restarts >= 1
    assert (tmp_path / "died-3").exists()
    assert status.failed == 0
    pd.testing.assert_frame_equal(results(one), results(tmp_path / "out"))


def test_resume_retries_failed_runs_only_when_asked(tiny, tmp_path, capsys):
    path, one = tiny
    out = tmp_path / "out"
    with LocalEngine(2) as engine:
        status = run_sweep(
            load_sweep(path), out, engine, run_function=functools.partial(run_failing, 3)
        )
    assert status.failed == 1 and SweepStore.open(out).failed_runs() == {3}
    # --resume alone keeps the failed record; --retry-failed needs --resume.
    assert main(["sweep", str(path), "--out", str(out), "--resume"]) == 0
    assert SweepStore.open(out).failed_runs() == {3}
    assert main(["sweep", str(path), "--out", str(out), "--retry-failed"]) == 2
    assert "--retry-failed: only with --resume" in capsys.readouterr().err
    args = ["sweep", str(path), "--out", str(out), "--resume", "--retry-failed", "--workers", "2"]
    assert main(args) == 0
    assert "(1 run now, 0 failed" in capsys.readouterr().out
    assert SweepStore.open(out).failed_runs() == set()
    pd.testing.assert_frame_equal(results(one), results(out))


@pytest.mark.parametrize("how", ["SIGKILL to the sweep process", "Ctrl-C to its process group"])
def test_killed_sweep_resumes_to_the_same_dataset(tmp_path, capsys, how):
    path = write_sweep(tmp_path, steps=30)  # slow enough to kill part-way
    reference = tmp_path / "reference"
    with LocalEngine(2) as engine:
        run_sweep(load_sweep(path), reference, engine)
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "sim", "sweep", str(path), "--out", str(out), "--workers", "1"]
    sweep = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 90
        while len(list((out / "runs").glob("run-*.parquet"))) < 2:
            assert sweep.poll() is None, sweep.stderr.read().decode()
            assert time.monotonic() < deadline, "sweep made no progress"
            time.sleep(0.05)
        if how.startswith("SIGKILL"):
            sweep.send_signal(signal.SIGKILL)
            assert sweep.wait(timeout=30) == -signal.SIGKILL
        else:  # what a terminal sends on Ctrl-C: SIGINT to every process of the job
            os.killpg(sweep.pid, signal.SIGINT)
            assert sweep.wait(timeout=30) == 130
            assert "sweep stopped;" in sweep.stderr.read().decode()
    finally:
        if sweep.poll() is None:
            sweep.kill()
        # Its worker processes leave on their own; make sure in any case.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(sweep.pid, signal.SIGKILL)
        sweep.stderr.close()
    done_before = len(list((out / "runs").glob("run-*.parquet")))
    assert 2 <= done_before < 8, "the sweep was not killed part-way"
    # Without --resume the directory is refused, and nothing in it changes.
    assert main(["sweep", str(path), "--out", str(out)]) == 2
    assert "add --resume to continue it" in capsys.readouterr().err
    assert main(["sweep", str(path), "--out", str(out), "--workers", "2", "--resume"]) == 0
    printed = capsys.readouterr().out
    assert f"resuming: {done_before} of 8 runs already done" in printed
    assert f"done: 8 of 8 runs in {out} ({8 - done_before} run now, 0 failed" in printed
    assert not list((out / "runs").glob(".*.tmp"))
    pd.testing.assert_frame_equal(results(reference), results(out))


def test_resume_refuses_a_different_sweep_and_keeps_the_results(tiny, tmp_path, capsys):
    path, out = tiny
    before = sorted(p.name for p in (out / "runs").iterdir())
    changed = write_sweep(tmp_path, TINY_SWEEP.replace("seed = 7", "seed = 8"))
    assert main(["sweep", str(changed), "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "resume refused: it holds a different sweep: the runs and seeds differs" in err
    assert (
        main(["sweep", str(path), "--out", str(out), "--resume", "--set", "model.n_users=400"]) == 2
    )
    assert "the base scenario differs" in capsys.readouterr().err
    assert sorted(p.name for p in (out / "runs").iterdir()) == before


def test_unusable_output_directories_are_refused(tiny, tmp_path):
    plan = load_sweep(tiny[0])
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    with pytest.raises(SweepError, match="is not empty and holds no sweep"):
        SweepStore.create(tmp_path / "notes", plan)
    assert (tmp_path / "notes" / "keep.txt").read_text() == "mine"
    (tmp_path / "file").write_text("x")
    with pytest.raises(SweepError, match="exists and is not a directory"):
        SweepStore.create(tmp_path / "file", plan)
    with pytest.raises(SweepError, match="not writable"):
        SweepStore.create(tmp_path / "file" / "below", plan)


def test_sweep_report_tables_and_charts(tiny, tmp_path, capsys):
    _, out = tiny
    assert main(["sweep-report", str(out), "--out", str(tmp_path / "report")]) == 0
    summary = pd.read_csv(tmp_path / "report" / "summary.csv")
    frame = results(out)
    assert len(summary) == 4
    assert summary.runs.tolist() == [2, 2, 2, 2]
    for point in range(4):
        expected = mean_ci(frame[frame.point == point].followers.to_numpy())
        row = summary.iloc[point]
        assert row["followers.mean"] == pytest.approx(expected.mean)
        assert row["followers.ci_low"] == pytest.approx(expected.low)
        assert row["followers.ci_high"] == pytest.approx(expected.high)
    markdown = (tmp_path / "report" / "summary.md").read_text()
    assert "| point | posts_per_day | enabled | runs | failed | attitude |" in markdown
    names = {p.name for p in (tmp_path / "report").glob("*.png")}
    assert {"effect_attitude.png", "heatmap_attitude.png", "effect_china_attitude.png"} <= names
    assert "4 design points x 2 replications" in capsys.readouterr().out


SOBOL = """
[sweep]
scenario = "baseline"
seed = 11
steps = 2
outcomes = ["attitude", "followers", "tie_density"]

[sweep.fixed]
"model.n_users" = 200

[design]
{design}

[[parameters]]
path = "markets.china.dependency_mean"
low = 0.3
high = 0.8

[[parameters]]
path = "firms.ours.strategies.western_europe.posts_per_day"
low = 0.5
high = 6
"""


@pytest.mark.parametrize(
    ("design", "indices"),
    [
        ('method = "sobol"\nsamples = 4', {"S1", "ST", "S2"}),
        ('method = "morris"\nsamples = 3', {"mu_star", "mu", "sigma"}),
    ],
)
def test_sensitivity_indices_from_salib(tmp_path, capsys, design, indices):
    path = write_sweep(tmp_path, SOBOL.replace("{design}", design), name="s.toml")
    with LocalEngine(2) as engine:
        run_sweep(load_sweep(path), tmp_path / "out", engine)
    assert main(["sensitivity", str(tmp_path / "out")]) == 0
    table = pd.read_csv(tmp_path / "out" / "sensitivity" / "sensitivity.csv")
    assert set(table["index"]) == indices
    assert set(table.outcome) == {"attitude", "followers"}  # tie_density never varies
    assert np.isfinite(table.value).all()
    printed = capsys.readouterr().out
    assert "no variation, no indices: tie_density" in printed


def test_sensitivity_refuses_grids_and_incomplete_sweeps(tiny, tmp_path, capsys):
    _, out = tiny
    assert main(["sensitivity", str(out)]) == 2
    assert "sensitivity needs a 'sobol' or 'morris' design; this sweep's design is 'grid'" in (
        capsys.readouterr().err
    )
    path = write_sweep(tmp_path, SOBOL.replace("{design}", 'method = "sobol"\nsamples = 2'))
    SweepStore.create(tmp_path / "empty", load_sweep(path))
    assert main(["sensitivity", str(tmp_path / "empty")]) == 2
    assert "12 of 12 design points have no successful run" in capsys.readouterr().err
    assert main(["sweep-report", str(tmp_path / "nowhere")]) == 2
    assert "no such directory" in capsys.readouterr().err
