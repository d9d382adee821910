"""Business words for changes, and the plain-language verdict of a comparison (pure)."""

from __future__ import annotations

from sim.stats import Estimate
from viz.labels import action, describe_change, describe_changes, market_name, subject
from viz.verdict import caveats, change_subject, format_amount, verdict_text

LOCAL = "firms.ours.strategies.china.localisation"


def est(mean: float, low: float, high: float, n: int = 10) -> Estimate:
    return Estimate(mean, low, high, n)


def test_changes_read_as_a_strategist_says_them():
    assert describe_change(LOCAL, 1.0, "ours") == "Our China content: fully localised"
    assert describe_change(LOCAL, 0.0, "ours") == "Our China content: standardised (not localised)"
    assert describe_change(LOCAL, 0.4, "ours") == "Our China content: 40% localised"
    budget = "firms.ours.strategies.western_europe.budget"
    assert describe_change(budget, 1500.0, "ours", "EUR") == (
        "Our Western Europe budget: 1,500 EUR a day"
    )
    assert describe_change("firms.ours.strategies.china.shop", True, "ours") == (
        "Our China in-platform shop: yes"
    )
    assert describe_change("guanxi.enabled", False, "ours") == "Guanxi ties between firms: off"
    assert describe_change("firms.ours.seeks_partners", True, "ours") == (
        "We seek guanxi partners: yes"
    )
    assert subject("firms.euro_rival.strategies.china.posts_per_day", "ours") == (
        "Euro rival's China posts"
    )
    assert "firms." not in describe_changes({LOCAL: 1.0, "guanxi.enabled": False}, "ours")
    assert describe_changes({}, "ours") == "as the scenario"
    assert market_name("western_europe") == "Western Europe"


def test_every_strategy_and_firm_field_has_business_words():
    from viz.parameters import firm_parameters, guanxi_parameters, strategy_parameters

    paths = [p.path for p in strategy_parameters("ours", "china", key_only=False)]
    paths += [p.path for p in firm_parameters("ours")] + [p.path for p in guanxi_parameters()]
    for path in paths:
        text = describe_change(path, 1, "ours")
        assert "." not in text.split(":")[0] and "_" not in text, (path, text)


def test_single_changes_become_verb_phrases():
    assert action(LOCAL, 0.0, 1.0, "ours") == "Localising content in China"
    assert action("guanxi.enabled", True, False, "ours") == "Turning guanxi ties off"
    assert action("firms.ours.strategies.china.shop", False, True, "ours") == (
        "Opening an in-platform shop in China"
    )
    assert action("firms.ours.strategies.china.budget", 1000.0, 1500.0, "ours", "EUR") == (
        "Raising our China budget from 1,000 EUR a day to 1,500 EUR a day"
    )
    assert change_subject({}, {LOCAL: 1.0}, {LOCAL: 0.2}, "ours", "EUR") == (
        "Localising content in China"
    )
    assert change_subject({}, {}, {}, "ours", "EUR").startswith("The same strategy")
    both = change_subject({LOCAL: 0.0}, {LOCAL: 1.0}, {LOCAL: 0.2}, "ours", "EUR")
    assert both.startswith("B (Our China content: fully localised) compared with A (")


def test_verdict_names_clear_effects_with_intervals_and_the_rest_as_undetected():
    text = verdict_text(
        "Localising content in China",
        {
            "attitude": est(0.16, 0.15, 0.18),
            "profit": est(970.0, 250.0, 1690.0),
            "conversions_people": est(12.0, -30.0, 54.0),
        },
        "EUR",
        365,
    )
    assert text == (
        "Localising content in China raises attitude by 0.16 (0.15 to 0.18) and profit by "
        "970 (250 to 1,690) EUR over the year; it does not change conversions detectably."
    )


def test_verdict_says_lowers_with_the_interval_of_the_drop_and_names_the_horizon():
    text = verdict_text(
        "Turning guanxi ties off",
        {"attitude": est(-0.05, -0.08, -0.02), "profit": est(-2000.0, -3000.0, -1000.0)},
        "CNY",
        90,
    )
    assert text == (
        "Turning guanxi ties off lowers attitude by 0.05 (0.02 to 0.08) and profit by "
        "2,000 (1,000 to 3,000) CNY over 90 days."
    )


def test_verdict_with_nothing_detected_or_one_replication_claims_nothing():
    nothing = verdict_text("X", {"attitude": est(0.1, -0.1, 0.3)}, "EUR", 365)
    assert nothing == "X does not change attitude detectably."
    single = verdict_text("X", {"attitude": est(0.1, 0.1, 0.1, n=1)}, "EUR", 365)
    assert "does not change attitude detectably" in single


def test_mixed_directions_repeat_the_verb():
    text = verdict_text(
        "X",
        {"attitude": est(0.1, 0.05, 0.15), "profit": est(-10.0, -20.0, -5.0)},
        "EUR",
        30,
    )
    assert text == (
        "X raises attitude by 0.10 (0.05 to 0.15) and lowers profit by 10 (5 to 20) EUR "
        "over 30 days."
    )


def test_caveats_name_horizon_replications_scale_and_assumptions():
    lines = caveats(365, 10, {"China": 70_000.0}, ["Price", "Cost per post"])
    text = " ".join(lines)
    assert "over the year" in text and "10 replications" in text
    assert "70,000 in China" in text and "Assumptions, not measured: Price; Cost per post" in text
    assert format_amount(1234.4, "money") == "1,234" and format_amount(0.123, "attitude") == "0.12"
    small = verdict_text("X", {"attitude": est(0.0083, 0.0051, 0.0116)}, "EUR", 365)
    assert small == "X raises attitude by 0.008 (0.005 to 0.012)."


def test_a_finished_comparison_gets_its_verdict_and_a_self_contained_report():
    import base64
    import re

    from tests.viz_support import small_session
    from viz.comparison import ComparisonRecord, ComparisonRequest, run_comparison
    from viz.report import comparison_report

    session = small_session(n_users=300)
    result = run_comparison(
        ComparisonRequest(session.spec, {}, {"guanxi.enabled": False}, reps=3, steps=5, seed=3)
    )
    record = ComparisonRecord.of(1, result)
    assert record.subject == "Turning guanxi ties off"
    assert record.verdict.startswith("Turning guanxi ties off ") and "over 5 days" in " ".join(
        record.caveats
    )
    assert (
        record.a_words == "as the scenario" and record.b_words == "Guanxi ties between firms: off"
    )
    page = comparison_report([record])
    assert page.startswith("<!DOCTYPE html>")
    assert "What does turning guanxi ties off do to our business?" in page
    assert record.verdict.replace("'", "&#x27;") in page
    for heading in ("Scenario", "Verdicts", "Caveats", "Method", "Reproduce", "Key charts"):
        assert f">{heading}<" in page
    assert (
        "guanxi compare baseline.toml --b 'guanxi.enabled = false' --reps 3 --steps 5 --seed 3"
        in (page.replace("&#x27;", "'"))
    )
    # Self-contained: no address to fetch; every image is an embedded PNG.
    assert not re.search(r"(src|href)=\"(?!data:)", page)
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 3
    assert base64.b64decode(images[0]).startswith(b"\x89PNG")
    assert "[model]" in page  # the scenario TOML, to reproduce it
    assert "Changes from the scenario file</b> (both A and B): none" in page
