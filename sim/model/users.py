"""Users held as numpy arrays: traits per user, relationship state per user and firm.

Users are sorted by market, so each market is a contiguous block ``[start, stop)``
and per-market totals are slices. Traits are drawn from Beta distributions with the
market's mean and standard deviation:

* ``sns_dependency``: how much the user relies on social network sites (higher in
  China, Zhang 2025);
* ``transactional_motive`` (information, incentives) and ``relational_motive``
  (social integration, identification; stronger in China, Zhang 2025);
* ``switching``: the user's propensity to switch brand accounts (variety seeking,
  McAlister & Pessemier 1982), gamma-distributed with mean 1 and variance
  ``users.switching_dispersion`` in every market (:func:`switching_propensity`). It
  multiplies the odds of following a brand and the daily probability of leaving one
  (:mod:`sim.model.following`), so a user who follows readily also leaves readily:
  the "frailty" of survival analysis (Vaupel, Manton & Stallard 1979).

Per user and firm (shape ``(users, firms)``): ``aware``, ``following``, ``attitude``
(the opinion of that business, -1 to 1) and ``customer``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from sim.scenario import MarketSection, Scenario


def beta_parameters(mean: float, sd: float) -> tuple[float, float]:
    """(alpha, beta) of the Beta distribution with this mean and standard deviation."""
    concentration = mean * (1.0 - mean) / sd**2 - 1.0
    if concentration <= 0:
        raise ValueError(
            f"sd {sd} is too large for mean {mean}: need sd < sqrt(mean * (1 - mean)) = "
            f"{np.sqrt(mean * (1 - mean)):.3f}"
        )
    return mean * concentration, (1.0 - mean) * concentration


def switching_propensity[T](dispersion: float, uniform: T) -> T:
    """Switching propensity at quantile ``uniform`` (in [0, 1)) of the gamma
    distribution with mean 1 and variance ``dispersion`` (shape 1 / dispersion); 1 for
    every user at dispersion 0.

    Drawn by inversion from one uniform per user, so the same draws give every
    dispersion (common random numbers: a user keeps its rank as the dispersion
    changes) and the dispersion leaves the model's other random streams unchanged.
    """
    if dispersion == 0:
        return np.ones_like(uniform, dtype=np.float64) if np.ndim(uniform) else 1.0
    value = special.gammaincinv(1.0 / dispersion, uniform) * dispersion
    # Above 0 (a tiny draw underflows at a large dispersion): a certain follow stays certain.
    return np.maximum(value, np.finfo(np.float64).tiny)


def users_per_market(markets: list[MarketSection], n_users: int) -> np.ndarray:
    """Split ``n_users`` by user_share with the largest-remainder rule (sums exactly)."""
    shares = np.array([m.user_share for m in markets], dtype=float)
    exact = n_users * shares / shares.sum()
    counts = np.floor(exact).astype(np.int64)
    remainder = n_users - counts.sum()
    counts[np.argsort(-(exact - counts), kind="stable")[:remainder]] += 1
    return counts


@dataclass
class Population:
    market: np.ndarray  # (N,) int market index, sorted
    bounds: np.ndarray  # (M + 1,) block boundaries: market m is [bounds[m], bounds[m + 1])
    sns_dependency: np.ndarray  # (N,) float32 in (0, 1)
    transactional_motive: np.ndarray  # (N,) float32 in (0, 1)
    relational_motive: np.ndarray  # (N,) float32 in (0, 1)
    aware: np.ndarray  # (N, F) bool
    following: np.ndarray  # (N, F) bool
    attitude: np.ndarray  # (N, F) float32 in [-1, 1]
    customer: np.ndarray  # (N, F) bool
    # Brand accounts the user follows on the platform: others (outside the scenario,
    # drawn Poisson with the market's brands_followed_mean) plus the scenario's.
    brands_followed: np.ndarray | None = None  # (N,) int32
    # Day of the user's last purchase in the category (negative: before the run).
    last_purchase: np.ndarray | None = None  # (N,) float64
    # Cumulative behaviour per user over the run, across firms (for survey-style analysis).
    consumed_total: np.ndarray | None = None  # (N,) items of company content consumed
    engaged_total: np.ndarray | None = None  # (N,) engagements (likes, comments, shares)
    purchases_total: np.ndarray | None = None  # (N,) purchases
    # Propensity to switch brand accounts, mean 1 (:func:`switching_propensity`).
    switching: np.ndarray | None = None  # (N,) float64 > 0

    @property
    def n_users(self) -> int:
        return self.market.size

    def block(self, m: int) -> slice:
        return slice(int(self.bounds[m]), int(self.bounds[m + 1]))

    @classmethod
    def from_scenario(cls, spec: Scenario, rng: np.random.Generator) -> Population:
        counts = users_per_market(spec.markets, spec.model.n_users)
        n_users, n_firms = int(counts.sum()), len(spec.firms)
        market = np.repeat(np.arange(len(spec.markets)), counts)
        traits = {
            "sns_dependency": ("dependency_mean", "dependency_sd"),
            "transactional_motive": ("transactional_motive_mean", "motive_sd"),
            "relational_motive": ("relational_motive_mean", "motive_sd"),
        }
        values = {name: np.empty(n_users, np.float32) for name in traits}
        bounds = np.concatenate([[0], np.cumsum(counts)])
        for m, spec_m in enumerate(spec.markets):
            block = slice(bounds[m], bounds[m + 1])
            for name, (mean_key, sd_key) in traits.items():
                a, b = beta_parameters(getattr(spec_m, mean_key), getattr(spec_m, sd_key))
                values[name][block] = rng.beta(a, b, size=counts[m])
        population = cls(
            market=market,
            bounds=bounds,
            aware=np.zeros((n_users, n_firms), bool),
            following=np.zeros((n_users, n_firms), bool),
            attitude=np.zeros((n_users, n_firms), np.float32),
            customer=np.zeros((n_users, n_firms), bool),
            **values,
        )
        for name in ("consumed_total", "engaged_total", "purchases_total"):
            setattr(population, name, np.zeros(n_users, np.int32))
        population._seed_relationships(spec, rng)
        others = np.empty(n_users, np.int32)
        for m, spec_m in enumerate(spec.markets):
            block = slice(bounds[m], bounds[m + 1])
            others[block] = rng.poisson(spec_m.brands_followed_mean, size=counts[m])
        population.brands_followed = others + population.following.sum(axis=1, dtype=np.int32)
        # Purchase times before the run, at the stationary age of the needs' renewal.
        from sim.model.purchase import ages_at_start

        cycle = np.array([m.purchase_cycle for m in spec.markets])[market]
        population.last_purchase = -ages_at_start(rng, cycle)
        # Last, one uniform per user (drawn at every dispersion, 0 included).
        population.switching = switching_propensity(
            spec.users.switching_dispersion, rng.random(n_users)
        )
        return population

    def _seed_relationships(self, spec: Scenario, rng: np.random.Generator) -> None:
        """Initial awareness, following and attitude from each strategy's initial_* keys."""
        market_index = {m.name: i for i, m in enumerate(spec.markets)}
        for f, firm in enumerate(spec.firms):
            for strategy in firm.strategies:
                block = self.block(market_index[strategy.market])
                size = block.stop - block.start
                aware = rng.random(size) < strategy.initial_awareness
                follow_given_aware = (
                    strategy.initial_followers / strategy.initial_awareness
                    if strategy.initial_awareness > 0
                    else 0.0
                )
                following = aware & (rng.random(size) < follow_given_aware)
                attitude = np.clip(rng.normal(strategy.initial_attitude, 0.2, size), -1, 1)
                self.aware[block, f] = aware
                self.following[block, f] = following
                self.attitude[block, f] = np.where(aware, attitude, 0.0)
