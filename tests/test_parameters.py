"""Parameters by dotted path: read, write, check, describe, and one-line schema errors."""

from __future__ import annotations

import copy

import pytest
from pydantic import ValidationError

from sim.parameters import (
    Bounds,
    PathError,
    bounds,
    check_path,
    describe_validation_error,
    field_info,
    field_kind,
    field_unit,
    get_value,
    iter_parameters,
    parse_assignment,
    readable_location,
    set_path,
)
from sim.scenario import (
    MarketSection,
    Scenario,
    ScenarioError,
    StrategySection,
    load_scenario,
    read_scenario_file,
    resolve_scenario_path,
)

LOCALISATION = "firms.ours.strategies.china.localisation"


@pytest.fixture
def raw():
    return read_scenario_file(resolve_scenario_path("baseline"))


def test_values_are_read_from_raw_data_dumped_data_and_the_scenario_alike(raw):
    spec = load_scenario("baseline")
    for data in (spec, spec.model_dump(mode="json")):
        china = next(s for s in spec.firms[0].strategies if s.market == "china")
        assert get_value(data, LOCALISATION) == china.localisation == 0.5
        assert get_value(data, "markets.china.individualism") == 20.0
        assert get_value(data, "firms.ours.strategies.china.content_mix.relational") == 0.2
        assert get_value(data, "guanxi.enabled") is True
    # raw data holds only what the file says: a key it leaves to the default is missing
    assert get_value(raw, "markets.china.preset") == "china"
    with pytest.raises(PathError, match="'individualism' is not in the data"):
        get_value(raw, "markets.china.individualism")
    assert get_value(raw, "markets.china.individualism", default=None) is None


def test_bad_paths_say_why_in_one_line():
    spec = load_scenario("baseline")
    cases = {
        "markets.mars.individualism": "no markets item with name 'mars'; allowed: china, western_europe",
        "firms.ours.strategies.mars.shop": "no strategies item with market 'mars'",
        "guanxi.enabld": "unknown key 'enabld' in guanxi; did you mean 'enabled'?",
        "model.steps.x": "'steps' is a value, not a table",
        "markets": "name an item, e.g. markets.<name>.<parameter>",
        "markets.china": "name a parameter of markets 'china'",
        "model..steps": "empty path component",
    }
    for path, reason in cases.items():
        with pytest.raises(PathError) as caught:
            get_value(spec, path)
        assert caught.value.reason.startswith(reason), path
        assert isinstance(caught.value, ScenarioError)
        assert "\n" not in str(caught.value)


def test_set_path_writes_raw_data_creating_missing_tables(raw):
    assert "crm" not in raw
    set_path(raw, "crm.decay", 0.01)
    set_path(raw, LOCALISATION, 0.9)
    assert raw["crm"] == {"decay": 0.01}
    assert get_value(raw, LOCALISATION) == 0.9
    spec = load_scenario("baseline", {"crm.decay": 0.01, LOCALISATION: 0.9})
    assert spec.crm.decay == 0.01 and get_value(spec, LOCALISATION) == 0.9


def test_check_path_leaves_the_data_as_it_is(raw):
    before = copy.deepcopy(raw)
    check_path(raw, "crm.decay", 0.01)
    check_path(raw, "firms.ours.strategies.china.content_mix.relational", 1.0)
    assert raw == before
    with pytest.raises(PathError) as caught:
        check_path(raw, "guanxi", 1, "sweep.toml")
    assert str(caught.value) == (
        f"sweep.toml: --set guanxi: is a table; set one of its keys: "
        f"{', '.join(Scenario.model_fields['guanxi'].annotation.model_fields)}"
    )
    assert caught.value.reason.startswith("is a table")


def test_a_table_value_merges_key_by_key_and_each_key_is_checked(raw):
    set_path(raw, "model", {"n_users": 200})
    assert raw["model"]["n_users"] == 200 and raw["model"]["name"] == "baseline"
    set_path(raw, "crm", {"decay": 0.01})  # a table missing from the file is created
    assert raw["crm"] == {"decay": 0.01}
    before = copy.deepcopy(raw)
    with pytest.raises(PathError, match="unknown key 'n_user' in model"):
        check_path(raw, "model", {"n_user": 1})
    assert raw == before


def test_every_scalar_parameter_reads_and_writes_by_its_path():
    spec = load_scenario("baseline")
    data = spec.model_dump(mode="json")
    tables = {
        "markets.china.": MarketSection,
        f"{LOCALISATION.rsplit('.', 1)[0]}.": StrategySection,
    }
    fields = list(iter_parameters())
    fields += [
        (prefix + name, info)
        for prefix, table in tables.items()
        for name, info in iter_parameters(table)
    ]
    types = {"float": float, "int": int, "bool": bool, "choice": str}
    checked = 0
    for path, info in fields:
        kind, _ = field_kind(info)
        if kind is None:  # markets, firms, strategies: lists of tables
            continue
        assert field_info(path) is info
        value = get_value(spec, path)
        assert type(value) is types[kind], path
        assert get_value(data, path) == value
        written = copy.deepcopy(data)
        set_path(written, path, value)
        assert written == data, path
        checked += 1
    assert checked > 100


def test_field_info_kind_bounds_and_unit_come_from_the_schema():
    info = field_info("firms.ours.strategies.china.posts_per_day")
    assert info is StrategySection.model_fields["posts_per_day"]
    assert field_kind(info) == ("float", ())
    assert field_unit(info) == "posts/day"
    assert bounds(info) == Bounds(0, False, 50, False)
    assert field_kind(field_info("guanxi.enabled")) == ("bool", (False, True))
    assert field_kind(field_info("network.structure")) == ("choice", ("social", "fully_mixed"))
    assert field_kind(field_info("model.focal_firm")) == ("choice", ())  # any name
    assert field_kind(Scenario.model_fields["markets"]) == (None, ())
    dependency = bounds(field_info("markets.china.dependency_mean"))
    assert dependency.text() == "> 0 and < 1"
    assert dependency.admits(0.5) and not dependency.admits(0) and not dependency.admits(1)
    assert bounds(field_info("model.n_users")).text() == ">= 10 and <= 50000000"
    assert bounds(field_info("crm.half_saturation")).text() == "> 0 and <= 1e+09"
    assert Bounds().text() == "" and Bounds().admits(-1e300)
    with pytest.raises(PathError, match="unknown key 'nope' in markets.china"):
        field_info("markets.china.nope")  # any item name: the schema alone is walked


def test_assignments_parse_as_toml_values():
    assert parse_assignment("guanxi.enabled = false") == ("guanxi.enabled", False)
    assert parse_assignment("model.name=plain text") == ("model.name", "plain text")
    assert parse_assignment("x=[1, 2]") == ("x", [1, 2])
    with pytest.raises(ScenarioError, match="expected dotted.path=value"):
        parse_assignment("guanxi.enabled")


def _error(data, schema=Scenario) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        schema.model_validate(data)
    return caught.value


def test_validation_errors_name_items_by_their_key_and_say_what_is_allowed(raw):
    bad = copy.deepcopy(raw)
    set_path(bad, LOCALISATION, 3)
    assert describe_validation_error(_error(bad), bad) == (
        f"{LOCALISATION}: Input should be less than or equal to 1 (got 3); allowed: >= 0 and <= 1"
    )
    bad = copy.deepcopy(raw)
    bad["markets"][1]["organic_reech"] = 0.1
    assert describe_validation_error(_error(bad), bad) == (
        "unknown key 'markets.western_europe.organic_reech'; did you mean 'organic_reach'?"
    )
    bad = copy.deepcopy(raw)
    del bad["firms"][1]["name"]
    assert describe_validation_error(_error(bad), bad) == "missing required key 'firms[1].name'"
    bad = copy.deepcopy(raw)
    bad["firms"][0]["home_market"] = "mars"
    message = describe_validation_error(_error(bad), bad)
    assert message.startswith("firms.ours.home_market: 'mars' is not a market; allowed: ")


def test_validation_errors_of_other_schemas_use_their_list_keys():
    from sim.sweep.spec import SWEEP_LIST_KEYS, SweepFile

    data = {"sweep": {"seed": -1}, "parameters": [{"path": "guanxi.enabled"}]}
    assert describe_validation_error(_error(data, SweepFile), data, SweepFile) == (
        "sweep.seed: Input should be greater than or equal to 0 (got -1); "
        "allowed: >= 0 and <= 9223372036854775807"
    )
    data = {"sweep": {}, "parameters": [{"path": "guanxi.enabled", "levels": 1}]}
    assert describe_validation_error(_error(data, SweepFile), data, SweepFile, SWEEP_LIST_KEYS) == (
        "parameters.guanxi.enabled.levels: Input should be greater than or equal to 2 (got 1); "
        "allowed: >= 2 and <= 10000"
    )
    loc = ("parameters", 0, "values", 1, "bool")  # a union member's tag is not a key
    data = {"parameters": [{"values": [1, {}]}]}
    assert readable_location(loc, data, SweepFile, SWEEP_LIST_KEYS)[0] == "parameters[0].values[1]"
