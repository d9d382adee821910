"""(user, firm) entries and (firm, market) cells: the indices every phase works on.

Users x firms relationships are held as flat arrays: entry ``user x firms + firm``.
Per (firm, market) totals are indexed by cell ``firm x markets + market``. The
helpers here turn entries into cells and sum per cell; the dataclasses are the
sets of entries the phases hand to each other during a day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def starts_of_runs(ordered: np.ndarray) -> np.ndarray:
    """Bool mask of the entries of a sorted array that differ from their predecessor."""
    first = np.empty(ordered.size, bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return first


def run_lengths(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of an ascending array and how often each occurs."""
    first = np.flatnonzero(starts_of_runs(ordered))
    return ordered[first], np.diff(first, append=ordered.size)


def distinct(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct values of ``keys`` (``np.unique`` without its slow hash path)."""
    ordered = np.sort(keys)
    return ordered[starts_of_runs(ordered)]


def users_by_firm(by_firm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The users of each row of a (firms x users) bool matrix, in one array.

    Returns the users (ascending within each firm) and the bounds: firm f's are
    ``users[bounds[f]:bounds[f + 1]]``.
    """
    n_firms, n_users = by_firm.shape
    positions = np.flatnonzero(by_firm)
    bounds = np.searchsorted(positions, np.arange(n_firms + 1) * n_users)
    return positions % n_users, bounds


@dataclass(frozen=True)
class Cells:
    """Maps entries to (firm, market) cells and sums values per cell."""

    market_of_user: np.ndarray  # (N,) market index of each user
    n_firms: int
    n_markets: int

    def of_entries(self, index: np.ndarray) -> np.ndarray:
        """(firm, market) cell, firm x markets + market, of flat (user, firm) entries."""
        users = index // self.n_firms
        return (index - users * self.n_firms) * self.n_markets + self.market_of_user[users]

    def total(self, cells: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """(F, M) totals of ``weights`` (or counts) by (firm, market) cell."""
        totals = np.bincount(cells, weights, minlength=self.n_firms * self.n_markets)
        return totals.reshape(self.n_firms, self.n_markets)


def per_entry(table: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """A (firm, market) table's value for each entry's cell (a 1-D gather)."""
    return table.reshape(-1)[cells]


@dataclass
class Expressed:
    """(user, firm) entries whose user expressed an opinion of the firm (they engaged or
    bought today), as flat indices user x firms + firm, ascending."""

    entries: np.ndarray

    @classmethod
    def of(cls, users: np.ndarray, firms: np.ndarray, n_firms: int) -> Expressed:
        """From distinct (user, firm) pairs."""
        return cls(np.sort(users.astype(np.int64) * n_firms + firms))

    @classmethod
    def none(cls) -> Expressed:
        return cls(np.empty(0, np.int64))

    @property
    def count(self) -> int:
        return self.entries.size

    def dense(self, n_users: int, n_firms: int) -> np.ndarray:
        """As a (users x firms) bool array."""
        out = np.zeros(n_users * n_firms, bool)
        out[self.entries] = True
        return out.reshape(n_users, n_firms)


@dataclass
class Heard:
    """(user, firm) entries whose ties expressed an opinion of the firm yesterday.

    The arrays are views of the listeners pass's working arrays: valid for the day.
    """

    index: np.ndarray  # flat index into (N, F), ascending
    speakers: np.ndarray  # number of ties who expressed
    opinion_sum: np.ndarray  # sum of their attitudes
    shared: np.ndarray  # entries that see at least one tie's share today


@dataclass
class Touched:
    """Today's (user, firm) entries with at least one exposure, as flat indices."""

    index: np.ndarray  # flat index into (N, F)
    user: np.ndarray
    firm: np.ndarray
    market: np.ndarray
    seen: np.ndarray  # items seen today (posts, ads, shares, cross-promotion, referrals)
    own_posts: np.ndarray  # of which the firm's own posts seen as a follower
    referred: np.ndarray  # bool: referred by a partner today
    cell: np.ndarray  # (firm, market) cell: firm x markets + market
