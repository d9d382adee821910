"""The strategist UI in a real browser (Debian's Chromium via Playwright), served by
`guanxi ui` on 127.0.0.1: loading offline, a strategy change, step and play, the
charts and the guanxi network updating, a small comparison, a bad upload, and three
sessions at once staying separate. Screenshots: test-artifacts/e2e/."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

POSTS = "firms.ours.strategies.western_europe.posts_per_day"
SHOP_CHINA = "firms.ours.strategies.china.shop"


def assert_stayed_local(session, outbound) -> None:
    assert session.off_machine_requests() == [], "the page fetched from outside 127.0.0.1"
    assert outbound.connections == [], "the server tried to reach the internet"


def canvas_png(session, test_id: str) -> bytes:
    return session.by_id(test_id).screenshot()


def settled_day(session, quiet_ms: int = 500, timeout_ms: int = 10_000) -> int:
    """The day shown once it has not changed for ``quiet_ms``."""
    day = session.day()
    for _ in range(timeout_ms // quiet_ms):
        session.page.wait_for_timeout(quiet_ms)
        now = session.day()
        if now == day:
            return day
        day = now
    raise AssertionError("the day kept changing after Pause")


def redrawn(session, test_id: str, before: bytes, timeout_ms: int = 5000) -> bool:
    """Whether the chart's pixels change from ``before`` (ECharts draws asynchronously)."""
    for _ in range(timeout_ms // 250):
        if canvas_png(session, test_id) != before:
            return True
        session.page.wait_for_timeout(250)
    return False


def test_page_loads_from_the_local_server_only(open_session, outbound):
    session = open_session()
    assert session.page.title().startswith("guanxi-sim")
    assert session.by_id("day-counter").inner_text() == "Day 0 of 365"
    for chart in ("chart-attitude_mean", "chart-awareness", "chart-followers"):
        session.page.locator(f"[data-testid={chart}] canvas").first.wait_for()
    session.screenshot("loaded")
    # At 1600 px nothing overflows sideways (issue 16: 4 px clipped the right-hand cards).
    overflow = session.page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{overflow} px of horizontal overflow"
    for page_name, chart in (
        ("Sales and capability", "chart-revenue_profit"),
        ("Guanxi network", "chart-guanxi-network"),
        ("Users", "chart-funnel"),
    ):
        session.page.get_by_role("tab", name=page_name).click()
        session.page.locator(f"[data-testid={chart}] canvas").first.wait_for()
        session.screenshot(f"page-{chart}")
    assert any("/_solara/cdn/" in url for url in session.requests)  # assets: the local copies
    assert_stayed_local(session, outbound)
    assert session.errors == []


def test_the_scripts_the_page_needs_later_are_fetched_once_at_the_start(open_session):
    """The preload hints (viz.page) name the very addresses the page asks for later:
    a hint that missed would make the browser fetch the script a second time."""
    session = open_session()
    hinted = session.page.eval_on_selector_all(
        "link[rel=preload][as=script]", "links => links.map(link => link.href)"
    )
    assert len(hinted) == 3
    for script in ("/jupyter-vuetify/nodeps.js", "/jupyter-vue/nodeps.js", "/echarts@"):
        fetched = [url for url in session.requests if script in url]
        assert len(fetched) == 1 and fetched[0] in hinted, f"{script}: fetched {fetched}"
    used = session.page.evaluate(
        "urls => urls.filter(url => performance.getEntriesByName(url).length > 0)", hinted
    )
    assert used == hinted
    assert session.page.evaluate("typeof window.requirejs") == "function"
    assert session.errors == []


def test_strategy_control_step_play_and_live_updates(open_session, outbound):
    session = open_session()
    page = session.page

    # Change our posting rate in Western Europe with the slider (keyboard: 0.1 a press).
    thumb = page.locator(f'[role=slider][data-testid="param-{POSTS}"]')
    thumb.focus()
    for _ in range(5):
        thumb.press("ArrowRight")
    session.by_id("change-line").filter(has_text=f"{POSTS} = 2.5").wait_for()
    session.wait_day(0)

    chart_before = canvas_png(session, "chart-attitude_mean")
    session.step(2)
    page.locator('[data-testid=chart-followers][data-day="2"]').wait_for()
    page.locator('[data-testid=chart-attitude_mean][data-day="2"]').wait_for()
    page.locator('[data-testid=kpis][data-day="2"]').wait_for()
    assert redrawn(session, "chart-attitude_mean", chart_before)
    session.screenshot("after-two-steps")

    page.get_by_role("tab", name="Guanxi network").click()
    session.by_id("network-summary").filter(has_text="Day 2:").wait_for()
    page.locator("[data-testid=chart-guanxi-network] canvas").first.wait_for()
    page.wait_for_timeout(500)
    network_before = canvas_png(session, "chart-guanxi-network")

    # Play until the first guanxi tie forms (day 10 in the baseline), then pause.
    session.by_id("btn-play").click()
    page.locator("[data-testid=network-summary]:not([data-ties='0'])").wait_for(timeout=120_000)
    session.by_id("btn-play").click()
    session.by_id("btn-play").filter(has_text="Play").wait_for()
    day = settled_day(session)  # the frame in flight at the click may still land
    assert day >= 3
    page.wait_for_timeout(800)
    assert session.day() == day  # paused
    page.locator(f'[data-testid=chart-guanxi-network][data-day="{day}"]').wait_for()
    session.by_id("network-summary").filter(has_text=f"Day {day}:").wait_for()
    assert "formed" in session.by_id("network-summary").inner_text()
    ties = int(session.by_id("network-summary").get_attribute("data-ties"))
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=network-ties] tbody tr').length === n",
        arg=ties,
    )
    assert redrawn(session, "chart-guanxi-network", network_before)
    session.screenshot("network", session.by_id("chart-guanxi-network"))
    session.screenshot("after-play")
    assert_stayed_local(session, outbound)
    assert session.errors == []


def test_small_comparison_with_progress_and_cancel(open_session, outbound):
    session = open_session()
    page = session.page
    page.get_by_role("tab", name="Compare A vs B").click()
    page.get_by_label("Replications").fill("2")
    page.get_by_label("Replications").press("Enter")
    page.get_by_label("Days", exact=True).fill("10")
    page.get_by_label("Days", exact=True).press("Enter")
    session.by_id("B:section-strategy-china").click()
    page.locator(f'input[data-testid="B:param-{SHOP_CHINA}"]').check(force=True)
    session.by_id("variant-B-changes").filter(has_text="Our China in-platform shop: yes").wait_for()

    session.by_id("btn-compare-run").click()
    page.locator("[data-testid=compare-status][data-state=done]").wait_for(timeout=180_000)
    table = session.by_id("compare-table-1")
    assert "Mean attitude toward us" in table.inner_text()
    assert table.locator("tbody tr").count() == 9
    page.locator("[data-testid=chart-compare-attitude] canvas").first.wait_for()
    session.screenshot("comparison-table", table)
    session.by_id("chart-compare-attitude").scroll_into_view_if_needed()
    session.screenshot("comparison-bands", session.by_id("chart-compare-attitude"))

    # A long comparison runs in the background: the page still steps, then we cancel.
    page.get_by_label("Days", exact=True).fill("1000")
    page.get_by_label("Days", exact=True).press("Enter")
    session.by_id("btn-compare-run").click()
    page.locator("[data-testid=compare-status][data-state=running]").wait_for()
    page.get_by_role("tab", name="Explore").click()
    session.wait_ready()
    session.step(1)
    page.get_by_role("tab", name="Compare A vs B").click()
    page.locator("[data-testid=compare-status][data-state=running]").wait_for()
    session.screenshot("comparison-running")
    session.by_id("btn-compare-cancel").click()
    page.locator("[data-testid=compare-status][data-state=cancelled]").wait_for(timeout=60_000)
    # The finished result stays, under its own A and B, not as the new settings' result.
    assert session.by_id("compare-table-1").count() == 1
    assert session.by_id("compare-current-none").count() == 1
    assert_stayed_local(session, outbound)
    assert session.errors == []


def test_bad_upload_shows_the_message_and_the_app_keeps_running(open_session, outbound):
    session = open_session()
    session.by_id("scenario-file-input").set_input_files(
        files=[{"name": "broken.toml", "mimeType": "text/plain", "buffer": b"[model\nsteps = 3"}]
    )
    error = session.by_id("session-error")
    error.wait_for()
    assert "upload broken.toml: malformed TOML" in error.inner_text()
    session.screenshot("bad-upload")
    session.step(1)
    assert session.by_id("day-counter").inner_text() == "Day 1 of 365"
    assert_stayed_local(session, outbound)


def test_three_sessions_at_once_stay_separate(open_session, outbound):
    first, second, third = (open_session(f"-{n}") for n in (1, 2, 3))
    first.step(1)
    second.step(3)
    seed = third.page.get_by_label("Seed")
    seed.fill("5")
    seed.press("Enter")
    third.by_id("change-line").filter(has_text="Seed: 5").wait_for()
    third.step(2)
    assert [s.day() for s in (first, second, third)] == [1, 3, 2]
    assert first.page.get_by_label("Seed").input_value() == "42"
    assert second.page.get_by_label("Seed").input_value() == "42"
    assert third.page.get_by_label("Seed").input_value() == "5"
    assert first.by_id("change-line").count() == 0 and second.by_id("change-line").count() == 0
    first.step(1)
    assert [s.day() for s in (first, second, third)] == [2, 3, 2]
    for session in (first, second, third):
        session.screenshot("side-by-side")
        assert_stayed_local(session, outbound)


def test_legend_colours_match_the_lines_in_the_browser(open_session, outbound):
    """Issue 16, bug 1, as drawn: ECharts' own model gives each legend entry the
    colour of its line."""
    session = open_session(query="set=model.n_users%3D1000")
    page = session.page
    page.get_by_role("tab", name="Compare A vs B").click()
    page.get_by_label("Replications").fill("2")
    page.get_by_label("Replications").press("Enter")
    page.get_by_label("Days", exact=True).fill("5")
    page.get_by_label("Days", exact=True).press("Enter")
    session.by_id("btn-compare-run").click()
    page.locator("[data-testid=compare-status][data-state=done]").wait_for(timeout=120_000)
    chart = page.locator("[data-testid=chart-compare-attitude]")
    chart.locator("canvas").first.wait_for()
    colours = chart.evaluate(
        """element => {
            const chart = element.__vue__ && element.__vue__.chart;
            if (!chart) return null;
            // The legend takes an entry's colour from the first series of that name.
            const out = {};
            chart.getOption().series.forEach((series, index) => {
                if (!(series.name in out)) {
                    const data = chart.getModel().getSeriesByIndex(index).getData();
                    const style = data.getVisual('style') || {};
                    out[series.name] = style.fill || style.stroke || null;
                }
            });
            return out;
        }"""
    )
    assert colours is not None, "the chart's ECharts instance was not found"
    del colours["zero"]
    assert colours == {"A": "#1f77b4", "B": "#ff7f0e", "B - A": "#2ca02c"}


def test_guanxi_decision_verdict_report_and_address(open_session, outbound, tmp_path):
    """A strategist's question end to end: does turning guanxi off change anything?
    Compare with guanxi off in B, read the verdict, download the report and open it,
    and find the settings in the address after a reload."""
    session = open_session(query="set=model.n_users%3D1000")
    page = session.page
    page.get_by_role("tab", name="Compare A vs B").click()
    page.get_by_label("Replications").fill("3")
    page.get_by_label("Replications").press("Enter")
    page.get_by_label("Days", exact=True).fill("30")
    page.get_by_label("Days", exact=True).press("Enter")
    session.by_id("B:section-guanxi").click()
    page.locator('input[data-testid="B:param-guanxi.enabled"]').uncheck(force=True)
    session.by_id("variant-B-changes").filter(has_text="Guanxi ties between firms: off").wait_for()
    session.by_id("btn-compare-run").click()
    page.locator("[data-testid=compare-status][data-state=done]").wait_for(timeout=120_000)
    verdict = session.by_id("verdict-1").inner_text()
    assert verdict.startswith("Turning guanxi ties off ") and "over 30 days" in (
        session.by_id("caveats-1").inner_text()
    )
    session.screenshot("verdict", session.by_id("comparison-1"))

    with page.expect_download() as download_info:
        session.by_id("report-1").click()
    report = tmp_path / "report.html"
    download_info.value.save_as(report)
    text = report.read_text()
    assert verdict in text.replace("&#x27;", "'") and "data:image/png;base64," in text
    viewer = page.context.new_page()
    viewer.goto(report.as_uri())
    assert viewer.locator("img").count() == 3
    assert viewer.locator("h1").inner_text() == "guanxi-sim decision report"
    viewer.screenshot(
        path=str(session.screenshot("report-placeholder").with_name(f"{session.name}-report.png")),
        full_page=False,
    )
    viewer.close()

    # The address holds the scenario's and B's changes: a reload keeps them.
    assert "b=guanxi.enabled%3Dfalse" in page.url and "set=model.n_users%3D1000" in page.url
    page.reload()
    session.wait_ready()
    page.get_by_role("tab", name="Compare A vs B").click()
    session.by_id("variant-B-changes").filter(has_text="Guanxi ties between firms: off").wait_for()
    assert page.get_by_label("Days", exact=True).input_value() == "30"
    assert_stayed_local(session, outbound)
    assert session.errors == []


def test_zip_is_prepared_in_the_background_and_refused_values_revert(open_session, outbound):
    session = open_session(query="set=model.n_users%3D1000")
    page = session.page
    session.step(2)
    page.get_by_role("tab", name="Export").click()
    session.by_id("btn-zip-prepare").click()
    page.locator("[data-testid=zip-status]").wait_for()
    page.get_by_role("tab", name="Explore").click()
    session.wait_ready()
    session.step(1)  # the page steps while the ZIP is drawn
    page.get_by_role("tab", name="Export").click()
    page.locator("[data-testid=zip-status][data-state=done]").wait_for(timeout=120_000)
    with page.expect_download() as download_info:
        session.by_id("download-zip").click()
    assert download_info.value.suggested_filename == "baseline_day2.zip"

    # A typed value the schema refuses goes back to the value in use, and says why.
    budget = page.get_by_label("Budget (EUR a day)").first  # Western Europe's (open)
    before = budget.input_value()
    budget.fill("-5")
    budget.press("Enter")
    refused = session.by_id("refused-firms.ours.strategies.western_europe.budget")
    refused.wait_for()
    assert refused.inner_text().startswith("Not applied: -5 EUR a day. Allowed: 0 to")
    assert budget.input_value() == before
    assert "was not applied" in session.by_id("session-error").inner_text()
    session.screenshot("refused-value")
    assert_stayed_local(session, outbound)
