"""Confidence intervals for replicated runs (scipy.stats)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Estimate:
    """A mean with its two-sided confidence interval (t distribution)."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def mean_ci(values, level: float = 0.95) -> Estimate:
    """Mean and t-based confidence interval; a single value or no spread gives a point."""
    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data)]
    n = data.size
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    mean = float(data.mean())
    if n == 1 or np.all(data == data[0]):
        return Estimate(mean, mean, mean, n)
    low, high = stats.t.interval(level, df=n - 1, loc=mean, scale=stats.sem(data))
    return Estimate(mean, float(low), float(high), n)
