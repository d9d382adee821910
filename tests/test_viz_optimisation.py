"""An optimisation from the UI: the budget preset, the CLI's search on one thread
with cancel, reading a results folder, and a Pareto point put into Compare."""

from __future__ import annotations

import json
import threading

import pandas as pd
import pytest

from sim.errors import GuanxiError
from tests.optimise_support import synthetic_run
from tests.viz_support import small_session
from viz.optimisation import (
    PRESETS,
    OptimisationCancelled,
    OptimisationJob,
    load_front,
    preset_plan,
    run_optimisation,
)
from viz.optimise_view import estimate_text, pareto_option, standing_words

POSTS = "firms.ours.strategies.china.posts_per_day"


def test_the_quick_preset_shrinks_the_bundled_search_and_keeps_it_valid():
    plan = preset_plan("china_entry", "quick")
    sizes = PRESETS["quick"].sizes
    assert (plan.population, plan.generations, plan.scenarios) == (
        sizes["population"],
        sizes["generations"],
        sizes["scenarios"],
    )
    assert plan.steps == 60 and plan.base.model.n_users == 500
    assert all(o.horizon == 60 for o in plan.objectives)
    assert [d.path for d in plan.decisions][0] == POSTS  # the file's own levers
    full = preset_plan("china_entry", "file")
    assert full.population == 8 and full.steps == 180


@pytest.fixture(scope="module")
def front_dir(tmp_path_factory):
    """The quick china_entry optimisation, run with the synthetic model (fast)."""
    out = tmp_path_factory.mktemp("opt") / "run"
    steps = []
    run_optimisation(
        preset_plan("china_entry", "quick"),
        out,
        lambda done, total, phase: steps.append((done, total, phase)),
        run_function=synthetic_run,
    )
    assert steps[-1][0] == steps[-1][1] or steps[-1][2] == "checking the best strategies"
    return out


def test_the_cli_files_are_written_and_read_back_as_points(front_dir):
    front = load_front(str(front_dir))
    assert (front_dir / "pareto.parquet").is_file() and (front_dir / "pareto.md").is_file()
    assert front.name == "china_entry" and front.scenario == "china_entry"
    assert [title for _, title, _ in front.objectives] == ["Profit", "Attitude in China"]
    assert front.points and front.points[0].label == "S1"
    point = front.points[0]
    assert set(point.overrides) == set(front.decisions)
    assert all(not hasattr(v, "dtype") for v in point.overrides.values())  # plain Python
    words = front.lever_words(point)
    assert "Our China posts" in words and "firms." not in words
    option = pareto_option(front)
    assert len(option["series"][0]["data"]) == len(front.points)
    assert "Attitude in China against Profit" in option["title"]["text"]
    assert option["xAxis"]["name"] == "Profit (EUR): 25th percentile over market states, day 60"
    row = front.table.iloc[0]
    assert " to " in estimate_text(row, "profit@60")
    assert standing_words({"standing": "dominated", "dominated_by": "S2"}) == "beaten by S2"


def test_a_pareto_point_goes_into_compare_all_or_nothing(front_dir):
    session = small_session(n_users=200)
    assert session.load_pareto(str(front_dir))
    point = session.pareto.points[0]
    assert session.pick_pareto_point("S1", "B")
    # B now runs exactly the point (levers equal to the scenario's need no change).
    assert all(session.compare_value("B", k) == v for k, v in point.overrides.items())
    assert set(session.compare.b) <= set(point.overrides) and session.compare.b
    assert "now Compare's strategy B" in session.optimise_message
    assert not session.pick_pareto_point("S99", "A")
    assert "no strategy 'S99'" in session.optimise_error


def test_results_folders_that_cannot_be_used_are_refused_in_one_line(tmp_path, front_dir):
    with pytest.raises(GuanxiError, match="no pareto.parquet"):
        load_front(str(tmp_path))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "optimisation.json").write_text((front_dir / "optimisation.json").read_text())
    pd.DataFrame({"strategy": ["S1"]}).to_parquet(broken / "pareto.parquet")
    with pytest.raises(GuanxiError, match="has no column 'firms.ours.strategies.china") as info:
        load_front(str(broken))
    assert "\n" not in str(info.value)
    # A manifest of the wrong shape (a hand-edited or foreign file) is one line too.
    manifest = json.loads((front_dir / "optimisation.json").read_text())
    for key, wrong in (("posterior", "x"), ("base_scenario", [1]), ("objectives", [3])):
        (broken / "optimisation.json").write_text(json.dumps({**manifest, key: wrong}))
        with pytest.raises(GuanxiError, match="not readable") as info:
            load_front(str(broken))
        assert "\n" not in str(info.value)
    session = small_session(n_users=200)
    assert not session.load_pareto(str(tmp_path / "nowhere"))
    assert "not a folder" in session.optimise_error


def test_cancel_stops_the_search_and_leaves_the_finished_runs(tmp_path):
    cancel = threading.Event()
    seen = []

    def progress(done, total, phase):
        seen.append(done)
        if done >= 3:
            cancel.set()

    with pytest.raises(OptimisationCancelled):
        run_optimisation(
            preset_plan("china_entry", "quick"),
            tmp_path / "run",
            progress,
            cancel,
            run_function=synthetic_run,
        )
    assert max(seen) < 10 and not (tmp_path / "run" / "pareto.parquet").exists()


def test_cancel_reaches_the_model_run_in_progress(tmp_path):
    """The real model: a cancel during a run stops it within a simulated day."""
    updates = []
    job = OptimisationJob(preset_plan("china_entry", "quick"), tmp_path / "run", lambda: None)
    job.start()
    threading.Timer(1.0, job.cancel).start()
    job.join(120)
    updates.append(job.state)
    assert job.state == "cancelled" and job.done < job.total
    assert not (tmp_path / "run" / "pareto.parquet").exists()


def test_the_optimise_tab_shows_a_loaded_front_and_picks_into_b(front_dir):
    import ipyvuetify as v
    import solara

    from tests.viz_support import all_by_test_id, by_test_id, open_tab, wait_for
    from viz.app import Explorer
    from viz.echarts_widget import GuardedEchartsWidget

    session = small_session(n_users=200)
    assert session.load_pareto(str(front_dir))
    box, rc = solara.render(Explorer(session), handle_error=False)
    try:
        open_tab(rc, "Optimise")
        wait_for(lambda: len(all_by_test_id(rc, v.SimpleTable, "pareto-table")) == 1)
        chart = by_test_id(rc, GuardedEchartsWidget, "chart-pareto")
        assert chart.option["series"][0]["data"][0]["name"] == "S1"
        by_test_id(rc, v.Btn, "use-B-S1").click()
        wait_for(lambda: session.compare.b != {})
        assert "now Compare's strategy B" in session.optimise_message
    finally:
        rc.close()


def test_an_optimisation_on_the_posterior_s_scenario_draws_from_it_and_says_so(
    tmp_path, monkeypatch
):
    """With a posterior loaded, an optimisation on its scenario takes each market
    state's parameters from it (as `guanxi optimise --posterior`), and its front says
    it includes parameter uncertainty; one on another scenario runs without it."""
    from tests.test_viz_posterior import write_posterior
    from viz.optimisation import OptimisationJob

    monkeypatch.setattr(OptimisationJob, "start", lambda job: job)  # the plan only
    session = small_session(n_users=200)
    # Neither a decision nor an [[uncertainties]] path of the file (a path may not be both).
    reach_west = "markets.western_europe.organic_reach"
    particles = {
        reach_west: [0.01, 0.02, 0.03],
        "markets.china.engagement_offset": [-0.1, 0.0, 0.1],
    }
    china = write_posterior(
        tmp_path / "china-entry-cal", scenario="china_entry", particles=particles
    )
    assert session.load_posterior(str(china)), session.posterior_error
    assert session.start_optimisation("china_entry", "quick", lambda: None, tmp_path / "a"), (
        session.optimise_error
    )
    plan = session.optimise_job.plan
    assert plan.posterior is not None and plan.posterior.directory == china
    assert reach_west in plan.posterior.paths
    # Each market state of the search takes one of the posterior's particles.
    from sim.optimise.search import SEARCH_DIR, market_states

    states = market_states(plan, SEARCH_DIR)
    assert len(states) == plan.scenarios
    assert all(state[reach_west] in particles[reach_west] for state in states)

    front = run_optimisation(plan, tmp_path / "run", None, run_function=synthetic_run)
    assert front.posterior is not None and "china-test" in front.posterior
    assert "parameter uncertainty" in pareto_option(front)["title"]["subtext"]
    without = load_front(str(tmp_path / "run"))
    assert without.posterior == front.posterior  # read back from the manifest

    baseline = write_posterior(tmp_path / "baseline-cal", scenario="baseline", particles=particles)
    assert session.load_posterior(str(baseline))
    assert session.start_optimisation("china_entry", "quick", lambda: None, tmp_path / "b")
    assert session.optimise_job.plan.posterior is None
