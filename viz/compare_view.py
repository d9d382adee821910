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
from viz.comparison import (
    MAX_REPLICATIONS,
    SERIES_TITLES,
    ComparisonRecord,
    ComparisonResult,
)
from viz.controls import ParameterList, Section
from viz.echarts import chart_height, chart_option
from viz.echarts_widget import FigureEcharts
from viz.explore import PngDownload
from viz.figures import COMPARE_MEANINGS
from viz.labels import describe_changes, firm_name, market_name
from viz.parameters import assignment, firm_parameters, guanxi_parameters, strategy_parameters
from viz.png import chart_png
from viz.posterior_view import PosteriorCard
from viz.report import comparison_report, comparison_stamp_text
from viz.report_pdf import comparison_report_pdf
from viz.sidebar import Banner, job_controls, test_ids
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
    """Anything a strategist decides, in variant ``name`` (A or B): our strategy in
    every market (every field), our firm (partner-seeking among them) and guanxi."""
    spec = session.spec
    focal = spec.focal_firm
    firm = next(f for f in spec.firms if f.name == focal)
    changes = session.compare.a if name == "A" else session.compare.b
    currency = spec.model.currency

    def change(path: str, value: Any) -> str | None:
        ok = session.set_compare_parameter(name, path, value)
        refresh()
        return None if ok else session.compare_error

    def panel(parameters: list) -> None:
        values = {p.path: session.compare_value(name, p.path) for p in parameters}
        ParameterList(
            parameters,
            values,
            frozenset(changes),
            change,
            scope=f"{name}:",
            currency=currency,
            refusals=session.refusals,
        )

    with solara.Card(f"Strategy {name}", margin=0, elevation=1, style="min-width: 0"):
        rv.Html(
            tag="div",
            children=["Changes: " + describe_changes(changes, focal, currency, "none")],
            attributes=test_ids(f"variant-{name}-changes"),
            style_="font-size: 13px; font-weight: 600",
        )
        if changes:
            rv.Html(
                tag="div",
                children=["; ".join(assignment(k, v) for k, v in changes.items())],
                attributes=test_ids(f"variant-{name}-set"),
                style_="font-size: 11px; font-family: monospace; color: #666; "
                "word-break: break-all",
            )
        for strategy in firm.strategies:
            market = strategy.market
            Section(
                f"Our strategy in {market_name(market)}",
                lambda market=market: panel(strategy_parameters(focal, market, key_only=False)),
                test_id=f"{name}:section-strategy-{market}",
            ).key(f"{name}-{focal}-{market}")
        Section(
            "Our firm (partner-seeking, prices, costs)",
            lambda: panel(firm_parameters(focal)),
            test_id=f"{name}:section-firm",
        ).key(f"{name}-{focal}-firm")
        LocalPartnerSelect(session, name, change)
        Section(
            "Guanxi (on/off, partners, what ties bring)",
            lambda: panel(guanxi_parameters()),
            test_id=f"{name}:section-guanxi",
        ).key(f"{name}-guanxi")


def local_partner_choices(spec) -> dict[str, str]:
    """Words -> firm name of the firms our business may choose as local partner (at
    home in a market we target), "none" first."""
    focal = next(f for f in spec.firms if f.name == spec.focal_firm)
    targets = {strategy.market for strategy in focal.strategies}
    choices = {"none": ""}
    for firm in spec.firms:
        if firm.name != focal.name and firm.home_market in targets:
            words = f"{firm_name(firm.name, focal.name)} ({market_name(firm.home_market)})"
            choices[words] = firm.name
    return choices


@solara.component
def LocalPartnerSelect(
    session: ExploreSession, name: str, change: Callable[[str, Any], str | None]
):
    """A chosen local partner (``firms.<ours>.local_partner``): a guanxi tie from day 0."""
    spec = session.spec
    path = f"firms.{spec.focal_firm}.local_partner"
    choices = local_partner_choices(spec)
    current = session.compare_value(name, path)
    shown = next((words for words, firm in choices.items() if firm == current), "none")
    with rv.Html(tag="div", attributes=test_ids(f"{name}:local-partner"), style_="padding: 0 8px"):
        solara.Select(
            "Our chosen local partner (a guanxi tie from day 0)",
            values=list(choices),
            value=shown,
            on_value=lambda words: words and change(path, choices[words]),
            dense=True,
        )


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
    rv.Html(
        tag="div",
        children=[
            f"Replications: 1 to {MAX_REPLICATIONS} (more give narrower ranges); days: 1 to "
            f"{10 * session.spec.model.steps:,}; the same base seed gives the same numbers "
            "(as `guanxi compare --seed`)."
        ],
        attributes=test_ids("compare-design-help"),
        style_="font-size: 12px; color: #555",
    )


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

    def status() -> str:
        percent = 100 * job.progress
        if running:
            return f"Running: {percent:.0f}% of {job.simulated_days:,} simulated days"
        if job.state == "done":
            return f"Done: {job.request.reps} replications x {job.request.steps} days"
        if job.state == "cancelled":
            return f"Cancelled at {percent:.0f}%"
        return f"Failed: {job.error}"

    job_controls("compare", "Run comparison", run, cancel, job, status)


@solara.component
def ResultTable(record: ComparisonRecord):
    """End of run: A, B and B - A, each mean [95% CI]; B - A bold where the CI excludes 0."""
    result = record.result
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
                    for text in (
                        "our outcome at the end",
                        f"A: {record.a_words}",
                        f"B: {record.b_words}",
                        "B - A",
                    )
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
        attributes={
            "data-testid": f"compare-table-{record.number}",
            "data-a": record.a_words,
            "data-b": record.b_words,
        },
    )
    solara.Text(
        f"{record.design}, common random numbers; bold: the 95% CI of B - A excludes 0.",
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
        Meaning(COMPARE_MEANINGS[key], f"meaning-compare-{key}")
        with solara.Row(justify="end", style="margin-top: -8px"):
            PngDownload(
                lambda: chart_png(result.chart(key), stamp=comparison_stamp_text(result)),
                f"compare_{key}.png",
                f"png-compare-{key}",
            )


@solara.component
def Meaning(text: str, test_id: str):
    """The one line under a chart that says what it means."""
    rv.Html(
        tag="div",
        children=[text],
        attributes=test_ids(test_id),
        style_="font-size: 12px; color: #444; padding: 0 8px 4px",
    )


@solara.component
def ComparisonCard(record: ComparisonRecord, current: bool, charts_open: bool):
    """One finished comparison: what A and B were, the verdict, caveats, table, charts."""
    result = record.result
    title = f"Comparison {record.number}: {record.subject}"
    if current:
        title += " (the settings above)"
    with (
        solara.Card(title, margin=0, elevation=2, style="min-width: 0"),
        rv.Html(tag="div", attributes=test_ids(f"comparison-{record.number}")),
    ):
        rv.Html(
            tag="div",
            children=[record.verdict],
            attributes=test_ids(f"verdict-{record.number}"),
            style_="font-size: 15px; font-weight: 600; margin: 4px 0 6px",
        )
        for label, words in (("A", record.a_words), ("B", record.b_words)):
            rv.Html(
                tag="div",
                children=[f"{label}: {words}"],
                attributes=test_ids(f"comparison-{record.number}-{label}"),
                style_="font-size: 13px",
            )
        rv.Html(
            tag="div",
            children=[f"{record.design}; scenario {result.request.base.model.name}"],
            style_="font-size: 12px; color: #555",
        )
        if result.parameter_uncertainty:
            rv.Html(
                tag="div",
                children=[
                    "Results include parameter uncertainty (calibration posterior "
                    f"{result.request.posterior.directory})"
                ],
                attributes=test_ids(f"uncertainty-{record.number}"),
                style_="font-size: 13px; font-weight: 600; color: #6a1b9a",
            )
        rv.Html(
            tag="ul",
            children=[rv.Html(tag="li", children=[line]) for line in record.caveats],
            attributes=test_ids(f"caveats-{record.number}"),
            style_="font-size: 12px; color: #555; margin: 4px 0",
        )
        ResultTable(record)
        with solara.Row(gap="6px"):
            ReportDownload(
                [record], f"report_comparison_{record.number}.html", f"report-{record.number}"
            )
        Section(
            "Charts over time",
            lambda: Charts(result),
            initially_open=charts_open,
            test_id=f"charts-{record.number}",
        )


@solara.component
def Charts(result: ComparisonResult):
    with solara.GridFixed(columns=2):
        for key in SERIES_TITLES:
            BandChart(result, key).key(key)


@solara.component
def ReportDownload(records: list[ComparisonRecord], filename: str, test_id: str):
    """One click: a self-contained HTML report of these comparisons (charts inside),
    and beside it the same report as a PDF file (drawn when clicked)."""
    with solara.FileDownload(
        lambda: comparison_report(records), filename=filename, mime_type="text/html"
    ):
        solara.Button(
            "Report (HTML)",
            icon_name="mdi-file-document-outline",
            outlined=True,
            small=True,
            attributes=test_ids(test_id),
        )
    with solara.FileDownload(
        lambda: comparison_report_pdf(records),
        filename=filename.removesuffix(".html") + ".pdf",
        mime_type="application/pdf",
    ):
        solara.Button(
            "Report (PDF)",
            icon_name="mdi-file-pdf-box",
            outlined=True,
            small=True,
            attributes=test_ids(f"{test_id}-pdf"),
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
            "A and B start from the scenario as currently set (left). Change anything "
            "you decide for B (and A, if you like): our strategy in each market, "
            "partner-seeking, guanxi. Then run: every replication runs A and B with the "
            "same seed, so B - A shows the decision, not chance."
        ],
        style_="font-size: 14px; margin: 4px 0",
    )
    if session.compare_error:
        Banner(session.compare_error, "compare-error")
    PosteriorCard(session, compare_revision, refresh)
    with solara.GridFixed(columns=2):
        VariantEditor(session, compare_revision, config_revision, "A", refresh)
        VariantEditor(session, compare_revision, config_revision, "B", refresh)
    DesignCard(session, compare_revision, refresh)
    ProgressCard(session, compare_revision, refresh)
    current = session.current_comparison()
    if current is None:
        rv.Html(
            tag="div",
            children=[
                "No result for these settings yet: run the comparison."
                + (
                    " Earlier comparisons are listed below with their own A and B."
                    if session.comparisons
                    else ""
                )
            ],
            attributes=test_ids("compare-current-none"),
            style_="font-size: 13px; color: #555; margin: 6px 0",
        )
    if not session.comparisons:
        return
    with solara.Row(style="align-items: center; margin-top: 8px"):
        solara.Text(
            f"Comparisons in this session ({len(session.comparisons)}), newest first",
            style="font-weight: 600; font-size: 15px",
        )
        ReportDownload(list(session.comparisons), "report_all_comparisons.html", "report-all")
    newest = session.comparisons[-1]
    for record in reversed(session.comparisons):
        ComparisonCard(record, record is current, record is newest).key(
            f"comparison-{record.number}"
        )
