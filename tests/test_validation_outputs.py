"""Output validation (sim/validation/outputs.py): the statistics read the model's data
as defined, a broken input fails its target, and the quick run gives every target."""

from __future__ import annotations

import numpy as np
import pytest

from sim.validation import KINDS
from sim.validation import outputs as out
from sim.validation.common import Settings

#: A short run: 2,000 users, 120 days, measured over days 61-120.
SMALL = out.Horizon(n_users=2_000, days=120, first=61, last=120)


@pytest.fixture(scope="module")
def run() -> out.RunData:
    return out.simulate(Settings(quick=True), "baseline", 11, SMALL)


@pytest.fixture(scope="module")
def quick_results():
    return out.run_outputs(Settings(quick=True, reps=1))


def test_engagement_rate_is_engagements_over_followers_times_posts(run):
    brands = out.brand_markets(run)
    table = out.window(run)
    for row in brands.itertuples():
        rows = table[(table["firm"] == row.firm) & (table["market"] == row.market)]
        expected = rows["engagements"].sum() / (rows["followers"] * rows["posts"]).sum()
        assert row.engagement_rate == pytest.approx(expected)
        # The model's own daily column, weighted by followers x posts, agrees on the
        # days with posts (it is 0 on days without, when engagements come from ads or
        # shares alone).
        posting = rows[rows["posts"] > 0]
        weights = posting["followers"] * posting["posts"]
        assert posting["engagements"].sum() / weights.sum() == pytest.approx(
            (posting["engagement_rate"] * weights).sum() / weights.sum()
        )
    assert (brands["engagement_rate"] > 0).all()


def test_engagement_target_takes_the_median_brand_of_the_platform(run):
    brands = out.brand_markets(run)
    result = out.engagement_target("O1", "instagram", brands, SMALL)
    expected = brands.loc[brands["platform"] == "instagram", "engagement_rate"].median()
    assert result.checks[0].value == pytest.approx(expected)
    assert result.kind == "output validation"
    assert result.details["use"] == "calibration check"
    # No Facebook market in the baseline: O3 cannot pass without data.
    assert not out.engagement_target("O3", "facebook", brands, SMALL).passed


def test_market_purchases_counts_each_market_total_once(run):
    purchases = out.market_purchases(run).set_index("market")
    table = out.window(run)
    for market, rows in table.groupby("market"):
        one_brand = rows[rows["firm"] == rows["firm"].iloc[0]]
        assert purchases.loc[market, "total"] == pytest.approx(one_brand["market_purchases"].sum())
        assert purchases.loc[market, "social"] == pytest.approx(rows["social_purchases"].sum())
        assert purchases.loc[market, "social"] <= purchases.loc[market, "total"]


def test_cohort_counts_new_followers_and_those_kept(run):
    cohort = run.cohort
    assert (cohort["kept"] <= cohort["new"]).all()
    assert cohort["new"].sum() > 0
    # Snapshot-new followers of the cohort days never exceed the day's follow flow.
    table = run.table
    days = (table["step"] >= SMALL.first) & (table["step"] <= SMALL.last - out.COHORT_LAG)
    assert cohort["new"].sum() <= table.loc[days, "new_followers"].sum()


def test_unfollow_shares_and_reach_are_computed_from_the_flows(run):
    brands = out.brand_markets(run)
    result = out.unfollow_target(brands.assign(rep=0), SMALL)
    shares = result.details["shares"]
    assert sum(shares.values()) == pytest.approx(1.0)
    causes = brands[["unfollows_promotion", "unfollows_irrelevance", "unfollows_overposting"]]
    assert shares["promotion"] == pytest.approx(
        brands["unfollows_promotion"].sum() / causes.to_numpy().sum()
    )
    reach = out.reach_target(brands, SMALL)
    assert reach.kind == "input check"
    local = brands[brands["localisation"] >= 0.999]
    assert np.all(local["own_seen"] >= 0)


def test_a_broken_engagement_intercept_fails_the_engagement_target():
    broken = out.simulate(
        Settings(quick=True, overrides={"users.engage_intercept": -2.0}), "baseline", 11, SMALL
    )
    brands = out.brand_markets(broken)
    for target, platform in (("O1", "instagram"), ("O2", "weibo")):
        result = out.engagement_target(target, platform, brands, SMALL)
        assert not result.passed
        assert result.checks[0].value > out.FIGURES[target].band[1]


def test_quick_run_gives_every_output_target_with_its_kind(quick_results):
    assert len(quick_results) >= 12
    assert [r.target for r in quick_results] == list(out.OUTPUT_TARGETS)
    for result in quick_results:
        assert result.kind in KINDS
        assert result.checks
        assert result.details["use"]
        assert all(np.isfinite(check.value) for check in result.checks), result.target
        result.to_dict()  # serialisable
    kinds = {r.target: r.kind for r in quick_results}
    assert kinds["O16"] == "input check"
    assert kinds["O1"] == "output validation"
