"""Downloads: the scenario as set (TOML), the results (CSV, Parquet) and charts (PNG).

Result tables are the ones ``guanxi run --out`` writes (:mod:`sim.runner`), so a
file downloaded here reads like a CLI output; the scenario TOML is
:meth:`sim.scenario.Scenario.to_toml`, which ``guanxi run`` loads back.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable

import pandas as pd

from sim.model import MarketModel
from sim.runner import edges_frame, events_frame, firm_market_frame, firms_frame, model_frame
from viz.comparison import ComparisonResult
from viz.figures import (
    dependency_chart,
    funnel_chart,
    guanxi_ties_chart,
    live_charts,
    market_populations,
    network_view,
)
from viz.history import RunHistory
from viz.png import chart_png, network_png

RESULT_TABLES: dict[str, tuple[str, Callable[[MarketModel], pd.DataFrame]]] = {
    "firm_market": (
        "Per firm, market and day: attitude, funnel, engagement, sales",
        firm_market_frame,
    ),
    "firms": ("Per firm and day: CRM capability, performance, books, ties", firms_frame),
    "model": ("Per day: our outcomes and the guanxi graph", model_frame),
    "guanxi_edges": ("Guanxi ties per day: strength and benefit each way", edges_frame),
    "guanxi_events": ("Guanxi ties formed and severed, with reasons", events_frame),
}
COMPARISON_TABLES: dict[str, tuple[str, Callable[[ComparisonResult], pd.DataFrame]]] = {
    "comparison_summary": (
        "End of run: A, B and B - A, mean and 95% CI",
        lambda r: r.table_frame(),
    ),
    "comparison_bands": ("Per day: mean and 95% CI of A, B and B - A", lambda r: r.bands_frame()),
    "comparison_runs": ("Every replication's series", lambda r: r.runs_frame()),
}


def safe_name(text: str) -> str:
    """A file-name stem from a scenario name (letters, digits, '-', '_')."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")
    return stem or "scenario"


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def result_frame(model: MarketModel, table: str) -> pd.DataFrame:
    return RESULT_TABLES[table][1](model)


def comparison_frame(result: ComparisonResult, table: str) -> pd.DataFrame:
    return COMPARISON_TABLES[table][1](result)


def everything_zip(model: MarketModel, history: RunHistory, scenario_toml: str) -> bytes:
    """The scenario, every result table (CSV and Parquet) and every chart (PNG) in one ZIP."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("scenario.toml", scenario_toml)
        for table in RESULT_TABLES:
            frame = result_frame(model, table)
            archive.writestr(f"{table}.csv", csv_bytes(frame))
            archive.writestr(f"{table}.parquet", parquet_bytes(frame))
        charts = [
            *live_charts(history),
            guanxi_ties_chart(model),
            dependency_chart(model),
            funnel_chart(history, market_populations(model)),
        ]
        for chart in charts:
            archive.writestr(f"charts/{chart.key}.png", chart_png(chart))
        archive.writestr("charts/guanxi_network.png", network_png(network_view(model)))
    return buffer.getvalue()
