"""The Compare tab: strategy A against strategy B on the same scenario.

A and B start from the scenario as currently set; each can change our strategy in
any market. R replications of each run in a background thread with common random
numbers (replication r of A and of B share a seed), with a progress bar and a
Cancel button while the page stays usable. Results: mean and 95% CI bands over
time for our outcomes, B - A per day, and the end-of-run table of B - A with
confidence intervals (the same numbers as ``guanxi compare``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import solara
from solara.alias import rv

from sim.compare import outcome_labels
from viz.comparison import SERIES_TITLES, ComparisonResult
from viz.controls import ParameterList, Section
from viz.echarts import chart_height, chart_option
from viz.echarts_widget import FigureEcharts
from viz.explore import PngDownload
from viz.parameters import assignment, strategy_parameters
from viz.png import chart_png
from viz.sidebar import Banner, test_ids
from viz.state import ExploreSession
from viz.ticks import Ticks


def format_number(value: float) -> str:
    if value != value:  # NaN
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.4g}"


@solara.component
def VariantEditor(
    session: ExploreSession,
    compare_revision: int,
    config_revision: int,
    name: str,
    refresh: Callable[[], None],
):
    """Our strategy per market in variant ``name`` (A or B)."""
    spec = session.spec
    focal = spec.focal_firm
    firm = next(f for f in spec.firms if f.name == focal)
    changes = session.compare.a if name == "A" else session.compare.b

    def change(path: str, value: Any) -> None:
        session.set_compare_parameter(name, path, value)
        refresh()

    with solara.Card(f"Strategy {name}", margin=0, elevation=1, style="min-width: 0"):
        rv.Html(
            tag="div",
            children=[
                "Changes: " + ("; ".join(assignment(k, v) for k, v in changes.items()) or "none")
            ],
            attributes=test_ids(f"variant-{name}-changes"),
            style_="font-size: 12px; font-family: monospace; word-break: break-all",
        )
        for strategy in firm.strategies:

            def render(market: str = strategy.market) -> None:
                parameters = strategy_parameters(focal, market)
                values = {p.path: session.compare_value(name, p.path) for p in parameters}
                ParameterList(parameters, values, frozenset(changes), change, scope=f"{name}:")

            Section(
                f"Our strategy in {strategy.market}",
                render,
                test_id=f"{name}:section-strategy-{strategy.market}",
            ).key(f"{name}-{focal}-{strategy.market}")


@solara.component
def DesignCard(session: ExploreSession, compare_revision: int, refresh: Callable[[], None]):
    settings = session.compare
    steps = settings.steps or session.spec.model.steps
    seed = session.spec.model.seed if settings.seed is None else settings.seed

    def set_design(**kwargs: int | None) -> None:
        if all(value is not None for value in kwargs.values()):
            session.set_compare_design(**kwargs)
            refresh()

    with solara.Row(gap="12px", style="align-items: center; flex-wrap: wrap"):
        solara.InputInt(
            "Replications",
            value=settings.reps,
            on_value=lambda v: set_design(reps=v),
            dense=True,
        )
        solara.InputInt("Days", value=steps, on_value=lambda v: set_design(steps=v), dense=True)
        solara.InputInt("Base seed", value=seed, on_value=lambda v: set_design(seed=v), dense=True)


@solara.component
def ProgressCard(session: ExploreSession, compare_revision: int, refresh: Callable[[], None]):
    job = session.compare_job
    running = job is not None and job.running

    def run() -> None:
        session.start_comparison(refresh)
        refresh()

    def cancel() -> None:
        session.cancel_comparison()
        refresh()

    with solara.Row(gap="8px", style="align-items: center"):
        solara.Button(
            "Run comparison",
            color="primary",
            on_click=run,
            disabled=running,
            attributes=test_ids("btn-compare-run"),
        )
        solara.Button(
            "Cancel",
            on_click=cancel,
            disabled=not running,
            attributes=test_ids("btn-compare-cancel"),
        )
    if job is None:
        return
    percent = 100 * job.progress
    if running:
        status = f"Running: {percent:.0f}% of {job.simulated_days:,} simulated days"
    elif job.state == "done":
        status = f"Done: {job.request.reps} replications x {job.request.steps} days"
    elif job.state == "cancelled":
        status = f"Cancelled at {percent:.0f}%"
    else:
        status = f"Failed: {job.error}"
    solara.ProgressLinear(percent if running else False)
    rv.Html(
        tag="div",
        children=[status],
        attributes={"data-testid": "compare-status", "data-state": job.state},
        style_="font-size: 13px",
    )


@solara.component
def ResultTable(result: ComparisonResult):
    """End of run: A, B and B - A, each mean [95% CI]; B - A bold where the CI excludes 0."""
    comparison = result.comparison()

    def cell(estimate) -> str:
        mean = format_number(estimate.mean)
        if estimate.low == estimate.high:
            return mean
        return f"{mean} [{format_number(estimate.low)}, {format_number(estimate.high)}]"

    header = rv.Html(
        tag="thead",
        children=[
            rv.Html(
                tag="tr",
                children=[
                    rv.Html(tag="th", children=[text], style_="text-align: left")
                    for text in ("our outcome", "A", "B", "B - A")
                ],
            )
        ],
    )
    rows = []
    for key, label in outcome_labels(result.a.model.currency).items():
        estimates = comparison.outcomes[key]
        difference = estimates["B - A"]
        clear = difference.excludes_zero()
        rows.append(
            rv.Html(
                tag="tr",
                children=[
                    rv.Html(tag="td", children=[label]),
                    rv.Html(tag="td", children=[cell(estimates["A"])]),
                    rv.Html(tag="td", children=[cell(estimates["B"])]),
                    rv.Html(
                        tag="td",
                        children=[cell(difference)],
                        style_="font-weight: 700" if clear else "",
                    ),
                ],
            )
        )
    rv.SimpleTable(
        dense=True,
        children=[header, rv.Html(tag="tbody", children=rows)],
        attributes=test_ids("compare-table"),
    )
    solara.Text(
        f"{len(result.seeds)} replications of {result.request.steps} days each, common random "
        "numbers; bold: the 95% CI of B - A excludes 0.",
        style="font-size: 12px; color: #555",
    )


@solara.component
def BandChart(result: ComparisonResult, key: str):
    chart = solara.use_memo(lambda: result.chart(key), [result, key])
    option = solara.use_memo(lambda: chart_option(chart), [chart])
    with solara.Card(margin=0, elevation=1, style="min-width: 0"):
        FigureEcharts(
            option=option,
            attributes={
                "style": f"height: {chart_height(chart)}px; width: 100%",
                "data-testid": f"chart-compare-{key}",
            },
            responsive=True,
        )
        with solara.Row(justify="end", style="margin-top: -8px"):
            PngDownload(
                lambda: chart_png(result.chart(key)), f"compare_{key}.png", f"png-compare-{key}"
            )


@solara.component
def CompareTab(ticks: Ticks, compare_revision: int, config_revision: int):
    """Re-renders when the comparison or the scenario changes (not on steps)."""
    session = ticks.session
    refresh = ticks.sync
    # Plain text, not solara.Markdown: Markdown loads KaTeX, which Solara's local
    # assets do not include (the page would reach for a CDN).
    rv.Html(
        tag="p",
        children=[
            "A and B start from the scenario as currently set (left). Change our strategy "
            "for B (and A, if you like), then run: every replication runs A and B with the "
            "same seed, so B - A shows the strategy, not chance."
        ],
        style_="font-size: 14px; margin: 4px 0",
    )
    if session.compare_error:
        Banner(session.compare_error, "compare-error")
    with solara.GridFixed(columns=2):
        VariantEditor(session, compare_revision, config_revision, "A", refresh)
        VariantEditor(session, compare_revision, config_revision, "B", refresh)
    DesignCard(session, compare_revision, refresh)
    ProgressCard(session, compare_revision, refresh)
    result = session.comparison
    if result is None:
        return
    solara.Text(
        "Results of the last finished comparison", style="font-weight: 600; font-size: 15px"
    )
    ResultTable(result)
    with solara.GridFixed(columns=2):
        for key in SERIES_TITLES:
            BandChart(result, key).key(key)
