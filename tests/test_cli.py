"""The `guanxi` command: run, scenarios, compare, outputs and error handling."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from sim.cli import main

SMALL = ["--set", "model.n_users=600"]


def guanxi(*args: str) -> subprocess.CompletedProcess:
    """Run the real command in a subprocess (to see exit codes and stderr as a user does)."""
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, timeout=300
    )


def test_run_prints_summary_with_focal_firm_first(capsys):
    assert main(["run", "baseline", "--steps", "20", *SMALL]) == 0
    out = capsys.readouterr().out
    assert "baseline: 20 days" in out
    rows = [line for line in out.splitlines() if line.startswith("│")]
    # The focal firm first ("ours (focal)", which a narrow terminal wraps).
    assert rows[0].split("│")[1].strip() == "ours" and "(focal)" in out
    # Headers wrap in a narrow terminal: their words, and the currency.
    for word in ("attitude", "followers", "engagement", "purchases", "revenue", "EUR", "CRM"):
        assert word in out


def test_run_writes_outputs_and_they_are_byte_identical_for_the_same_seed(tmp_path):
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((first, "5"), (second, "5"), (other, "6")):
        assert (
            main(
                [
                    "run",
                    "baseline",
                    "--steps",
                    "15",
                    "--seed",
                    seed,
                    "--out",
                    str(out),
                    "--plot",
                    *SMALL,
                ]
            )
            == 0
        )
    names = sorted(p.name for p in first.iterdir())
    assert {
        "model.parquet",
        "firms.parquet",
        "firm_market.parquet",
        "guanxi_edges.parquet",
        "guanxi_events.parquet",
        "summary.json",
        "attitude_mean.png",
        "followers.png",
        "follower_share.png",
        "conversions.png",
    } <= set(names)
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert (first / "firm_market.parquet").read_bytes() != (
        other / "firm_market.parquet"
    ).read_bytes()
    summary = json.loads((first / "summary.json").read_text())
    assert summary["seed"] == 5 and summary["steps"] == 15
    assert summary["scenario"]["model"]["n_users"] == 600
    assert summary["version"]
    frame = pd.read_parquet(first / "firm_market.parquet")
    assert {"attitude_mean", "followers", "engagement_rate", "conversions", "revenue"} <= set(
        frame.columns
    )
    assert frame.step.max() == 15
    # What a user reads: people, shares and money in the currency; no simulated users.
    focal = summary["focal"]
    assert focal["currency"] == summary["scenario"]["model"]["currency"] == "EUR"
    for values in (focal, *focal["markets"].values()):
        assert not {"followers", "customers", "conversions"} & set(values)
    mine = frame[(frame.firm == focal["firm"]) & (frame.step == 15)]
    assert focal["followers_people"] == pytest.approx(mine.followers_people.sum(), abs=0.5)
    assert focal["followers_people"] > 600  # far more people than simulated users
    china = focal["markets"]["china"]
    # followers_people is rounded to whole people
    assert china["follower_share"] == pytest.approx(
        china["followers_people"] / china["population"], abs=0.5 / china["population"]
    )


def test_run_summary_counts_real_people():
    from sim.runner import firm_summary_rows, focal_outcomes, run_model
    from sim.scenario import load_scenario

    model = run_model(load_scenario("baseline", {"model.n_users": 600}), 10, 3)
    rows = firm_summary_rows(model)
    outcome = focal_outcomes(model)
    for row in rows[:2]:  # the focal firm's markets
        market = outcome["markets"][row["market"]]
        assert row["followers"] == round(market["followers_people"])
        assert row["conversions"] == round(market["conversions_people"])
        assert row["follower_share"] == pytest.approx(market["follower_share"])
    name = max(outcome["markets"], key=lambda m: outcome["markets"][m]["followers"])
    people = model.people_per_user[model.market_index[name]]
    assert people > 1000  # a simulated user stands for many people
    market = outcome["markets"][name]
    assert market["followers"] > 0
    assert market["followers_people"] == pytest.approx(market["followers"] * people)


def test_resolved_scenario_in_summary_reproduces_the_run(tmp_path):
    out = tmp_path / "run"
    assert (
        main(
            [
                "run",
                "baseline",
                "--steps",
                "10",
                "--out",
                str(out),
                *SMALL,
                "--set",
                "guanxi.enabled=false",
            ]
        )
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    from sim.scenario import scenario_from_data

    scenario_path = tmp_path / "resolved.toml"
    scenario_path.write_text(scenario_from_data(summary["scenario"], "summary").to_toml())
    again = tmp_path / "again"
    assert (
        main(
            [
                "run",
                str(scenario_path),
                "--steps",
                "10",
                "--seed",
                str(summary["seed"]),
                "--out",
                str(again),
            ]
        )
        == 0
    )
    assert (out / "firm_market.parquet").read_bytes() == (
        again / "firm_market.parquet"
    ).read_bytes()


def test_scenarios_lists_bundled_with_descriptions(capsys):
    assert main(["scenarios"]) == 0
    out = capsys.readouterr().out
    for name in ("baseline", "china_entry", "guanxi_partnerships", "social_commerce"):
        assert name in out


def test_compare_reports_a_b_and_difference_with_ci(capsys):
    code = main(
        [
            "compare",
            "social_commerce",
            "--reps",
            "3",
            "--steps",
            "60",
            "--set",
            "model.n_users=3000",
            "--a",
            "firms.ours.strategies.china.shop=false",
            "--b",
            "firms.ours.strategies.china.shop=true",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "B - A" in out and "common random numbers" in out
    conversions = next(line for line in out.splitlines() if line.startswith("│ Conversions"))
    assert "purchases by people" in conversions
    assert conversions.count("[") == 3  # A, B and B - A each with a CI


def test_compare_with_identical_variants_has_zero_difference(capsys):
    assert main(["compare", "baseline", "--reps", "2", "--steps", "10", *SMALL]) == 0
    out = capsys.readouterr().out
    followers = next(line for line in out.splitlines() if line.startswith("│ Followers (people)"))
    assert followers.rstrip(" │").endswith("0"), followers


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "nope.toml"], "no such file"),
        (["run", "baseline", "--set", "guanxi.enabld=false"], "did you mean 'enabled'"),
        (["run", "baseline", "--set", "markets.china.organic_reach=7"], "allowed: >= 0 and <= 1"),
        (["run", "baseline", "--steps", "0"], "expected a whole number 1..100000"),
        (["run", "baseline", "--seed", "-1"], "expected a seed"),
        (["run", "baseline", "--plot"], "--plot needs --out"),
        (["compare", "baseline", "--a", "model.steps=x"], "model.steps"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_traceback(args, expected):
    result = guanxi(*args)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_out_path_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    result = guanxi("run", "baseline", "--steps", "2", "--out", str(target), *SMALL)
    assert result.returncode == 2 and "not a directory" in result.stderr


def test_python_dash_m_sim_is_the_guanxi_command():
    result = guanxi("--help")
    assert result.returncode == 0 and "run" in result.stdout and "compare" in result.stdout
