"""Element-wise helpers that take a number or an array.

The mechanism equations run element-wise on the model's arrays and one number at
a time in the agent-per-user reference (``tests/reference``). On a Python float
these use ``math`` and comparisons (numpy's functions cost a microsecond a call on
scalars); on arrays, numpy.
"""

from __future__ import annotations

import math

import numpy as np


def sigmoid[T](x: T) -> T:
    """The logistic function."""
    if isinstance(x, float):
        return 1.0 / (1.0 + math.exp(-x))
    return 1.0 / (1.0 + np.exp(-x))


def clip[T](x: T, low: float, high: float) -> T:
    """``x`` limited to [low, high]."""
    if isinstance(x, float):
        return low if x < low else high if x > high else x
    return np.clip(x, low, high)


def positive_part[T](x: T) -> T:
    """max(0, x)."""
    if isinstance(x, float | int):
        return max(0.0, x)
    return np.maximum(0.0, x)


def running_mean(previous: np.ndarray | None, today: np.ndarray, window: float) -> np.ndarray:
    """Exponential running mean with time constant ``window`` days, today's included;
    the first day's value when there is no previous one.

    Firms plan and learn on running volumes rather than the day's counts: a simulated
    user stands for thousands of real people, so daily counts are lumpy at low
    resolution, and a concave response to a lumpy count would change with n_users.
    """
    if previous is None:
        return np.array(today, dtype=float)
    return previous + (today - previous) / window
