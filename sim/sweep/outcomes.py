"""What a sweep records from each run: the focal firm's outcomes, overall and per market.

Names: the focal firm's totals (``attitude``, ``followers``, ``profit``, ...), its
results in one target market as ``<market>.<outcome>`` (``china.attitude``), and
the guanxi graph's state (``tie_density``, ...). At the end of a run the values are
those of :func:`sim.runner.focal_outcomes` (the numbers ``guanxi run`` and
``guanxi compare`` report); recorded daily, the same quantities day by day, so that
the last day equals the end-of-run record. Counts are of real people (:data:`PEOPLE`),
money in the scenario's currency; both accumulate from day 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sim.runner import firm_market_frame, firms_frame, focal_outcomes, model_frame
from sim.scenario import Scenario

FOCAL_OUTCOMES: dict[str, str] = {
    "attitude": "Mean attitude toward us among aware users (-1..1)",
    "followers": "Followers (people)",
    "customers": "Customers (people)",
    "conversions": "Purchases by people, cumulative",
    "revenue": "Revenue, cumulative (currency)",
    "profit": "Profit, cumulative (currency)",
    "crm_capability": "Social CRM capability (0..1)",
    "performance": "Marketing performance index (0..1)",
    "ties": "Our guanxi ties",
}
MARKET_OUTCOMES: dict[str, str] = {
    "attitude": "Mean attitude toward us among aware users in the market (-1..1)",
    "attitude_change": "Change in that attitude since day 0",
    "awareness": "Share of the market aware of us (0..1)",
    "followers": "Followers in the market (people)",
    "customers": "Customers in the market (people)",
    "engagement_rate": "Mean daily engagements / follower / post",
    "conversions": "Purchases by people in the market, cumulative",
    "revenue": "Revenue in the market, cumulative (currency)",
}
GUANXI_OUTCOMES: dict[str, str] = {
    "tie_density": "Density of the guanxi graph among all firms (0..1)",
    "tie_clustering": "Clustering of the guanxi graph (0..1)",
    "mean_tie_strength": "Mean strength of guanxi ties (0..1)",
    "ties_formed": "Guanxi ties formed among all firms, cumulative",
    "ties_severed": "Guanxi ties severed among all firms, cumulative",
}


#: Counts recorded in real people (simulated users x the market's people per user),
#: so that a sweep's answers do not change with n_users.
PEOPLE = {
    "followers": "followers_people",
    "customers": "customers_people",
    "conversions": "conversions_people",
}


def focal_markets(spec: Scenario) -> list[str]:
    """The focal firm's target markets, in strategy order."""
    firm = next(f for f in spec.firms if f.name == spec.focal_firm)
    return [s.market for s in firm.strategies]


def available_outcomes(spec: Scenario) -> dict[str, str]:
    """Every outcome a sweep of ``spec`` can record, with its meaning and unit."""
    out = dict(FOCAL_OUTCOMES)
    for market in focal_markets(spec):
        out.update({f"{market}.{k}": f"{v} [{market}]" for k, v in MARKET_OUTCOMES.items()})
    out.update(GUANXI_OUTCOMES)
    return out


def final_outcomes(model: Any, names: tuple[str, ...]) -> dict[str, float]:
    """The outcomes at the end of a run, from :func:`sim.runner.focal_outcomes`."""
    focal = focal_outcomes(model)
    frame = model_frame(model)
    values: dict[str, float] = {}
    for name in names:
        if name in FOCAL_OUTCOMES:
            values[name] = float(focal[PEOPLE.get(name, name)])
        elif name in GUANXI_OUTCOMES:
            values[name] = float(_guanxi_series(frame, name).iloc[-1])
        else:
            market, key = name.rsplit(".", 1)
            by_market = focal["markets"].get(market)
            values[name] = (
                float(by_market[PEOPLE.get(key, key)]) if by_market is not None else float("nan")
            )
    return values


def daily_outcomes(model: Any, names: tuple[str, ...]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(days 0..steps, outcome -> one value per day) for the focal firm."""
    firm = model.focal.name
    firms = firms_frame(model)
    mine = firms[firms.firm == firm].set_index("step").sort_index()
    steps = mine.index.to_numpy(dtype=np.int64)
    fm = firm_market_frame(model)
    fm = fm[fm.firm == firm]
    per_market = {m: rows.set_index("step").sort_index() for m, rows in fm.groupby("market")}
    frame = model_frame(model).set_index("step").sort_index()
    values: dict[str, np.ndarray] = {}
    for name in names:
        if name in FOCAL_OUTCOMES:
            series = _focal_series(mine, fm, name)
        elif name in GUANXI_OUTCOMES:
            series = _guanxi_series(frame, name)
        else:
            market, key = name.rsplit(".", 1)
            rows = per_market.get(market)
            series = _market_series(rows, key) if rows is not None else None
        if series is None:
            values[name] = np.full(len(steps), np.nan)
        else:
            values[name] = series.reindex(steps).to_numpy(dtype=np.float64)
    return steps, values


def _focal_series(mine: pd.DataFrame, fm: pd.DataFrame, name: str) -> pd.Series:
    match name:
        case "attitude":
            return mine["mean_attitude"]
        case "conversions":
            return _people(fm, "conversions").groupby(fm["step"]).sum().cumsum()
        case "followers" | "customers":
            return fm.groupby("step")[PEOPLE[name]].sum()
        case "revenue":
            return mine["revenue"].cumsum()
        case "profit":
            return mine["total_profit"]
        case _:
            return mine[name]


def _market_series(rows: pd.DataFrame, key: str) -> pd.Series:
    match key:
        case "attitude":
            return rows["attitude_mean"]
        case "attitude_change":
            return rows["attitude_mean"] - rows["attitude_mean"].iloc[0]
        case "engagement_rate":
            # Mean over days 1..t (day 0 has no posts yet), as focal_outcomes does.
            daily = rows["engagement_rate"].copy()
            daily.iloc[0] = np.nan
            return daily.expanding().mean().fillna(0.0)
        case "conversions":
            return _people(rows, "conversions").cumsum()
        case "followers" | "customers":
            return rows[PEOPLE[key]]
        case "revenue":
            return rows[key].cumsum()
        case _:
            return rows[key]


def _people(rows: pd.DataFrame, column: str) -> pd.Series:
    """A count of simulated users in real people."""
    return rows[column] * rows["people_per_user"]


def _guanxi_series(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in ("ties_formed", "ties_severed"):
        return frame[name].cumsum()
    return frame[name]
