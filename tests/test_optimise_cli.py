"""guanxi optimise / discover: bad input is one line and exit 2; PRIM finds a planted box."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.optimise.discover import run_cart, run_prim
from sim.optimise.spec import bundled_optimisations, load_optimisation
from tests.optimise_support import SYNTHETIC

GOOD = SYNTHETIC.format(seed=1, population=4, generations=2)


def run_cli(capsys, *args) -> tuple[int, str]:
    code = main(list(args))
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            (
                'path = "firms.ours.strategies.china.posts_per_day"',
                'path = "firms.ours.strategies.china.post_per_day"',
            ),
            "decisions.firms.ours.strategies.china.post_per_day",
        ),
        (('outcome = "attitude"', 'outcome = "atitude"'), "objectives.atitude: not an outcome"),
        (("high = 8.0", "high = 80.0"), "80 out of bounds; allowed: >= 0 and <= 50"),
        (("population = 4", "population = 1"), "optimisation.population"),
        (("[[uncertainties]]", "[[uncertainty]]"), "unknown key 'uncertainty'"),
        (('robustness = "mean"', 'robustness = "median"'), "objectives.attitude.robustness"),
        (("step = 0.25", "step = 0.3"), "not a whole number of steps"),
        (("seed = 1", "seed = 1\nseed = 2"), "malformed TOML"),
    ],
)
def test_bad_files_give_one_line_and_exit_2(tmp_path, capsys, change, expected):
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace(*change, 1))
    code, err = run_cli(capsys, "optimise", str(path), "--out", str(tmp_path / "out"))
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert expected in err and str(path) in err
    assert not (tmp_path / "out").exists()


def test_a_constraint_no_candidate_can_meet(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(
        GOOD + '\n[[constraints]]\nname = "budget"\n'
        'terms = { "firms.ours.strategies.china.posts_per_day" = 300.0, '
        '"firms.ours.strategies.china.budget" = 1.0 }\nat_most = 1000.0\n'
    )
    code, err = run_cli(capsys, "optimise", str(path), "--out", str(tmp_path / "out"))
    assert code == 2 and err.count("\n") == 1
    assert "constraints.budget: no candidate can meet it" in err


def test_one_objective_is_refused(tmp_path, capsys):
    text = GOOD.split("[[objectives]]")
    path = tmp_path / "one.toml"
    path.write_text(
        text[0]
        + "[[objectives]]"
        + text[1]
        + "\n[[uncertainties]]"
        + GOOD.split("[[uncertainties]]")[1]
    )
    code, err = run_cli(capsys, "optimise", str(path))
    assert code == 2 and "objectives" in err and "at least 2" in err


def test_a_directory_with_other_results_is_refused(tmp_path, capsys):
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("")
    code, err = run_cli(capsys, "optimise", str(path), "--out", str(tmp_path / "out"))
    assert code == 2 and "not empty" in err
    code, err = run_cli(capsys, "optimise", str(path), "--out", str(tmp_path / "out"), "--resume")
    assert code == 2 and "holds no optimisation" in err


def test_the_bundled_example_loads():
    assert "china_entry" in bundled_optimisations()
    plan = load_optimisation("china_entry")
    assert len(plan.objectives) >= 2 and len(plan.uncertainties) == 3
    assert {u.path for u in plan.uncertainties} == {
        "markets.china.dependency_mean",
        "markets.china.content_regulation",
        "markets.china.organic_reach",
    }


# --------------------------------------------------------------------------- discover
def planted(n: int = 1000, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    """Failures where organic reach < 0.1 and regulation > 0.2 (and nowhere else)."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(
        {
            "markets.china.organic_reach": rng.uniform(0.05, 0.2, n),
            "markets.china.content_regulation": rng.uniform(0.05, 0.3, n),
            "markets.china.dependency_mean": rng.uniform(0.5, 0.8, n),
        }
    )
    fails = (x["markets.china.organic_reach"] < 0.1) & (x["markets.china.content_regulation"] > 0.2)
    return x, fails.to_numpy()


def test_prim_recovers_a_planted_box():
    x, y = planted()
    _, trajectory, limits, chosen, box_init = run_prim(x, y, 0.8)
    reach = limits["markets.china.organic_reach"]
    regulation = limits["markets.china.content_regulation"]
    assert reach.iloc[1] == pytest.approx(0.1, abs=0.01)
    assert regulation.iloc[0] == pytest.approx(0.2, abs=0.015)
    dependency = limits["markets.china.dependency_mean"]  # left unrestricted (near enough)
    assert dependency.iloc[0] < 0.53 and dependency.iloc[1] > 0.77
    assert trajectory.density[chosen] >= 0.8 and trajectory.coverage[chosen] >= 0.8
    cart = run_cart(x, y)
    assert cart and cart[0]["density"] > 0.8


def fake_sweep(folder: Path, x: pd.DataFrame, profit: np.ndarray) -> Path:
    """A sweep's results directory as `guanxi sweep` writes it (only what discover reads)."""
    from sim.sweep.manifest import FORMAT

    (folder / "runs").mkdir(parents=True)
    factors = [{"path": c, "kind": "float"} for c in x.columns]
    manifest = {"format": FORMAT, "design": {"factors": factors}, "outcomes": ["profit"]}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    frame = x.assign(run=range(len(x)), step=30, profit=profit, status="ok")
    for i in range(0, len(frame), 100):
        frame.iloc[i : i + 100].to_parquet(folder / "runs" / f"run-{i:08d}.parquet")
    return folder


def test_discover_on_a_sweep_writes_the_box_and_charts(tmp_path, capsys):
    x, y = planted(600, seed=2)
    folder = fake_sweep(tmp_path / "sweep", x, np.where(y, -100.0, 100.0))
    code = main(["discover", str(folder), "--outcome", "profit", "--below", "0"])
    out = capsys.readouterr().out
    assert code == 0
    result = folder / "discover-profit"
    for name in ("peeling.csv", "box.json", "discover.md", "cart.md", "peeling.png", "box.png"):
        assert (result / name).is_file()
    box = json.loads((result / "box.json").read_text())
    assert set(box["limits"]) >= {"markets.china.organic_reach", "markets.china.content_regulation"}
    assert box["limits"]["markets.china.organic_reach"]["high"] == pytest.approx(0.1, abs=0.01)
    assert "coverage" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--outcome", "profit", "--below", "-1000"], "no run has profit below it"),
        (["--outcome", "profit", "--above", "-1000"], "every run has profit above it"),
        (["--outcome", "revenue", "--below", "0"], "not recorded by this sweep; recorded: profit"),
        (["--outcome", "profit", "--below", "0", "--strategy", "S1"], "--strategy: only for"),
    ],
)
def test_discover_bad_input_one_line_exit_2(tmp_path, capsys, args, expected):
    x, y = planted(200)
    folder = fake_sweep(tmp_path / "sweep", x, np.where(y, -100.0, 100.0))
    code, err = run_cli(capsys, "discover", str(folder), *args)
    assert code == 2 and err.count("\n") == 1 and expected in err, err


def test_discover_on_a_directory_that_is_no_results(tmp_path, capsys):
    code, err = run_cli(capsys, "discover", str(tmp_path), "--outcome", "profit", "--below", "0")
    assert code == 2 and "neither a sweep's results" in err


def test_decision_kinds_become_optuna_distributions(tmp_path):
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    from sim.optimise.search import distributions

    extra = """
[[decisions]]
path = "firms.ours.revision_interval"
low = 10
high = 60

[[decisions]]
path = "firms.ours.strategies.china.paid_reach"
low = 0.0001
high = 0.01
log = true

[[decisions]]
path = "firms.ours.seeks_partners"
"""
    path = tmp_path / "kinds.toml"
    path.write_text(GOOD.replace("[[objectives]]", extra + "\n[[objectives]]", 1))
    found = distributions(load_optimisation(path))
    assert found["firms.ours.revision_interval"] == IntDistribution(10, 60, step=1)
    assert found["firms.ours.strategies.china.paid_reach"] == FloatDistribution(
        0.0001, 0.01, log=True
    )
    assert found["firms.ours.seeks_partners"] == CategoricalDistribution([False, True])
    assert found["firms.ours.strategies.china.posts_per_day"] == FloatDistribution(
        0.0, 8.0, step=0.25
    )


def _posterior_case(tmp_path: Path, case: str) -> list[str]:
    """An optimisation file and the extra arguments of one bad-posterior case."""
    from tests.test_optimise import PAID_REACH, REACH, fake_posterior, posterior_file

    path = posterior_file(tmp_path, uncertainties=case == "clash")
    if case == "missing":
        return [str(path)]
    (tmp_path / "post").mkdir() if case == "empty" else None
    if case == "scenario":
        fake_posterior(tmp_path / "post", scenario="germany_entry")
    if case in ("clash", "both"):
        fake_posterior(tmp_path / "post", path=REACH if case == "clash" else PAID_REACH)
    if case == "both":
        return [str(path), "--posterior", str(tmp_path / "post")]
    return [str(path)]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing", "optimisation.posterior"),
        ("empty", "no posterior.parquet"),
        ("scenario", "calibrated on scenario 'germany_entry'"),
        ("clash", "is both an uncertainty and a parameter of the posterior"),
        ("both", "optimisation.posterior and --posterior both given"),
    ],
)
def test_bad_posteriors_give_one_line_and_exit_2(tmp_path, capsys, case, expected):
    args = _posterior_case(tmp_path, case)
    code, err = run_cli(capsys, "optimise", *args, "--out", str(tmp_path / "out"))
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert expected in err
    assert not (tmp_path / "out").exists()


def test_a_posterior_option_of_no_directory(tmp_path, capsys):
    path = tmp_path / "syn.toml"
    path.write_text(GOOD)
    code, err = run_cli(capsys, "optimise", str(path), "--posterior", str(tmp_path / "nothing"))
    assert code == 2 and err.count("\n") == 1 and "--posterior" in err and "not a directory" in err
