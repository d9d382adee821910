"""The Export tab: the scenario as set (TOML), results (CSV, Parquet) and charts (PNG)."""

from __future__ import annotations

from collections.abc import Callable

import solara
from solara.alias import rv

from viz.exports import (
    COMPARISON_TABLES,
    RESULT_TABLES,
    comparison_frame,
    csv_bytes,
    everything_zip,
    parquet_bytes,
    result_frame,
    safe_name,
)
from viz.figures import (
    FIRM_CHARTS,
    FIRM_MARKET_CHARTS,
    LIVE_CHART_KEYS,
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
    """A PNG of each chart of the Explore tab, drawn when asked for."""

    def png(draw) -> bytes:
        return session.read(lambda: draw(session.model, session.history))

    with solara.Card(f"Charts of the live run (PNG, day {session.day})", margin=0, elevation=1):
        with solara.Row(gap="6px", style="flex-wrap: wrap"):
            for key in LIVE_CHART_KEYS:
                Download(
                    lambda key=key: png(lambda _, history: chart_png(live_chart(history, key))),
                    f"{key}.png",
                    CHART_TITLES[key],
                    "image/png",
                    f"png-{key}",
                )
            Download(
                lambda: png(lambda model, _: network_png(network_view(model))),
                "guanxi_network.png",
                "Guanxi network",
                "image/png",
                "png-guanxi-network",
            )
            Download(
                lambda: png(lambda model, _: chart_png(guanxi_ties_chart(model))),
                "guanxi_ties.png",
                "Guanxi ties",
                "image/png",
                "png-guanxi_ties",
            )
            Download(
                lambda: png(lambda model, _: chart_png(dependency_chart(model))),
                "sns_dependency.png",
                "SNS dependency",
                "image/png",
                "png-sns_dependency",
            )
            Download(
                lambda: png(
                    lambda model, history: chart_png(
                        funnel_chart(history, market_populations(model))
                    )
                ),
                "funnel.png",
                "Funnel",
                "image/png",
                "png-funnel",
            )
        solara.Text(
            "The charts of a comparison have their PNG under each chart in the Compare tab.",
            style="font-size: 12px; color: #555",
        )


@solara.component
def ExportTab(ticks: Ticks, revision: int, compare_revision: int):
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
        Download(
            lambda: session.read(
                lambda: everything_zip(session.model, session.history, session.spec.to_toml())
            ),
            f"{stem}_day{session.day}.zip",
            "Everything (ZIP: scenario, tables, chart PNGs)",
            "application/zip",
            "download-zip",
        )
    ChartDownloads(session, revision)
    result = session.comparison
    with solara.Card("Results of the last comparison", margin=0, elevation=1):
        if result is None:
            solara.Text("Run a comparison in the Compare tab first.", style="font-size: 13px")
            return
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
