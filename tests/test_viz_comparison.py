"""A vs B in the UI: the CLI's numbers, bands over time, progress and cancel."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from sim.compare import OUTCOMES, compare
from sim.errors import GuanxiError
from sim.stats import mean_ci
from sim.sweep.workers import ResilientProcessPool
from tests.viz_support import small_session, wait_for
from viz import comparison as comparison_module
from viz.comparison import (
    SERIES_TITLES,
    ComparisonCancelled,
    ComparisonJob,
    ComparisonRequest,
    mean_band,
    run_comparison,
)

SHOP = "firms.ours.strategies.china.shop"


def request(reps: int = 3, steps: int = 15, **b_overrides) -> ComparisonRequest:
    session = small_session(n_users=400)
    return ComparisonRequest(
        base=session.spec,
        a_overrides={},
        b_overrides=b_overrides or {SHOP: True, "firms.ours.strategies.china.posts_per_day": 4.0},
        reps=reps,
        steps=steps,
        seed=11,
    )


def test_end_of_run_table_equals_the_clis_comparison():
    req = request()
    result = run_comparison(req)
    a, b = req.variants()
    cli = compare(a, b, req.reps, req.steps, req.seed)
    ui = result.comparison()
    assert ui.seeds == cli.seeds
    for key in OUTCOMES:
        for variant in ("A", "B", "B - A"):
            assert ui.outcomes[key][variant] == pytest.approx(cli.outcomes[key][variant])


def test_replications_share_seeds_across_variants_and_paths_end_at_the_outcomes():
    result = run_comparison(request(reps=2, steps=8))
    assert [r.seed for r in result.runs_a] == [r.seed for r in result.runs_b] == result.seeds
    for run in result.runs_a + result.runs_b:
        for key in SERIES_TITLES:
            assert run.series[key].shape == (9,)
        assert run.series["attitude"][-1] == pytest.approx(run.final["attitude"])
        assert run.series["revenue"][-1] == pytest.approx(run.final["revenue"])
        assert run.series["profit"][-1] == pytest.approx(run.final["profit"])
        for key in ("followers_people", "customers_people", "conversions_people"):
            assert run.series[key][-1] == pytest.approx(run.final[key]), key


def test_bands_are_mean_and_95_percent_t_intervals_per_day():
    values = np.random.default_rng(1).normal(size=(5, 12))
    mean, low, high = mean_band(values)
    for day in range(12):
        estimate = mean_ci(values[:, day])
        assert (mean[day], low[day], high[day]) == pytest.approx(
            (estimate.mean, estimate.low, estimate.high)
        )
    single = mean_band(values[:1])
    np.testing.assert_array_equal(single[1], single[2])


def test_difference_band_is_paired():
    result = run_comparison(request(reps=3, steps=6))
    mean, _, _ = result.bands("followers_people")["B - A"]
    paired = np.mean(
        [
            b.series["followers_people"] - a.series["followers_people"]
            for a, b in zip(result.runs_a, result.runs_b, strict=True)
        ],
        axis=0,
    )
    np.testing.assert_allclose(mean, paired)
    frame = result.bands_frame()
    assert set(frame.variant) == {"A", "B", "B - A"}
    assert len(frame) == len(SERIES_TITLES) * 3 * 7
    assert set(result.table_frame().outcome) == set(OUTCOMES)
    assert len(result.runs_frame()) == 2 * 3 * 7


def test_people_and_money_are_labelled_in_real_units():
    result = run_comparison(request(reps=2, steps=5))
    labels = dict(zip(result.table_frame().outcome, result.table_frame().label, strict=False))
    assert labels["followers_people"] == "Followers (people)"
    assert labels["revenue"] == "Revenue (EUR, cumulative)"
    assert result.chart("profit").title == "Profit (EUR, cumulative)"
    assert result.chart("conversions_people").title.startswith("Conversions (purchases by people")
    # A simulated user stands for many people: the counts are people, not users.
    run = result.runs_b[0]
    assert run.final["followers_people"] > 400


def test_progress_reaches_one_and_only_grows():
    seen = []
    run_comparison(request(reps=2, steps=10), on_progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    assert len(seen) <= 101


def test_cancel_stops_at_the_next_day():
    cancel = threading.Event()
    days = []

    def progress(share: float) -> None:
        days.append(share)
        if share > 0.1:
            cancel.set()

    with pytest.raises(ComparisonCancelled):
        run_comparison(request(reps=5, steps=40), on_progress=progress, cancel=cancel)
    assert days[-1] < 0.2


def test_background_job_reports_done_cancelled_and_errors():
    updates = []
    job = ComparisonJob(request(reps=2, steps=5), lambda: updates.append(1)).start()
    job.join(60)
    assert job.state == "done" and job.result is not None and updates

    slow = ComparisonJob(request(reps=20, steps=200), lambda: None).start()
    wait_for(lambda: slow.running, what="the comparison to run")
    slow.cancel()
    slow.join(60)
    assert slow.state == "cancelled" and slow.result is None

    bad = ComparisonJob(
        request(**{"firms.ours.strategies.china.posts_per_day": 99.0}), lambda: None
    )
    bad.start().join(60)
    assert bad.state == "error" and "posts_per_day" in bad.error


def test_design_is_checked():
    with pytest.raises(GuanxiError, match="replications"):
        request(reps=0).variants()


def test_worker_processes_give_the_same_numbers_as_one_thread():
    """The page runs replications in worker processes; each run depends only on its
    scenario and seed, so the result is the serial one bit for bit."""
    req = request(reps=2, steps=12)
    serial = run_comparison(req)
    seen = []
    with ResilientProcessPool(2) as pool:
        parallel = run_comparison(req, on_progress=seen.append, executor=pool)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0) and len(seen) <= 4
    for mine, theirs in zip(
        serial.runs_a + serial.runs_b, parallel.runs_a + parallel.runs_b, strict=True
    ):
        assert mine.seed == theirs.seed and mine.final == theirs.final
        for key in SERIES_TITLES:
            np.testing.assert_array_equal(mine.series[key], theirs.series[key])


def test_a_cancelled_job_stops_its_worker_processes(monkeypatch):
    started = []
    real_pool = comparison_module.ResilientProcessPool

    def recording_pool(*args, **kwargs):
        pool = real_pool(*args, **kwargs)
        started.append(pool)
        return pool

    monkeypatch.setattr(comparison_module, "comparison_workers", lambda _request: 2)
    monkeypatch.setattr(comparison_module, "ResilientProcessPool", recording_pool)
    job = ComparisonJob(request(reps=4, steps=400), lambda: None).start()
    wait_for(lambda: started and _worker_processes(started[0]), what="worker processes")
    workers = _worker_processes(started[0])
    job.cancel()
    job.join(60)
    assert job.state == "cancelled" and job.result is None
    wait_for(lambda: not any(p.is_alive() for p in workers), what="workers to stop")


def _worker_processes(pool) -> list:
    return list((getattr(pool._pool, "_processes", None) or {}).values())


def test_short_comparisons_stay_in_the_thread_and_long_ones_use_every_core(monkeypatch):
    monkeypatch.setattr(comparison_module, "available_cores", lambda: 2)
    assert comparison_module.comparison_workers(request(reps=3, steps=15)) == 1
    assert comparison_module.comparison_workers(request(reps=10, steps=365)) == 2
    assert comparison_module.comparison_workers(request(reps=1, steps=3000)) == 2
