"""Sweeps over a calibration posterior: `guanxi sweep SWEEP --posterior DIR` and ``sweep.posterior``.

Replication r of every design point runs at posterior draw r (seeded from the sweep
seed, as `guanxi compare --posterior`); the design point's own values win.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.inference.posterior import load_posterior
from sim.sweep.engines import LocalEngine
from sim.sweep.report import write_report
from sim.sweep.run import RunSettings, execute_run, run_sweep
from sim.sweep.spec import SweepError, load_sweep
from sim.sweep.store import SweepStore, resume_command
from tests.sweep_support import results, write_sweep

PAID_REACH = "firms.ours.strategies.china.paid_reach"
ORGANIC_REACH = "markets.china.organic_reach"

SWEEP = """
[sweep]
name = "over_posterior"
scenario = "china_entry"
seed = 3
replications = 4
steps = 4
outcomes = ["followers", "china.followers", "china.attitude"]
{posterior}

[sweep.fixed]
"model.n_users" = 200

[[parameters]]
path = "{path}"
values = {values}
"""


def sweep_file(folder: Path, posterior: str = "", path: str = "", values: str = "") -> Path:
    text = SWEEP.format(
        posterior=posterior,
        path=path or "firms.ours.strategies.china.posts_per_day",
        values=values or "[1.0, 4.0]",
    )
    return write_sweep(folder, text, name=f"sweep{len(list(folder.glob('*.toml')))}.toml")


def fake_posterior(folder: Path, columns: dict | None = None, scenario="china_entry") -> Path:
    """A posterior of four particles (as `guanxi calibrate` writes it)."""
    folder.mkdir()
    columns = columns or {
        PAID_REACH: [0.001, 0.004, 0.01, 0.02],
        ORGANIC_REACH: [0.05, 0.1, 0.2, 0.3],
    }
    frame = pd.DataFrame(columns).assign(weight=0.25, distance=1.0, generation=2)
    frame.to_parquet(folder / "posterior.parquet")
    (folder / "run.json").write_text(json.dumps({"scenario": scenario, "name": "fake"}))
    return folder


def sweep(path: Path, out: Path, workers: int = 1, posterior: Path | None = None):
    plan = load_sweep(path, posterior=posterior)
    with LocalEngine(workers) as engine:
        status = run_sweep(plan, out, engine)
    assert status.failed == 0
    return plan


def test_replications_run_at_the_posterior_draws(tmp_path):
    post = fake_posterior(tmp_path / "post")
    path = sweep_file(tmp_path)
    plan = sweep(path, tmp_path / "out", posterior=post)
    draws = load_posterior(post).draws(3, 4)  # draw r: key ("posterior", r) under the sweep seed
    assert plan.posterior_draws == tuple(draws)
    assert len({d[PAID_REACH] for d in draws}) > 1  # replications differ in their parameters
    settings = RunSettings(plan.base_data(), plan.steps, plan.record, plan.outcomes)
    frame = results(tmp_path / "out").set_index("run")
    for run in plan.runs():
        parameters = plan.run_parameters(run)
        assert parameters == {**draws[run.replication], **plan.point_parameters(run.point)}
        expected = execute_run(settings, run, parameters)  # the model at the draw
        for name in plan.outcomes:
            assert frame.loc[run.run, name] == pytest.approx(expected.values[name][0], abs=0)
    # Without the posterior the same runs differ: the draws reached the model.
    sweep(path, tmp_path / "plain")
    assert not results(tmp_path / "plain").equals(results(tmp_path / "out"))
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    recorded = manifest["posterior"]
    assert recorded["directory"] == str(post) and recorded["particles"] == 4
    assert recorded["paths"] == [PAID_REACH, ORGANIC_REACH]
    assert recorded["draws"]["columns"] == ["replication", PAID_REACH, ORGANIC_REACH]
    assert recorded["draws"]["rows"] == [
        [r, d[PAID_REACH], d[ORGANIC_REACH]] for r, d in enumerate(draws)
    ]
    assert manifest["fingerprint"]["posterior"] == recorded["posterior_sha256"]
    write_report(tmp_path / "out", tmp_path / "report")
    assert f"calibration posterior in {post}" in (tmp_path / "report" / "summary.md").read_text()


def test_same_results_on_one_and_two_workers_and_from_the_file_key(tmp_path):
    post = fake_posterior(tmp_path / "post")
    sweep(sweep_file(tmp_path), tmp_path / "one", 1, posterior=post)
    sweep(sweep_file(tmp_path), tmp_path / "two", 2, posterior=post)
    in_file = sweep_file(tmp_path, posterior='posterior = "post"')  # relative to the file
    plan = sweep(in_file, tmp_path / "key", 2)
    assert plan.posterior is not None and plan.posterior_option is None
    pd.testing.assert_frame_equal(results(tmp_path / "one"), results(tmp_path / "two"))
    pd.testing.assert_frame_equal(results(tmp_path / "one"), results(tmp_path / "key"))


def test_the_swept_value_wins_over_the_draw(tmp_path):
    post = fake_posterior(tmp_path / "post", {PAID_REACH: [0.001, 0.02]})
    path = sweep_file(tmp_path, path=PAID_REACH, values="[0.003, 0.008]")
    plan = sweep(path, tmp_path / "drawn", posterior=post)
    for run in plan.runs():
        assert plan.run_parameters(run)[PAID_REACH] == plan.point_parameters(run.point)[PAID_REACH]
    # The posterior sets only the swept parameter: the results are the plain sweep's.
    sweep(path, tmp_path / "plain")
    pd.testing.assert_frame_equal(results(tmp_path / "drawn"), results(tmp_path / "plain"))


def test_resume_needs_the_same_posterior(tmp_path, capsys):
    post = fake_posterior(tmp_path / "post")
    path = sweep_file(tmp_path)
    out = tmp_path / "out"
    sweep(path, tmp_path / "whole", posterior=post)
    assert main(["sweep", str(path), "--out", str(out), "--posterior", str(post)]) == 0
    for run_file in sorted((out / "runs").iterdir())[::2]:
        run_file.unlink()
    assert "--posterior " + str(post) in resume_command(SweepStore.open(out))
    capsys.readouterr()
    assert main(["sweep", str(path), "--out", str(out), "--resume"]) == 2
    assert "the posterior differs" in capsys.readouterr().err
    other = fake_posterior(tmp_path / "other", {PAID_REACH: [0.002]})
    assert main(["sweep", str(path), "--out", str(out), "--resume", "--posterior", str(other)]) == 2
    assert "the posterior differs" in capsys.readouterr().err
    args = ["sweep", str(path), "--out", str(out), "--resume", "--posterior", str(post)]
    assert main(args) == 0
    assert "resuming: 4 of 8 runs already done" in capsys.readouterr().out
    pd.testing.assert_frame_equal(results(tmp_path / "whole"), results(out))


def test_bad_posteriors_fail_with_one_line(tmp_path, capsys):
    path = sweep_file(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = {
        str(tmp_path / "missing"): "not a directory (a `guanxi calibrate --out` DIR)",
        str(empty): "no posterior.parquet",
        str(fake_posterior(tmp_path / "mars", {"markets.mars.organic_reach": [0.1]})): (
            "parameter markets.mars.organic_reach"
        ),
        str(fake_posterior(tmp_path / "base", scenario="baseline")): (
            "calibrated on scenario 'baseline', but this sweep is on 'china_entry'"
        ),
    }
    for directory, message in cases.items():
        code = main(["sweep", str(path), "--out", str(tmp_path / "o"), "--posterior", directory])
        err = capsys.readouterr().err
        assert code == 2, err
        assert message in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "o").exists()
    both = sweep_file(tmp_path, posterior='posterior = "empty"')
    with pytest.raises(SweepError, match="sweep.posterior and --posterior both given"):
        load_sweep(both, posterior=empty)
    with pytest.raises(SweepError, match=r"sweep\.posterior .*no posterior\.parquet"):
        load_sweep(both)
