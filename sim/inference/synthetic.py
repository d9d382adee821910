"""Synthetic analytics exports made by the model itself at known parameter values.

For the bundled example (labelled synthetic), the recovery test and the coverage
study of ``benchmarks/bench_calibrate.py``: one seeded run of a scenario with the
given parameters, aggregated to daily or weekly periods per market in the format a
dashboard export has (``date``, ``market``, one column per metric, in real units).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sim.inference.observed import METRICS, PERIOD_DAYS
from sim.scenario import Scenario, scenario_from_data


def synthetic_export(
    base: Scenario,
    values: Mapping[str, float],
    firm: str,
    days: int,
    seed: int,
    start_date: dt.date = dt.date(2025, 1, 6),
    frequency: str = "weekly",
    metrics: Sequence[str] = ("followers", "new_followers", "impressions", "engagements"),
) -> pd.DataFrame:
    """An export of ``firm``'s metrics from one run at ``values`` (dotted path -> number)."""
    from sim.runner import firm_market_frame, run_model

    spec = scenario_from_data(base.model_dump(mode="json"), "synthetic", dict(values))
    fm = firm_market_frame(run_model(spec, days, seed))
    mine = fm[(fm.firm == firm) & (fm.step >= 1)]
    period = PERIOD_DAYS[frequency]
    rows = []
    for market, series in mine.groupby("market", sort=False):
        series = series.set_index("step").sort_index()
        people = series["people_per_user"].to_numpy(float)
        for first in range(1, days - period + 2, period):
            last = first + period - 1
            row = {"date": start_date + dt.timedelta(days=first - 1), "market": market}
            window = series.loc[first:last]
            scale = people[first - 1 : last]
            for metric in metrics:
                spec_m = METRICS[metric]
                column = window[spec_m.column].to_numpy(float)
                if spec_m.people:
                    column = column * scale
                value = column[-1] if spec_m.kind == "stock" else column.sum()
                row[metric] = float(np.round(value, 2))
            rows.append(row)
    return pd.DataFrame(rows)
