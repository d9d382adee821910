"""The user social network: degrees, homophily, clustering, symmetry, determinism."""

from __future__ import annotations

import networkx as nx
import numpy as np

from sim.model.network import build_user_network


def markets(n_china: int, n_europe: int) -> np.ndarray:
    return np.repeat([0, 1], [n_china, n_europe])


def test_degrees_match_the_requested_ties_and_ties_are_undirected():
    net = build_user_network(markets(3000, 2000), 8, 6, 0.9, np.random.default_rng(1))
    assert abs(net.degree("strong").mean() - 8) < 0.5
    assert abs(net.degree("weak").mean() - 6) < 0.5
    for matrix in (net.strong, net.weak):
        assert (matrix != matrix.T).nnz == 0
        assert matrix.diagonal().sum() == 0
        assert set(np.unique(matrix.data)) == {1.0}


def test_strong_ties_stay_in_market_and_weak_ties_follow_homophily():
    market = markets(3000, 2000)
    net = build_user_network(market, 8, 10, 0.7, np.random.default_rng(2))
    rows, cols = net.strong.nonzero()
    assert (market[rows] == market[cols]).all()
    rows, cols = net.weak.nonzero()
    within = (market[rows] == market[cols]).mean()
    # 70% chosen within the market plus random draws that land there by chance.
    assert 0.7 < within < 0.9


def test_strong_ties_are_clustered_weak_ties_are_not():
    net = build_user_network(markets(1500, 0), 8, 8, 1.0, np.random.default_rng(3))
    strong = nx.from_scipy_sparse_array(net.strong)
    weak = nx.from_scipy_sparse_array(net.weak)
    assert nx.average_clustering(strong) > 0.99
    assert nx.average_clustering(weak) < 0.05


def test_strong_ties_form_complete_personal_networks_that_never_bridge():
    """Goldenberg et al. (2001): groups of strong_ties + 1, complete, disjoint."""
    market = markets(1003, 500)
    net = build_user_network(market, 9, 8, 0.9, np.random.default_rng(4))
    groups = list(nx.connected_components(nx.from_scipy_sparse_array(net.strong)))
    sizes = sorted(len(group) for group in groups)
    # 1003 = 100 x 10 + 3 and 500 = 50 x 10: one smaller group in the first market.
    assert sizes == [3] + [10] * 150
    strong = nx.from_scipy_sparse_array(net.strong)
    for group in groups:
        size = len(group)
        assert strong.subgraph(group).number_of_edges() == size * (size - 1) // 2
        assert len({market[user] for user in group}) == 1


def test_same_seed_same_network():
    a = build_user_network(markets(500, 500), 6, 6, 0.9, np.random.default_rng(7))
    b = build_user_network(markets(500, 500), 6, 6, 0.9, np.random.default_rng(7))
    c = build_user_network(markets(500, 500), 6, 6, 0.9, np.random.default_rng(8))
    assert (a.strong != b.strong).nnz == 0 and (a.weak != b.weak).nnz == 0
    assert (a.weak != c.weak).nnz > 0


def test_no_ties_requested_gives_empty_network():
    net = build_user_network(markets(10, 10), 0, 0, 0.5, np.random.default_rng(0))
    assert net.strong.nnz == 0 and net.weak.nnz == 0
