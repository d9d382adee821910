"""The Export tab: the scenario as set (TOML), results (CSV, Parquet) and charts (PNG)."""

from __future__ import annotations

from collections.abc import Callable

import solara
from solara.alias import rv

from viz.compare_view import ReportDownload
from viz.exports import (
    COMPARISON_TABLES,
    RESULT_TABLES,
    comparison_frame,
    csv_bytes,
    parquet_bytes,
    result_frame,
    safe_name,
)
from viz.figures import (
    FIRM_CHARTS,
    FIRM_MARKET_CHARTS,
    LIVE_CHART_KEYS,
    Chart,
    dependency_chart,
    funnel_chart,
    guanxi_ties_chart,
    live_chart,
    market_populations,
    network_view,
)
from viz.png import chart_png, network_png
from viz.sidebar import test_ids
from viz.state import ExploreSession
from viz.ticks import Ticks


@solara.component
def Download(
    render: Callable[[], bytes | str], filename: str, label: str, mime_type: str, test_id: str
):
    """A button that builds the file only when clicked."""
    with solara.FileDownload(render, filename=filename, mime_type=mime_type):
        solara.Button(
            label, icon_name="mdi-download", outlined=True, small=True, attributes=test_ids(test_id)
        )


CHART_TITLES = {
    **{key: title for key, (title, _, _) in FIRM_MARKET_CHARTS.items()},
    **{key: title for key, (title, _) in FIRM_CHARTS.items()},
    "revenue_profit": "Revenue and profit",
}


@solara.component
def ChartDownloads(session: ExploreSession, revision: int):
    """A PNG of each chart of the Explore tab, drawn when asked for, stamped.

    The chart's numbers are copied under the session's lock; the drawing is not, so
    the live run can step meanwhile.
    """

    def png(build: Callable[[], Chart]) -> bytes:
        chart, stamp = session.read(lambda: (build(), session.stamp()))
        return chart_png(chart, stamp=stamp)

    def network() -> bytes:
        view, stamp = session.read(lambda: (network_view(session.model), session.stamp()))
        return network_png(view, stamp=stamp)

    builders: dict[str, tuple[str, Callable[[], Chart]]] = {
        key: (CHART_TITLES[key], lambda key=key: live_chart(session.history, key))
        for key in LIVE_CHART_KEYS
    }
    builders["guanxi_ties"] = ("Guanxi ties", lambda: guanxi_ties_chart(session.model))
    builders["sns_dependency"] = ("SNS dependency", lambda: dependency_chart(session.model))
    builders["funnel"] = (
        "Funnel",
        lambda: funnel_chart(session.history, market_populations(session.model)),
    )
    with solara.Card(f"Charts of the live run (PNG, day {session.day})", margin=0, elevation=1):
        with solara.Row(gap="6px", style="flex-wrap: wrap"):
            for key, (title, build) in builders.items():
                Download(
                    lambda build=build: png(build),
                    f"{key}.png",
                    title,
                    "image/png",
                    f"png-{key}",
                )
            Download(
                network, "guanxi_network.png", "Guanxi network", "image/png", "png-guanxi-network"
            )
        solara.Text(
            "Each PNG carries its stamp (version, scenario, changes, seed, day) at its foot. "
            "The charts of a comparison have their PNG under each chart in the Compare tab.",
            style="font-size: 12px; color: #555",
        )


@solara.component
def ZipExport(ticks: Ticks, export_revision: int, stem: str):
    """Everything in one ZIP, drawn in the background with progress (the live run,
    and the rest of the page, keep working while its charts are drawn)."""
    session = ticks.session
    job = session.export_job

    def prepare() -> None:
        session.start_export_zip(f"{stem}_day{session.day}.zip", ticks.sync)
        ticks.sync()

    with solara.Row(gap="8px", style="align-items: center; flex-wrap: wrap"):
        solara.Button(
            "Prepare everything (ZIP: scenario, tables, chart PNGs)",
            icon_name="mdi-folder-zip-outline",
            outlined=True,
            small=True,
            on_click=prepare,
            disabled=job is not None and job.running,
            attributes=test_ids("btn-zip-prepare"),
        )
        if job is not None and job.state == "done" and job.data is not None:
            data = job.data
            Download(
                lambda: data,
                job.filename,
                f"Download {job.filename}",
                "application/zip",
                "download-zip",
            )
    if job is None:
        return
    if job.running:
        solara.ProgressLinear(100 * job.progress)
        status = f"Drawing the ZIP: {100 * job.progress:.0f}% (the page keeps working)"
    elif job.state == "done":
        status = f"Ready: {job.filename}, {len(job.data or b''):,} bytes"
    else:
        status = job.error or "failed"
    rv.Html(
        tag="div",
        children=[status],
        attributes={"data-testid": "zip-status", "data-state": job.state},
        style_="font-size: 12px; color: #555",
    )


@solara.component
def ExportTab(ticks: Ticks, revision: int, compare_revision: int, export_revision: int = 0):
    """Downloads of the live run (day ``revision``) and of the last comparison."""
    session = ticks.session
    stem = safe_name(session.spec.model.name)
    with solara.Card("Scenario as currently set", margin=0, elevation=1):
        solara.Text(
            "Every parameter, with your changes applied; `guanxi run FILE.toml` loads it.",
            style="font-size: 13px",
        )
        Download(
            lambda: session.spec.to_toml(),
            f"{stem}.toml",
            "Scenario (TOML)",
            "application/toml",
            "download-scenario",
        )
    with solara.Card(f"Results of the live run (day {session.day})", margin=0, elevation=1):
        for table, (description, _) in RESULT_TABLES.items():
            with solara.Row(gap="8px", style="align-items: center"):
                rv.Html(
                    tag="span",
                    children=[f"{table}: {description}"],
                    style_="flex: 1 1 auto; font-size: 13px",
                )
                Download(
                    lambda table=table: session.read(
                        lambda: csv_bytes(result_frame(session.model, table))
                    ),
                    f"{stem}_{table}.csv",
                    "CSV",
                    "text/csv",
                    f"download-{table}-csv",
                )
                Download(
                    lambda table=table: session.read(
                        lambda: parquet_bytes(result_frame(session.model, table))
                    ),
                    f"{stem}_{table}.parquet",
                    "Parquet",
                    "application/vnd.apache.parquet",
                    f"download-{table}-parquet",
                )
        ZipExport(ticks, export_revision, stem)
    ChartDownloads(session, revision)
    record = session.comparisons[-1] if session.comparisons else None
    with solara.Card("Results of the last comparison", margin=0, elevation=1):
        if record is None:
            solara.Text("Run a comparison in the Compare tab first.", style="font-size: 13px")
            return
        result = record.result
        rv.Html(
            tag="div",
            children=[
                f"Comparison {record.number}: A: {record.a_words}; B: {record.b_words}; "
                f"{record.design}. Every row of these files names A, B, the days, the "
                "seed and the version."
            ],
            attributes=test_ids("export-comparison-label"),
            style_="font-size: 13px",
        )
        with solara.Row(gap="8px", style="align-items: center"):
            rv.Html(
                tag="span",
                children=["Report to hand over: every comparison of this session, one HTML file"],
                style_="flex: 1 1 auto; font-size: 13px",
            )
            ReportDownload(list(session.comparisons), f"{stem}_report.html", "export-report")
        for table, (description, _) in COMPARISON_TABLES.items():
            with solara.Row(gap="8px", style="align-items: center"):
                rv.Html(
                    tag="span",
                    children=[f"{table}: {description}"],
                    style_="flex: 1 1 auto; font-size: 13px",
                )
                Download(
                    lambda table=table: csv_bytes(comparison_frame(result, table)),
                    f"{stem}_{table}.csv",
                    "CSV",
                    "text/csv",
                    f"download-{table}-csv",
                )
                Download(
                    lambda table=table: parquet_bytes(comparison_frame(result, table)),
                    f"{stem}_{table}.parquet",
                    "Parquet",
                    "application/vnd.apache.parquet",
                    f"download-{table}-parquet",
                )
