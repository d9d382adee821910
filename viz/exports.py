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
from dataclasses import dataclass

import pandas as pd

from sim.model import MarketModel
from sim.runner import edges_frame, events_frame, firm_market_frame, firms_frame, model_frame
from viz.comparison import ComparisonResult
from viz.figures import (
    Chart,
    NetworkView,
    dependency_chart,
    funnel_chart,
    guanxi_ties_chart,
    live_charts,
    market_populations,
    network_view,
)
from viz.history import RunHistory
from viz.jobs import BackgroundJob
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


@dataclass(frozen=True)
class ZipSnapshot:
    """What the "Everything" ZIP holds, copied from the live run in a moment.

    Taking it needs the session's lock (the run must not step meanwhile); encoding
    the tables and drawing the PNGs, which takes seconds, does not: the live run
    goes on while :func:`zip_from_snapshot` works.
    """

    scenario_toml: str
    frames: dict[str, pd.DataFrame]
    charts: list[Chart]
    network: NetworkView
    stamp: str = ""

    @property
    def parts(self) -> int:
        """Units of work, for progress: each table, each chart, the network."""
        return len(self.frames) + len(self.charts) + 1


def zip_snapshot(
    model: MarketModel, history: RunHistory, scenario_toml: str, stamp: str = ""
) -> ZipSnapshot:
    """Copy what the ZIP needs from the run (call it under the session's lock)."""
    return ZipSnapshot(
        scenario_toml=scenario_toml,
        frames={table: result_frame(model, table) for table in RESULT_TABLES},
        charts=[
            *live_charts(history),
            guanxi_ties_chart(model),
            dependency_chart(model),
            funnel_chart(history, market_populations(model)),
        ],
        network=network_view(model),
        stamp=stamp,
    )


def zip_from_snapshot(
    snapshot: ZipSnapshot, on_progress: Callable[[float], None] | None = None
) -> bytes:
    """The scenario, every table (CSV and Parquet) and every chart (PNG) in one ZIP."""
    buffer = io.BytesIO()
    done = 0

    def advance() -> None:
        nonlocal done
        done += 1
        if on_progress is not None:
            on_progress(done / snapshot.parts)

    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("scenario.toml", snapshot.scenario_toml)
        if snapshot.stamp:
            archive.writestr("STAMP.txt", snapshot.stamp + "\n")
        for table, frame in snapshot.frames.items():
            archive.writestr(f"{table}.csv", csv_bytes(frame))
            archive.writestr(f"{table}.parquet", parquet_bytes(frame))
            advance()
        for chart in snapshot.charts:
            archive.writestr(f"charts/{chart.key}.png", chart_png(chart, stamp=snapshot.stamp))
            advance()
        archive.writestr(
            "charts/guanxi_network.png", network_png(snapshot.network, stamp=snapshot.stamp)
        )
        advance()
    return buffer.getvalue()


def everything_zip(model: MarketModel, history: RunHistory, scenario_toml: str) -> bytes:
    """The scenario, every result table (CSV and Parquet) and every chart (PNG) in one ZIP."""
    return zip_from_snapshot(zip_snapshot(model, history, scenario_toml))


class ZipJob(BackgroundJob):
    """The "Everything" ZIP drawn in a background thread, with progress.

    ``snapshot`` is taken by the caller (under the session's lock); the thread only
    encodes and draws, so steps and other downloads go on meanwhile.
    """

    what = "ZIP export"

    def __init__(self, snapshot: ZipSnapshot, filename: str, on_update: Callable[[], None]) -> None:
        super().__init__(on_update)
        self.snapshot = snapshot
        self.filename = filename
        self.progress = 0.0
        self.data: bytes | None = None

    def _progress(self, share: float) -> None:
        self.progress = share
        self._on_update()

    def work(self) -> None:
        self.data = zip_from_snapshot(self.snapshot, self._progress)
