"""The compiled loops of sim/kernels.py draw the distributions their docstrings state.

Each test sets up a small market by hand, repeats the draw many times with a fixed
seed, and compares every entry's frequency with its probability (z-scores), or
compares exact sums with a dense recomputation.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from sim.model import Expressed, kernels, users_by_firm


def z_scores(hits: np.ndarray, repeats: int, p: np.ndarray) -> np.ndarray:
    return (hits - repeats * p) / np.sqrt(repeats * p * (1 - p) + 1e-12)


def test_own_posts_seen_are_binomial_per_follower():
    rng = np.random.default_rng(1)
    n_users, n_firms = 60, 3
    market_bounds = np.array([0, 30, 60])
    following = rng.random((n_firms, n_users)) < 0.5
    followers, firm_bounds = users_by_firm(following)
    posts = np.array([[2, 0], [1, 3], [4, 1]])
    passed = np.array([[1.0, 0.5], [0.3, 1.0], [0.8, 0.0]])
    organic_seen = rng.uniform(0.05, 0.4, n_users).astype(np.float32)
    seen_max = np.array([organic_seen[:30].max(), organic_seen[30:].max()])
    repeats = 4000
    items = np.zeros((n_firms, n_users))
    reached = np.zeros((n_firms, n_users))
    for _ in range(repeats):
        index, count = kernels.own_posts_seen(
            followers, firm_bounds, market_bounds, posts, passed, organic_seen, seen_max, 3, rng
        )
        assert (count >= 1).all() and np.unique(index).size == index.size
        user, firm = index // n_firms, index % n_firms
        assert following[firm, user].all(), "only followers see own posts"
        np.add.at(items, (firm, user), count)
        np.add.at(reached, (firm, user), 1)
    market = (np.arange(n_users) >= 30).astype(int)
    p = np.clip(organic_seen[None, :] * passed[:, market], 0, 1)
    k = posts[:, market]
    expected_items = np.where(following, k * p, 0.0)
    p_any = np.where(following, 1 - (1 - p) ** k, 0.0)
    assert (reached[p_any == 0] == 0).all()
    live = p_any > 0
    assert np.abs(z_scores(reached[live], repeats, p_any[live])).max() < 5
    variance = k * p * (1 - p)
    z_items = (items[live] - repeats * expected_items[live]) / np.sqrt(repeats * variance[live])
    assert np.abs(z_items).max() < 5


def small_network(rng, n_users=40, degree=0.15):
    upper = np.triu(rng.random((n_users, n_users)) < degree, 1)
    ties = sp.csr_matrix(upper | upper.T, dtype=np.float64)
    ties.sort_indices()
    return ties


@pytest.mark.parametrize(
    "n_users, n_firms, share",
    [(40, 3, 0.2), (50, 3000, 0.002)],
    ids=["one block of listeners", "blocks of 16 listeners"],
)
def test_listen_counts_and_sums_exactly_what_ties_expressed(n_users, n_firms, share):
    rng = np.random.default_rng(2)
    ties = small_network(rng, n_users)
    expressed = rng.random((n_users, n_firms)) < share
    attitude = rng.uniform(-1, 1, (n_users, n_firms)).astype(np.float32)
    by_firm = Expressed.of(*np.nonzero(expressed), n_firms)
    index, count, total, shared, _ = kernels.listen(
        by_firm.entries,
        attitude.reshape(-1),
        n_firms,
        ties.indptr,
        ties.indices,
        np.zeros(n_firms),
        np.array([0, n_users]),
        rng,
        kernels.listen_scratch(),
    )
    dense = ties.toarray()
    want_count = dense @ expressed
    want_total = dense @ (expressed * attitude.astype(np.float64))
    got_count = np.zeros((n_users, n_firms))
    got_total = np.zeros((n_users, n_firms))
    assert (np.diff(index) > 0).all(), "entries are distinct and ascending"
    got_count.reshape(-1)[index] = count
    got_total.reshape(-1)[index] = total
    assert np.array_equal(got_count, want_count)
    assert np.allclose(got_total, want_total)
    assert shared.size == 0, "nobody shares at share_reach 0"
    # At share_reach 1 every triple shares: the shared entries are exactly those heard.
    *_, shared, _ = kernels.listen(
        by_firm.entries,
        attitude.reshape(-1),
        n_firms,
        ties.indptr,
        ties.indices,
        np.ones(n_firms),
        np.array([0, n_users]),
        rng,
        kernels.listen_scratch(),
    )
    assert np.array_equal(shared, index)


def test_listen_shares_reach_each_tie_with_its_firm_and_market_chance():
    """Each (speaker, firm, tie) shares with the chance of the firm's posts in the
    speaker's market (drawn at the highest chance and thinned)."""
    rng = np.random.default_rng(3)
    n_users, n_firms = 30, 2
    market_bounds = np.array([0, 12, n_users])
    chance = np.array([[0.2, 0.05], [0.1, 0.0]])  # (firm, market)
    ties = small_network(rng, n_users, 0.2)
    expressed = rng.random((n_users, n_firms)) < 0.3
    by_firm = Expressed.of(*np.nonzero(expressed), n_firms)
    attitude = np.zeros(n_users * n_firms, np.float32)
    repeats = 4000
    hits = np.zeros(n_users * n_firms)
    scratch = kernels.listen_scratch()
    for _ in range(repeats):
        *_, shared, scratch = kernels.listen(
            by_firm.entries,
            attitude,
            n_firms,
            ties.indptr,
            ties.indices,
            chance.reshape(-1),
            market_bounds,
            rng,
            scratch,
        )
        assert (np.diff(shared) > 0).all(), "shared entries are distinct and ascending"
        hits[shared] += 1
    market = np.searchsorted(market_bounds, np.arange(n_users), side="right") - 1
    dense = ties.toarray()
    # log P(no share) per (listener, firm): each speaking tie at its market's chance.
    no_share = dense @ (expressed * np.log1p(-chance.T[market]))
    p = (1 - np.exp(no_share)).reshape(-1)
    assert (hits[p == 0] == 0).all()
    assert np.abs(z_scores(hits[p > 0], repeats, p[p > 0])).max() < 5


def test_cross_promotion_reaches_non_followers_of_the_receiver_and_books_the_benefit():
    rng = np.random.default_rng(4)
    n_users, n_firms = 50, 3
    market_bounds = np.array([0, 25, 50])
    following = rng.random((n_firms, n_users)) < 0.5
    followers, bounds = users_by_firm(following)
    organic_seen = rng.uniform(0.1, 0.5, n_users).astype(np.float32)
    seen_max = np.array([organic_seen[:25].max(), organic_seen[25:].max()])
    # Tie 0: firm 0 promotes firm 1; tie 1: firm 2 promotes firm 0 (a receiver per tie).
    givers, receivers = np.array([0, 2]), np.array([1, 0])
    chances = np.array([[0.5, 1.5], [3.0, 0.0]])
    price = np.array([0.01, 0.02])
    benefit = np.zeros((n_firms, n_firms))
    repeats = 3000
    hits = np.zeros((n_firms, n_users))
    for _ in range(repeats):
        found = kernels.cross_promoted(
            givers,
            receivers,
            chances,
            followers,
            bounds,
            market_bounds,
            following,
            organic_seen,
            seen_max,
            price,
            benefit,
            n_firms,
            rng,
        )
        hits[found % n_firms, found // n_firms] += 1
    market = (np.arange(n_users) >= 25).astype(int)
    assert hits[2].sum() == 0, "firm 2 receives nothing"
    for t, (giver, receiver) in enumerate(zip(givers, receivers, strict=True)):
        eligible = following[giver] & ~following[receiver]
        p = np.where(eligible, np.minimum(1, chances[t, market] * organic_seen), 0.0)
        assert (hits[receiver, p == 0] == 0).all()
        assert np.abs(z_scores(hits[receiver, p > 0], repeats, p[p > 0])).max() < 5
        expected = repeats * (p * price[market]).sum()
        assert abs(benefit[giver, receiver] - expected) < 0.05 * expected


def test_referrals_reach_eligible_customers_at_the_tie_rate():
    rng = np.random.default_rng(5)
    n_users, n_firms = 80, 3
    customer = rng.random((n_firms, n_users)) < 0.4
    active = rng.random((n_users, n_firms)) < 0.7
    customers, bounds = users_by_firm(customer)
    givers, receivers, rates = np.array([0, 2]), np.array([1, 0]), np.array([0.1, 0.3])
    repeats = 3000
    hits = np.zeros((2, n_users))
    for _ in range(repeats):
        index, source = kernels.referred(
            givers, receivers, rates, customers, bounds, active, customer, rng
        )
        for t in range(2):
            mine = index[source == givers[t]]
            assert (mine % n_firms == receivers[t]).all()
            hits[t, mine // n_firms] += 1
    for t in range(2):
        eligible = customer[givers[t]] & active[:, receivers[t]] & ~customer[receivers[t]]
        assert (hits[t, ~eligible] == 0).all()
        assert np.abs(z_scores(hits[t, eligible], repeats, rates[t])).max() < 5


def test_ads_reach_each_non_follower_with_the_paid_reach():
    rng = np.random.default_rng(6)
    n_users, n_firms = 60, 3
    market_bounds = np.array([0, 20, 60])
    following = rng.random((n_firms, n_users)) < 0.3
    reach = np.array([[0.1, 0.0], [0.5, 0.02], [0.0, 1.0]])
    repeats = 3000
    hits = np.zeros((n_firms, n_users))
    for _ in range(repeats):
        found = kernels.ad_reach(reach, market_bounds, following, rng)
        assert np.unique(found).size == found.size
        hits[found % n_firms, found // n_firms] += 1
    market = (np.arange(n_users) >= 20).astype(int)
    p = np.where(following, 0.0, reach[:, market])
    assert (hits[p == 0] == 0).all() and (hits[p == 1] == repeats).all()
    live = (p > 0) & (p < 1)
    assert np.abs(z_scores(hits[live], repeats, p[live])).max() < 5


def test_first_above_is_the_forward_scan():
    """The galloping search of told_by_ties finds what a scan forwards finds."""
    draw = np.random.default_rng(7)
    for _ in range(300):
        ascending = np.cumsum(draw.integers(0, 4, draw.integers(1, 60)))
        if ascending[-1] == 0:
            continue
        start = 0
        for value in np.sort(draw.integers(0, ascending[-1], 20)):
            scan = start
            while ascending[scan] <= value:
                scan += 1
            start = kernels.first_above(ascending, start, value)
            assert start == scan
