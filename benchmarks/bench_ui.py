"""Issue 4 speed targets for the browser UI, measured; prints its figures.

* one step plus re-render with 10,000 users: under 250 ms;
* first page load: under 3 s.

Measured two ways:

1. in the server process, without a browser (``solara.render``): the model's step
   alone, then the Step button's whole handler (step, re-render of every component
   that changed, widget updates). Note: outside a server, Solara's stand-in for the
   browser connection records a stack trace per widget, so this is an upper bound.
2. end to end, in Debian's Chromium (Playwright, ``/usr/bin/chromium``) against
   ``guanxi ui`` on a free 127.0.0.1 port:
   * page load: from navigation to the page usable and drawn (Step button, our
     numbers and the first page's charts on screen), for the first visit after the
     server started (cold) and for later visits (each a new browser session);
   * step: from the click on Step until the day counter, our numbers and every
     chart of the page in view show the new day and the browser has painted two
     frames; on each page of the Explore tab in turn.

3. for context, the same two measurements on a one-button Solara page (the cost of
   the machine, Chromium and Solara before the simulator adds anything).

    .venv/bin/python benchmarks/bench_ui.py [--users 10000] [--steps 30] [--loads 5]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Explore pages and what each shows; a step redraws the page in view.
PAGES = {
    "Opinion and reach": (
        "chart-attitude_mean",
        "chart-awareness",
        "chart-followers",
        "chart-engagement_rate",
    ),
    "Sales and capability": (
        "chart-revenue_profit",
        "chart-conversions",
        "chart-crm_capability",
        "chart-performance",
    ),
    "Guanxi network": ("chart-guanxi-network", "chart-guanxi_ties"),
    "Users": ("chart-funnel",),
}
FIRST_PAGE = "Opinion and reach"
STEP_TARGET_MS = 250
LOAD_TARGET_S = 3.0


def summary(values_ms: list[float]) -> str:
    ordered = sorted(values_ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"median {statistics.median(ordered):.0f} ms, p95 {p95:.0f} ms, "
        f"min {ordered[0]:.0f} ms, max {ordered[-1]:.0f} ms (n={len(ordered)})"
    )


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


# --------------------------------------------------------------------------- in process
def in_process(users: int, steps: int) -> float:
    import ipyvuetify as v
    import solara

    from viz.app import Explorer
    from viz.state import ExploreSession

    session = ExploreSession.bundled()
    if users != session.spec.model.n_users:
        session.set_parameter("model.n_users", users)
    model_ms = []
    for _ in range(steps):
        start = time.perf_counter()
        session.model.step()
        model_ms.append(1000 * (time.perf_counter() - start))
    session.reset()
    _, rc = solara.render(Explorer(session), handle_error=False)
    button = rc.find(v.Btn, children=["Step"]).widget
    handler_ms = []
    for _ in range(steps):
        start = time.perf_counter()
        button.click()
        handler_ms.append(1000 * (time.perf_counter() - start))
    rc.close()
    print(f"in process, {users:,} users:")
    print(f"  model step alone:           {summary(model_ms)}")
    print(f"  Step (step + re-render):    {summary(handler_ms)}")
    return statistics.median(handler_ms)


# --------------------------------------------------------------------------- browser
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int, users: int) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if key != "DISPLAY"}
    server = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "ui", "--port", str(port), "--no-open"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5):  # noqa: S310
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("guanxi ui did not start")


def wait_drawn(page, day: int, charts: tuple[str, ...]) -> None:
    """Until the day counter, our numbers and ``charts`` show ``day``, and two frames painted."""
    page.get_by_test_id("day-counter").filter(has_text=f"Day {day} of").wait_for()
    page.locator(f'[data-testid=kpis][data-day="{day}"]').wait_for()
    for chart in charts:
        page.locator(f'[data-testid={chart}][data-day="{day}"]').wait_for()
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def time_steps(page, first_day: int, steps: int, charts: tuple[str, ...]) -> list[float]:
    timings = []
    for day in range(first_day, first_day + steps):
        start = time.perf_counter()
        page.get_by_test_id("btn-step").click()
        wait_drawn(page, day, charts)
        timings.append(1000 * (time.perf_counter() - start))
    return timings


def in_browser(users: int, steps: int, loads: int) -> tuple[list[float], float]:
    from playwright.sync_api import sync_playwright

    port = free_port()
    server = start_server(port, users)
    url = f"http://127.0.0.1:{port}/"
    load_s: list[float] = []
    step_ms: dict[str, list[float]] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            for _ in range(loads):
                context = browser.new_context(viewport={"width": 1500, "height": 1000})
                page = context.new_page()
                page.set_default_timeout(60_000)
                start = time.perf_counter()
                page.goto(url)
                page.get_by_test_id("btn-step").wait_for()
                page.get_by_test_id("kpis").wait_for()
                for chart in PAGES[FIRST_PAGE]:
                    page.locator(f"[data-testid={chart}] canvas").first.wait_for()
                load_s.append(time.perf_counter() - start)
                context.close()
            context = browser.new_context(viewport={"width": 1500, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(url)
            wait_drawn(page, 0, PAGES[FIRST_PAGE])
            if users != 10_000:
                field = page.get_by_label("N users (users)")
                field.fill(str(users))
                field.press("Enter")
                page.get_by_test_id("change-line").filter(has_text="model.n_users").wait_for()
                wait_drawn(page, 0, PAGES[FIRST_PAGE])
            day = 1
            for name, charts in PAGES.items():
                page.get_by_role("tab", name=name).click()
                for chart in charts:
                    page.locator(f"[data-testid={chart}] canvas").first.wait_for()
                step_ms[name] = time_steps(page, day, steps, charts)
                day += steps
            context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(15)
    cold, warm = load_s[0], load_s[1:]
    print(f"in Chromium, {users:,} users (guanxi ui on 127.0.0.1):")
    print(f"  first page load, cold:      {cold:.2f} s (first visit after the server started)")
    if warm:
        print(
            f"  first page load, new visit: median {statistics.median(warm):.2f} s, "
            f"min {min(warm):.2f} s, max {max(warm):.2f} s (n={len(warm)})"
        )
    for name, timings in step_ms.items():
        print(f"  Step to painted, page {name!r}: {summary(timings)}")
    every = [value for timings in step_ms.values() for value in timings]
    print(f"  Step to painted, all pages:  {summary(every)}")
    return load_s, statistics.median(every)


FLOOR_APP = """
import solara

count = solara.reactive(0)


@solara.component
def Page():
    solara.Button("Step", on_click=lambda: count.set(count.value + 1))
    solara.v.Html(tag="div", children=[f"Day {count.value}"], attributes={"data-testid": "out"})
"""


def platform_floor(loads: int, steps: int) -> None:
    """The same measurements on a one-button Solara page: what this machine and Solara
    cost before the simulator adds anything (context for the figures above)."""
    import tempfile

    from playwright.sync_api import sync_playwright

    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        app = Path(folder) / "floor.py"
        app.write_text(FLOOR_APP)
        env = {
            **{key: value for key, value in os.environ.items() if key != "DISPLAY"},
            "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        }
        server = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("solara")),
                "run",
                str(app),
                "--port",
                str(port),
                "--no-open",
                "--no-check-version",
                "--production",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(url, timeout=5):  # noqa: S310
                        break
                except OSError:
                    time.sleep(0.2)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
                )
                load_s = []
                for _ in range(loads):
                    context = browser.new_context()
                    page = context.new_page()
                    start = time.perf_counter()
                    page.goto(url)
                    page.get_by_test_id("out").wait_for()
                    load_s.append(time.perf_counter() - start)
                    context.close()
                page = browser.new_page()
                page.goto(url)
                page.get_by_test_id("out").wait_for()
                click_ms = []
                for count in range(1, steps + 1):
                    start = time.perf_counter()
                    page.get_by_role("button", name="Step").click()
                    page.get_by_test_id("out").filter(has_text=f"Day {count}").wait_for()
                    page.evaluate(
                        "() => new Promise(r => requestAnimationFrame(() => "
                        "requestAnimationFrame(r)))"
                    )
                    click_ms.append(1000 * (time.perf_counter() - start))
                browser.close()
        finally:
            server.terminate()
            server.wait(15)
    print("platform floor (a one-button Solara page, same machine, same moment):")
    print(f"  page load:                  median {statistics.median(load_s):.2f} s (n={loads})")
    print(f"  click to painted:           {summary(click_ms)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=30, help="steps timed")
    parser.add_argument("--loads", type=int, default=5, help="page loads timed")
    parser.add_argument(
        "--no-floor", action="store_true", help="skip the one-button Solara page reference"
    )
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    handler_ms = in_process(args.users, args.steps)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} missing: browser figures skipped")
        print(
            f"target: step + re-render < {STEP_TARGET_MS} ms -> {verdict(handler_ms < STEP_TARGET_MS)} (in process)"
        )
        return
    load_s, step_ms = in_browser(args.users, args.steps, args.loads)
    if not args.no_floor:
        platform_floor(args.loads, args.steps)
    first_load = statistics.median(load_s)
    print(f"machine: load average {os.getloadavg()[0]:.2f} at end")
    print(
        f"target: step + re-render < {STEP_TARGET_MS} ms -> {verdict(step_ms < STEP_TARGET_MS)} "
        f"(browser median {step_ms:.0f} ms; in process {handler_ms:.0f} ms)"
    )
    print(
        f"target: first page load < {LOAD_TARGET_S:.0f} s -> {verdict(first_load < LOAD_TARGET_S)} "
        f"(median of {len(load_s)} loads {first_load:.2f} s; cold {load_s[0]:.2f} s)"
    )


if __name__ == "__main__":
    main()
