"""Issue 16's decision flows in a real browser (Debian's Chromium via Playwright):
a comparison over a calibration posterior, an optimisation run in the background
(cancelled, then finished) with a strategy picked from its Pareto front into
Compare, results loaded from a folder, and the PDF report downloaded and read.
Screenshots: test-artifacts/e2e/ (the docs' are copied from there)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.e2e.test_ui_browser import assert_stayed_local
from tests.test_viz_posterior import write_posterior

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHART_TITLE = """element => {
    const chart = element.__vue__ && element.__vue__.chart;
    if (!chart) return null;
    const title = chart.getOption().title;
    return (Array.isArray(title) ? title[0] : title).text;
}"""


def set_design(page, reps: int, days: int) -> None:
    page.get_by_label("Replications").fill(str(reps))
    page.get_by_label("Replications").press("Enter")
    page.get_by_label("Days", exact=True).fill(str(days))
    page.get_by_label("Days", exact=True).press("Enter")


def pdf_text(path) -> str | None:
    if shutil.which("pdftotext") is None:
        return None
    return subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def test_posterior_comparison_says_it_includes_parameter_uncertainty(
    open_session, outbound, ui_data_folder, tmp_path
):
    folder = write_posterior(ui_data_folder / "calibrations" / "china")
    session = open_session(query="set=model.n_users%3D1000")
    page = session.page
    page.get_by_role("tab", name="Compare A vs B").click()
    status = session.by_id("posterior-status")
    assert status.get_attribute("data-state") == "none"

    # A folder that is no calibration: one line, nothing loaded.
    page.get_by_label("Posterior folder").fill(str(ui_data_folder))
    session.by_id("btn-posterior-load").click()
    error = session.by_id("posterior-error")
    error.wait_for()
    assert "no posterior.parquet" in error.inner_text()
    assert status.get_attribute("data-state") == "none"

    page.get_by_label("Posterior folder").fill(str(folder))
    session.by_id("btn-posterior-load").click()
    page.locator("[data-testid=posterior-status][data-state=loaded]").wait_for()
    assert "China market: organic reach" in status.inner_text()
    page.wait_for_url(re.compile(r"posterior=%2F"))  # the folder is in the address
    assert session.by_id("posterior-error").count() == 0

    set_design(page, 2, 5)
    session.by_id("B:section-guanxi").click()
    page.locator('input[data-testid="B:param-guanxi.enabled"]').uncheck(force=True)
    session.by_id("variant-B-changes").filter(has_text="Guanxi ties between firms: off").wait_for()
    session.by_id("btn-compare-run").click()
    page.locator("[data-testid=compare-status][data-state=done]").wait_for(timeout=120_000)
    assert "Results include parameter uncertainty" in session.by_id("uncertainty-1").inner_text()
    caveats = session.by_id("caveats-1").inner_text()
    assert "include uncertainty in the model's parameters" in caveats
    assert "draw r of the calibration posterior" in caveats
    for key in ("attitude", "profit", "ties"):
        chart = page.locator(f"[data-testid=chart-compare-{key}]")
        chart.locator("canvas").first.wait_for()
        assert chart.evaluate(CHART_TITLE).endswith("includes parameter uncertainty")
    session.by_id("posterior-status").scroll_into_view_if_needed()
    session.screenshot("posterior")
    session.by_id("verdict-1").scroll_into_view_if_needed()
    page.mouse.wheel(0, -120)
    session.screenshot("posterior-comparison")

    with page.expect_download() as download_info:
        session.by_id("report-1").click()
    html = tmp_path / "report.html"
    download_info.value.save_as(html)
    assert "Results include parameter uncertainty" in html.read_text()

    with page.expect_download() as download_info:
        session.by_id("report-1-pdf").click()
    assert download_info.value.suggested_filename == "report_comparison_1.pdf"
    pdf = tmp_path / "report.pdf"
    download_info.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = pdf_text(pdf)
    if text is not None:
        flat = " ".join(text.split())
        assert "guanxi-sim decision report" in flat
        assert "Results include parameter uncertainty" in flat
        assert " ".join(session.by_id("verdict-1").inner_text().split()) in flat
    assert_stayed_local(session, outbound)
    assert session.errors == []


def test_optimisation_in_the_background_with_cancel_and_a_pick_into_compare(open_session, outbound):
    session = open_session(query="set=model.n_users%3D1000")
    page = session.page
    page.get_by_role("tab", name="Optimise").click()
    session.by_id("btn-optimise-run").click()
    page.locator("[data-testid=optimise-status][data-state=running]").wait_for()
    # The page keeps working while it runs.
    page.get_by_role("tab", name="Explore").click()
    session.wait_ready()
    session.step(1)
    page.get_by_role("tab", name="Optimise").click()
    page.locator("[data-testid=optimise-status][data-state=running]").wait_for()
    # Once the first runs are in (the first may compile the model's loops in this process).
    session.by_id("optimise-status").filter(has_text="search, generation").wait_for(timeout=120_000)
    page.wait_for_timeout(300)  # the progress bar's transition
    session.screenshot("optimise-running")
    session.by_id("btn-optimise-cancel").click()
    page.locator("[data-testid=optimise-status][data-state=cancelled]").wait_for(timeout=60_000)
    assert session.by_id("pareto-table").count() == 0

    session.by_id("btn-optimise-run").click()
    page.locator("[data-testid=optimise-status][data-state=done]").wait_for(timeout=400_000)
    done = session.by_id("optimise-status").inner_text()
    out = re.search(r"results in (\S+)", done).group(1)
    page.locator("[data-testid=chart-pareto] canvas").first.wait_for()
    table = session.by_id("pareto-table")
    assert table.locator("tbody tr").count() >= 1
    header = table.locator("thead").inner_text()
    assert "Profit" in header and "Attitude in China" in header
    table_text = table.inner_text()
    assert "Our China posts" in table_text and "firms.ours" not in table_text
    session.screenshot("optimise-front", page.locator(".v-card", has=table).first)

    session.by_id("use-B-S1").click()
    session.by_id("optimise-message").filter(has_text="Strategy S1 is now").wait_for()
    page.get_by_role("tab", name="Compare A vs B").click()
    session.by_id("variant-B-changes").filter(has_text="Our China posts").wait_for()

    # The same results, loaded from their folder in a new session.
    other = open_session("-load")
    other.page.get_by_role("tab", name="Optimise").click()
    other.page.get_by_label("Results folder").fill(out)
    other.page.get_by_label("Results folder").press("Enter")
    other.by_id("btn-pareto-load").click()
    other.by_id("pareto-table").wait_for()
    assert other.by_id("pareto-table").inner_text() == table_text
    other.page.get_by_label("Results folder").fill("/nonexistent/folder")
    other.page.get_by_label("Results folder").press("Enter")
    other.by_id("btn-pareto-load").click()
    other.by_id("optimise-error").filter(has_text="not a folder").wait_for()
    for each in (session, other):
        assert_stayed_local(each, outbound)
        assert each.errors == []


def test_a_chosen_local_partner_in_compare(open_session, outbound):
    """B takes China leader as our local partner (a guanxi tie from day 0)."""
    session = open_session(query="set=model.n_users%3D1000")
    page = session.page
    page.get_by_role("tab", name="Compare A vs B").click()
    set_design(page, 2, 10)
    session.by_id("B:local-partner").locator(".v-select").click()
    page.get_by_role("option", name="China leader (China)").click()
    session.by_id("variant-B-changes").filter(
        has_text="Our chosen local partner: China leader"
    ).wait_for()
    page.wait_for_url(re.compile(r"b=firms\.ours\.local_partner%3D"))  # in the address
    session.by_id("btn-compare-run").click()
    page.locator("[data-testid=compare-status][data-state=done]").wait_for(timeout=120_000)
    verdict = session.by_id("verdict-1").inner_text()
    assert verdict.startswith("Taking China leader as our local guanxi partner from day 0")
    session.by_id("variant-B-changes").scroll_into_view_if_needed()
    session.screenshot("local-partner")
    assert_stayed_local(session, outbound)
    assert session.errors == []
