"""Screenshots of the UI's main screens for docs/ui.md, taken in Debian's Chromium.

Starts ``guanxi ui`` on a free 127.0.0.1 port, opens it at 1600 x 1000 with a small
population (in the address), answers "does turning guanxi off change anything?"
(3 replications x 90 days), and writes PNGs next to this file. Prints the page's
first load time.

    .venv/bin/python docs/ui/screenshots.py
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QUERY = "set=model.n_users%3D2000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    from playwright.sync_api import sync_playwright

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "ui", "--port", str(port), "--no-open"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(url, timeout=5):  # noqa: S310
                    break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(120_000)
            started = time.perf_counter()
            page.goto(f"{url}?{QUERY}")
            page.get_by_test_id("btn-step").wait_for()
            page.locator("[data-testid=chart-attitude_mean] canvas").first.wait_for()
            print(f"first load: {time.perf_counter() - started:.2f} s")
            for _ in range(30):
                page.get_by_test_id("btn-step").click()
                page.wait_for_timeout(60)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(HERE / "explore.png"))

            page.get_by_role("tab", name="Compare A vs B").click()
            page.get_by_label("Replications").fill("3")
            page.get_by_label("Replications").press("Enter")
            page.get_by_label("Days", exact=True).fill("90")
            page.get_by_label("Days", exact=True).press("Enter")
            page.get_by_test_id("B:section-guanxi").click()
            page.locator('input[data-testid="B:param-guanxi.enabled"]').uncheck(force=True)
            page.get_by_test_id("btn-compare-run").click()
            page.locator("[data-testid=compare-status][data-state=done]").wait_for()
            page.get_by_test_id("B:section-guanxi").click()  # fold it away again
            page.get_by_test_id("comparison-1").scroll_into_view_if_needed()
            page.wait_for_timeout(1500)
            page.screenshot(path=str(HERE / "compare.png"))

            with page.expect_download() as download:
                page.get_by_test_id("report-1").click()
            report = HERE / "report-example.html"
            download.value.save_as(report)
            viewer = browser.new_page(viewport={"width": 1100, "height": 1400})
            viewer.goto(report.as_uri())
            viewer.screenshot(path=str(HERE / "report.png"))
            viewer.close()
            report.unlink()

            page.get_by_role("tab", name="Export").click()
            page.get_by_test_id("btn-zip-prepare").click()
            page.locator("[data-testid=zip-status][data-state=done]").wait_for()
            page.get_by_role("tab", name="Explore").click()
            page.locator("[data-testid=chart-attitude_mean] canvas").first.wait_for()
            page.wait_for_timeout(2000)
            page.get_by_test_id("btn-help-model.n_users").click()
            page.get_by_test_id("help-model.n_users").wait_for()
            budget = page.get_by_label("Budget (EUR a day)").first
            budget.fill("-5")
            budget.press("Enter")
            refused = page.get_by_test_id("refused-firms.ours.strategies.western_europe.budget")
            refused.wait_for()
            refused.scroll_into_view_if_needed()
            page.wait_for_timeout(800)
            page.screenshot(path=str(HERE / "help-and-refused.png"))
            browser.close()
    finally:
        server.terminate()
        server.wait(15)


if __name__ == "__main__":
    main()
