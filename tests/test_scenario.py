"""Scenario files: loading, presets, overrides and every kind of bad input."""

from __future__ import annotations

import contextlib
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.scenario import (
    PRESETS,
    MarketSection,
    ScenarioError,
    bundled_scenarios,
    load_scenario,
    parse_scenario_bytes,
    scenario_from_data,
)
from sim.schema import culture
from sim.schema.platforms import PLATFORMS

MINIMAL = """
[[markets]]
name = "china"

[[firms]]
name = "ours"
home_market = "china"
  [[firms.strategies]]
  market = "china"
"""


def write(tmp_path, text: str | bytes, name: str = "s.toml"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def error_of(source, overrides=()) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(source, overrides)
    message = str(info.value)
    assert "\n" not in message, "errors are one line"
    return message


def test_every_bundled_scenario_loads_and_has_a_description():
    names = bundled_scenarios()
    assert {"baseline", "china_entry", "guanxi_partnerships", "social_commerce"} <= set(names)
    for name in names:
        spec = load_scenario(name)
        assert spec.model.description, name


def test_presets_fill_market_defaults_and_explicit_keys_win(tmp_path):
    spec = load_scenario(write(tmp_path, MINIMAL))
    china = spec.markets[0]
    assert china.preset == "china"
    assert china.individualism == PRESETS["china"]["individualism"]
    # Derived from the culture (sim/schema/culture.py) and the platform profile.
    assert china.dependency_mean == round(culture.dependency_mean(0.8), 6)
    assert china.organic_reach == PLATFORMS["weibo"].organic_reach
    text = MINIMAL.replace('name = "china"\n\n', 'name = "china"\ndependency_mean = 0.7\n\n', 1)
    assert load_scenario(write(tmp_path, text)).markets[0].dependency_mean == 0.7


def test_culture_causes_the_users_traits():
    """Input check: a market described by its culture gets Zhang (2025)'s directions:
    more SNS dependency and relational motives where collectivism is higher, and
    institutional weight from power distance (Luo 2024)."""
    china, europe, australia = (
        load_scenario("baseline").markets[0],
        load_scenario("baseline").markets[1],
        MarketSection(name="au", preset="australia"),
    )
    assert china.individualism < europe.individualism < australia.individualism  # Hofstede
    assert china.dependency_mean > europe.dependency_mean > australia.dependency_mean
    assert china.relational_motive_mean > europe.relational_motive_mean
    assert china.institutional_weight > europe.institutional_weight
    assert PRESETS["china"]["shop_seamlessness"] > PRESETS["western_europe"]["shop_seamlessness"]
    # A new market is described by its culture alone.
    japan = MarketSection(name="japan", individualism=46, power_distance=54)
    assert europe.dependency_mean < japan.dependency_mean < china.dependency_mean


def test_set_overrides_nested_and_named_items():
    spec = load_scenario(
        "baseline",
        [
            "guanxi.enabled=false",
            "markets.china.dependency_mean=0.8",
            "firms.ours.strategies.china.shop=true",
            "firms.ours.strategies.china.content_mix.relational=0.9",
            "model.name=renamed",
        ],
    )
    assert spec.guanxi.enabled is False
    assert spec.markets[0].dependency_mean == 0.8
    ours = spec.firms[0]
    china = next(s for s in ours.strategies if s.market == "china")
    assert china.shop is True and china.content_mix.relational == 0.9
    assert spec.model.name == "renamed"


def test_resolved_scenario_round_trips_through_toml(tmp_path):
    spec = load_scenario("baseline", ["guanxi.max_partners=2"])
    again = load_scenario(write(tmp_path, spec.to_toml()))
    assert again == spec


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[[markets]\nname=", "malformed TOML"),
        ("", "empty"),
        ("   \n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not a text file"),
        (MINIMAL + "\n[model]\nstepz = 3\n", "unknown key 'model.stepz'; did you mean 'steps'?"),
        (
            MINIMAL.replace('home_market = "china"', 'home_market = "china"\nreciprocty = 1'),
            "did you mean 'reciprocity'?",
        ),
        (MINIMAL + "\n[model]\nsteps = 'many'\n", "model.steps"),
        (MINIMAL + "\n[model]\nsteps = 0\n", "allowed: >= 1"),
        (MINIMAL + "\n[guanxi]\nupkeep_cost = nan\n", "guanxi.upkeep_cost"),
        (
            MINIMAL.replace('market = "china"\n', 'market = "china"\nresponsiveness = 1.5\n'),
            "firms.ours.strategies.china.responsiveness",
        ),
        (MINIMAL.replace('  market = "china"', '  market = "mars"'), "'mars' is not a market"),
        (
            MINIMAL.replace('home_market = "china"', 'home_market = "mars"'),
            "home_market: 'mars' is not a market",
        ),
        (
            MINIMAL + MINIMAL.split("[[firms]]")[0].replace("[[markets]]", "[[markets]]"),
            "duplicate name 'china'",
        ),
        (
            MINIMAL + '\n[[firms]]\nname = "ours"\nhome_market = "china"\n  [[firms.strategies]]\n'
            '  market = "china"\n',
            "duplicate name 'ours'",
        ),
        (
            MINIMAL.replace('name = "china"\n\n', 'name = "china"\ndependency_sd = 0.49\n\n', 1),
            "dependency_sd",
        ),
        ("[model]\nsteps = 3\n", "missing required key 'markets'"),
    ],
)
def test_bad_files_give_one_clear_line(tmp_path, text, expected):
    path = write(tmp_path, text)
    message = error_of(path)
    assert str(path) in message
    assert expected in message


def test_missing_file_and_directory(tmp_path):
    assert "no such file" in error_of(tmp_path / "nope.toml")
    assert "is a directory" in error_of(tmp_path)


def test_out_of_range_names_the_allowed_range():
    message = error_of("baseline", ["markets.china.organic_reach=2"])
    assert "markets.china.organic_reach" in message
    assert "allowed: >= 0 and <= 1" in message


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("guanxi.enabld=false", "did you mean 'enabled'?"),
        ("markets.mars.dependency_mean=0.5", "no markets item with name 'mars'"),
        ("firms.ours.strategies.mars.shop=true", "no strategies item with market 'mars'"),
        ("model.steps.x=1", "'steps' is a value, not a table"),
        ("markets=1", "name an item"),
        ("guanxi=1", "is a table"),
        ("novalue", "expected dotted.path=value"),
        ("model.steps=-3", "allowed: >= 1"),
        ("model.n_users=lots", "model.n_users"),
    ],
)
def test_bad_overrides(override, expected):
    assert expected in error_of("baseline", [override])


def test_followers_cannot_exceed_awareness():
    message = error_of("baseline", ["firms.ours.strategies.china.initial_followers=0.5"])
    assert "initial_followers" in message and "initial_awareness" in message


def test_upload_size_limit():
    with pytest.raises(ScenarioError, match="at most"):
        parse_scenario_bytes(b"#" * 2_000_000, "upload.toml")


# Property-based fuzzing: whatever the bytes or data, only ScenarioError escapes.
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_fuzz_bytes_only_raise_scenario_error(raw):
    with contextlib.suppress(ScenarioError):
        scenario_from_data(parse_scenario_bytes(raw, "fuzz.toml"), "fuzz.toml")


toml_scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)
keys = st.sampled_from(
    [
        "model",
        "users",
        "guanxi",
        "markets",
        "firms",
        "name",
        "steps",
        "n_users",
        "enabled",
        "strategies",
        "market",
        "home_market",
        "dependency_mean",
        "posts_per_day",
        "content_mix",
        "preset",
        "x",
    ]
)
values = st.recursive(
    toml_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(keys, values, max_size=5))
def test_fuzz_structures_only_raise_scenario_error(data):
    with contextlib.suppress(ScenarioError):
        scenario_from_data(data, "fuzz.toml")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_fuzz_overrides_only_raise_scenario_error(text):
    with contextlib.suppress(ScenarioError):
        load_scenario("baseline", [text])


def test_nan_never_accepted():
    for override in ("users.attitude_decay=nan", "guanxi.upkeep_cost=inf"):
        message = error_of("baseline", [override])
        assert "finite" in message or "nan" in message.lower() or "inf" in message.lower()
    assert not math.isnan(load_scenario("baseline").guanxi.upkeep_cost)
