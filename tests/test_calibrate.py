"""`guanxi calibrate`: the calibration file's checks, the observed export, the seeded
ABC-SMC (reproducible, resumable), recovery of a known parameter, and what-ifs over
a posterior (`guanxi compare --posterior`).

Runs are tiny (hundreds of users, weeks of days, populations of a few particles);
the coverage study is ``benchmarks/bench_calibrate.py``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.inference.abc import run_calibration
from sim.inference.observed import simulated_table
from sim.inference.outputs import parameter_summary, posterior_frame, read_history, write_outputs
from sim.inference.posterior import load_posterior
from sim.inference.spec import CalibrationError, load_calibration
from sim.inference.synthetic import synthetic_export
from sim.runner import firm_market_frame, run_model
from sim.scenario import load_scenario

PAID_REACH = "firms.ours.strategies.china.paid_reach"


def write_calibration(
    folder: Path,
    *,
    n_users: int = 300,
    days: int = 21,
    frequency: str = "daily",
    population: int = 5,
    generations: int = 1,
    parameters: str | None = None,
    observed: pd.DataFrame | None = None,
    budget: str = "",
    columns: str = '[observed.columns]\nfollowers = "followers"\nimpressions = "impressions"\n',
    seed: int = 3,
) -> Path:
    """A calibration of china_entry's paid reach in China from a synthetic export."""
    if observed is None:
        base = load_scenario("china_entry", {"model.n_users": n_users})
        observed = synthetic_export(
            base,
            {PAID_REACH: 0.006},
            "ours",
            days,
            99,
            frequency=frequency,
            metrics=("followers", "impressions"),
        )
    observed.to_csv(folder / "observed.csv", index=False)
    parameters = parameters or (
        f'[[parameters]]\npath = "{PAID_REACH}"\nprior = "uniform"\nlow = 0.0\nhigh = 0.02\n'
    )
    path = folder / "cal.toml"
    path.write_text(
        f"""[calibration]
scenario = "china_entry"
seed = {seed}
start_date = "2025-01-06"
fixed = {{ "model.n_users" = {n_users} }}

[observed]
file = "observed.csv"
frequency = "{frequency}"
market_column = "market"
{columns}
{parameters}
[budget]
population_size = {population}
generations = {generations}
predictive_draws = 2
{budget}
"""
    )
    return path


def quiet(_line: str) -> None:
    pass


# --------------------------------------------------------------------------- bad input
def cli_error(capsys, *args: str) -> str:
    code = main(["calibrate", *args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_missing_calibration_file(capsys, tmp_path):
    err = cli_error(capsys, str(tmp_path / "nope.toml"))
    assert "no such calibration file" in err


def test_missing_observed_file(capsys, tmp_path):
    path = write_calibration(tmp_path)
    (tmp_path / "observed.csv").unlink()
    err = cli_error(capsys, str(path), "--out", str(tmp_path / "out"))
    assert "observed.file" in err and "no such file" in err


def test_no_usable_column(capsys, tmp_path):
    frame = pd.DataFrame({"date": ["2025-01-06", "2025-01-07"], "market": "china", "x": [1, 2]})
    path = write_calibration(tmp_path, observed=frame, columns="")
    err = cli_error(capsys, str(path))
    assert "no usable column" in err


def test_empty_columns_have_no_usable_values(tmp_path):
    frame = pd.DataFrame(
        {"date": ["2025-01-06", "2025-01-07"], "market": "china", "followers": [None, None]}
    )
    path = write_calibration(tmp_path, observed=frame, columns="")
    with pytest.raises(CalibrationError, match="no usable values"):
        load_calibration(path)


def test_dates_out_of_order(capsys, tmp_path):
    frame = pd.DataFrame(
        {
            "date": ["2025-01-06", "2025-01-08", "2025-01-07"],
            "market": "china",
            "followers": [1.0, 2.0, 3.0],
            "impressions": [1.0, 2.0, 3.0],
        }
    )
    path = write_calibration(tmp_path, observed=frame)
    err = cli_error(capsys, str(path))
    assert "row 4" in err and "out of order" in err


def test_metric_the_model_does_not_produce(capsys, tmp_path):
    path = write_calibration(tmp_path, columns='[observed.columns]\nlikes = "followers"\n')
    err = cli_error(capsys, str(path))
    assert "does not produce 'likes'" in err


def test_unknown_market_and_column(tmp_path):
    frame = pd.DataFrame({"date": ["2025-01-06"], "market": "mars", "followers": [1.0]})
    path = write_calibration(tmp_path, observed=frame, columns="")
    with pytest.raises(CalibrationError, match="market 'mars'.*allowed: western_europe, china"):
        load_calibration(path)
    frame = pd.DataFrame({"date": ["2025-01-06"], "market": "china", "followers": [1.0]})
    path = write_calibration(tmp_path, observed=frame, columns='[observed.columns]\nreach = "r"\n')
    with pytest.raises(CalibrationError, match="no column 'r'"):
        load_calibration(path)


@pytest.mark.parametrize(
    "prior, message",
    [
        ('prior = "uniform"\nlow = -0.1\nhigh = 0.02', r"low: -0.1 is outside .*>= 0 and <= 1"),
        ('prior = "uniform"\nlow = 0.0\nhigh = 1.5', r"high: 1.5 is outside"),
        ('prior = "normal"\nmean = 2.0\nsd = 0.1', r"mean: 2 is outside"),
        ('prior = "loguniform"\nlow = 0.0\nhigh = 0.1', r"loguniform' needs low > 0"),
        ('prior = "uniform"\nlow = 0.2\nhigh = 0.1', r"must be below high"),
    ],
)
def test_prior_outside_bounds(capsys, tmp_path, prior, message):
    parameters = f'[[parameters]]\npath = "{PAID_REACH}"\n{prior}\n'
    path = write_calibration(tmp_path, parameters=parameters)
    err = cli_error(capsys, str(path))
    assert "parameters." + PAID_REACH in err
    import re

    assert re.search(message, err), err


def test_parameter_kind_and_path(tmp_path):
    bad_kind = '[[parameters]]\npath = "model.steps"\nlow = 100.0\nhigh = 200.0\n'
    path = write_calibration(tmp_path, parameters=bad_kind)
    with pytest.raises(CalibrationError, match="only number parameters"):
        load_calibration(path)
    bad_path = '[[parameters]]\npath = "markets.china.organic_rech"\nlow = 0.0\nhigh = 0.2\n'
    path = write_calibration(tmp_path, parameters=bad_path)
    with pytest.raises(CalibrationError, match="did you mean 'organic_reach'"):
        load_calibration(path)


def test_schema_errors_name_the_key(tmp_path):
    path = write_calibration(tmp_path, budget="populaton_size = 3")
    with pytest.raises(CalibrationError, match="unknown key 'budget.populaton_size'"):
        load_calibration(path)
    path = write_calibration(tmp_path, population=1)
    with pytest.raises(CalibrationError, match=r"budget.population_size.*allowed: >= 2"):
        load_calibration(path)


# --------------------------------------------------------------------------- observed
def test_weekly_periods_match_the_model(tmp_path):
    """The export made from a run and the same run read as statistics agree cell by cell."""
    path = write_calibration(tmp_path, n_users=300, days=28, frequency="weekly")
    plan = load_calibration(path)
    assert plan.days == 28 and plan.observed.frequency == "weekly"
    base = load_scenario("china_entry", {"model.n_users": 300})
    spec = base.model_copy(deep=True)
    from sim.scenario import scenario_from_data

    spec = scenario_from_data(base.model_dump(mode="json"), "t", {PAID_REACH: 0.006})
    simulated = simulated_table(firm_market_frame(run_model(spec, 28, 99)), plan.observed, "ours")
    np.testing.assert_allclose(simulated.value, plan.observed.table.value, atol=0.01)


def test_gaps_are_allowed(tmp_path):
    frame = pd.DataFrame(
        {
            "date": ["2025-01-06", "2025-01-09", "2025-01-10"],
            "market": "china",
            "followers": [1.0, None, 3.0],
            "impressions": ["", "5", "7"],
        }
    )
    plan = load_calibration(write_calibration(tmp_path, observed=frame))
    assert len(plan.observed.table) == 4 and plan.days == 5


# --------------------------------------------------------------------------- the run
def posterior_of(out: Path) -> pd.DataFrame:
    return posterior_frame(read_history(out))


def test_reproducible_on_any_number_of_workers(tmp_path):
    from sim.sweep.engines import make_engine

    plan = load_calibration(write_calibration(tmp_path))
    run_calibration(plan, tmp_path / "one", report=quiet)
    with make_engine(2) as engine:
        run_calibration(plan, tmp_path / "two", engine.executor, 2, report=quiet)
    one, two = posterior_of(tmp_path / "one"), posterior_of(tmp_path / "two")
    pd.testing.assert_frame_equal(one, two)
    other = load_calibration(plan.source, seed=4)
    run_calibration(other, tmp_path / "seed4", report=quiet)
    assert not np.allclose(posterior_of(tmp_path / "seed4")[PAID_REACH], one[PAID_REACH])


def test_resume_keeps_finished_generations(tmp_path, capsys):
    path = write_calibration(tmp_path, generations=1)
    out = tmp_path / "out"
    assert main(["calibrate", str(path), "--out", str(out)]) == 0
    first = read_history(out).get_population(t=0).particles
    capsys.readouterr()
    # Without --resume the directory is refused; with a larger budget it goes on.
    err = cli_error(capsys, str(path), "--out", str(out))
    assert "--resume" in err
    path.write_text(path.read_text().replace("generations = 1", "generations = 2"))
    assert main(["calibrate", str(path), "--out", str(out), "--resume"]) == 0
    history = read_history(out)
    assert history.n_populations == 2
    again = history.get_population(t=0).particles
    assert [p.parameter[PAID_REACH] for p in again] == [p.parameter[PAID_REACH] for p in first]
    for name in (
        "posterior.parquet",
        "diagnostics.csv",
        "posterior.png",
        "predictive.png",
        "report.md",
        "predictive.parquet",
    ):
        assert (out / name).is_file(), name
    diagnostics = pd.read_csv(out / "diagnostics.csv")
    assert list(diagnostics.generation) == [0, 1]
    assert (diagnostics.ess > 0).all() and diagnostics.acceptance_rate.between(0, 1).all()
    assert "What the data pinned down" in (out / "report.md").read_text()
    # A different calibration in the same directory is refused.
    path.write_text(path.read_text().replace("high = 0.02", "high = 0.03"))
    err = cli_error(capsys, str(path), "--out", str(out), "--resume")
    assert "different calibration" in err


def test_empty_posterior_keeps_the_database(tmp_path, capsys):
    path = write_calibration(tmp_path, budget="max_simulations = 2")
    out = tmp_path / "out"
    err = cli_error(capsys, str(path), "--out", str(out))
    assert "empty posterior" in err and "history.db" in err
    assert (out / "history.db").is_file()


@pytest.mark.slow
def test_recovers_a_known_parameter(tmp_path):
    """Synthetic data at paid reach 0.006: the 90% credible interval holds it and is
    narrower than the prior's. Seeded, so it passes or fails the same way each time."""
    path = write_calibration(
        tmp_path,
        n_users=1000,
        days=56,
        frequency="weekly",
        population=20,
        generations=3,
        seed=5,
    )
    plan = load_calibration(path)
    run_calibration(plan, tmp_path / "out", report=quiet)
    summary = parameter_summary(plan, posterior_of(tmp_path / "out")).iloc[0]
    assert summary.posterior_q05 <= 0.006 <= summary.posterior_q95, summary
    assert summary.width_ratio < 0.6, summary
    assert abs(summary.posterior_median - 0.006) < 0.003, summary


# --------------------------------------------------------------------------- what-ifs
def fake_posterior(folder: Path) -> Path:
    folder.mkdir()
    pd.DataFrame(
        {PAID_REACH: [0.001, 0.01], "weight": [0.5, 0.5], "distance": [1.0, 1.0]}
    ).to_parquet(folder / "posterior.parquet")
    (folder / "run.json").write_text('{"scenario": "china_entry", "name": "fake"}')
    return folder


def test_posterior_draws_are_seeded(tmp_path):
    posterior = load_posterior(fake_posterior(tmp_path / "post"))
    draws = posterior.draws(7, 20)
    assert draws == posterior.draws(7, 20)
    assert draws[:5] == posterior.draws(7, 5)  # more replications only add draws
    assert {d[PAID_REACH] for d in draws} == {0.001, 0.01}


def test_compare_over_a_posterior(tmp_path, capsys):
    post = fake_posterior(tmp_path / "post")
    args = [
        "compare",
        "china_entry",
        "--set",
        "model.n_users=200",
        "--steps",
        "5",
        "--reps",
        "2",
        "--b",
        "firms.ours.strategies.china.localisation=1.0",
    ]
    assert main([*args, "--posterior", str(post)]) == 0
    out = capsys.readouterr().out
    assert "parameters from the posterior" in out and PAID_REACH in out
    code = main([*args, "--posterior", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "no posterior.parquet" in err


def test_bundled_example_loads():
    plan = load_calibration("china_entry_example")
    assert len(plan.priors) == 3 and plan.observed.frequency == "weekly"
    assert plan.observed.start_date == dt.date(2025, 1, 6)
    assert (
        "synthetic"
        in pd.read_csv(Path(plan.source).parent / plan.spec.observed.file).source.iloc[0]
    )


def test_outputs_can_be_rewritten(tmp_path):
    plan = load_calibration(write_calibration(tmp_path))
    out = tmp_path / "out"
    run = run_calibration(plan, out, report=quiet)
    written = write_outputs(plan, out, run, report=quiet)
    assert {p.name for p in written} >= {"posterior.parquet", "report.md", "posterior.png"}
    posterior = pd.read_parquet(out / "posterior.parquet")
    assert posterior.weight.sum() == pytest.approx(1.0)
    assert len(posterior) == 5


def stored_generations(database: Path) -> int:
    import sqlite3

    if not database.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM populations WHERE t >= 0").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_killed_calibration_resumes(tmp_path):
    """kill -9 after the first generation is stored: --resume keeps it and goes on."""
    import os
    import signal
    import subprocess
    import sys
    import time

    path = write_calibration(tmp_path, generations=3, population=4, days=14)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "sim", "calibrate", str(path), "--out", str(out)]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while stored_generations(out / "history.db") < 1 and child.poll() is None:
            assert time.monotonic() < deadline, "no generation stored in 300 s"
            time.sleep(0.2)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    kept = stored_generations(out / "history.db")
    assert kept >= 1
    first = [p.parameter[PAID_REACH] for p in read_history(out).get_population(t=0).particles]
    assert main(["calibrate", str(path), "--out", str(out), "--resume"]) == 0
    history = read_history(out)
    assert history.n_populations == 3
    assert [p.parameter[PAID_REACH] for p in history.get_population(t=0).particles] == first
    assert (out / "posterior.parquet").is_file()
