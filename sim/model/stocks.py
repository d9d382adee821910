"""Stocks per (firm, market): aware users, followers, customers and attitude sums.

They are counted once over all users when the model is built; afterwards the
phases keep them up to date where they change the users' state
(:meth:`Stocks.set_attitude`, the follow, purchase and awareness phases), so no
day re-reads the (users x firms) arrays. Unaware users hold attitude 0 (only
touched, hence aware, entries change), so attitude sums over all users equal sums
over the aware. :func:`measure` turns the stocks into the day's metrics, including
the marketing performance index that firms compare when they imitate or pick
partners: the firm's share of its target markets' purchases (sales share, a running
average over about :data:`PERFORMANCE_WINDOW` days), the outcome that pays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model import kernels
from sim.model.users import Population

PERFORMANCE_WINDOW = 30  # days: the time constant of the running sales shares


@dataclass
class Stocks:
    aware: np.ndarray  # (F, M) users aware of the firm
    followers: np.ndarray  # (F, M)
    customers: np.ndarray  # (F, M)
    attitude_sum: np.ndarray  # (F, M) sum of attitudes (float64)
    attitude_squares: np.ndarray  # (F, M) sum of squared attitudes
    # Firm-major copies of following and customer, kept in step with the (N, F)
    # arrays: a firm's followers or customers are then one contiguous scan.
    following_by_firm: np.ndarray  # (F, N) bool
    customer_by_firm: np.ndarray  # (F, N) bool
    # Running average of each firm's share of the market's purchases (F, M).
    sales_share: np.ndarray | None = None

    @classmethod
    def count(cls, population: Population, n_markets: int) -> Stocks:
        """Count the stocks over all users (at build time)."""
        pop = population
        shape = (pop.aware.shape[1], n_markets)
        stocks = cls(
            *(np.zeros(shape) for _ in range(5)),
            following_by_firm=np.ascontiguousarray(pop.following.T),
            customer_by_firm=np.ascontiguousarray(pop.customer.T),
        )
        for m in range(n_markets):
            block = pop.block(m)
            attitude = pop.attitude[block]
            stocks.aware[:, m] = np.count_nonzero(pop.aware[block], axis=0)
            stocks.followers[:, m] = np.count_nonzero(pop.following[block], axis=0)
            stocks.customers[:, m] = np.count_nonzero(pop.customer[block], axis=0)
            stocks.recount_attitudes(attitude, m)
        return stocks

    def recount_attitudes(self, attitude: np.ndarray, market: int) -> None:
        """Sums of one market's (users x firms) attitudes, counted anew."""
        self.attitude_sum[:, market] = attitude.sum(axis=0, dtype=np.float64)
        self.attitude_squares[:, market] = np.einsum(
            "ij,ij->j", attitude, attitude, dtype=np.float64
        )

    def set_attitude(self, population: Population, index: np.ndarray, values: np.ndarray) -> None:
        """Write new attitudes of distinct flat entries; keep the sums per (firm, market)."""
        kernels.set_attitudes(
            population.attitude.reshape(-1),
            index,
            values,
            population.bounds,
            self.n_firms,
            self.attitude_sum.reshape(-1),
            self.attitude_squares.reshape(-1),
        )

    def scale_attitudes(self, population: Population, keep: np.float32) -> None:
        """Multiply every attitude by ``keep`` (decay), and the sums with them."""
        population.attitude *= keep
        self.attitude_sum *= float(keep)
        self.attitude_squares *= float(keep) ** 2

    def note_sales(self, ledger) -> None:
        """Move the running sales shares toward today's shares of the market's purchases
        (markets without purchases today keep theirs)."""
        bought, total = ledger["conversions"], ledger["market_purchases"]
        today = np.divide(bought, total, out=self.sales_share.copy(), where=total > 0)
        self.sales_share += (today - self.sales_share) / PERFORMANCE_WINDOW

    @property
    def n_firms(self) -> int:
        return self.aware.shape[0]


@dataclass(frozen=True)
class Metrics:
    """The day's measures of the stocks, per (firm, market) and per firm."""

    attitude_mean: np.ndarray  # (F, M) among the aware
    attitude_sd: np.ndarray  # (F, M)
    performance: np.ndarray  # (F,) marketing performance index, 0-1
    mean_attitude: np.ndarray  # (F,) among the aware, over the firm's markets
    aware: np.ndarray  # (F,)
    followers: np.ndarray  # (F,)
    customers: np.ndarray  # (F,)


def performance_index(sales_share: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Marketing performance index per firm, 0-1: its running share of the purchases
    in its target markets, averaged over them (every firm has one at least)."""
    return np.where(active, sales_share, 0.0).sum(axis=1) / active.sum(axis=1)


def measure(stocks: Stocks, market_size: np.ndarray, active: np.ndarray) -> Metrics:
    """Firm-market means from the running stocks, and each firm's totals and performance.

    Quotients with a zero count are 0 (``np.divide`` with ``where``: the other
    entries are the same quotients as ``np.where(count > 0, a / count, 0)``).
    """
    count = stocks.aware
    known = count > 0
    mean = np.divide(stocks.attitude_sum, count, out=np.zeros(count.shape), where=known)
    second = np.divide(stocks.attitude_squares, count, out=np.zeros(count.shape), where=known)
    aware = count.sum(axis=1)
    mean_attitude = np.divide(
        stocks.attitude_sum.sum(axis=1), aware, out=np.zeros(aware.shape), where=aware > 0
    )
    return Metrics(
        attitude_mean=mean,
        attitude_sd=np.sqrt(np.maximum(0.0, second - mean**2)),
        performance=performance_index(stocks.sales_share, active),
        mean_attitude=mean_attitude,
        aware=aware,
        followers=stocks.followers.sum(axis=1),
        customers=stocks.customers.sum(axis=1),
    )
