"""Each validation target on quick settings: it passes on the defaults, and FAILS
when the mechanism behind it is switched off or reversed through scenario parameters
(a validation that cannot fail proves nothing).

Every test runs one experiment once with a fixed seed; no test depends on another.
"""

from __future__ import annotations

import pytest

from sim.validation.bass import run_bass
from sim.validation.common import Settings, TargetResult, build_scenario
from sim.validation.firms import run_firms
from sim.validation.goldenberg import run_goldenberg
from sim.validation.users import run_users, survey_scenario_data

pytestmark = pytest.mark.slow

SEED = 20250116


def western_europe() -> dict:
    """Every value of the resolved western_europe market (the preset and what its
    culture implies), to give a market named china."""
    spec = build_scenario(survey_scenario_data(100, None), "test", Settings())
    market = next(m for m in spec.markets if m.name == "western_europe")
    values = market.model_dump(mode="json")
    return {
        key: value
        for key, value in values.items()
        if key not in ("name", "preset", "user_share") and not isinstance(value, dict | list)
    }


def quick(**kwargs) -> Settings:
    return Settings(quick=True, seed=SEED, **kwargs)


def by_target(results: list[TargetResult]) -> dict[str, TargetResult]:
    return {result.target: result for result in results}


def check(result: TargetResult, name_part: str):
    return next(c for c in result.checks if name_part in c.name)


# ---------------------------------------------------------------------- V1-V4
def test_user_targets_pass_on_the_defaults():
    results = by_target(run_users(quick()))
    for target in ("V1", "V2", "V4"):
        assert results[target].passed, [c.summary() for c in results[target].checks]
    # V3: the quick design (6 runs x 8,000 users) has the power for Western Europe's
    # effect (about 0.005 of the market); China's is about 0 since brand-page activity
    # acts on engagement (docs/model.md 8.3): its interval must include 0 here.
    v3 = results["V3"]
    assert check(v3, "western_europe").passed, v3.checks[1].summary()
    china = check(v3, "in china")
    assert china.low < 0 < china.high, china.summary()


@pytest.mark.xfail(
    strict=True,
    reason="known failure: V3 in China, 0.0002 [-0.0021, 0.0026] at the full design since "
    "brand-page activity acts on engagement (docs/model.md 8.3); strict, so a fix shows",
)
def test_v3_passes_in_both_markets_at_the_full_design():
    """V3 as `guanxi validate` runs it (12 runs x 20,000 users, about 40 s): China's
    thin effect (0.0013 [0.0001, 0.0025] before the activity trait acted on engagement)
    is no longer resolved."""
    v3 = by_target(run_users(Settings()))["V3"]
    assert v3.passed, [c.summary() for c in v3.checks]


def test_equal_dependency_distributions_fail_v1_and_v4():
    same = western_europe()["dependency_mean"]
    results = by_target(run_users(quick(overrides={"markets.china.dependency_mean": same})))
    assert not results["V1"].passed
    assert not results["V4"].passed
    assert not check(results["V4"], "through dependency").passed
    assert check(results["V4"], "through relational").passed  # the other mediator remains


def test_identical_markets_fail_v2():
    overrides = {f"markets.china.{key}": value for key, value in western_europe().items()}
    results = by_target(run_users(quick(overrides=overrides)))
    assert not results["V2"].passed
    assert not results["V1"].passed and not results["V4"].passed


def test_transactional_content_reducing_following_fails_v3():
    results = by_target(run_users(quick(overrides={"users.follow_per_transactional": -3.0})))
    assert not results["V3"].passed
    assert all(c.value < 0 for c in results["V3"].checks)


def test_v3_is_clustered_by_run():
    """One simulated market per run is one piece of evidence: V3's interval has the
    runs as units (t with runs - 1 degrees of freedom), however many brands."""
    results = by_target(run_users(quick(reps=3)))
    v3 = results["V3"]
    assert all("clustered by run (3 runs x 6 brands)" in c.statistic for c in v3.checks)
    for arms in v3.details["arms"].values():
        assert len(arms["per_run_effect"]) == 3


# ---------------------------------------------------------------------- V5-V6
def test_v5_and_v6_analyses_on_the_defaults():
    """One quick run of the firms experiment (V6 analyses the same simulated markets as
    V5, at the design horizon and at 365 days). On the issue-13 model the effects are
    small: V5 passes only in the full design (180 days, docs/validation) and V6 fails
    there (README); here the analyses' structure and V5's negative control are checked,
    and the verdicts' statistics on synthetic data in tests/test_validation.py."""
    results = by_target(run_firms(quick()))
    assert results["V5"].kind == "mechanism" and results["V6"].kind == "input check"
    assert check(results["V5"], "negative control").passed
    assert len(results["V5"].checks) == 3
    v6 = results["V6"]
    assert [c.name[-7:] for c in v6.checks] == ["day 120", "day 365"]
    for slopes in v6.details["simple_slopes"].values():
        assert slopes["low"]["guanxi"] >= 0 and slopes["high"]["guanxi"] <= 1
        assert slopes["high"]["guanxi"] > slopes["low"]["guanxi"]


def test_v5_fails_without_crm_feedback_on_performance():
    """With every CRM effect on users off, the experiment's gain is gone (and the
    negative control, run the same way, is null as it should be)."""
    off = {
        "crm.targeting_effect": 0.0,
        "crm.response_effect": 0.0,
        "crm.conversion_effect": 0.0,
        "crm.retention_effect": 0.0,
    }
    results = by_target(run_firms(quick(overrides=off), ("V5",)))
    assert not results["V5"].passed
    assert not check(results["V5"], "experiment").passed
    assert check(results["V5"], "negative control").passed


def test_v6_fails_without_guanxi_moderation():
    """Guanxi's acceleration of CRM learning and partners' know-how (absorbed through
    the firm's own social media use) show as moderation (passing on the defaults,
    above); without both it is gone at the design horizon."""
    off = by_target(
        run_firms(
            quick(overrides={"guanxi.knowledge_spillover": 0.0, "guanxi.crm_acceleration": 0.0}),
            ("V6",),
        )
    )
    assert not off["V6"].passed
    assert not off["V6"].checks[0].passed


# ---------------------------------------------------------------------- V7
def test_v7_passes_and_fails_without_word_of_mouth():
    (result,) = run_bass(quick())
    assert result.passed, [c.summary() for c in result.checks]
    # One run per pair: without word of mouth the error is 0.55-0.78, the threshold 0.1.
    (off,) = run_bass(quick(reps=1, overrides={"network.mixed_wom": 0.0}))
    assert not off.passed
    assert all(c.value > 0.1 for c in off.checks)


# ---------------------------------------------------------------------- V8
def test_v8_passes_on_the_defaults():
    (result,) = run_goldenberg(quick())
    assert result.passed, [c.summary() for c in result.checks]
    assert result.details["beta_a_early"] < result.details["beta_a_late"]
    effects = result.details["tie_effect_gap_by_stage"]
    assert all(stage["b_w_ci"][1] < 0 for stage in effects.values())  # weak ties matter
    assert effects["50%"]["ci"][0] > 0  # per unit, weak ties the stronger at 50%


def test_v8_fails_without_weak_tie_word_of_mouth():
    (result,) = run_goldenberg(quick(overrides={"network.weak_tie_wom": 0.0}))
    ties = check(result, "weak ties")
    assert not ties.passed and not result.passed
    effects = result.details["tie_effect_gap_by_stage"]
    assert any(stage["b_w_ci"][1] >= 0 for stage in effects.values())


def test_v8_advertising_check_fails_without_word_of_mouth():
    """Without word of mouth, advertising drives every phase alike. The ranges are
    scaled up (a x 20) so that ads alone reach 95% within the simulated horizon."""
    settings = quick(
        overrides={"network.weak_tie_wom": 0.0, "network.strong_tie_wom": 0.0},
        scale={"goldenberg.a": 20.0, "goldenberg.b_w": 20.0, "goldenberg.b_s": 14.0},
    )
    (result,) = run_goldenberg(settings)
    assert result.details["censored_runs"] == 0
    assert not check(result, "advertising").passed
