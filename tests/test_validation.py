"""Validation machinery: helpers, statistics, report, docs generator and the CLI.

The experiments themselves (each target passing, and failing when its mechanism is
switched off) are in test_validation_targets.py.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from sim.cli import main
from sim.parameters import get_value, iter_parameters
from sim.scenario import ScenarioError
from sim.seeds import derive_seeds
from sim.validation import TARGETS, validate
from sim.validation.bass import (
    DAYS_PER_PERIOD,
    bass_recursion,
    bass_share,
    bass_time_to,
)
from sim.validation.common import (
    Check,
    Settings,
    TargetResult,
    build_scenario,
    check_scale_keys,
    parse_overrides,
    seeds_for,
)
from sim.validation.docs import DOC, RESULTS, parameters_table, render, replace_section, source_of
from sim.validation.goldenberg import goldenberg_settings
from sim.validation.report import markdown_table, write_report
from sim.validation.users import parallel_mediation, survey_scenario_data, welch


# ---------------------------------------------------------------------- Bass reference
def test_bass_solution_matches_its_known_properties():
    p, q = 0.03, 0.38
    t = np.linspace(0, 40, 4001)
    share = bass_share(t, p, q)
    assert share[0] == 0 and np.all(np.diff(share) > 0) and share[-1] == pytest.approx(1, abs=1e-5)
    # Adoptions per period peak at t* = ln(q/p) / (p + q), about 6.2 for the means.
    peak = t[np.argmax(np.gradient(share, t))]
    assert peak == pytest.approx(math.log(q / p) / (p + q), abs=0.02)
    assert bass_share(bass_time_to(0.99, p, q), p, q) == pytest.approx(0.99)


def test_daily_recursion_converges_to_the_continuous_solution():
    """The discretisation error the V7 report lists shrinks as days per period grow."""
    errors = []
    for k in (1, 10, DAYS_PER_PERIOD):
        steps = math.ceil(bass_time_to(0.99, 0.01, 0.30) * k)
        curve = bass_recursion(0.01, 0.30, 10_000, steps, k)
        errors.append(np.abs(curve - bass_share(np.arange(steps + 1) / k, 0.01, 0.30)).max())
    assert errors[0] > 0.05 > errors[1] > errors[2]
    assert errors[2] < 0.007  # leaves most of V7's 0.02 tolerance to sampling noise


def test_goldenberg_settings_respect_the_paper_ranges():
    points = goldenberg_settings(50, seed=3, settings=Settings())
    for point in points:
        assert 0.0005 <= point["a"] < point["b_w"] < point["b_s"] <= 0.07
        assert 0.005 <= point["b_w"] <= 0.015
        assert 5 <= point["strong_ties"] <= 29 and 5 <= point["weak_ties"] <= 29
    assert points == goldenberg_settings(50, seed=3, settings=Settings())


# ---------------------------------------------------------------------- statistics
def test_parallel_mediation_recovers_known_indirect_effects():
    rng = np.random.default_rng(0)
    n = 4000
    culture = rng.integers(0, 2, n).astype(float)
    dependency = 0.5 * culture + rng.normal(0, 1, n)
    relational = -0.2 * culture + rng.normal(0, 1, n)
    outcome = 0.3 * culture + 2.0 * dependency + 1.0 * relational + rng.normal(0, 1, n)
    indirect, direct = parallel_mediation(
        culture, np.column_stack([dependency, relational]), outcome
    )
    assert indirect[0] == pytest.approx(1.0, abs=0.15)
    assert indirect[1] == pytest.approx(-0.2, abs=0.1)
    assert direct == pytest.approx(0.3, abs=0.15)


def test_welch_difference_is_china_minus_western_europe():
    survey = {"market": np.array([0] * 50 + [1] * 50), "x": np.r_[np.ones(50), np.zeros(50)]}
    survey["x"] = survey["x"] + np.random.default_rng(1).normal(0, 0.1, 100)
    diff, low, high, p_value = welch(survey, "x")
    assert diff == pytest.approx(1.0, abs=0.1) and low > 0 and p_value < 1e-6


def test_seeds_differ_between_experiments_and_repeat():
    assert seeds_for(1, "users", 3) == seeds_for(1, "users", 3)
    assert len(set(seeds_for(1, "users", 3) + seeds_for(1, "firms", 3))) == 6
    # The one seed scheme, each experiment its own stream; more replications only add seeds.
    assert seeds_for(1, "users", 5) == derive_seeds(1, 5, "users")
    assert seeds_for(1, "users", 5)[:3] == seeds_for(1, "users", 3)


# ---------------------------------------------------------------------- scenarios
def test_build_scenario_applies_scale_and_overrides_where_they_exist():
    raw = survey_scenario_data(n_users=200, transactional_share=0.7)
    settings = Settings(
        scale={"users.engage_per_dependency": 1.2, "network.strong_ties": 1.2, "bass.q": 2.0},
        overrides={"markets.china.dependency_mean": 0.45, "markets.nowhere.individualism": 1},
    )
    spec = build_scenario(raw, "test", settings)
    assert spec.users.engage_per_dependency == pytest.approx(2.4)
    assert spec.network.strong_ties == 10  # int parameters stay whole
    china = next(m for m in spec.markets if m.name == "china")
    assert china.dependency_mean == 0.45
    assert china.relational_motive_mean == 0.6  # the rest of the preset is kept
    assert spec.firms[0].strategies[0].content_mix.informational == pytest.approx(0.35)


def test_paths_address_list_items_by_name():
    data = build_scenario(survey_scenario_data(200, None), "t", Settings()).model_dump(mode="json")
    assert get_value(data, "markets.western_europe.individualism") == 77.0
    assert get_value(data, "firms.brand_1.strategies.china.posts_per_day") == 2.0
    assert get_value(data, "markets.mars.individualism", default=None) is None
    assert get_value(data, "users.nope", default=None) is None


def test_bad_override_or_scale_key_is_a_one_line_error():
    with pytest.raises(ScenarioError, match="unknown key 'nope'"):
        parse_overrides(["users.nope=1"])
    with pytest.raises(ScenarioError):
        check_scale_keys({"crm.nope": 1.1})
    check_scale_keys({"bass.p": 1.1, "crm.decay": 0.9})
    assert parse_overrides(["guanxi.crm_acceleration=0"]) == {"guanxi.crm_acceleration": 0}


def test_unknown_target_is_refused():
    with pytest.raises(ValueError, match="unknown target"):
        validate(Settings(quick=True), ["V9"])


# ---------------------------------------------------------------------- report
def _fake_results() -> list[TargetResult]:
    good = Check("a", "difference", 0.2, 0.1, 0.3, 0.001, True, "CI above 0")
    bad = Check("b", "ratio", 0.5, 0.4, 0.6, None, False, "CI upper >= 1")
    return [
        TargetResult("V1", "finding one", "Zhang 2025", "up", "method", [good], {"means": {}}),
        TargetResult("V8", "finding eight", "Goldenberg 2001", "at least", "m", [good, bad]),
    ]


def test_report_files_and_table(tmp_path):
    results = _fake_results()
    assert results[0].passed and not results[1].passed
    table = markdown_table(results)
    assert "**PASS**" in table and "**FAIL**" in table and "0.2000 [0.1000, 0.3000]" in table
    written = write_report(results, tmp_path, Settings(quick=True), 1.0)
    names = {path.name for path in written}
    assert {"validation.md", "results.json"} <= names
    payload = json.loads((tmp_path / "results.json").read_text())
    assert payload["all_passed"] is False
    assert [t["target"] for t in payload["targets"]] == ["V1", "V8"]


# ---------------------------------------------------------------------- docs
def test_parameter_table_lists_every_parameter_with_its_source():
    table = parameters_table()
    for name, _ in iter_parameters():
        if name not in ("markets", "firms"):
            assert f"`{name}`" in table
    for name in ("markets[].dependency_mean", "firms[].strategies[].paid_reach"):
        assert f"`{name}`" in table
    assert source_of("Higher in China (Zhang 2025); the magnitudes are an assumption.") == (
        "Zhang 2025; assumption"
    )
    assert source_of("Mean q (Sultan, Farley & Lehmann 1990 mean 0.38).") == (
        "Sultan, Farley & Lehmann 1990"
    )


def test_docs_sections_are_regenerated_in_place(tmp_path):
    text = (
        "intro\n<!-- BEGIN GENERATED: parameters -->\nOLD-BODY\n<!-- END GENERATED: parameters -->\n"
        "<!-- BEGIN GENERATED: presets -->\n<!-- END GENERATED: presets -->\n"
        "<!-- BEGIN GENERATED: validation -->\nkept\n<!-- END GENERATED: validation -->\nend\n"
    )
    updated = render(text, tmp_path / "missing.json")
    assert updated.startswith("intro\n") and updated.endswith("end\n")
    assert "OLD-BODY" not in updated and "`crm.decay`" in updated and "kept" in updated
    with pytest.raises(ValueError, match="markers"):
        replace_section("no markers", "parameters", "x")


def test_model_documentation_is_up_to_date_with_the_schema_and_results():
    """docs/model.md's generated sections equal what the schema and results.json give
    (regenerate with `python -m sim.validation.docs`)."""
    text = DOC.read_text(encoding="utf-8")
    assert render(text, RESULTS) == text


# ---------------------------------------------------------------------- CLI
def test_cli_user_errors_are_one_line_and_exit_2(capsys):
    assert main(["validate", "--quick", "--set", "users.nope=1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("guanxi: error:") and "\n" not in err
    with pytest.raises(SystemExit) as exc:
        main(["validate", "--only", "V9"])
    assert exc.value.code == 2


@pytest.mark.slow
def test_cli_exit_code_follows_the_verdicts(tmp_path, capsys, monkeypatch):
    """V7 passes on the defaults (exit 0, report written); a failed check exits 1.

    The failing half replays the passing run's results with one check failed: that
    V7 itself fails without word of mouth is tests/test_validation_targets.py's job.
    """
    from sim.validation import bass

    recorded = []

    def run_bass(settings):
        recorded.extend(real_run_bass(settings))
        return recorded

    real_run_bass = bass.run_bass
    monkeypatch.setattr(bass, "run_bass", run_bass)
    out = tmp_path / "report"
    assert main(["validate", "--quick", "--only", "V7", "--out", str(out)]) == 0
    assert (out / "validation.md").exists() and (out / "v7_bass.png").exists()
    payload = json.loads((out / "results.json").read_text())
    assert payload["all_passed"] and payload["targets"][0]["target"] == "V7"
    capsys.readouterr()
    failed = [replace(r, checks=[replace(c, passed=False) for c in r.checks]) for r in recorded]
    monkeypatch.setattr(bass, "run_bass", lambda settings: failed)
    assert main(["validate", "--quick", "--only", "V7"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_all_targets_are_known():
    assert TARGETS == ("V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8")


def test_robustness_perturbs_known_parameters_within_twenty_percent():
    from sim.validation.robustness import KEY_PARAMETERS, perturbations

    check_scale_keys(dict.fromkeys(KEY_PARAMETERS, 1.0))  # every key still exists
    settings = perturbations(5, seed=7)
    assert settings == perturbations(5, seed=7) and len(settings) == 5
    factors = np.array([list(s.values()) for s in settings])
    assert factors.min() >= 0.8 and factors.max() <= 1.2 and factors.std() > 0.05
