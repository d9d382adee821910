"""End-to-end fixtures: `guanxi ui` on a free 127.0.0.1 port, Debian's Chromium via Playwright.

Nothing here downloads a browser: Playwright drives ``/usr/bin/chromium`` (installed
by ``.ci/run`` with apt-get), and the tests skip with a reason when it is missing.
The server runs with every proxy variable pointing at :class:`OutboundRecorder`, a
local listener that records any connection: a request leaving the machine (CDN,
telemetry, version check) would land there, and the tests assert none did.
Screenshots go to ``test-artifacts/e2e/`` (git-ignored).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "e2e"
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
    "--disable-default-apps",
    "--disable-extensions",
]
SERVER_START_TIMEOUT = 90
PAGE_TIMEOUT_MS = 60_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OutboundRecorder:
    """A listener on 127.0.0.1 that records (and drops) every connection it gets."""

    def __init__(self) -> None:
        self.connections: list[str] = []
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen()
        self.port = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(1)
                with contextlib.suppress(OSError):
                    first = connection.recv(512).decode("latin-1").splitlines()
                    self.connections.append(first[0] if first else "(empty)")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._socket.close()


@pytest.fixture(scope="session")
def outbound() -> Iterator[OutboundRecorder]:
    recorder = OutboundRecorder()
    yield recorder
    recorder.close()


@pytest.fixture(scope="session")
def ui_data_folder(tmp_path_factory) -> Path:
    """The server's data folder (``GUANXI_UI_DATA``): calibrations and optimisations."""
    return tmp_path_factory.mktemp("ui-data")


@pytest.fixture(scope="session")
def ui_server(outbound: OutboundRecorder, tmp_path_factory, ui_data_folder: Path) -> Iterator[str]:
    """`guanxi ui` (the real command) on a free port; its URL."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("ui") / "server.log"
    proxies = {name: outbound.url for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")}
    env = {
        **os.environ,
        **proxies,
        **{name.lower(): value for name, value in proxies.items()},
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        # Optimisations started in the UI write here, and the UI lists results here.
        "GUANXI_UI_DATA": str(ui_data_folder),
    }
    env.pop("DISPLAY", None)
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "sim.cli", "ui", "--port", str(port), "--no-open"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while True:
        if server.poll() is not None:
            pytest.fail(f"guanxi ui exited ({server.returncode}):\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.kill()
            pytest.fail(
                f"guanxi ui did not answer in {SERVER_START_TIMEOUT} s:\n{log_path.read_text()}"
            )
        time.sleep(0.3)
    yield url
    server.terminate()
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


class Session:
    """One browser context (a separate Solara session) with what its page asked for."""

    def __init__(self, page, name: str) -> None:
        self.page = page
        self.name = name
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on(
            "console",
            lambda message: (
                message.type == "error"
                and not message.text.startswith("Failed to load resource")  # see "response"
                and self.errors.append(message.text)
            ),
        )
        page.on(
            "response",
            lambda response: (
                response.status >= 400 and self.errors.append(f"{response.status} {response.url}")
            ),
        )

    def by_id(self, test_id: str):
        return self.page.get_by_test_id(test_id)

    def wait_ready(self) -> None:
        self.by_id("btn-step").wait_for(timeout=PAGE_TIMEOUT_MS)
        self.page.locator("[data-testid=chart-attitude_mean] canvas").first.wait_for(
            timeout=PAGE_TIMEOUT_MS
        )

    def day(self) -> int:
        text = self.by_id("day-counter").inner_text()
        return int(re.search(r"Day (\d+)", text).group(1))

    def wait_day(self, day: int) -> None:
        self.by_id("day-counter").filter(has_text=f"Day {day} of").wait_for(timeout=PAGE_TIMEOUT_MS)

    def step(self, times: int = 1) -> None:
        for _ in range(times):
            before = self.day()
            self.by_id("btn-step").click()
            self.wait_day(before + 1)

    def screenshot(self, label: str, target=None) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{label}.png"
        (target or self.page).screenshot(path=str(path))
        return path

    def off_machine_requests(self) -> list[str]:
        local = ("http://127.0.0.1:", "ws://127.0.0.1:", "data:", "blob:", "about:")
        return [url for url in self.requests if not url.startswith(local)]


@pytest.fixture
def open_session(browser, ui_server, request) -> Iterator[Callable[[], Session]]:
    """Open a new browser session (own context, so its own Solara session) on the UI."""
    contexts = []
    test_name = re.sub(r"[^A-Za-z0-9_-]+", "_", request.node.name)

    def open_one(suffix: str = "", query: str = "") -> Session:
        context = browser.new_context(
            viewport={"width": 1600, "height": 1000}, accept_downloads=True
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        session = Session(page, test_name + suffix)
        page.goto(ui_server + (f"?{query}" if query else ""))
        session.wait_ready()
        return session

    yield open_one
    for context in contexts:
        context.close()
