"""Exact random draws that cost what they return, for the model's daily phases.

Drawing a Bernoulli trial for each of millions of users to find the few hundred
who see an ad costs millions of uniforms. :func:`bernoulli_successes` draws the
gaps between successes instead (geometric), so its cost follows the number of
successes rather than the number of trials. The compiled loops of
:mod:`sim.model.kernels` use the same idea inside their passes, with thinning for
trials whose probabilities differ (candidates drawn at a common bound, each kept
with p_i / bound).

All draws come from the ``rng`` passed in, so runs stay reproducible by seed.
"""

from __future__ import annotations

import numpy as np

# Above this success probability, or up to this many trials, one uniform per trial
# beats drawing geometric gaps.
_GAPS_MAX_P = 0.2
_UNIFORMS_MAX_N = 2048


def bernoulli_successes(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    """Sorted positions in [0, n) of the successes of n independent Bernoulli(p) trials.

    For small p and many trials the gaps between successes are drawn (geometric), at
    a cost that follows the expected n p successes; otherwise one uniform per trial.
    """
    n = int(n)
    if n <= 0 or p <= 0.0:
        return np.empty(0, np.int64)
    if p >= 1.0:
        return np.arange(n, dtype=np.int64)
    if p > _GAPS_MAX_P or n <= _UNIFORMS_MAX_N:
        return np.flatnonzero(rng.random(n) < p)
    found = []
    last = -1  # position of the latest success
    while True:
        expected = (n - 1 - last) * p
        gaps = rng.geometric(p, int(expected + 4.0 * np.sqrt(expected) + 16))
        positions = last + np.cumsum(gaps)
        if positions[-1] >= n:
            found.append(positions[positions < n])
            break
        found.append(positions)
        last = int(positions[-1])
    return np.concatenate(found)


class GrowingArray:
    """An append-only 1-D array with amortised O(1) appends (capacity doubles)."""

    def __init__(self, dtype: type | np.dtype, values: np.ndarray | None = None) -> None:
        values = np.empty(0, dtype) if values is None else np.asarray(values, dtype)
        self._data = np.empty(max(16, 2 * values.size), dtype)
        self._data[: values.size] = values
        self.size = values.size

    def append(self, values: np.ndarray) -> None:
        end = self.size + values.size
        if end > self._data.size:
            grown = np.empty(max(end, 2 * self._data.size), self._data.dtype)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : end] = values
        self.size = end

    @property
    def values(self) -> np.ndarray:
        """The appended values, in order (a view: valid until the next append)."""
        return self._data[: self.size]
