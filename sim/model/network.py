"""The user social network: strong and weak ties with homophily, built with numpy.

Strong ties form **personal networks** (Goldenberg, Libai & Muller 2001; the
close-knit clusters of Granovetter 1973): the users of each market are shuffled and
split into groups of ``strong_ties + 1`` (the last group of a market may be
smaller), and every member of a group is tied to every other. Strong ties are
therefore fully clustered and never bridge groups. Weak ties are random long-range
links; a share ``homophily`` of them stays within the market. Word of mouth can only
leave a personal network through a weak tie (or an ad, a post, a share), which is
what makes weak ties matter at least as much as strong ties in Goldenberg et al.'s
model (validation target V8).

Ties are undirected and stored as scipy CSR adjacency matrices, so that counting
"how many of my strong ties did X" for every user and firm is one sparse product.
Generation is O(users x ties) in time and memory: networkx generators are far too
slow for millions of users.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class UserNetwork:
    """Symmetric 0/1 adjacency matrices of strong and weak ties (float32 CSR)."""

    strong: sp.csr_matrix
    weak: sp.csr_matrix

    @property
    def n_users(self) -> int:
        return self.strong.shape[0]

    def degree(self, kind: str = "strong") -> np.ndarray:
        matrix = self.strong if kind == "strong" else self.weak
        return np.diff(matrix.indptr)


def build_user_network(
    market_of_user: np.ndarray,
    strong_ties: int,
    weak_ties: int,
    homophily: float,
    rng: np.random.Generator,
) -> UserNetwork:
    """Build the network for users with the given market indices.

    ``strong_ties`` is the size of a personal network minus one (every user's strong
    ties, except in a market's last, smaller group); ``weak_ties`` is the mean
    number of weak ties per user. All draws come from ``rng``.
    """
    n_users = market_of_user.size
    strong_src, strong_dst = _personal_networks_within_markets(market_of_user, strong_ties, rng)
    weak_src, weak_dst = _random_ties(market_of_user, weak_ties, homophily, rng)
    return UserNetwork(
        strong=_symmetric_adjacency(strong_src, strong_dst, n_users),
        weak=_symmetric_adjacency(weak_src, weak_dst, n_users),
    )


def _personal_networks_within_markets(
    market_of_user: np.ndarray, ties: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Complete groups of ``ties + 1`` users (shuffled) within each market.

    Returns each unordered pair once (the later member of the group as target);
    :func:`_symmetric_adjacency` adds the other direction.
    """
    size_of_group = ties + 1
    sources, targets = [], []
    for market in np.unique(market_of_user):
        members = rng.permutation(np.flatnonzero(market_of_user == market))
        if members.size < 2 or ties == 0:
            continue
        position = np.arange(members.size)
        group_start = position - position % size_of_group
        group_end = np.minimum(group_start + size_of_group, members.size)
        for offset in range(1, size_of_group):
            partner = position + offset
            inside = partner < group_end
            sources.append(members[position[inside]])
            targets.append(members[partner[inside]])
    if not sources:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(sources), np.concatenate(targets)


def _random_ties(
    market_of_user: np.ndarray, ties: int, homophily: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Random ties, ``ties`` per user on average; each stays in-market with prob. homophily."""
    n_users = market_of_user.size
    if ties == 0 or n_users < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    # Each undirected tie adds to two users' degree, so draw n * ties / 2 of them.
    sources = rng.integers(0, n_users, size=n_users * ties // 2)
    targets = rng.integers(0, n_users, size=sources.size)
    within = rng.random(sources.size) < homophily
    # Draw in-market partners by position within the sorted market blocks.
    order = np.argsort(market_of_user, kind="stable")
    counts = np.bincount(market_of_user)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    src_market = market_of_user[sources[within]]
    offsets = (rng.random(src_market.size) * counts[src_market]).astype(np.int64)
    targets[within] = order[starts[src_market] + offsets]
    keep = targets != sources
    return sources[keep], targets[keep]


def _symmetric_adjacency(src: np.ndarray, dst: np.ndarray, n_users: int) -> sp.csr_matrix:
    rows = np.concatenate([src, dst])
    cols = np.concatenate([dst, src])
    data = np.ones(rows.size, dtype=np.float32)
    matrix = sp.csr_matrix((data, (rows, cols)), shape=(n_users, n_users), dtype=np.float32)
    matrix.sum_duplicates()
    matrix.data[:] = 1.0  # a pair tied twice is still one tie
    return matrix
