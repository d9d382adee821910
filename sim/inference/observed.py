"""The brand's analytics export and the model's metrics, as the same summary statistics.

An export (CSV or Parquet) has a date column, optionally a market column, and any
of the metrics in :data:`METRICS` under the names the ``[observed.columns]`` table
maps them to (without that table, columns named like a metric or one of its
:data:`ALIASES` are used). Missing days, empty cells and missing metrics are fine:
only what the file holds is compared.

Each row's date starts its period (one day for ``daily``, seven for ``weekly``);
simulated day 1 is ``calibration.start_date`` (default: the first date). A flow
(new followers, impressions, ...) is summed over the period; a stock (followers,
customers) is its value on the period's last day. The model's counts are in real
people (simulated users times the market's ``people_per_user``); revenue is in the
scenario's currency, as in the ``firm_market`` table (:mod:`sim.model.reporting`).

A summary statistic is named ``market/metric/period`` (period: the row's date).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.scenario import Scenario, suggest

if TYPE_CHECKING:
    from sim.inference.spec import ObservedSection


@dataclass(frozen=True)
class Metric:
    column: str  # in the firm_market table
    kind: str  # "stock": the period's last day; "flow": summed over the period
    people: bool  # a count of simulated users: times people_per_user
    label: str


#: The model's metrics that an analytics export can hold, by the name the
#: calibration file uses.
METRICS: dict[str, Metric] = {
    "followers": Metric("followers", "stock", True, "followers (people)"),
    "customers": Metric("customers", "stock", True, "customers (people)"),
    "new_followers": Metric("new_followers", "flow", True, "new followers (people)"),
    "unfollows": Metric("unfollows", "flow", True, "unfollows (people)"),
    "impressions": Metric("impressions", "flow", True, "impressions"),
    "reach": Metric("reach", "flow", True, "reach (people)"),
    "engagements": Metric("engagements", "flow", True, "engagements"),
    "comments": Metric("comments", "flow", True, "comments"),
    "answered": Metric("answered", "flow", True, "answered comments"),
    "clicks": Metric("shop_visits", "flow", True, "clicks to the shop (people)"),
    "conversions": Metric("conversions", "flow", True, "purchases (people)"),
    "revenue": Metric("revenue", "flow", False, "revenue (currency)"),
}

#: Column names of dashboards read as a metric when [observed.columns] is not given.
ALIASES: dict[str, tuple[str, ...]] = {
    "followers": ("followers", "fans", "total_followers"),
    "customers": ("customers",),
    "new_followers": ("new_followers", "follows", "new_fans"),
    "unfollows": ("unfollows", "lost_followers"),
    "impressions": ("impressions", "views"),
    "reach": ("reach",),
    "engagements": ("engagements", "interactions"),
    "comments": ("comments",),
    "answered": ("answered", "answered_comments", "replies"),
    "clicks": ("clicks", "link_clicks", "shop_visits"),
    "conversions": ("conversions", "purchases", "orders"),
    "revenue": ("revenue", "sales", "gmv"),
}

PERIOD_DAYS = {"daily": 1, "weekly": 7}
MAX_OBSERVED_BYTES = 200_000_000


@dataclass(frozen=True)
class Observed:
    """The observed series: one row per (market, metric, period) with a value."""

    table: pd.DataFrame  # market, metric, date, first_day, last_day, value
    frequency: str
    start_date: dt.date
    source: str

    @property
    def last_day(self) -> int:
        return int(self.table.last_day.max())

    @property
    def metrics(self) -> list[str]:
        return sorted(self.table.metric.unique())

    @property
    def markets(self) -> list[str]:
        return sorted(self.table.market.unique())

    def keys(self) -> list[str]:
        return [stat_key(r.market, r.metric, r.date) for r in self.table.itertuples()]

    def summary_statistics(self, transform: str) -> dict[str, float]:
        values = _transform(self.table.value.to_numpy(float), transform)
        return dict(zip(self.keys(), values.tolist(), strict=True))


def stat_key(market: str, metric: str, date: Any) -> str:
    return f"{market}/{metric}/{pd.Timestamp(date).date().isoformat()}"


def _transform(values: np.ndarray, transform: str) -> np.ndarray:
    if transform == "log1p":
        return np.log1p(np.maximum(values, 0.0))
    return values


# --------------------------------------------------------------------------- reading
def read_observed(
    section: ObservedSection,
    folder: Path,
    source: str,
    scenario: Scenario,
    firm: str,
    start_date: dt.date | None,
) -> Observed:
    """Read and check the export named by ``[observed]``; one CalibrationError line if unusable."""
    from sim.inference.spec import CalibrationError

    path = Path(section.file)
    if not path.is_absolute():
        path = folder / path
    where = f"{source}: observed.file {path}"
    if not path.exists():
        raise CalibrationError(f"{where}: no such file")
    if not path.is_file():
        raise CalibrationError(f"{where}: not a regular file; expected a CSV or Parquet file")
    if path.stat().st_size > MAX_OBSERVED_BYTES:
        raise CalibrationError(f"{where}: larger than {MAX_OBSERVED_BYTES:,} bytes")
    frame = _read_frame(path, where)
    return observed_from_frame(frame, section, where, scenario, firm, start_date, source)


def _read_frame(path: Path, where: str) -> pd.DataFrame:
    from sim.inference.spec import CalibrationError

    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path, skipinitialspace=True, encoding="utf-8-sig")
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        kind = "Parquet" if path.suffix.lower() in (".parquet", ".pq") else "CSV"
        text = " ".join(str(exc).split())[:200]
        raise CalibrationError(f"{where}: not a readable {kind} file ({text})") from None


def observed_from_frame(
    frame: pd.DataFrame,
    section: ObservedSection,
    where: str,
    scenario: Scenario,
    firm: str,
    start_date: dt.date | None,
    source: str = "",
) -> Observed:
    """Check an export's table and turn it into :class:`Observed`."""
    from sim.inference.spec import CalibrationError

    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    if section.date_column not in columns:
        raise CalibrationError(
            f"{where}: no date column '{section.date_column}' (observed.date_column); "
            f"columns: {', '.join(columns) or 'none'}"
        )
    mapping = _column_mapping(section, columns, where)
    active = _firm_markets(scenario, firm)
    if section.market_column is not None and section.market is not None:
        raise CalibrationError(f"{where}: give observed.market_column or observed.market, not both")
    if section.market_column is not None:
        if section.market_column not in columns:
            raise CalibrationError(
                f"{where}: no market column '{section.market_column}' (observed.market_column); "
                f"columns: {', '.join(columns)}"
            )
        markets = frame[section.market_column].astype(str).str.strip()
    else:
        market = section.market or (active[0] if len(active) == 1 else None)
        if market is None:
            raise CalibrationError(
                f"{where}: firm '{firm}' is in {len(active)} markets; name the file's market "
                f"with observed.market or a market column with observed.market_column "
                f"(markets: {', '.join(active)})"
            )
        markets = pd.Series([market] * len(frame), index=frame.index)
    for name in markets.unique():
        if name not in active:
            raise CalibrationError(
                f"{where}: market '{name}' is not a market of firm '{firm}'; allowed: "
                f"{', '.join(active)}"
            )

    dates = pd.to_datetime(frame[section.date_column], errors="coerce", format="mixed")
    bad = dates.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise CalibrationError(
            f"{where}: row {row + 2}: '{frame[section.date_column].iloc[row]}' in column "
            f"'{section.date_column}' is not a date (e.g. 2025-01-06)"
        )
    dates = dates.dt.normalize()
    period = PERIOD_DAYS[section.frequency]
    for name in markets.unique():
        mine = dates[markets == name].to_numpy()
        steps = np.diff(mine).astype("timedelta64[D]").astype(int)
        if (steps <= 0).any():
            i = int(np.flatnonzero(steps <= 0)[0])
            row = int(np.flatnonzero((markets == name).to_numpy())[i + 1])
            what = "repeated" if steps[i] == 0 else "out of order"
            raise CalibrationError(
                f"{where}: row {row + 2}: date {pd.Timestamp(mine[i + 1]).date()} of market "
                f"'{name}' is {what}; dates must increase within each market"
            )
        if (steps < period).any():
            i = int(np.flatnonzero(steps < period)[0])
            raise CalibrationError(
                f"{where}: market '{name}': weekly periods starting "
                f"{pd.Timestamp(mine[i]).date()} and {pd.Timestamp(mine[i + 1]).date()} overlap; "
                'use observed.frequency = "daily" or one row per week'
            )
    first = dates.min().date()
    start = start_date or first
    if first < start:
        raise CalibrationError(
            f"{where}: date {first} is before calibration.start_date {start} (simulated day 1)"
        )

    rows = []
    first_day = (dates - pd.Timestamp(start)).dt.days.to_numpy() + 1
    for metric, column in mapping.items():
        values = pd.to_numeric(frame[column], errors="coerce")
        text = frame[column].astype(str).str.strip()
        junk = values.isna() & frame[column].notna() & (text != "") & (text.str.lower() != "nan")
        if junk.any():
            row = int(np.flatnonzero(junk.to_numpy())[0])
            raise CalibrationError(
                f"{where}: row {row + 2}: '{frame[column].iloc[row]}' in column '{column}' "
                f"({metric}) is not a number"
            )
        if (values < 0).any():
            row = int(np.flatnonzero((values < 0).to_numpy())[0])
            raise CalibrationError(
                f"{where}: row {row + 2}: {values.iloc[row]:g} in column '{column}' ({metric}) "
                "is negative; counts and revenue are >= 0"
            )
        for i in np.flatnonzero(values.notna().to_numpy()):
            rows.append(
                {
                    "market": markets.iloc[i],
                    "metric": metric,
                    "date": dates.iloc[i],
                    "first_day": int(first_day[i]),
                    "last_day": int(first_day[i]) + period - 1,
                    "value": float(values.iloc[i]),
                }
            )
    if not rows:
        raise CalibrationError(
            f"{where}: no usable values: the columns {', '.join(mapping.values())} hold no numbers"
        )
    table = pd.DataFrame(rows).sort_values(["market", "metric", "date"], ignore_index=True)
    return Observed(table, section.frequency, start, source or where)


def _column_mapping(section: ObservedSection, columns: list[str], where: str) -> dict[str, str]:
    from sim.inference.spec import CalibrationError

    if section.columns:
        for metric, column in section.columns.items():
            if metric not in METRICS:
                raise CalibrationError(
                    f"{where}: observed.columns.{metric}: the model does not produce "
                    f"'{metric}'{suggest(metric, METRICS)}"
                )
            if column not in columns:
                raise CalibrationError(
                    f"{where}: observed.columns.{metric}: no column '{column}' in the file; "
                    f"columns: {', '.join(columns)}"
                )
        return dict(section.columns)
    lowered = {c.strip().lower().replace(" ", "_"): c for c in columns}
    mapping = {}
    for metric, names in ALIASES.items():
        for name in names:
            if name in lowered:
                mapping[metric] = lowered[name]
                break
    if not mapping:
        raise CalibrationError(
            f"{where}: no usable column: none is named like a metric the model produces "
            f"({', '.join(METRICS)}); map them in [observed.columns]"
        )
    return mapping


def _firm_markets(scenario: Scenario, firm: str) -> list[str]:
    for f in scenario.firms:
        if f.name == firm:
            return [s.market for s in f.strategies]
    return []


# --------------------------------------------------------------------------- simulated
def simulated_table(fm: pd.DataFrame, observed: Observed, firm: str) -> pd.DataFrame:
    """The model's values of the observed cells (a copy of ``observed.table`` with
    ``value`` replaced) from a run's ``firm_market`` frame."""
    mine = fm[fm.firm == firm]
    out = observed.table.copy()
    values = np.full(len(out), np.nan)
    for (market, metric), rows in out.groupby(["market", "metric"], sort=False):
        spec = METRICS[metric]
        series = mine[mine.market == market].set_index("step")
        days = series.index.to_numpy()
        column = series[spec.column].to_numpy(float)
        if spec.people:
            column = column * series["people_per_user"].to_numpy(float)
        if spec.kind == "stock":
            lookup = dict(zip(days.tolist(), column.tolist(), strict=True))
            got = [lookup.get(int(d), np.nan) for d in rows.last_day]
        else:
            cumulative = np.concatenate([[0.0], np.cumsum(np.where(days >= 1, column, 0.0))])
            index = {int(d): i for i, d in enumerate(days)}

            def total(a: int, b: int, cumulative=cumulative, index=index) -> float:
                if b not in index:
                    return np.nan
                return float(cumulative[index[b] + 1] - cumulative[index.get(a - 1, 0) + 1])

            got = [
                total(int(a), int(b)) for a, b in zip(rows.first_day, rows.last_day, strict=True)
            ]
        values[rows.index.to_numpy()] = got
    out["value"] = values
    return out


def simulated_statistics(
    fm: pd.DataFrame, observed: Observed, firm: str, transform: str
) -> dict[str, float]:
    table = simulated_table(fm, observed, firm)
    values = _transform(table.value.to_numpy(float), transform)
    return dict(zip(observed.keys(), values.tolist(), strict=True))
