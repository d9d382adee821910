"""Common-random-numbers comparison and confidence intervals."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from sim.compare import OUTCOMES, compare, outcome_labels, replication_seeds, variant
from sim.seeds import (
    SWEEP_COMMON,
    SWEEP_DESIGN,
    SWEEP_RUNS,
    derive_rng,
    derive_seed,
    derive_seeds,
)
from sim.stats import mean_ci
from sim.sweep.engines import LocalEngine
from tests.conftest import small


def test_replication_seeds_are_distinct_and_reproducible():
    seeds = replication_seeds(42, 20)
    assert len(set(seeds)) == 20
    assert seeds == replication_seeds(42, 20)
    assert seeds != replication_seeds(43, 20)
    assert all(0 <= s < 2**63 for s in seeds)
    assert replication_seeds(42, 5) == seeds[:5]  # more replications only add seeds


def test_one_seed_scheme_gives_each_stream_its_own_seeds():
    # compare, the UI's comparison, validation and sweeps all derive seeds here
    assert replication_seeds(42, 3) == derive_seeds(42, 3) == [derive_seed(42, r) for r in range(3)]
    assert derive_seeds(42, 3, "users") == [derive_seed(42, "users", r) for r in range(3)]
    seeds = [derive_seed(42, r) for r in range(50)]
    seeds += [
        derive_seed(42, stream, r) for stream in ("users", "firms", SWEEP_COMMON) for r in range(50)
    ]
    seeds += [derive_seed(42, SWEEP_RUNS, point, r) for point in range(10) for r in range(5)]
    assert len(set(seeds)) == len(seeds)
    assert derive_seed(42, SWEEP_RUNS, 1, 2) != derive_seed(42, SWEEP_RUNS, 2, 1)
    # a name stands for its CRC-32, so a stream is the same in every process
    assert derive_seed(7, "users", 0) == derive_seed(7, zlib.crc32(b"users"), 0)
    a, b = derive_rng(7, SWEEP_DESIGN), derive_rng(7, SWEEP_DESIGN)
    assert a.integers(0, 2**62, 4).tolist() == b.integers(0, 2**62, 4).tolist()


def test_mean_ci_matches_the_t_interval():
    values = np.array([1.0, 2.0, 3.0, 4.0])
    estimate = mean_ci(values)
    assert estimate.mean == 2.5
    # t(0.975, 3) = 3.182; sem = 1.291 / 2
    assert estimate.half_width == pytest.approx(3.182446 * values.std(ddof=1) / 2, rel=1e-5)
    assert mean_ci([5.0]).low == mean_ci([5.0]).high == 5.0
    assert mean_ci([]).n == 0


def test_identical_variants_differ_by_exactly_zero_thanks_to_common_random_numbers():
    base = small(n_users=500)
    result = compare(base, base, reps=3, steps=10, seed=1)
    for outcome in result.outcomes.values():
        assert outcome["B - A"].mean == 0 and outcome["B - A"].half_width == 0


def test_results_do_not_depend_on_the_number_of_workers():
    base = small(n_users=500)
    b = variant(base, ["firms.ours.strategies.china.responsiveness=1.0"], "B")
    sequential = compare(base, b, reps=2, steps=15, seed=3)
    # The engine `guanxi compare --workers 2` uses: the sweeps' local worker processes.
    with LocalEngine(2) as engine:
        parallel = compare(base, b, reps=2, steps=15, seed=3, executor=engine.executor)
    assert sequential.outcomes == parallel.outcomes


def test_outcomes_are_people_and_money_in_the_scenarios_currency():
    # Counts of simulated users grow with n_users; the outcomes compared do not.
    assert not {"followers", "customers", "conversions"} & set(OUTCOMES)
    assert {"followers_people", "customers_people", "conversions_people"} <= set(OUTCOMES)
    labels = outcome_labels("CNY")
    assert labels["revenue"] == "Revenue (CNY, cumulative)"
    assert labels["profit"] == "Profit (CNY, cumulative)"
    assert labels["followers_people"] == "Followers (people)"
