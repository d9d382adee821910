"""Scale-free by design: n_users is the resolution, not the market.

Verification of the whole model: the focal firm's awareness, follower share,
engagement rate, purchases per person, CRM capability, guanxi ties and profit are
the same, within their sampling error, at 5,000, 20,000 and 80,000 simulated users
(:mod:`sim.validation.scale`; the full check over the bundled scenarios and a year is
``python -m sim.validation.scale``, reported in docs/model.md).
"""

from __future__ import annotations

from sim.validation.scale import METRICS, Comparison, compare, scale_check


def test_the_baseline_answers_do_not_change_with_the_number_of_users():
    results, comparisons = scale_check(
        scenarios=("baseline",), sizes=(5_000, 20_000, 80_000), days=120, seeds=5, workers=2
    )
    failed = [c for c in comparisons if not c.passed]
    assert not failed, failed
    # Not a vacuous check: profit is tens of millions and clearly above zero.
    profits = [run["profit"] for run in results[("baseline", 80_000)]]
    assert min(profits) > 1e6, profits


def test_the_scale_check_flags_an_amount_that_grows_with_users():
    """The comparison fails a metric that grows with the resolution (as profit did
    when costs were per simulated user: 0.19 / 0.26 / 1.32 per user)."""
    results = {
        ("x", n): [
            {metric: (n / 5_000 if metric == "profit" else 1.0) + 0.01 * k for metric in METRICS}
            for k in range(3)
        ]
        for n in (5_000, 20_000, 80_000)
    }
    comparisons = compare(results)
    bad = {c.metric for c in comparisons if not c.passed}
    assert bad == {"profit"}
    assert all(isinstance(c, Comparison) for c in comparisons)


def test_the_scale_check_never_forks_this_process(monkeypatch):
    """Its worker processes start from a fork server (as sweeps' do), not by forking
    this process, which may hold threads: a deadlock risk Python warns about
    ("This process is multi-threaded, use of fork() may lead to deadlocks")."""
    import os

    def refuse_fork():
        raise AssertionError("os.fork() called in the parent process")

    monkeypatch.setattr(os, "fork", refuse_fork)
    results, _ = scale_check(scenarios=("baseline",), sizes=(500, 1_000), days=3, seeds=2)
    assert {key: len(runs) for key, runs in results.items()} == {
        ("baseline", 500): 2,
        ("baseline", 1_000): 2,
    }
