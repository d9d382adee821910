"""What the charts, the guanxi network and the downloads contain."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from sim.scenario import parse_scenario_bytes, scenario_from_data
from tests.viz_support import small_session
from viz.comparison import VARIANTS, ComparisonRequest, run_comparison
from viz.echarts import chart_option, network_option
from viz.exports import (
    RESULT_TABLES,
    csv_bytes,
    everything_zip,
    parquet_bytes,
    result_frame,
    safe_name,
)
from viz.figures import (
    FOCAL_COLOR,
    LIVE_CHART_KEYS,
    VARIANT_COLORS,
    FirmNode,
    NetworkView,
    Tie,
    band_chart,
    dependency_chart,
    funnel_chart,
    funnel_values,
    live_chart,
    market_populations,
    network_view,
    people_counts,
)
from viz.png import chart_png, network_png

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def stepped(days: int = 12):
    session = small_session()
    session.step(days)
    return session


def test_attitude_chart_has_a_panel_per_market_and_a_line_per_active_firm():
    session = stepped()
    chart = live_chart(session.history, "attitude_mean")
    assert [panel.title for panel in chart.panels] == ["China", "Western Europe"]
    china = {series.name: series for series in chart.panels[0].series}
    assert set(china) == {"ours (us)", "china_leader", "china_upstart", "global_brand"}
    ours = china["ours (us)"]
    assert ours.emphasis and ours.color == FOCAL_COLOR
    expected = session.history.series("ours", "china", "attitude_mean")
    np.testing.assert_array_equal(ours.values, expected)


def test_every_live_chart_becomes_a_json_echarts_option_that_follows_the_run():
    session = stepped(5)
    for key in LIVE_CHART_KEYS:
        option = chart_option(live_chart(session.history, key))
        json.dumps(option, allow_nan=False)  # plain JSON: no NaN, no numpy types
        lines = [s for s in option["series"] if s["type"] == "line"]
        assert lines and all(s["data"][-1][0] == 5 for s in lines)
    session.step()
    option = chart_option(live_chart(session.history, "followers"))
    assert option["series"][0]["data"][-1][0] == 6


def test_counts_are_real_people_and_money_names_the_currency():
    session = stepped(8)
    model, history = session.model, session.history
    china = model.market_index["china"]
    people = model.people_per_user[china]
    followers = live_chart(history, "followers")
    assert followers.y_label == "people following the firm"
    ours = next(s for s in followers.panels[0].series if s.name == "ours (us)")
    np.testing.assert_allclose(ours.values, history.series("ours", "china", "followers") * people)
    assert ours.values[-1] == pytest.approx(
        model.followers_count[model.focal.index, china] * people
    )
    conversions = live_chart(history, "conversions")
    assert conversions.y_label.startswith("purchases by people per day")
    assert live_chart(history, "revenue_profit").y_label == "EUR"
    followers_people, customers_people, share = people_counts(model, model.focal.index)
    assert followers_people == pytest.approx(
        (model.followers_count[model.focal.index] * model.people_per_user).sum()
    )
    assert customers_people == pytest.approx(
        (model.customers_count[model.focal.index] * model.people_per_user).sum()
    )
    assert 0 < share < 1


def test_people_do_not_depend_on_how_many_users_are_simulated():
    # The same market with 4x the simulated users: each stands for a quarter of the people.
    small, large = small_session(n_users=400), small_session(n_users=1600)
    for session in (small, large):
        session.step(3)
    china = small.model.market_index["china"]
    assert small.model.people_per_user[china] == pytest.approx(
        4 * large.model.people_per_user[china], rel=0.01
    )
    assert market_populations(small.model) == market_populations(large.model)


def test_long_runs_are_thinned_on_screen_but_keep_the_last_day():
    session = stepped(30)
    option = chart_option(live_chart(session.history, "awareness"), max_points=10)
    days = [point[0] for point in option["series"][0]["data"]]
    assert len(days) == 10 and days[0] == 0 and days[-1] == 30


def test_confidence_bands_stack_low_and_width_under_the_mean():
    session = small_session(n_users=300)
    result = run_comparison(
        ComparisonRequest(session.spec, {}, {"guanxi.enabled": False}, reps=3, steps=5, seed=3)
    )
    option = chart_option(result.chart("followers_people"))
    band = [s for s in option["series"] if s.get("stack")]
    assert len(band) == 6  # A, B and B - A: low + width each
    assert all(s["stackStrategy"] == "all" for s in band)
    mean, low, high = result.bands("followers_people")["A"]
    width = next(s for s in band if s.get("areaStyle"))
    np.testing.assert_allclose(width["data"], high - low, rtol=1e-5, atol=1e-6)
    assert any(s["name"] == "zero" for s in option["series"])


def test_pngs_carry_the_stamp_in_their_text_and_at_their_foot():
    session = stepped(3)
    chart = live_chart(session.history, "awareness")
    stamped = chart_png(chart, stamp=session.stamp())
    assert stamped.startswith(PNG_SIGNATURE) and stamped != chart_png(chart)
    assert b"Comment" in stamped and b"seed " in stamped and b"day 3" in stamped


def test_compare_legend_colours_are_the_colours_of_the_lines():
    """Issue 16, bug 1: ECharts colours a legend entry like the first series of its
    name; every series of A, B and B - A (bands included) carries its line's colour."""
    days = np.arange(4, dtype=float)
    ones = np.ones(4)
    bands = {name: (ones * i, ones * i - 0.1, ones * i + 0.1) for i, name in enumerate(VARIANTS)}
    option = chart_option(band_chart("compare_x", "x", days, bands))
    first: dict[str, str] = {}
    for series in option["series"]:
        color = (series.get("itemStyle") or {}).get("color")
        first.setdefault(series["name"], color)
    for name in ("A", "B", "B - A"):
        assert name in option["legend"]["data"]
        assert first[name] == VARIANT_COLORS[name]
        mains = [s for s in option["series"] if s["name"] == name and not s.get("stack")]
        assert mains[0]["lineStyle"]["color"] == VARIANT_COLORS[name]


def test_network_marks_the_focal_firm_sizes_by_performance_and_explains_each_tie():
    view = NetworkView(
        day=9,
        nodes=(
            FirmNode("ours", 0.5, 0.3, 1, True, FOCAL_COLOR),
            FirmNode("<b>rival</b>", 0.2, 0.4, 1, False, "#123456"),
        ),
        ties=(Tie("ours", "<b>rival</b>", 0.6, 12, 340.0, 120.0, 120.0, 340.0),),
        formed=2,
        severed=1,
        recent_events=(),
    )
    option = network_option(view)
    nodes = {node["name"]: node for node in option["series"][0]["data"]}
    assert nodes["ours"]["symbol"] == "diamond" and nodes["ours"]["itemStyle"]["borderWidth"] == 3
    assert nodes["ours"]["symbolSize"] > nodes["<b>rival</b>"]["symbolSize"]
    (link,) = option["series"][0]["links"]
    tooltip = link["tooltip"]["formatter"]
    assert "brought ours: 340" in tooltip and "strength 0.60, 12 days old" in tooltip
    priced = Tie("ours", "rival", 0.6, 12, 340.0, 120.0, 120.0, 340.0, currency="EUR")
    assert "brought ours: 340 EUR (gave 120 EUR)" in priced.describe()
    assert "<b>rival" not in tooltip and "&lt;b&gt;rival&lt;/b&gt;" in tooltip  # escaped
    assert link["lineStyle"]["width"] > 1


def test_network_view_follows_ties_forming_and_severing():
    # Cheap upkeep, so that ties form and break among few users within weeks.
    session = small_session(n_users=500, guanxi__upkeep_cost=0.1)
    session.step(40)
    view = network_view(session.model)
    assert len(view.nodes) == 5 and sum(node.focal for node in view.nodes) == 1
    assert len(view.ties) == session.model.guanxi.graph.number_of_edges()
    events = session.model.guanxi.events
    assert view.formed == sum(e.event == "formed" for e in events)
    assert view.severed == sum(e.event == "severed" for e in events)
    assert view.formed > 0 and view.severed > 0
    assert view.recent_events[0].startswith(f"day {events[-1].step}:")


def test_users_panel_dependency_by_market_and_funnel():
    session = stepped(10)
    dependency = dependency_chart(session.model)
    shares = {series.name: np.sum(series.values) for series in dependency.panels[0].series}
    assert set(shares) == {"china", "western_europe"}
    assert np.allclose(list(shares.values()), 1.0)
    china = session.model.population.sns_dependency[session.model.population.block(0)]
    europe = session.model.population.sns_dependency[session.model.population.block(1)]
    assert china.mean() > europe.mean()  # V1, as drawn
    populations = market_populations(session.model)
    funnel = funnel_chart(session.history, populations)
    assert funnel.y_label == "people (log scale)"
    assert [s.name for s in funnel.panels[0].series] == session.history.targets["ours"]
    aware, following, consuming, engaging, buying = funnel_values(
        session.history, "china", populations["china"]
    )
    model = session.model
    china_index = model.market_index["china"]
    people = model.people_per_user[china_index]
    assert populations["china"] == model.markets[china_index].population
    # Every stage counts real people (a simulated user stands for `people` of them).
    assert aware == pytest.approx(model.aware_count[model.focal.index, china_index] * people)
    assert following == pytest.approx(
        model.followers_count[model.focal.index, china_index] * people
    )
    # The later stages per day, over the days recorded.
    rows = session.history.firm_market[("ours", "china")]
    assert consuming == pytest.approx(np.mean(rows["consumers"][1:]) * people)
    # Engaging and buying need consuming first.
    assert engaging <= consuming and buying <= consuming and 0 < consuming <= aware


def test_pngs_are_drawn_for_every_chart_and_the_network():
    session = stepped(6)
    for chart in [
        live_chart(session.history, "revenue_profit"),
        funnel_chart(session.history, market_populations(session.model)),
    ]:
        assert chart_png(chart).startswith(PNG_SIGNATURE)
    assert network_png(network_view(session.model)).startswith(PNG_SIGNATURE)


def test_exported_scenario_loads_back_with_the_changes():
    session = small_session()
    session.set_parameter("firms.ours.strategies.china.shop", True)
    text = session.spec.to_toml()
    again = scenario_from_data(parse_scenario_bytes(text.encode(), "export"), "export")
    assert again == session.spec
    assert again.firms[0].strategies[1].shop is True
    assert safe_name("Our / scenario!") == "Our_scenario"


def test_results_download_as_csv_and_parquet_like_the_cli_writes_them():
    session = stepped(4)
    for table in RESULT_TABLES:
        frame = result_frame(session.model, table)
        from_csv = pd.read_csv(io.BytesIO(csv_bytes(frame)))
        from_parquet = pd.read_parquet(io.BytesIO(parquet_bytes(frame)))
        assert list(from_csv.columns) == list(frame.columns) == list(from_parquet.columns)
        assert len(from_parquet) == len(frame)
    fm = result_frame(session.model, "firm_market")
    assert fm.step.max() == 4


def test_everything_zip_holds_scenario_tables_and_charts(monkeypatch):
    # Drawing is tested above; here only what goes in the archive.
    monkeypatch.setattr(
        "viz.exports.chart_png", lambda chart, stamp="": PNG_SIGNATURE + chart.key.encode()
    )
    monkeypatch.setattr("viz.exports.network_png", lambda view, stamp="": PNG_SIGNATURE)
    session = stepped(3)
    data = everything_zip(session.model, session.history, session.spec.to_toml())
    names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert "scenario.toml" in names
    assert {f"{t}.csv" for t in RESULT_TABLES} <= names
    assert {f"charts/{key}.png" for key in LIVE_CHART_KEYS} <= names
    assert {"charts/guanxi_network.png", "charts/guanxi_ties.png", "charts/funnel.png"} <= names
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.read("charts/funnel.png") == PNG_SIGNATURE + b"funnel"
    assert b"[model]" in archive.read("scenario.toml")
