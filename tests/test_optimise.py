"""guanxi optimise: the search finds a known optimum, resumes alike, is reproducible by seed.

Most tests use a synthetic model with a known best point (tests/optimise_support.py)
through the optimiser's real machinery (optuna's NSGA-II in SQLite, run records,
re-evaluation); one test runs the real model through the CLI, kills it and resumes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.optimise.report import reevaluate, robust_table
from sim.optimise.robust import hypervolume, measure, noise_status, pareto_mask
from sim.optimise.search import (
    SEARCH_DIR,
    pareto_candidates,
    prepare_directory,
    run_search,
    search_table,
)
from sim.optimise.spec import load_optimisation
from tests.optimise_support import (
    BEST_POSTS,
    BEST_RESPONSIVENESS,
    POSTS,
    RESPONSIVENESS,
    SYNTHETIC,
    InlineEngine,
    synthetic_run,
)

ROOT = Path(__file__).resolve().parents[1]
GUANXI = [sys.executable, "-m", "sim"]


def optimise(folder: Path, seed: int = 1, population: int = 10, generations: int = 6, **kw):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "syn.toml"
    text = SYNTHETIC.format(seed=seed, population=population, generations=generations)
    path.write_text(text.replace("final_scenarios = 4", kw.pop("final", "final_scenarios = 4")))
    plan = load_optimisation(path)
    out = folder / "out"
    prepare_directory(plan, out, resume=kw.pop("resume", False))
    with InlineEngine() as engine:
        run_search(plan, out, engine, run_function=synthetic_run, **kw)
        table = search_table(plan, out)
        candidates = pareto_candidates(plan, table)
        records = reevaluate(plan, out, engine, candidates, table, run_function=synthetic_run)
    return plan, table, robust_table(plan, candidates, table, records)


def test_finds_the_known_optimum_within_tolerance_in_60_evaluations(tmp_path):
    # 10 candidates x 6 generations = 60 evaluations (each 3 market states x 2 runs).
    # Both outcomes are best at posts_per_day 3.0, responsiveness 0.7.
    plan, table, robust = optimise(tmp_path, seed=1)
    assert len(table) == 60
    best = table.sort_values("attitude@30").iloc[-1]
    assert abs(best[POSTS] - BEST_POSTS) <= 0.75  # of a range 0..8
    assert abs(best[RESPONSIVENESS] - BEST_RESPONSIVENESS) <= 0.15  # of 0..1
    contenders = robust[robust.standing != "dominated"]
    assert not contenders.empty
    for _, row in contenders.iterrows():
        assert abs(row[POSTS] - BEST_POSTS) <= 0.75
        assert abs(row[RESPONSIVENESS] - BEST_RESPONSIVENESS) <= 0.15
        # 95% CI around the re-evaluated estimate, and the line that reproduces it
        assert row["attitude@30 low"] <= row["attitude@30"] <= row["attitude@30 high"]
        assert f"--set {POSTS}={row[POSTS]!r}" in row.set_line


def test_resume_after_interruption_gives_the_same_result(tmp_path):
    _, table, robust = optimise(tmp_path / "whole", seed=3, population=6, generations=3)
    with pytest.raises(KeyboardInterrupt):  # stopped in generation 2, mid-way
        optimise(tmp_path / "split", seed=3, population=6, generations=3, stop_after_runs=50)
    done = len(list((tmp_path / "split" / "out" / SEARCH_DIR).glob("*.parquet")))
    assert 0 < done < 6 * 3 * 6
    _, table2, robust2 = optimise(
        tmp_path / "split", seed=3, population=6, generations=3, resume=True
    )
    pd.testing.assert_frame_equal(table, table2)
    pd.testing.assert_frame_equal(robust, robust2)


def test_another_seed_gives_another_search_and_the_same_seed_the_same(tmp_path):
    _, a, _ = optimise(tmp_path / "a", seed=5, population=4, generations=2)
    _, b, _ = optimise(tmp_path / "b", seed=5, population=4, generations=2)
    _, c, _ = optimise(tmp_path / "c", seed=6, population=4, generations=2)
    pd.testing.assert_frame_equal(a, b)
    assert not a[[POSTS, RESPONSIVENESS]].equals(c[[POSTS, RESPONSIVENESS]])


def test_constraints_keep_candidates_within_the_budget(tmp_path):
    text = SYNTHETIC.format(seed=2, population=6, generations=2) + (
        '\n[[constraints]]\nname = "posting budget"\n'
        'terms = { "firms.ours.strategies.china.posts_per_day" = 300.0 }\nat_most = 600.0\n'
    )
    path = tmp_path / "c.toml"
    path.write_text(text)
    plan = load_optimisation(path)
    out = tmp_path / "out"
    prepare_directory(plan, out, False)
    with InlineEngine() as engine:
        run_search(plan, out, engine, run_function=synthetic_run)
    table = search_table(plan, out)
    assert (table[table.feasible][POSTS] <= 2.0).all()
    assert (~table.feasible).sum() > 0  # proposed, refused without a run
    ran = {int(p.name[1:6]) for p in (out / SEARCH_DIR).glob("*.parquet")}
    assert ran == set(table[table.feasible].candidate)
    assert set(pareto_candidates(plan, table)) <= set(table[table.feasible].candidate)


def test_robustness_measures_and_noise():
    from sim.optimise.spec import Objective

    mean = Objective("profit", "maximise", 30, "mean", 0, "")
    low = Objective("profit", "maximise", 30, "percentile", 10, "")
    regret = Objective("profit", "maximise", 30, "regret", 0, "")
    units = np.array([[1.0, 2.0, 3.0], [3.0, 1.0, 1.0]])
    assert measure(mean, units).tolist() == [2.0, pytest.approx(5 / 3)]
    assert measure(low, units)[0] == pytest.approx(1.2)
    # best per state: 3, 2, 3 -> regrets (2, 0, 0) and (0, 1, 2): worst 2 and 2
    assert measure(regret, units).tolist() == [2.0, 2.0]
    assert pareto_mask(np.array([[1, 1], [2, 2], [0, 3]])).tolist() == [False, True, True]
    assert hypervolume(np.array([[0.0, 0.5], [0.5, 0.0]]), np.array([1.0, 1.0])) == 0.75
    # candidate 1 a hair below 0 on both goals, in noise: dominated within noise
    objectives = [mean, Objective("attitude", "maximise", 30, "mean", 0, "")]
    rng = np.random.default_rng(0)
    draws = rng.normal(size=(1000, 1, 2)) + np.array([[[0.0, 0.0]]])
    resampled = np.concatenate([draws, draws - 0.001 + rng.normal(0, 1, (1000, 1, 2))], axis=1)
    status = noise_status(objectives, np.array([[0.0, 0.0], [-0.001, -0.001]]), resampled)
    assert status == [("pareto", None), ("dominated within noise", 0)]
    clear = np.concatenate([draws, draws - 5.0], axis=1)
    status = noise_status(objectives, np.array([[0.0, 0.0], [-5.0, -5.0]]), clear)
    assert status[1] == ("dominated", 0)


TINY_REAL = """
[optimisation]
scenario = "china_entry"
seed = 11
steps = 20
population = 4
generations = 2
scenarios = 2
replications = 1
final_scenarios = 2
final_replications = 1
final_candidates = 2

[optimisation.fixed]
"model.n_users" = 400

[[decisions]]
path = "firms.ours.strategies.china.posts_per_day"
low = 0.5
high = 6.0
step = 0.5

[[decisions]]
path = "firms.ours.strategies.china.shop"

[[objectives]]
outcome = "china.attitude"

[[objectives]]
outcome = "profit"
robustness = "regret"

[[uncertainties]]
path = "markets.china.organic_reach"
low = 0.05
high = 0.2
"""


def _cli(*args, **kw):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [*GUANXI, *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300, **kw
    )


@pytest.mark.slow
def test_cli_real_model_killed_and_resumed_equals_a_whole_run_on_other_workers(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_REAL)
    whole = _cli("optimise", str(path), "--out", str(tmp_path / "whole"), "--workers", "1")
    assert whole.returncode == 0, whole.stderr
    for name in ("pareto.parquet", "pareto.md", "pareto_front.png", "convergence.png"):
        assert (tmp_path / "whole" / name).is_file()
    assert (
        "guanxi run china_entry --steps 20 --set model.n_users=400 --set"
        in (tmp_path / "whole" / "pareto.md").read_text()
    )

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = tmp_path / "split"
    proc = subprocess.Popen(
        [*GUANXI, "optimise", str(path), "--out", str(out), "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / SEARCH_DIR).glob("*.parquet"))) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "pareto.parquet").exists()
    again = _cli("optimise", str(path), "--out", str(out), "--workers", "2", "--resume")
    assert again.returncode == 0, again.stderr
    a = pd.read_parquet(tmp_path / "whole" / "pareto.parquet")
    b = pd.read_parquet(out / "pareto.parquet")
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "whole" / "trials.parquet"),
        pd.read_parquet(out / "trials.parquet"),
    )


def test_report_and_discover_on_an_optimisation(tmp_path, capsys):
    from sim.cli import main
    from sim.optimise.report import write_report
    from sim.optimise.search import FINAL_DIR, read_runs

    plan, table, robust = optimise(
        tmp_path, seed=2, population=6, generations=2, final="final_scenarios = 10"
    )
    out = tmp_path / "out"
    records = read_runs(out / FINAL_DIR)
    write_report(plan, out, table, robust, records)
    for name in ("pareto.md", "pareto.parquet", "pareto_front.png", "convergence.png"):
        assert (out / name).stat().st_size > 0
    text = (out / "pareto.md").read_text()
    assert "95% confidence intervals" in text and "guanxi compare china_entry --steps 30" in text
    runs = pd.read_parquet(out / "robustness.parquet")
    threshold = float(runs["attitude@30"].median())
    code = main(["discover", str(out), "--outcome", "attitude", "--below", str(threshold)])
    assert code == 0, capsys.readouterr().err
    box = (out / "discover-attitude-day30" / "box.json").read_text()
    assert "markets.china.organic_reach" in box  # lower reach, lower attitude
    code = main(["discover", str(out), "--outcome", "attitude", "--below", "0", "--strategy", "S9"])
    assert code == 2 and "--strategy S9: allowed: S1" in capsys.readouterr().err
    code = main(["discover", str(out), "--outcome", "attitude", "--below", "-5"])
    assert code == 2 and "no run has attitude@30 below it" in capsys.readouterr().err


# --------------------------------------------------------------------------- a posterior
PAID_REACH = "firms.ours.strategies.china.paid_reach"
REACH = "markets.china.organic_reach"


def fake_posterior(folder: Path, scenario: str = "china_entry", path: str = REACH) -> Path:
    """A finished calibration's directory as `guanxi calibrate` leaves it (particles, run.json)."""
    folder.mkdir(parents=True)
    pd.DataFrame(
        {path: [0.06, 0.1, 0.15], "weight": [0.2, 0.3, 0.5], "distance": [1.0, 1.0, 1.0]}
    ).to_parquet(folder / "posterior.parquet")
    (folder / "run.json").write_text(f'{{"scenario": "{scenario}", "name": "fake"}}')
    return folder


def posterior_file(
    folder: Path, seed: int = 1, uncertainties: bool = False, key: bool = True
) -> Path:
    """The synthetic optimisation with ``posterior = "post"`` (unless not ``key``: then
    --posterior gives it), with its sampled reach or not."""
    text = SYNTHETIC.format(seed=seed, population=4, generations=2)
    if not uncertainties:
        text = text.split("[[uncertainties]]")[0]
    if key:
        text = text.replace(
            'scenario = "china_entry"', 'scenario = "china_entry"\nposterior = "post"'
        )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "syn.toml").write_text(text)
    return folder / "syn.toml"


def test_market_states_from_a_posterior_are_seeded_and_within_its_support(tmp_path):
    from sim.optimise.search import FINAL_DIR, market_states

    fake_posterior(tmp_path / "post")
    plan = load_optimisation(posterior_file(tmp_path))
    search = market_states(plan, SEARCH_DIR)
    final = market_states(plan, FINAL_DIR)
    assert len(search) == 3 and len(final) == 4
    assert search == market_states(load_optimisation(posterior_file(tmp_path)), SEARCH_DIR)
    assert {s[REACH] for s in search + final} <= {0.06, 0.1, 0.15}
    assert len({s[REACH] for s in search + final}) > 1  # a draw per state, not one for all
    option = load_optimisation(
        posterior_file(tmp_path / "option", key=False), posterior=tmp_path / "post"
    )
    assert market_states(option, FINAL_DIR) == final  # --posterior DIR: the same draws
    reseeded = load_optimisation(
        posterior_file(tmp_path / "option", seed=7, key=False), posterior=tmp_path / "post"
    )
    assert (
        market_states(reseeded, SEARCH_DIR) != search or market_states(reseeded, FINAL_DIR) != final
    )  # another seed, other draws
    # combined with a sampled uncertainty: both in every state
    fake_posterior(tmp_path / "both" / "post", path=PAID_REACH)
    both = load_optimisation(posterior_file(tmp_path / "both", uncertainties=True))
    for state in market_states(both, SEARCH_DIR):
        assert 0.05 <= state[REACH] <= 0.2 and state[PAID_REACH] in {0.06, 0.1, 0.15}


def test_an_optimisation_over_a_posterior_reports_it_and_checks_it_on_resume(tmp_path):
    from sim.optimise.report import write_report
    from sim.optimise.search import FINAL_DIR, read_runs
    from sim.optimise.spec import OptimiseError

    post = fake_posterior(tmp_path / "post")
    plan = load_optimisation(posterior_file(tmp_path))
    out = tmp_path / "out"
    prepare_directory(plan, out, resume=False)
    with InlineEngine() as engine:
        run_search(plan, out, engine, run_function=synthetic_run)
        table = search_table(plan, out)
        candidates = pareto_candidates(plan, table)
        records = reevaluate(plan, out, engine, candidates, table, run_function=synthetic_run)
    write_report(plan, out, table, robust_table(plan, candidates, table, records), records)
    text = (out / "pareto.md").read_text()
    assert "uncertainty from a calibration posterior" in text and REACH in text
    runs = pd.DataFrame(list(read_runs(out / FINAL_DIR).values()))
    assert set(runs[REACH]) <= {0.06, 0.1, 0.15}
    prepare_directory(load_optimisation(posterior_file(tmp_path)), out, resume=True)
    pd.DataFrame({REACH: [0.3], "weight": [1.0]}).to_parquet(post / "posterior.parquet")
    with pytest.raises(OptimiseError, match="the calibration posterior differs"):
        prepare_directory(load_optimisation(posterior_file(tmp_path)), out, resume=True)
