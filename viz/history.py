"""Per-step series of one live run, kept up to date incrementally for fast re-renders.

The model's :class:`mesa.DataCollector` is the record: its ``firm_market`` table and
model reporters. Reading them into DataFrames on every step would cost time that
grows with the run, so :class:`RunHistory` appends only the rows added since its
last look. Firm-level series (CRM capability, performance, books) are read from the
firms through the model's own ``FIRM_REPORTERS`` after every step, the same values
the DataCollector stores.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from sim.model import FIRM_REPORTERS, MarketModel

# firm_market columns the UI draws (see sim.model.build_datacollector for all of them).
FIRM_MARKET_SERIES = (
    "step",
    "attitude_mean",
    "awareness",
    "followers",
    "customers",
    "people_per_user",
    "followers_people",
    "customers_people",
    "follower_share",
    "consumers",
    "engagers",
    "conversions",
    "engagement_rate",
    "revenue",
)
FIRM_SERIES = ("crm_capability", "performance", "revenue", "profit", "total_profit", "ties")


class RunHistory:
    """Series per (firm, market) and per firm, appended as the model steps."""

    def __init__(self, model: MarketModel) -> None:
        firms = sorted(model.firms, key=lambda firm: firm.index)
        self.firm_names: list[str] = [firm.name for firm in firms]
        self.market_names: list[str] = [market.name for market in model.markets]
        self.focal: str = model.focal.name
        self.currency: str = model.spec.model.currency
        self.targets: dict[str, list[str]] = {
            firm.name: [self.market_names[m] for m in firm.target_markets] for firm in firms
        }
        self.firm_market: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(
            lambda: {column: [] for column in FIRM_MARKET_SERIES}
        )
        self.firm_steps: list[int] = []
        self.firm: dict[str, dict[str, list[float]]] = {
            column: {name: [] for name in self.firm_names} for column in FIRM_SERIES
        }
        self._rows_read = 0
        self.capture(model)

    def capture(self, model: MarketModel) -> None:
        """Append what the model recorded since the last call (call after every step)."""
        table = model.datacollector.tables["firm_market"]
        total = len(table["step"])
        firms, markets = table["firm"], table["market"]
        for row in range(self._rows_read, total):
            series = self.firm_market[(firms[row], markets[row])]
            for column in FIRM_MARKET_SERIES:
                series[column].append(_number(table[column][row]))
        self._rows_read = total
        if self.firm_steps and self.firm_steps[-1] == model.steps:
            return
        self.firm_steps.append(model.steps)
        reporters = {column: FIRM_REPORTERS[column] for column in FIRM_SERIES}
        for firm in model.firms:
            for column, reporter in reporters.items():
                value = reporter(firm) if callable(reporter) else getattr(firm, reporter)
                self.firm[column][firm.name].append(_number(value))

    @property
    def steps(self) -> int:
        """Days simulated so far."""
        return self.firm_steps[-1] if self.firm_steps else 0

    def series(self, firm: str, market: str, column: str) -> np.ndarray:
        """A firm_market column for one firm in one market, one value per recorded day."""
        return np.asarray(self.firm_market[(firm, market)][column], dtype=float)

    def people(self, firm: str, market: str, column: str) -> np.ndarray:
        """A count of simulated users (a firm_market column) in real people, per day."""
        return self.series(firm, market, column) * self.series(firm, market, "people_per_user")

    def days(self, firm: str, market: str) -> np.ndarray:
        return self.series(firm, market, "step")

    def firm_series(self, column: str, firm: str) -> np.ndarray:
        """A firm-level column (see FIRM_SERIES) for one firm, one value per day."""
        return np.asarray(self.firm[column][firm], dtype=float)

    def recent_mean(
        self, firm: str, market: str, column: str, days: int, people: bool = False
    ) -> float:
        """Mean of a daily flow over the last ``days`` recorded days (day 0 excluded);
        with ``people``, a count of simulated users in real people."""
        series = self.firm_market[(firm, market)]
        values = series[column][1:][-days:]
        if people:
            scale = series["people_per_user"][1:][-days:]
            values = [value * s for value, s in zip(values, scale, strict=True)]
        return float(sum(values)) / len(values) if values else 0.0

    def latest(self, firm: str, market: str, column: str) -> float:
        values = self.firm_market[(firm, market)][column]
        return float(values[-1]) if values else 0.0


def _number(value: Any) -> float:
    """A float for any reporter value (bools, numpy scalars); None becomes NaN."""
    if value is None:
        return float("nan")
    return float(value)
