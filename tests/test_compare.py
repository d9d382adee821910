"""Common-random-numbers comparison and confidence intervals."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from sim.compare import compare, replication_seeds, variant
from sim.stats import mean_ci
from tests.conftest import small


def test_replication_seeds_are_distinct_and_reproducible():
    seeds = replication_seeds(42, 20)
    assert len(set(seeds)) == 20
    assert seeds == replication_seeds(42, 20)
    assert seeds != replication_seeds(43, 20)
    assert all(0 <= s < 2**63 for s in seeds)


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
    with ProcessPoolExecutor(2) as pool:
        parallel = compare(base, b, reps=2, steps=15, seed=3, executor=pool)
    assert sequential.outcomes == parallel.outcomes
