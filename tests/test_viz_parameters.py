"""UI parameters come from the scenario schema: labels, help, units, bounds, paths."""

from __future__ import annotations

import pytest

from sim.parameters import field_bounds, field_unit, iter_parameters, parse_assignment
from sim.scenario import GuanxiSection, Scenario, ScenarioError, StrategySection, load_scenario
from viz.parameters import (
    GLOBAL_TABLES,
    KEY_STRATEGY,
    Parameter,
    assignment,
    coerce,
    global_parameters,
    guanxi_parameters,
    humanise,
    market_parameters,
    scenario_value,
    strategy_parameters,
)

POSTS_PATH = "firms.ours.strategies.china.posts_per_day"


def test_strategy_controls_are_the_schema_fields_with_their_help_units_and_bounds():
    parameters = strategy_parameters("ours", "china")
    assert [p.field for p in parameters] == list(KEY_STRATEGY)
    schema = dict(iter_parameters(StrategySection))
    for parameter in parameters:
        info = schema[parameter.field]
        assert parameter.path == f"firms.ours.strategies.china.{parameter.field}"
        assert parameter.help == info.description and parameter.help
        assert parameter.unit == field_unit(info)
        assert (parameter.lower, parameter.upper) == tuple(
            None if b is None else float(b) for b in field_bounds(info)
        )
    posts = parameters[0]
    assert posts.label == "Posts per day" and posts.unit == "posts/day"
    assert posts.describe_bounds() == "0 to 50 posts/day"


def test_every_scalar_schema_parameter_of_the_global_tables_has_a_control():
    paths = {p.path for table in GLOBAL_TABLES for p in global_parameters(table)}
    expected = {
        name
        for name, info in iter_parameters(Scenario)
        if name.split(".")[0] in GLOBAL_TABLES
        and name
        not in {
            "model.name",
            "model.description",
            "model.seed",
            "model.focal_firm",
            "model.currency",
        }
    }
    assert paths == expected
    assert {p.kind for p in global_parameters("network")} >= {"choice", "int", "float"}


def test_key_parameters_come_first():
    guanxi = guanxi_parameters()
    assert guanxi[0].field == "enabled" and guanxi[0].kind == "bool"
    assert len(guanxi) == len(dict(iter_parameters(GuanxiSection)))
    market = market_parameters("china")
    assert market[0].field == "dependency_mean"
    assert all(p.path.startswith("markets.china.") for p in market)


def test_sliders_only_where_the_value_fits_a_sensible_grid():
    by_field = {p.field: p for p in strategy_parameters("ours", "china")}
    assert by_field["posts_per_day"].slider == (0.0, 50.0, 0.1)
    assert by_field["responsiveness"].slider == (0.0, 1.0, 0.001)
    assert by_field["content_mix.relational"].slider == (0.0, 1.0, 0.001)  # a display range
    assert by_field["budget"].slider is None  # 0 to 1e12: typed
    assert by_field["posts_per_day"].fits_slider(2.0)
    assert not by_field["responsiveness"].fits_slider(0.00015)
    unfollow = next(p for p in global_parameters("users") if p.field == "unfollow_base")
    assert not unfollow.fits_slider(0.0015)  # off the 0.001 grid: typed, never rounded
    assert unfollow.fits_slider(0.002)


def test_values_are_read_by_override_path():
    spec = load_scenario("baseline", {"firms.ours.strategies.china.responsiveness": 0.7})
    assert scenario_value(spec, "firms.ours.strategies.china.responsiveness") == 0.7
    assert scenario_value(spec, "markets.china.individualism") == 20.0
    assert scenario_value(spec, "firms.ours.strategies.china.content_mix.relational") == 0.2
    assert scenario_value(spec, "guanxi.enabled") is True
    with pytest.raises(KeyError, match="no markets item with name 'mars'"):
        scenario_value(spec, "markets.mars.individualism")  # the UI's session catches KeyError


def test_every_strategy_control_path_is_accepted_by_the_schema():
    for parameter in strategy_parameters("ours", "western_europe", key_only=False):
        spec = load_scenario("baseline")
        value = scenario_value(spec, parameter.path)
        load_scenario("baseline", {parameter.path: value})  # no ScenarioError


def test_out_of_range_value_is_refused_by_the_schema():
    with pytest.raises(ScenarioError, match="posts_per_day"):
        load_scenario("baseline", {strategy_parameters("ours", "china")[0].path: 99.0})


def test_changes_are_written_as_cli_assignments():
    assert assignment("guanxi.enabled", False) == "guanxi.enabled = false"
    assert assignment("model.n_users", 500) == "model.n_users = 500"
    assert assignment("model.focal_firm", "ours") == 'model.focal_firm = "ours"'
    path, value = parse_assignment(assignment(POSTS_PATH, 2.5))
    assert (path, value) == (POSTS_PATH, 2.5)


def test_coerce_and_labels():
    parameter = Parameter("model.n_users", "n_users", "N users", "", "users", "int", 10, 1e6)
    assert coerce(parameter, 500.0) == 500 and isinstance(coerce(parameter, 500.0), int)
    assert humanise("content_mix.relational") == "Content mix: relational"
