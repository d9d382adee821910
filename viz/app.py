"""guanxi-sim in the browser, for strategists: ``guanxi ui`` or ``solara run viz/app.py``.

One page per browser session, each with its own :class:`~viz.state.ExploreSession`
(scenario, changes, live model, comparison): sessions never share state. The left
column holds the scenario, the run controls and the parameters (generated from the
scenario schema); the tabs hold the live run (Explore), strategy A against B
(Compare) and the downloads (Export). Every asset is served by the local server.
"""

from __future__ import annotations

from viz.offline import configure_offline

configure_offline()  # before any page is served: local assets only, no telemetry

from viz.page import preload_scripts  # noqa: E402

preload_scripts()  # the page asks for its widget libraries and ECharts at once

import os  # noqa: E402

# reacton's own skipping renderer (reacton >= 1.11, opt-in by this variable, read at
# each render): a re-render walks only the components whose arguments or state
# changed. The classic one walks every widget of the page on each Step and sets every
# property again, which puts a half-typed number back to the value in use
# (solara issue #779) and costs the server time on every simulated day.
os.environ.setdefault("REACTON_FAST", "1")

import logging  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import solara  # noqa: E402
import solara.lab  # noqa: E402
import solara.server.settings  # noqa: E402

from viz.compare_view import CompareTab  # noqa: E402
from viz.explore import ExploreTab  # noqa: E402
from viz.export_view import ExportTab  # noqa: E402
from viz.optimise_view import OptimiseTab  # noqa: E402
from viz.sidebar import (  # noqa: E402
    Banner,
    ChangesCard,
    ParametersCard,
    RunControls,
    ScenarioCard,
)
from viz.state import ExploreSession  # noqa: E402
from viz.ticks import use_ticks  # noqa: E402
from viz.url import session_from_query, state_query  # noqa: E402

logger = logging.getLogger(__name__)
TITLE = "guanxi-sim: social media strategy simulator"
solara.server.settings.theme.title = "guanxi-sim"
solara.server.settings.theme.show_banner = False
solara.server.settings.assets.fontawesome_enabled = False  # icons are Material Design


@solara.component
def SessionError(session: ExploreSession, revision: int, act: Callable[..., None]):
    """The last rejected change or upload, in the schema's words."""
    if session.error:
        Banner(session.error, "session-error", lambda: act(session.dismiss_error))


@solara.component
def Explorer(session: ExploreSession):
    """The whole page for one session (tests render it with a small scenario)."""
    ticks = use_ticks(session)
    playing = solara.use_reactive(False)
    play_interval = solara.use_reactive(100)
    days_per_frame = solara.use_reactive(1)
    tab = solara.use_reactive(0)

    def act(action: Callable[..., Any], *args: Any) -> None:
        """Apply an action to the session, then re-render what it changed."""
        action(*args)
        ticks.sync()

    def change(path: str, value: Any) -> str | None:
        """Apply a parameter change; the reason it was refused, or None."""
        playing.set(False)
        applied = session.set_parameter(path, value)
        ticks.sync()
        return None if applied else session.error

    def play() -> None:
        """Step while playing, one frame per play interval, until paused or the run ends."""
        while playing.value and not session.finished:
            time.sleep(play_interval.value / 1000)
            if not playing.value:
                break
            days = max(1, min(days_per_frame.value, session.run_length - session.day))
            try:
                session.step(days)
            except Exception as exc:  # keep the app alive and say what happened
                logger.exception("step failed")
                session.report(f"step failed: {exc}")
                playing.set(False)
            ticks.sync()
        if playing.value:
            playing.set(False)

    solara.lab.use_task(play, dependencies=[playing.value], prefer_threaded=True)
    # The one reader of the counters: a change re-renders in a single pass, and only
    # the components whose counter changed do any work. (Components reading them
    # themselves could miss a change made from the play or comparison thread while
    # another render is under way.)
    revision, config, compare = ticks.run.value, ticks.config.value, ticks.compare.value
    export = ticks.export.value

    AddressSync(session, config, compare)
    solara.Title(TITLE)
    # The left column scrolls on its own and stays in view while the page scrolls, so
    # controls and charts are seen together; its cards keep their height (a flex
    # column would shrink them to the column's and clip their contents).
    solara.Style(
        ".guanxi-param .v-input--switch { margin-top: 0 } "
        ".guanxi-layout > .col:first-child { position: sticky; top: 0; "
        "align-self: flex-start; height: auto !important; max-height: 100vh; "
        "overflow-y: auto !important; padding-right: 4px } "
        ".guanxi-sidebar > * { flex-shrink: 0 } "
        # the parameters' info buttons (viz.controls._help), drawn like Vuetify's
        ".guanxi-help { border: 0; background: none; padding: 0 2px; margin-left: 2px; "
        "font-size: 16px; line-height: 1; color: rgba(0, 0, 0, 0.54); cursor: pointer; "
        "border-radius: 50%; vertical-align: middle } "
        ".guanxi-help:hover, .guanxi-help:focus-visible { background: rgba(0, 0, 0, 0.08) }"
    )
    with solara.Columns([1, 3], gutters_dense=True, classes=["guanxi-layout"]):
        # The controls scroll on their own, so that they and the charts are seen together.
        with solara.Column(gap="8px", style="min-width: 300px", classes=["guanxi-sidebar"]):
            SessionError(session, revision, act)
            ScenarioCard(ticks, config, act)
            RunControls(ticks, revision, playing.value, playing, play_interval, days_per_frame, act)
            ChangesCard(ticks, config, act)
            ParametersCard(ticks, config, change)
        with (
            solara.Column(gap="8px", style="min-width: 0"),
            solara.lab.Tabs(value=tab, lazy=True),
        ):
            with solara.lab.Tab("Explore", icon_name="mdi-chart-line"):
                ExploreTab(ticks, revision, config)
            with solara.lab.Tab("Compare A vs B", icon_name="mdi-scale-balance"):
                CompareTab(ticks, compare, config)
            with solara.lab.Tab("Optimise", icon_name="mdi-chart-scatter-plot"):
                OptimiseTab(ticks, compare, config)
            with solara.lab.Tab("Export", icon_name="mdi-download"):
                ExportTab(ticks, revision, compare, export)


@solara.component
def AddressSync(session: ExploreSession, config_revision: int, compare_revision: int):
    """Keep the scenario and its changes in the page's address (:mod:`viz.url`), so
    that a view can be shared or survives a reload."""
    router = solara.use_router()

    def publish() -> None:
        if router.set_path is None:  # rendered outside a Solara server (tests)
            return
        query = state_query(session)
        if (router.search or "") != query:
            router.push(f"{router.path or '/'}?{query}")

    solara.use_effect(publish, [config_revision, compare_revision])


@solara.component
def Page():
    """Solara's entry point: a new session per browser tab, as its address describes
    (the default scenario when it describes nothing)."""
    router = solara.use_router()
    session = solara.use_memo(lambda: session_from_query(router.search), [])
    Explorer(session)
