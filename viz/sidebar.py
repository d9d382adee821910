"""The left column: scenario, run controls (Mesa's Reset / Play / Step), and parameters.

Follows Mesa's ``SolaraViz`` controls where they fit (Reset, Play/Pause, Step, a
play interval in milliseconds and how many days each frame advances) and adds what
strategists need: a scenario picker and upload, the seed, the focal firm, its
strategy per market, the key market and guanxi parameters, and every other
parameter of the schema on request.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import Any

import solara
from solara.alias import rv

from sim.scenario import bundled_scenarios
from viz.controls import ParameterList, Section
from viz.labels import describe_change, market_name
from viz.parameters import (
    GLOBAL_TABLES,
    KEY_FIRM,
    Parameter,
    assignment,
    firm_parameters,
    global_parameters,
    guanxi_parameters,
    market_parameters,
    n_users_parameter,
    strategy_parameters,
)
from viz.state import ExploreSession
from viz.ticks import Ticks
from viz.upload import ScenarioUpload

PLAY_INTERVAL_MS = (0, 1000)
DAYS_PER_FRAME = (1, 30)


def test_ids(name: str) -> dict[str, str]:
    return {"data-testid": name}


def job_controls(
    kind: str,
    run_label: str,
    on_run: Callable[[], None],
    on_cancel: Callable[[], None],
    job: Any,
    status: Callable[[], str],
) -> None:
    """A background job's Run and Cancel buttons, then (once there is a job) its
    progress bar and ``status()`` line; test ids ``btn-KIND-run``,
    ``btn-KIND-cancel`` and ``KIND-status`` (with the job's ``data-state``)."""
    running = job is not None and job.running
    with solara.Row(gap="8px", style="align-items: center"):
        solara.Button(
            run_label,
            color="primary",
            on_click=on_run,
            disabled=running,
            attributes=test_ids(f"btn-{kind}-run"),
        )
        solara.Button(
            "Cancel",
            on_click=on_cancel,
            disabled=not running,
            attributes=test_ids(f"btn-{kind}-cancel"),
        )
    if job is None:
        return
    solara.ProgressLinear(100 * job.progress if running else False)
    rv.Html(
        tag="div",
        children=[status()],
        attributes={"data-testid": f"{kind}-status", "data-state": job.state},
        style_="font-size: 13px",
    )


def folder_picker(
    kind: str,
    label: str,
    folder: solara.Reactive[str],
    found: Sequence[str],
    found_label: str,
    on_load: Callable[[], None],
    on_list: Callable[[], None],
    extra: Callable[[], None] | None = None,
    continuous_update: bool = False,
) -> None:
    """A results folder typed or chosen from those ``found``, a Load button, ``extra``
    buttons and one that lists the folders again; test ids ``btn-KIND-load`` and
    ``btn-KIND-list``."""
    solara.InputText(
        f"{label} folder",
        value=folder,
        continuous_update=continuous_update,
        style="min-width: 28em",
    )
    if found:
        solara.Select(
            found_label,
            values=list(found),
            value=folder.value if folder.value in found else None,
            on_value=lambda value: value and folder.set(value),
            dense=True,
            style="min-width: 20em",
        )
    solara.Button(
        f"Load {label.lower()}",
        color="primary",
        outlined=True,
        on_click=on_load,
        attributes=test_ids(f"btn-{kind}-load"),
    )
    if extra is not None:
        extra()
    solara.Button(
        icon_name="mdi-refresh",
        icon=True,
        small=True,
        on_click=on_list,
        attributes=test_ids(f"btn-{kind}-list"),
    )


@solara.component
def Banner(text: str, test_id: str, on_dismiss: Callable[[], None] | None = None):
    """An error line from the schema or the model, with a close button."""
    with (
        rv.Alert(
            type="error",
            dense=True,
            outlined=True,
            text=True,
            attributes=test_ids(test_id),
            style_="white-space: pre-wrap; word-break: break-word; font-size: 13px",
        ),
        solara.Row(gap="4px", style="align-items: flex-start"),
    ):
        rv.Html(tag="span", children=[text], style_="flex: 1 1 auto")
        if on_dismiss is not None:
            solara.Button(icon_name="mdi-close", icon=True, small=True, on_click=on_dismiss)


@solara.component
def ScenarioCard(ticks: Ticks, config_revision: int, act: Callable[..., None]):
    """Pick a bundled scenario or upload a TOML file."""
    session = ticks.session
    names = list(bundled_scenarios())
    uploaded = session.label not in names
    with solara.Card("Scenario", margin=0, elevation=1):
        solara.Select(
            "Bundled scenario",
            values=names,
            value=None if uploaded else session.label,
            on_value=lambda name: name and act(session.load_bundled, name),
            dense=True,
        )
        if uploaded:
            solara.Text(f"Using uploaded file: {session.label}", style="font-size: 12px")
        ScenarioUpload(
            on_upload=lambda name, data, size: act(session.load_upload, name, data, size)
        )
        if session.spec.model.description:
            solara.Text(session.spec.model.description, style="font-size: 12px; color: #555")


@solara.component
def DayCounter(session: ExploreSession, revision: int):
    rv.Html(
        tag="div",
        children=[f"Day {session.day} of {session.run_length}"],
        attributes=test_ids("day-counter"),
        style_="font-weight: 600; margin-bottom: 4px",
    )


@solara.component
def RunButtons(
    playing: solara.Reactive[bool],
    is_playing: bool,
    finished: bool,
    step: Callable[[], None],
    reset: Callable[[], None],
):
    """Reset, Play/Pause, Step (re-rendered only when playing or finished changes).

    ``is_playing`` comes from the page's own render (which also starts the play
    thread), not from reading ``playing`` here: the play thread re-renders the page
    at once, and a second reader could miss the change.
    """
    with solara.Row(gap="6px"):
        solara.Button("Reset", color="primary", on_click=reset, attributes=test_ids("btn-reset"))
        solara.Button(
            "\u275a\u275a Pause" if is_playing else "\u25b6 Play",
            color="primary",
            on_click=lambda: playing.set(not is_playing),
            disabled=finished and not is_playing,
            attributes=test_ids("btn-play"),
        )
        solara.Button(
            "Step",
            color="primary",
            on_click=step,
            disabled=is_playing,
            attributes=test_ids("btn-step"),
        )


@solara.component
def RunSettings(
    session: ExploreSession,
    seed: int,
    playing: solara.Reactive[bool],
    play_interval: solara.Reactive[int],
    days_per_frame: solara.Reactive[int],
    act: Callable[..., None],
):
    """Seed and speed (Mesa's play interval and render interval)."""

    def new_seed() -> None:
        playing.set(False)
        act(session.set_parameter, "model.seed", secrets.randbelow(2**31))

    def set_seed(value: int | None) -> None:
        if value is not None:
            playing.set(False)
            act(session.set_parameter, "model.seed", int(value))

    with solara.Row(gap="6px", style="align-items: center; margin-top: 14px"):
        solara.InputInt("Seed", value=seed, on_value=set_seed, dense=True)
        solara.Button(
            icon_name="mdi-dice-5",
            icon=True,
            on_click=new_seed,
            attributes={"title": "new random seed", **test_ids("btn-new-seed")},
        )
    # The value is in the label: a thumb label would cover the label above it.
    solara.SliderInt(
        f"Play interval: {play_interval.value} ms",
        value=play_interval,
        min=PLAY_INTERVAL_MS[0],
        max=PLAY_INTERVAL_MS[1],
        step=10,
    )
    solara.SliderInt(
        f"Days per frame: {days_per_frame.value}",
        value=days_per_frame,
        min=DAYS_PER_FRAME[0],
        max=DAYS_PER_FRAME[1],
    )


@solara.component
def RunControls(
    ticks: Ticks,
    revision: int,
    is_playing: bool,
    playing: solara.Reactive[bool],
    play_interval: solara.Reactive[int],
    days_per_frame: solara.Reactive[int],
    act: Callable[..., None],
):
    """Reset, Play/Pause, Step; seed; speed. After a step only the day counter changes."""
    session = ticks.session

    def step() -> None:
        act(session.step, days_per_frame.value)

    def reset() -> None:
        playing.set(False)
        act(session.reset)

    with solara.Card("Run", margin=0, elevation=1):
        DayCounter(session, revision)
        RunButtons(playing, is_playing, session.finished, step, reset)
        RunSettings(session, session.seed, playing, play_interval, days_per_frame, act)


def _values(session: ExploreSession, parameters: Sequence[Parameter]) -> dict[str, Any]:
    return {parameter.path: session.value(parameter.path) for parameter in parameters}


@solara.component
def ParameterPanel(
    session: ExploreSession,
    config_revision: int,
    parameters: Sequence[Parameter],
    on_change: Callable[[str, Any], None],
):
    ParameterList(
        parameters,
        _values(session, parameters),
        frozenset(session.overrides),
        on_change,
        currency=session.spec.model.currency,
        refusals=session.refusals,
    )


@solara.component
def ParametersCard(ticks: Ticks, config_revision: int, change: Callable[[str, Any], None]):
    """Our strategy per market, then our firm, markets, guanxi and everything else."""
    session = ticks.session
    spec = session.spec
    focal = spec.focal_firm
    firm = next(f for f in spec.firms if f.name == focal)

    def panel(parameters: Sequence[Parameter]) -> None:
        ParameterPanel(session, config_revision, parameters, change)

    def strategy(market: str) -> Callable[[], None]:
        def render() -> None:
            key = strategy_parameters(focal, market)
            every = strategy_parameters(focal, market, key_only=False)
            panel(key)
            Section(
                f"Starting position in {market_name(market)}",
                lambda: panel([p for p in every if p not in key]),
                test_id=f"section-start-{market}",
            )

        return render

    def our_firm() -> None:
        every = firm_parameters(focal)
        panel(
            [p for p in every if p.field in KEY_FIRM]
            + [p for p in every if p.field not in KEY_FIRM]
        )

    def everything_else() -> None:
        for table in GLOBAL_TABLES:
            if table != "guanxi":
                Section(f"[{table}]", lambda table=table: panel(global_parameters(table)))
        for other in spec.firms:
            if other.name != focal:
                Section(f"Firm: {other.name}", lambda other=other: other_firm(other))

    def other_firm(other: Any) -> None:
        panel(firm_parameters(other.name))
        for item in other.strategies:
            panel(strategy_parameters(other.name, item.market, key_only=False))

    with solara.Card("Parameters", margin=0, elevation=1):
        solara.Select(
            "Our business (focal firm)",
            values=[f.name for f in spec.firms],
            value=focal,
            on_value=lambda name: change("model.focal_firm", name),
            dense=True,
        )
        panel([n_users_parameter()])
        for index, item in enumerate(firm.strategies):
            Section(
                f"Our strategy in {market_name(item.market)}",
                strategy(item.market),
                initially_open=index == 0,
                test_id=f"section-strategy-{item.market}",
            ).key(f"strategy-{focal}-{item.market}")
        Section(f"Our firm: {focal}", our_firm, test_id="section-firm")
        for market in spec.markets:
            Section(
                f"Market: {market_name(market.name)}",
                lambda market=market: panel(market_parameters(market.name)),
                test_id=f"section-market-{market.name}",
            )
        Section("Guanxi", lambda: panel(guanxi_parameters()), test_id="section-guanxi")
        Section("All other parameters", everything_else, test_id="section-all")


@solara.component
def ChangesCard(ticks: Ticks, config_revision: int, act: Callable[..., None]):
    """What differs from the scenario as loaded, as `--set` assignments."""
    session = ticks.session
    if not session.overrides:
        return
    focal, currency = session.spec.focal_firm, session.spec.model.currency
    with solara.Card("Changes from the scenario file", margin=0, elevation=1):
        for path, value in session.overrides.items():
            rv.Html(
                tag="div",
                children=[
                    describe_change(path, value, focal, currency),
                    rv.Html(
                        tag="div",
                        children=[assignment(path, value)],
                        style_="font-family: monospace; font-size: 11px; color: #666",
                    ),
                ],
                style_="font-size: 13px; word-break: break-all; margin-bottom: 2px",
                attributes={**test_ids("change-line"), "title": assignment(path, value)},
            )
        solara.Button(
            "Clear changes",
            text=True,
            on_click=lambda: act(session.clear_changes),
            attributes=test_ids("btn-clear-changes"),
        )
