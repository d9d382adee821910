"""The Solara page without a browser (``solara.render``): controls, stepping, play,
uploads, comparison and downloads act on the session's model."""

from __future__ import annotations

import io
import time
import zipfile

import ipyvue
import ipyvuetify as v
import pytest
import solara
import solara.components.file_download as file_download

from sim.scenario import load_scenario
from tests.viz_support import by_test_id, open_tab, small_session, wait_for
from viz.app import Explorer, Page
from viz.echarts_widget import GuardedEchartsWidget
from viz.upload import ScenarioUploadWidget

POSTS = "firms.ours.strategies.western_europe.posts_per_day"
SHOP = "firms.ours.strategies.china.shop"


@pytest.fixture
def page():
    """A rendered page on a small baseline; yields (session, render context)."""
    session = small_session()
    box, rc = solara.render(Explorer(session), handle_error=False)
    yield session, rc
    session.cancel_comparison()
    rc.close()


def text_of(rc, test_id: str) -> str:
    return by_test_id(rc, v.Html, test_id).children[0]


def chart(rc, test_id: str) -> GuardedEchartsWidget:
    return by_test_id(rc, GuardedEchartsWidget, test_id)


def test_page_renders_the_default_scenario():
    box, rc = solara.render(Page(), handle_error=False)
    try:
        assert text_of(rc, "day-counter") == "Day 0 of 365"
        assert rc.find(v.Select, label="Bundled scenario").widget.v_model == "baseline"
        assert chart(rc, "chart-attitude_mean").option["series"]
    finally:
        rc.close()


def test_step_advances_the_model_and_updates_charts_and_network(page):
    session, rc = page
    by_test_id(rc, v.Btn, "btn-step").click()
    by_test_id(rc, v.Btn, "btn-step").click()
    assert session.day == 2
    assert text_of(rc, "day-counter") == "Day 2 of 365"
    followers = chart(rc, "chart-followers")
    assert followers.attributes["data-day"] == "2"
    assert followers.option["series"][0]["data"][-1][0] == 2
    open_tab(rc, "Guanxi network")
    assert text_of(rc, "network-summary").startswith("Day 2:")
    assert chart(rc, "chart-guanxi-network").attributes["data-day"] == "2"
    assert chart(rc, "chart-guanxi_ties").option["series"][0]["data"][-1] == [2, 0]
    kpis = by_test_id(rc, solara.widgets.HTML, "kpis")
    assert kpis.attributes["data-day"] == "2" and "Attitude toward us" in kpis.unsafe_innerHTML
    for market in ("China", "Western Europe"):  # headline attitude by market
        assert f"Attitude toward us in {market}" in kpis.unsafe_innerHTML
    assert "Our guanxi ties" in kpis.unsafe_innerHTML
    for label in ("Followers (people)", "Customers (people)", "Revenue so far (EUR)"):
        assert label in kpis.unsafe_innerHTML
    by_test_id(rc, v.Btn, "btn-reset").click()
    assert session.day == 0 and text_of(rc, "day-counter") == "Day 0 of 365"


def test_slider_change_sets_the_models_parameter_and_restarts(page):
    session, rc = page
    by_test_id(rc, v.Btn, "btn-step").click()
    slider = by_test_id(rc, v.Slider, f"param-{POSTS}")
    assert slider.v_model == 2.0
    slider.fire_event("change", 3.5)
    assert session.value(POSTS) == 3.5
    europe = session.model.market_index["western_europe"]
    assert session.model.strategy.posts_per_day[session.model.focal.index, europe] == 3.5
    assert session.day == 0
    assert text_of(rc, "change-line") == "Our Western Europe posts: 3.5 posts a day"
    assert by_test_id(rc, v.Html, "change-line").attributes["title"] == f"{POSTS} = 3.5"
    assert by_test_id(rc, v.Slider, f"param-{POSTS}").v_model == 3.5
    by_test_id(rc, v.Btn, "btn-clear-changes").click()
    assert session.overrides == {} and session.value(POSTS) == 2.0


def test_switch_and_typed_controls(page):
    session, rc = page
    by_test_id(rc, v.Btn, "section-strategy-china").click()
    by_test_id(rc, v.Switch, f"param-{SHOP}").v_model = True
    assert session.value(SHOP) is True
    budget = rc.find(v.TextField, label="Budget (EUR a day)").widgets[-1]
    budget.v_model = "450"
    budget.fire_event("keyup.enter", None)
    assert session.value("firms.ours.strategies.china.budget") == 450.0


def test_a_half_typed_value_survives_steps_and_background_updates(page):
    """Typing is not committed until Enter or leaving the field; meanwhile the page
    re-renders on every Step and every update of a background job. Those re-renders
    must not put the field back to the value in use (solara issue #779; it made the
    browser test of a refused value fail when a ZIP job's last update came between
    typing and Enter)."""
    session, rc = page
    field = rc.find(v.TextField, label="Budget (EUR a day)").widgets[0]  # Western Europe's
    field.v_model = "-5"  # as the browser's input event sets it
    by_test_id(rc, v.Btn, "btn-step").click()
    with session.lock:
        session.export_revision += 1  # what a background job's update publishes
    by_test_id(rc, v.Btn, "btn-step").click()
    assert session.day == 2
    assert field.v_model == "-5"
    field.fire_event("keyup.enter", None)
    assert text_of(rc, "refused-firms.ours.strategies.western_europe.budget").startswith(
        "Not applied: -5 EUR a day."
    )


def test_a_refused_typed_value_goes_back_to_the_value_in_use_and_says_why(page):
    """Issue 16, bug 4: the refused value stayed in its field while the model ran
    another, and the error blamed the scenario file."""
    session, rc = page
    budget_path = "firms.ours.strategies.china.budget"
    by_test_id(rc, v.Btn, "section-strategy-china").click()
    before = session.value(budget_path)
    field = rc.find(v.TextField, label="Budget (EUR a day)").widgets[-1]
    field.v_model = "-5"
    field.fire_event("keyup.enter", None)
    assert session.value(budget_path) == before  # the model was not changed
    field = rc.find(v.TextField, label="Budget (EUR a day)").widgets[-1]
    assert float(field.v_model) == before  # the field shows what the model runs
    refused = text_of(rc, f"refused-{budget_path}")
    assert refused == (
        f"Not applied: -5 EUR a day. Allowed: 0 to 1e+12 EUR a day. Still running {before:,.0f} "
        "EUR a day."
    )
    message = str(by_test_id(rc, v.Alert, "session-error").children)
    assert "baseline.toml" not in message and "was not applied" in message
    # A control built anew (a re-render elsewhere, a new page) still says so.
    box, again = solara.render(Explorer(session), handle_error=False)
    try:
        by_test_id(again, v.Btn, "section-strategy-china").click()
        assert text_of(again, f"refused-{budget_path}") == refused
    finally:
        again.close()


def test_help_opens_in_the_page_and_states_the_limits_the_ui_enforces(page):
    session, rc = page
    by_test_id(rc, ipyvue.Html, "btn-help-model.n_users").click()
    text = text_of(rc, "help-model.n_users")
    assert "0 to 200000" in text.replace(",", "") or "to 200000" in text
    assert "200,000" in text


def test_seed_input_and_new_seed(page):
    session, rc = page
    seed = rc.find(v.TextField, label="Seed").widget
    seed.v_model = "99"
    seed.fire_event("keyup.enter", None)
    assert session.seed == 99 and session.overrides == {"model.seed": 99}
    by_test_id(rc, v.Btn, "btn-new-seed").click()
    assert session.seed != 99


def test_invalid_value_shows_the_schema_message_and_the_app_keeps_running(page):
    session, rc = page
    by_test_id(rc, v.Btn, "section-strategy-china").click()
    by_test_id(rc, v.Btn, "section-start-china").click()
    field = by_test_id(rc, v.Slider, "param-firms.ours.strategies.china.initial_followers")
    field.fire_event("change", 0.5)
    message = by_test_id(rc, v.Alert, "session-error")
    assert "initial_followers (0.5) must be at most initial_awareness" in str(message.children)
    by_test_id(rc, v.Btn, "btn-step").click()
    assert session.day == 1


@pytest.mark.parametrize(
    ("data", "size", "expected"),
    [
        (b"[[markets]\nname = 1", None, "malformed TOML"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", None, "not a text file"),
        (b"#" * 64, 9_000_000, "9,000,000 bytes"),
        (b'[model]\nsteps = "soon"\n', None, "model.steps"),
    ],
)
def test_invalid_upload_shows_the_error_in_the_page(page, data, size, expected):
    session, rc = page
    by_test_id(rc, v.Btn, "btn-step").click()
    upload = rc.find(ScenarioUploadWidget).widget
    upload.vue_upload({"name": "bad.toml", "size": size or len(data)}, [data])
    banner = by_test_id(rc, v.Alert, "session-error")
    assert expected in str(banner.children) and "upload bad.toml" in str(banner.children)
    assert session.label == "baseline" and session.day == 1
    by_test_id(rc, v.Btn, "btn-step").click()
    assert session.day == 2


def test_valid_upload_and_bundled_choice(page):
    session, rc = page
    text = load_scenario("baseline", {"model.n_users": 300, "model.name": "uploaded"}).to_toml()
    rc.find(ScenarioUploadWidget).widget.vue_upload(
        {"name": "mine.toml", "size": len(text)}, [text.encode()]
    )
    assert session.label == "mine.toml" and session.model.population.n_users == 300
    rc.find(v.Html, children=["Using uploaded file: mine.toml"]).assert_single()
    rc.find(v.Select, label="Bundled scenario").widget.v_model = "china_entry"
    assert session.label == "china_entry" and session.spec.model.name != "uploaded"


def test_play_steps_in_the_background_until_paused(page):
    session, rc = page
    rc.find(v.Slider, label="Play interval: 100 ms").widget.v_model = 0
    by_test_id(rc, v.Btn, "btn-play").click()
    wait_for(lambda: session.day >= 3, what="play to step")
    # (read while the play thread re-renders: poll rather than read once)
    wait_for(lambda: "Pause" in by_test_id(rc, v.Btn, "btn-play").children[0], what="Pause")
    by_test_id(rc, v.Btn, "btn-play").click()
    wait_for(lambda: "Play" in by_test_id(rc, v.Btn, "btn-play").children[0], what="pause")
    # The frame in flight when Pause was pressed may still finish; then nothing moves.
    settled: list[int] = []

    def unchanged_for_a_while() -> bool:
        before = session.day
        time.sleep(0.3)
        settled[:] = [session.day]
        return session.day == before

    wait_for(unchanged_for_a_while, what="the last frame")
    day = settled[0]
    time.sleep(0.5)
    assert session.day == day
    wait_for(lambda: text_of(rc, "day-counter") == f"Day {day} of 365", what="last frame")


def test_comparison_runs_in_the_background_and_shows_bands_and_table(page):
    session, rc = page
    open_tab(rc, "Compare A vs B")
    session.set_compare_design(reps=2, steps=6)
    by_test_id(rc, v.Btn, "A:section-strategy-china").click()
    by_test_id(rc, v.Btn, "B:section-strategy-china").click()
    assert by_test_id(rc, v.Switch, f"A:param-{SHOP}").v_model is False
    by_test_id(rc, v.Switch, f"B:param-{SHOP}").v_model = True  # B sells in-platform in china
    assert session.compare.b == {SHOP: True} and session.compare.a == {}
    by_test_id(rc, v.Btn, "btn-compare-run").click()
    session.compare_job.join(60)
    wait_for(lambda: by_test_id(rc, v.Html, "compare-status").attributes["data-state"] == "done")
    table = by_test_id(rc, v.SimpleTable, "compare-table-1")
    assert table.attributes["data-a"] == "as the scenario"
    assert table.attributes["data-b"] == "Our China in-platform shop: yes"
    band = chart(rc, "chart-compare-attitude")
    assert len([s for s in band.option["series"] if s.get("stack")]) == 6
    assert session.comparison.request.reps == 2
    verdict = text_of(rc, "verdict-1")
    assert verdict.startswith("Opening an in-platform shop in China ") and verdict.endswith(".")
    assert "over 6 days" in " ".join(str(c) for c in by_test_id(rc, v.Html, "caveats-1").children)
    assert session.current_comparison() is session.comparisons[0]


def test_a_changed_b_never_shows_the_old_result_as_its_own(page):
    """Issue 16, bug 2: after a finished comparison, changing B, starting and
    cancelling left the old results under the new "Changes" line."""
    session, rc = page
    open_tab(rc, "Compare A vs B")
    session.set_compare_design(reps=2, steps=4)
    by_test_id(rc, v.Btn, "B:section-strategy-china").click()
    by_test_id(rc, v.Switch, f"B:param-{SHOP}").v_model = True
    by_test_id(rc, v.Btn, "btn-compare-run").click()
    session.compare_job.join(60)
    wait_for(lambda: by_test_id(rc, v.Html, "compare-status").attributes["data-state"] == "done")
    # B changes: guanxi off as well; start a long comparison and cancel it.
    by_test_id(rc, v.Btn, "B:section-guanxi").click()
    by_test_id(rc, v.Switch, "B:param-guanxi.enabled").v_model = False
    assert text_of(rc, "variant-B-changes") == (
        "Changes: Our China in-platform shop: yes; Guanxi ties between firms: off"
    )
    session.set_compare_design(reps=30, steps=300)
    by_test_id(rc, v.Btn, "btn-compare-run").click()
    wait_for(lambda: session.compare_job.running, what="the comparison to run")
    session.cancel_comparison()
    session.compare_job.join(60)
    wait_for(
        lambda: by_test_id(rc, v.Html, "compare-status").attributes["data-state"] == "cancelled"
    )
    assert session.current_comparison() is None
    assert "No result for these settings yet" in text_of(rc, "compare-current-none")
    # The old result is still listed, labelled with its own B (not the new one).
    assert text_of(rc, "comparison-1-B") == "B: Our China in-platform shop: yes"
    table = by_test_id(rc, v.SimpleTable, "compare-table-1")
    assert table.attributes["data-b"] == "Our China in-platform shop: yes"
    assert len(session.comparisons) == 1
    # Its CSV says which A and B it compared.
    frame = session.comparison.table_frame()
    assert set(frame.b_changes) == {"Our China in-platform shop: yes"}
    assert set(frame.b_set) == {f"{SHOP} = true"} and set(frame.a_changes) == {"as the scenario"}
    assert set(frame.days) == {4} and "version" in frame
    open_tab(rc, "Export")
    assert "A: as the scenario; B: Our China in-platform shop: yes" in text_of(
        rc, "export-comparison-label"
    )
    report = next(
        w
        for w in rc.find(file_download.FileDownloadWidget).widgets
        if w.filename == "baseline_report.html"
    )
    assert report is not None


def test_comparison_can_be_cancelled(page):
    session, rc = page
    open_tab(rc, "Compare A vs B")
    session.set_compare_design(reps=30, steps=300)
    by_test_id(rc, v.Btn, "btn-compare-run").click()
    # (Long comparisons run in worker processes: progress grows as runs finish.)
    wait_for(lambda: session.compare_job.running, what="the comparison to run")
    # The page hears of the running job from the worker thread: wait for its render.
    wait_for(
        lambda: by_test_id(rc, v.Btn, "btn-compare-cancel").disabled is False,
        what="Cancel enabled while the comparison runs",
    )
    assert session.compare_job.running, "the comparison is still running when cancelled"
    by_test_id(rc, v.Btn, "btn-compare-cancel").click()
    session.compare_job.join(60)
    wait_for(
        lambda: by_test_id(rc, v.Html, "compare-status").attributes["data-state"] == "cancelled"
    )
    assert session.comparison is None


def test_export_tab_offers_scenario_results_and_charts(page, monkeypatch):
    session, rc = page
    session.set_parameter(SHOP, True)
    by_test_id(rc, v.Btn, "btn-step").click()
    open_tab(rc, "Export")
    names = {w.filename for w in rc.find(file_download.FileDownloadWidget).widgets}
    assert {"baseline.toml", "baseline_firm_market.csv", "baseline_firm_market.parquet"} <= names
    assert {"attitude_mean.png", "guanxi_network.png", "funnel.png"} <= names
    scenario = next(
        w
        for w in rc.find(file_download.FileDownloadWidget).widgets
        if w.filename == "baseline.toml"
    )
    scenario.request_download = True
    wait_for(lambda: scenario.bytes is not None, what="the TOML download")
    assert b"shop = true" in scenario.bytes


def test_everything_zip_is_drawn_in_the_background_while_the_run_steps(page, monkeypatch):
    """Issue 16, bug 3: "Everything (ZIP)" held the session for 13 s with no feedback
    (a Step waited 12.8 s). Now its charts are drawn in a thread with progress, and
    the live run steps meanwhile."""
    session, rc = page
    slow = 0.5  # per chart: about 6.5 s for the ZIP's 13 images

    def slow_png(chart, stamp=""):
        time.sleep(slow)
        return b"\x89PNG" + chart.key.encode()

    monkeypatch.setattr("viz.exports.chart_png", slow_png)
    monkeypatch.setattr("viz.exports.network_png", lambda view, stamp="": b"\x89PNG")
    by_test_id(rc, v.Btn, "btn-step").click()
    open_tab(rc, "Export")
    by_test_id(rc, v.Btn, "btn-zip-prepare").click()
    job = session.export_job
    wait_for(lambda: job.progress > 0, what="ZIP progress")
    assert job.running
    session.step()  # not held up by the drawing: done while the ZIP is still drawn
    assert job.running and session.day == 2
    wait_for(
        lambda: by_test_id(rc, v.Html, "zip-status").attributes["data-state"] == "running",
        what="the progress line",
    )
    job.join(30)
    wait_for(lambda: by_test_id(rc, v.Html, "zip-status").attributes["data-state"] == "done")
    download = next(
        w for w in rc.find(file_download.FileDownloadWidget).widgets if w.filename.endswith(".zip")
    )
    assert download.filename == "baseline_day1.zip"  # the day it was prepared
    archive = zipfile.ZipFile(io.BytesIO(job.data))
    assert "day 1" in archive.read("STAMP.txt").decode()
    assert archive.read("charts/funnel.png") == b"\x89PNGfunnel"


def test_offline_settings_are_applied_on_import():
    import solara.checks
    import solara.server.settings
    import solara.settings

    import viz.app  # noqa: F401

    assert solara.settings.assets.proxy is True
    assert solara.settings.assets.cdn.startswith("http://127.0.0.1:")
    assert solara.server.settings.telemetry.mixpanel_enable is False
    assert solara.checks.should_perform_solara_check() is False


def test_network_page_shows_ties_forming_with_what_each_brought():
    session = small_session(guanxi__upkeep_cost=0.1)  # cheap ties form within days
    box, rc = solara.render(Explorer(session), handle_error=False)
    try:
        open_tab(rc, "Guanxi network")
        assert by_test_id(rc, solara.widgets.HTML, "network-ties").unsafe_innerHTML == ""
        rc.find(v.Slider, label="Days per frame: 1").widget.v_model = 10
        by_test_id(rc, v.Btn, "btn-step").click()
        assert session.day == 10
        ties = session.model.guanxi.edge_rows()
        assert ties
        table = by_test_id(rc, solara.widgets.HTML, "network-ties").unsafe_innerHTML
        assert table.count("<tr>") == len(ties) + 1
        assert f"{ties[0]['benefit_a']:,.0f}" in table and ties[0]["firm_a"] in table
        network = chart(rc, "chart-guanxi-network").option["series"][0]
        assert len(network["links"]) == len(ties)
        assert "brought" in network["links"][0]["tooltip"]["formatter"]
        assert text_of(rc, "network-summary").startswith("Day 10:")
    finally:
        rc.close()
