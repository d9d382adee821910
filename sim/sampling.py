"""Exact random draws that cost what they return, for the model's daily phases.

numpy's generators draw one variate per entry: ``rng.binomial`` with per-entry ``n``
and ``p`` costs about 80 ns each (it prepares the distribution anew for every
entry), and drawing a Bernoulli trial for each of millions of users to find the few
hundred who see an ad costs millions of uniforms. These helpers return the same
distributions for less:

* :func:`binomial` samples by inverting the CDF for all entries at once, one
  ``k`` at a time (the BINV algorithm numpy uses per entry for small ``n p``);
* :func:`bernoulli_successes` draws the gaps between successes (geometric), so
  its cost follows the number of successes rather than the number of trials;
* :func:`thinned_successes` adds per-trial probabilities below a common bound
  (thinning: candidates at the bound, each accepted with ``p_i / bound``).

All draws come from the ``rng`` passed in, so runs stay reproducible by seed.
"""

from __future__ import annotations

import numpy as np

# Above this many trials (or for n p large) numpy's own sampler (BTPE) is cheaper.
_INVERSION_MAX_N = 64
# Above this success probability, or up to this many trials, one uniform per trial
# beats drawing geometric gaps.
_GAPS_MAX_P = 0.2
_UNIFORMS_MAX_N = 2048


def binomial(rng: np.random.Generator, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Binomial(n, p) per entry (int64), for arrays of trial counts and probabilities.

    One uniform U per entry. Single trials (the common case: one item seen, one
    consumed) are U < p. Otherwise the CDF is inverted, X = min{k : U < F(k)}, with
    pmf(k) = pmf(k - 1) (n - k + 1) / k * p / (1 - p), for all entries still above
    F(k) at once. Probabilities above 1/2 are drawn as n - Binomial(n, 1 - p), so
    (1 - p)^n never underflows; entries with more than 64 trials go to ``rng.binomial``.
    """
    n, p = np.broadcast_arrays(np.asarray(n, np.int64), np.asarray(p, np.float64))
    uniform = rng.random(n.shape)
    out = (uniform < p).astype(np.int64)
    out[n == 0] = 0
    several = np.flatnonzero(n > 1)
    if several.size == 0:
        return out
    n, p, uniform = n[several], np.clip(p[several], 0.0, 1.0), uniform[several]
    draws = np.zeros(several.size, np.int64)
    large = n > _INVERSION_MAX_N
    if large.any():
        draws[large] = rng.binomial(n[large], p[large])
    flip = p > 0.5
    q = np.where(flip, p, 1.0 - p)  # failure probability of the drawn side, >= 1/2
    pmf = q**n
    live = np.flatnonzero((uniform >= pmf) & ~large)
    n_live, ratio = n[live], (1.0 - q[live]) / q[live]
    uniform, pmf = uniform[live], pmf[live]
    cdf = pmf.copy()
    k = 0
    while live.size:
        k += 1
        draws[live] = k
        pmf *= (n_live - k + 1) / k * ratio
        cdf += pmf
        # Past n the CDF is 1 up to rounding: stop there.
        more = (uniform >= cdf) & (n_live > k)
        live, n_live, ratio, uniform, pmf, cdf = (
            a[more] for a in (live, n_live, ratio, uniform, pmf, cdf)
        )
    small_flip = flip & ~large
    draws[small_flip] = n[small_flip] - draws[small_flip]
    out[several] = draws
    return out


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


def thinned_successes(rng: np.random.Generator, n: int, bound: float, probability_of) -> np.ndarray:
    """Sorted positions in [0, n) of successes of trials with probabilities <= ``bound``.

    ``probability_of(positions)`` gives the candidates' own probabilities, each at
    most ``bound`` (at most 1): candidates are drawn at the bound and kept with
    probability p_i / bound, which is trial i's success probability exactly.
    """
    bound = min(float(bound), 1.0)
    candidates = bernoulli_successes(rng, n, bound)
    if candidates.size == 0:
        return candidates
    keep = rng.random(candidates.size) * bound < probability_of(candidates)
    return candidates[keep]


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
