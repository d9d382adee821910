"""The sampling shortcuts and running stocks of the vectorised model (issue 6).

The model draws only the successes of its Bernoulli trials (word of mouth as
tellings, ads, cross-promotion, referrals, unfollows) and keeps its stocks per
(firm, market) up to date instead of recounting them. These tests check that each
shortcut has the distribution it replaces, and that the running stocks equal a
recount, without timing anything.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.model import MarketModel
from sim.model.following import unfollows
from sim.model.kernels import binomial
from sim.model.sampling import GrowingArray, bernoulli_successes
from tests.conftest import run_phases_to_attitude, small


# ---------------------------------------------------------------------- sampling
@pytest.mark.parametrize(
    ("n", "p"), [(1, 0.3), (3, 0.07), (5, 0.8), (10, 0.5), (40, 0.02), (100, 0.3), (4, 1.0)]
)
def test_binomial_has_the_binomial_distribution(n, p):
    rng = np.random.default_rng(1)
    draws = binomial(rng, np.full(200_000, n), np.full(200_000, p))
    assert draws.min() >= 0 and draws.max() <= n
    if p in (0.0, 1.0):
        assert (draws == round(n * p)).all()
        return
    observed = np.bincount(draws, minlength=n + 1)
    expected = stats.binom.pmf(np.arange(n + 1), n, p) * draws.size
    keep = expected > 5  # chi-square over the cells with enough mass
    rest = observed[~keep].sum(), expected[~keep].sum()
    chi2 = ((observed[keep] - expected[keep]) ** 2 / expected[keep]).sum()
    if rest[1] > 5:
        chi2 += (rest[0] - rest[1]) ** 2 / rest[1]
    assert stats.chi2.sf(chi2, keep.sum()) > 1e-4


def test_binomial_takes_mixed_trial_counts_and_probabilities():
    rng = np.random.default_rng(2)
    n = rng.integers(0, 8, 300_000)
    p = rng.random(300_000)
    draws = binomial(rng, n, p)
    assert (draws[n == 0] == 0).all() and (draws <= n).all()
    # Mean and variance per entry sum to n p and n p (1 - p).
    z = (draws.sum() - (n * p).sum()) / np.sqrt((n * p * (1 - p)).sum())
    assert abs(z) < 4.5


@pytest.mark.parametrize("p", [0.0003, 0.01, 0.15, 0.5, 1.0, 0.0])
def test_bernoulli_successes_are_sorted_positions_at_rate_p(p):
    rng = np.random.default_rng(3)
    n = 200_000
    found = bernoulli_successes(rng, n, p)
    assert found.dtype.kind == "i"
    assert (np.diff(found) > 0).all() and (found.size == 0 or (found[0] >= 0 and found[-1] < n))
    if p in (0.0, 1.0):
        assert found.size == round(n * p)
        return
    assert abs(found.size - n * p) < 4.5 * np.sqrt(n * p * (1 - p))
    # Successes fall uniformly over the trials.
    assert stats.kstest(found / n, "uniform").pvalue > 1e-4


def test_growing_array_appends_in_order():
    grown = GrowingArray(np.int64, np.arange(3))
    for start in range(3, 100, 7):
        grown.append(np.arange(start, min(start + 7, 100)))
    assert np.array_equal(grown.values, np.arange(100))


# ---------------------------------------------------------------------- model state
def recounted(model: MarketModel) -> dict[str, np.ndarray]:
    pop = model.population
    shape = (model.n_firms, model.n_markets)
    counts = {name: np.zeros(shape) for name in ("aware", "following", "customer")}
    attitude_sum, squares = np.zeros(shape), np.zeros(shape)
    for m in range(model.n_markets):
        block = pop.block(m)
        for name in counts:
            counts[name][:, m] = getattr(pop, name)[block].sum(axis=0)
        attitude = pop.attitude[block].astype(np.float64)
        attitude_sum[:, m] = attitude.sum(axis=0)
        squares[:, m] = (attitude**2).sum(axis=0)
    return {**counts, "attitude_sum": attitude_sum, "attitude_squares": squares}


@pytest.mark.parametrize("structure", ["social", "fully_mixed"])
def test_running_stocks_equal_a_recount(structure):
    model = MarketModel(small(n_users=2000, network__structure=structure), rng=7)
    for _ in range(40):
        model.step()
    truth = recounted(model)
    pop = model.population
    assert np.array_equal(model.aware_count, truth["aware"])
    assert np.array_equal(model.followers_count, truth["following"])
    assert np.array_equal(model.customers_count, truth["customer"])
    stocks = model.stocks
    assert np.allclose(stocks.attitude_sum, truth["attitude_sum"], atol=1e-6)
    assert np.allclose(stocks.attitude_squares, truth["attitude_squares"], atol=1e-6)
    # Firm-major copies follow the (users, firms) arrays.
    assert np.array_equal(stocks.following_by_firm, pop.following.T)
    assert np.array_equal(stocks.customer_by_firm, pop.customer.T)
    if structure == "social":
        aware_entries = model.word_of_mouth.aware_entries.values
        assert np.array_equal(np.sort(aware_entries), np.flatnonzero(pop.aware))


def test_word_of_mouth_tellings_have_the_goldenberg_probability():
    """P(aware by word of mouth) = 1 - (1 - b_s)^m_s (1 - b_w)^m_w, m the aware ties."""
    spec = small(
        n_users=400,
        network__strong_tie_wom=0.05,
        network__weak_tie_wom=0.02,
        guanxi__enabled=False,
    )
    model = MarketModel(spec, rng=11)
    net, f, n_firms = model.network, model.focal.index, model.n_firms
    aware = model.population.aware[:, f].astype(float)
    strong = net.strong @ aware
    weak = net.weak @ aware
    expected = 1.0 - (1.0 - 0.05) ** strong * (1.0 - 0.02) ** weak
    candidates = ~model.population.aware[:, f] & model.active_nf[:, f]
    repeats = 3000
    hits = np.zeros(model.population.n_users)
    for _ in range(repeats):
        told = model.word_of_mouth.tellings(model.population, model.active_nf, model.rng)
        told = told[told % n_firms == f] // n_firms
        hits[told] += 1
    assert (hits[~candidates] == 0).all()
    p = expected[candidates]
    z = (hits[candidates] - repeats * p) / np.sqrt(repeats * p * (1 - p) + 1e-12)
    assert np.abs(z).max() < 5.0
    assert abs(hits[candidates].sum() - repeats * p.sum()) < 4.5 * np.sqrt(
        repeats * (p * (1 - p)).sum()
    )


def test_same_seed_gives_identical_runs():
    runs = []
    for _ in range(2):
        model = MarketModel(small(n_users=1500), rng=3)
        for _ in range(25):
            model.step()
        runs.append(model.datacollector.get_table_dataframe("firm_market"))
    assert runs[0].equals(runs[1])


def test_unfollows_have_the_probability_of_one_draw_per_follower():
    """Base-rate successes (thinned to each follower's switching propensity) plus the
    extra draws of followers above the base rate."""
    spec = small(
        n_users=1000,
        users__unfollow_base=0.02,
        users__fatigue_threshold=0.0,
        users__unfollow_per_fatigue=0.05,
        users__unfollow_per_negative_attitude=0.3,
        users__unfollow_per_promotion=0.0,
        users__unfollow_per_irrelevance=0.0,
    )
    model = MarketModel(spec, rng=5)
    pop, users = model.population, model.spec.users
    # Followers see most posts, so that some are fatigued.
    model.organic_seen[:] = 0.9
    model.organic_seen_max[:] = 0.9
    pop.attitude[:] = np.where(
        pop.aware, np.linspace(-1, 1, pop.attitude.size).reshape(pop.attitude.shape), 0.0
    ).astype(np.float32)
    day = run_phases_to_attitude(model)
    touched = day.exposure.touched
    # The probability of each follower entry, as one draw per follower would use it.
    entries = np.flatnonzero(pop.following)
    fatigue = np.zeros(pop.following.size)
    fatigue[touched.index] = day.excess
    retention = 1.0 - model.spec.crm.retention_effect * model.crm_capability()
    p = (
        users.unfollow_base
        + users.unfollow_per_fatigue * fatigue[entries]
        + users.unfollow_per_negative_attitude * np.maximum(0.0, -pop.attitude.reshape(-1)[entries])
    ) * retention[entries % model.n_firms]
    p = np.minimum(1.0, p * pop.switching[entries // model.n_firms])
    assert (fatigue[entries] > 0).any() and (pop.attitude.reshape(-1)[entries] < 0).any()
    repeats = 4000
    hits = np.zeros(pop.following.size)
    for _ in range(repeats):
        annoyed = users.unfollow_per_fatigue * day.excess  # fatigue only (others at 0)
        hits[unfollows(model, touched, annoyed, day.exposure.followers)] += 1
    assert hits.sum() == hits[entries].sum(), "only followers unfollow"
    certain = p >= 1.0  # switchers whose probability is capped at 1
    assert (hits[entries[certain]] == repeats).all()
    p, leaves = p[~certain], hits[entries[~certain]]
    z = (leaves - repeats * p) / np.sqrt(repeats * p * (1 - p))
    assert np.abs(z).max() < 5.0


def test_average_clustering_is_networkx_bit_for_bit():
    import random

    import networkx as nx

    from sim.model.guanxi import average_clustering

    for seed in range(200):
        draw = random.Random(seed)
        graph = nx.gnp_random_graph(draw.randint(1, 25), draw.random(), seed=seed)
        assert average_clustering(graph) == nx.average_clustering(graph)


def test_edges_with_data_are_networkx_edges_in_order():
    import networkx as nx

    from sim.model.guanxi import edges_with_data

    for seed in range(50):
        graph = nx.gnp_random_graph(15, 0.3, seed=seed)
        graph.remove_edges_from(list(graph.edges())[::3])
        graph.add_edges_from([(14, 0), (3, 9)], strength=0.5)
        assert list(edges_with_data(graph)) == list(graph.edges(data=True))


@pytest.mark.parametrize("name", ["baseline", "guanxi_partnerships"])
def test_firm_records_are_mesas_agent_records(name):
    """The DataCollector's firm series (:func:`sim.model.reporting.firm_records`) is
    what Mesa's own loop over the firm reporters records: same values, same types."""
    import mesa

    model = MarketModel(small(name, n_users=1500), rng=5)
    for _ in range(60):
        model.step()
        fast = model.datacollector._record_agents(model)
        mesas = list(mesa.DataCollector._record_agents(model.datacollector, model))
        assert fast == mesas
        assert [[type(v) for v in row] for row in fast] == [[type(v) for v in row] for row in mesas]
    assert any(row[14] > 0 for row in fast) or name == "baseline"  # ties recorded
