"""The Optimise tab: run ``guanxi optimise`` in the background, or load its results,
and pick a strategy from the Pareto front into Compare's A or B.

Everything a strategist reads is in business words (:mod:`viz.labels`): the levers
("Our China posts a day: 4.5"), the objectives by their labels in the optimisation
file ("Profit", "Attitude in China") with their 95% ranges over fresh market states.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import solara
from solara.alias import rv

from sim.optimise.spec import bundled_optimisations
from viz.echarts_widget import FigureEcharts
from viz.optimisation import PARETO_FILE, PRESETS, ParetoFront
from viz.posterior import data_folder, result_folders
from viz.sidebar import Banner, folder_picker, job_controls, test_ids
from viz.state import ExploreSession


def standing_words(row: Any) -> str:
    """The re-evaluation's standing in words (sim.optimise.robust.noise_status)."""
    standing, by = str(row.get("standing", "")), row.get("dominated_by")
    if standing == "pareto":
        return "on the front"
    if standing == "dominated":
        return f"beaten by {by}"
    if standing == "dominated within noise":
        return f"a contender (behind {by} only within noise)"
    return standing


def number(value: float) -> str:
    if value != value or not math.isfinite(value):
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def estimate_text(row: Any, key: str) -> str:
    """'10.7 million (9.1 to 12.0)' style: the re-evaluated value and its 95% range."""
    mean, low, high = row[key], row.get(f"{key} low"), row.get(f"{key} high")
    if low is None or high is None or low != low:
        return number(mean)
    return f"{number(mean)} ({number(low)} to {number(high)})"


def pareto_option(front: ParetoFront) -> dict[str, Any]:
    """An ECharts scatter of the first two objectives, each strategy labelled."""
    table = front.table
    (x_key, x_title, _), *rest = front.objectives
    if rest:
        y_key, y_title, _ = rest[0]
    else:
        y_key, y_title = x_key, x_title
    data = [
        {"name": str(row["strategy"]), "value": [float(row[x_key]), float(row[y_key])]}
        for _, row in table.iterrows()
        if row[x_key] == row[x_key] and row[y_key] == row[y_key]
    ]
    x_detail = front.details[0] if front.details else ""
    y_detail = front.details[1] if len(front.details) > 1 else x_detail
    x_unit = f" ({front.currency})" if "profit" in x_key or "revenue" in x_key else ""
    y_unit = f" ({front.currency})" if "profit" in y_key or "revenue" in y_key else ""
    return {
        "title": {
            "text": f"Pareto front: {y_title} against {x_title}",
            "subtext": "each point a strategy, re-evaluated in fresh market states"
            + ("; includes parameter uncertainty (posterior)" if front.posterior else ""),
            "left": "center",
            "textStyle": {"fontSize": 14},
        },
        "grid": {"left": 90, "right": 60, "top": 70, "bottom": 60, "containLabel": False},
        "animation": False,
        "tooltip": {"trigger": "item", "formatter": "{b}: {c}"},
        "xAxis": {
            "type": "value",
            "scale": True,
            "name": f"{x_title}{x_unit}: {x_detail}",
            "nameLocation": "middle",
            "nameGap": 32,
        },
        "yAxis": {
            "type": "value",
            "scale": True,
            "name": f"{y_title}{y_unit}: {y_detail}",
            "nameLocation": "middle",
            "nameGap": 62,
        },
        "series": [
            {
                "type": "scatter",
                "name": "strategies",
                "symbolSize": 16,
                "data": data,
                "itemStyle": {"color": "#1f77b4"},
                "label": {"show": True, "formatter": "{b}", "position": "right", "fontSize": 13},
            }
        ],
    }


@solara.component
def RunCard(session: ExploreSession, compare_revision: int, refresh: Callable[[], None]):
    names = list(bundled_optimisations())
    chosen = solara.use_reactive(names[0] if names else "")
    preset = solara.use_reactive("quick")
    job = session.optimise_job
    running = job is not None and job.running

    def run() -> None:
        session.start_optimisation(chosen.value, preset.value, refresh)
        refresh()

    def cancel() -> None:
        session.cancel_optimisation()
        refresh()

    labels = {p.label: key for key, p in PRESETS.items()}
    with solara.Card("Run an optimisation", margin=0, elevation=1, style="min-width: 0"):
        with solara.Row(gap="8px", style="align-items: center; flex-wrap: wrap"):
            solara.Select("Optimisation", values=names, value=chosen, dense=True)
            solara.Select(
                "Budget",
                values=list(labels),
                value=PRESETS[preset.value].label,
                on_value=lambda label: label and preset.set(labels[label]),
                dense=True,
                style="min-width: 20em; max-width: 100%",
            )

        def status() -> str:
            if running:
                percent = 100 * job.progress
                return f"Running ({job.phase}): {job.done} of {job.total} runs, {percent:.0f}%"
            if job.state == "done":
                return f"Done: {job.total} runs; results in {job.out}"
            if job.state == "cancelled":
                return f"Cancelled after {job.done} of {job.total} runs ({job.out})"
            return f"Failed: {job.error}"

        if session.posterior is not None:
            rv.Html(
                tag="div",
                children=[
                    "A posterior is loaded ("
                    + session.posterior.describe(session.spec.focal_firm)
                    + f"). An optimisation on scenario {session.posterior.scenario} draws "
                    "its market states from it, so its results include parameter "
                    "uncertainty; one on another scenario runs without it."
                ],
                attributes=test_ids("optimise-posterior"),
                style_="font-size: 12px; color: #555",
            )
        job_controls("optimise", "Run optimisation", run, cancel, job, status)


@solara.component
def LoadCard(session: ExploreSession, refresh: Callable[[], None]):
    folder = solara.use_reactive("")
    listing, set_listing = solara.use_state(0)
    root = data_folder()
    found = solara.use_memo(
        lambda: [str(p) for p in result_folders(root, PARETO_FILE, depth=3)], [listing, str(root)]
    )

    def load() -> None:
        session.load_pareto(folder.value)
        refresh()

    with (
        solara.Card("Or load an optimisation's results", margin=0, elevation=1),
        solara.Row(gap="8px", style="align-items: center; flex-wrap: wrap"),
    ):
        folder_picker(
            "pareto",
            "Results",
            folder,
            found,
            f"Results found under {root}",
            load,
            lambda: set_listing(listing + 1),
        )


@solara.component
def FrontView(session: ExploreSession, front: ParetoFront, refresh: Callable[[], None]):
    def use(label: str, variant: str) -> None:
        session.pick_pareto_point(label, variant)
        refresh()

    option = solara.use_memo(lambda: pareto_option(front), [front])
    with solara.Card(
        f"Pareto front of '{front.name}' (scenario {front.scenario})", margin=0, elevation=2
    ):
        rv.Html(
            tag="div",
            children=[
                f"{len(front.points)} strategies the search found on its front, checked again "
                f"in fresh market states; read from {front.directory}. Pick one into Compare "
                "to test it against your strategy on the scenario set on the left."
                + (
                    f" Includes parameter uncertainty: the market states drew from the "
                    f"posterior of {front.posterior}."
                    if front.posterior
                    else ""
                )
            ],
            attributes=test_ids("pareto-about"),
            style_="font-size: 12px; color: #555",
        )
        FigureEcharts(
            option=option,
            attributes={"style": "height: 360px; width: 100%", "data-testid": "chart-pareto"},
            responsive=True,
        )
        rv.Html(
            tag="div",
            children=[
                "What this means: moving right or up along the front buys more of one "
                "objective at the cost of the other; no strategy off the front is worth "
                "choosing on these objectives."
            ],
            attributes=test_ids("meaning-pareto"),
            style_="font-size: 12px; color: #444; padding: 0 8px 4px",
        )
        titles = [
            f"{title} ({detail})" if detail else title
            for (_, title, _), detail in zip(
                front.objectives, front.details or [""] * len(front.objectives), strict=True
            )
        ]
        head = rv.Html(
            tag="thead",
            children=[
                rv.Html(
                    tag="tr",
                    children=[
                        rv.Html(tag="th", children=[text], style_="text-align: left")
                        for text in ("Strategy", *titles, "Standing", "What it sets", "")
                    ],
                )
            ],
        )
        rows = []
        for point, (_, row) in zip(front.points, front.table.iterrows(), strict=True):
            buttons = rv.Html(
                tag="td",
                children=[
                    solara.Button(
                        f"Use as {variant}",
                        small=True,
                        outlined=True,
                        on_click=lambda label=point.label, variant=variant: use(label, variant),
                        attributes=test_ids(f"use-{variant}-{point.label}"),
                    )
                    for variant in ("A", "B")
                ],
                style_="white-space: nowrap",
            )
            rows.append(
                rv.Html(
                    tag="tr",
                    children=[
                        rv.Html(tag="td", children=[point.label], style_="font-weight: 600"),
                        *[
                            rv.Html(tag="td", children=[estimate_text(row, key)])
                            for key, _, _ in front.objectives
                        ],
                        rv.Html(tag="td", children=[standing_words(row)]),
                        rv.Html(
                            tag="td", children=[front.lever_words(point)], style_="font-size: 12px"
                        ),
                        buttons,
                    ],
                )
            )
        rv.SimpleTable(
            dense=True,
            children=[head, rv.Html(tag="tbody", children=rows)],
            attributes=test_ids("pareto-table"),
        )
        rv.Html(
            tag="div",
            children=[
                "Objectives as estimated in fresh market states, with 95% bootstrap ranges; "
                f"money in {front.currency}."
            ],
            style_="font-size: 12px; color: #555",
        )


@solara.component
def OptimiseTab(ticks, compare_revision: int, config_revision: int):
    """Re-renders when the optimisation or the comparison settings change."""
    session = ticks.session
    refresh = ticks.sync
    rv.Html(
        tag="p",
        children=[
            "Search for strategies that do well on several objectives at once (e.g. profit "
            "in a bad year and attitude in China), robust to what we do not know about the "
            "market. The search runs in the background; the page keeps working."
        ],
        style_="font-size: 14px; margin: 4px 0",
    )
    RunCard(session, compare_revision, refresh)
    LoadCard(session, refresh)
    if session.optimise_error:
        Banner(session.optimise_error, "optimise-error")
    if session.optimise_message:
        rv.Alert(
            type="success",
            dense=True,
            text=True,
            children=[session.optimise_message],
            attributes=test_ids("optimise-message"),
        )
    if session.pareto is not None:
        FrontView(session, session.pareto, refresh)
