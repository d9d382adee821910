"""A calibration posterior in the UI: finding, opening and refusing folders, and
comparisons whose replications draw the model's parameters from it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sim.errors import GuanxiError
from sim.inference.posterior import load_posterior, posterior_pairs
from tests.viz_support import small_session
from viz.comparison import UNCERTAINTY_NOTE, ComparisonRecord, ComparisonRequest, run_comparison
from viz.posterior import CalibrationPosterior, open_posterior, result_folders

REACH = "markets.china.organic_reach"
DEPENDENCY = "markets.china.dependency_mean"


def write_posterior(
    folder: Path,
    name: str = "china-test",
    scenario: str = "baseline",
    particles: dict[str, list[float]] | None = None,
) -> Path:
    """A small finished calibration of ``scenario``: three weighted particles of two
    market parameters (or of ``particles``)."""
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            **(particles or {REACH: [0.05, 0.12, 0.2], DEPENDENCY: [0.55, 0.65, 0.75]}),
            "weight": [0.2, 0.5, 0.3],
            "distance": [0.1, 0.2, 0.3],
        }
    ).to_parquet(folder / "posterior.parquet")
    (folder / "run.json").write_text(json.dumps({"name": name, "scenario": scenario}))
    return folder


@pytest.fixture
def posterior_dir(tmp_path) -> Path:
    return write_posterior(tmp_path / "calibrations" / "china")


def test_folders_are_found_and_opened_through_sim_inference(posterior_dir):
    session = small_session(n_users=200)
    assert result_folders(posterior_dir.parent.parent, "posterior.parquet") == [posterior_dir]
    posterior = open_posterior(str(posterior_dir), session.spec.model_dump(mode="json"))
    assert posterior.paths == (REACH, DEPENDENCY) and posterior.particles == 3
    # The CLI's draws (guanxi compare --posterior): same seed, same particles.
    assert posterior.draws(4, 7) == load_posterior(posterior_dir).draws(7, 4)
    words = posterior.describe("ours")
    assert "China market: organic reach" in words and "markets." not in words
    assert posterior == CalibrationPosterior(load_posterior(posterior_dir))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: "", "Posterior folder: type a folder"),
        (lambda tmp: str(tmp / "missing"), "not a folder"),
        (lambda tmp: str(tmp), "no posterior.parquet"),
        (lambda tmp: "x" * 2000, "not a folder path"),
    ],
)
def test_unusable_folders_are_refused_in_one_line(tmp_path, make, message):
    session = small_session(n_users=200)
    with pytest.raises(GuanxiError) as info:
        open_posterior(make(tmp_path), session.spec.model_dump(mode="json"))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_posterior_of_parameters_the_scenario_lacks_is_refused(tmp_path):
    folder = tmp_path / "mars"
    folder.mkdir()
    pd.DataFrame({"markets.mars.organic_reach": [0.1], "weight": [1.0]}).to_parquet(
        folder / "posterior.parquet"
    )
    session = small_session(n_users=200)
    assert not session.load_posterior(str(folder))
    assert "markets.mars.organic_reach" in session.posterior_error
    assert session.posterior is None
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "posterior.parquet").write_bytes(b"not parquet")
    assert not session.load_posterior(str(bad))
    assert "not readable" in session.posterior_error and "\n" not in session.posterior_error


def test_replication_r_of_a_and_b_uses_draw_r_and_the_variants_own_changes_win(posterior_dir):
    session = small_session(n_users=200)
    assert session.load_posterior(str(posterior_dir))
    session.set_compare_parameter("B", REACH, 0.3)
    session.set_compare_design(reps=4, steps=3, seed=11)
    request = session.compare_request()
    pairs = request.replication_variants()
    draws = load_posterior(posterior_dir).draws(11, 4)
    cli = posterior_pairs(session.spec, load_posterior(posterior_dir), [], [f"{REACH}=0.3"], 11, 4)
    for (a, b), draw, (cli_a, cli_b) in zip(pairs, draws, cli, strict=True):
        china_a = next(m for m in a.markets if m.name == "china")
        china_b = next(m for m in b.markets if m.name == "china")
        assert china_a.organic_reach == draw[REACH] and china_a.dependency_mean == draw[DEPENDENCY]
        assert china_b.organic_reach == 0.3 and china_b.dependency_mean == draw[DEPENDENCY]
        assert a == cli_a and b == cli_b  # as `guanxi compare --posterior` builds them
    assert len({draw[DEPENDENCY] for draw in draws}) > 1  # replications differ in parameters


def test_a_comparison_over_a_posterior_says_so_everywhere(posterior_dir):
    from viz.comparison import comparison_stamp
    from viz.report import comparison_report

    session = small_session(n_users=200)
    assert session.load_posterior(str(posterior_dir))
    request = ComparisonRequest(
        session.spec,
        {},
        {"guanxi.enabled": False},
        reps=2,
        steps=3,
        seed=5,
        posterior=session.posterior,
    )
    result = run_comparison(request)
    record = ComparisonRecord.of(1, result)
    text = " ".join(record.caveats)
    assert "include uncertainty in the model's parameters" in text
    assert "calibration posterior (Calibration 'china-test'" in text
    for key in ("attitude", "profit", "ties"):
        assert result.chart(key).title.endswith(UNCERTAINTY_NOTE)
    assert comparison_stamp(request)["posterior"] == str(posterior_dir)
    page = comparison_report([record])
    assert "Results include parameter uncertainty" in page
    assert f"--posterior {posterior_dir}" in page
    assert "include parameter uncertainty" in page  # the method says so too
    # Without a posterior: chance variation only, and no such label.
    plain = ComparisonRecord.of(
        2,
        run_comparison(
            ComparisonRequest(session.spec, {}, {"guanxi.enabled": False}, reps=2, steps=3, seed=5)
        ),
    )
    assert "not uncertainty in the model's parameters" in " ".join(plain.caveats)
    assert UNCERTAINTY_NOTE not in plain.result.chart("attitude").title


def test_the_session_keeps_results_under_their_own_posterior(posterior_dir):
    session = small_session(n_users=200)
    session.set_compare_design(reps=2, steps=2, seed=1)
    assert session.load_posterior(str(posterior_dir))
    done = []
    assert session.start_comparison(lambda: done.append(1))
    session.compare_job.join(60)
    assert session.compare_job.state == "done"
    assert session.current_comparison() is not None
    session.clear_posterior()
    assert session.current_comparison() is None  # another setting: no result shown
    assert session.load_posterior(str(posterior_dir))  # the same posterior again
    assert session.current_comparison() is not None


def test_the_posterior_travels_in_the_address(posterior_dir, tmp_path):
    from viz.url import session_from_query, state_query

    session = small_session(n_users=200)
    assert session.load_posterior(str(posterior_dir))
    query = state_query(session)
    assert "posterior=" in query
    again = session_from_query(query)
    assert again.posterior == session.posterior and again.error is None
    missing = session_from_query(f"posterior={tmp_path / 'gone'}")
    assert missing.posterior is None and "Posterior folder" in missing.error


def test_worker_runs_over_a_posterior_match_the_serial_ones(posterior_dir):
    """The page's worker processes get each replication's drawn A and B (bit for bit)."""
    from sim.sweep.workers import ResilientProcessPool

    session = small_session(n_users=200)
    assert session.load_posterior(str(posterior_dir))
    session.set_compare_parameter("B", "guanxi.enabled", False)
    session.set_compare_design(reps=2, steps=3, seed=9)
    request = session.compare_request()
    serial = run_comparison(request)
    pool = ResilientProcessPool(2)
    try:
        pooled = run_comparison(request, executor=pool)
    finally:
        pool.terminate()
    for mine, theirs in zip(
        serial.runs_a + serial.runs_b, pooled.runs_a + pooled.runs_b, strict=True
    ):
        assert mine.final == theirs.final
