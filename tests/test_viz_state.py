"""A browser session's state: parameter changes, uploads, stepping, reset, isolation."""

from __future__ import annotations

import numpy as np
import pytest

from sim.scenario import MAX_SCENARIO_BYTES, ScenarioError, load_scenario
from tests.viz_support import small_session
from viz.state import MAX_UI_USERS, ExploreSession

RESPONSIVENESS = "firms.ours.strategies.china.responsiveness"


def test_changing_a_control_changes_the_models_parameter_and_restarts_the_run():
    session = small_session()
    session.step(3)
    assert session.set_parameter(RESPONSIVENESS, 0.8)
    assert session.day == 0
    assert session.spec.firms[0].strategies[1].responsiveness == 0.8
    china = session.model.market_index["china"]
    assert session.model.strategy.responsiveness[session.model.focal.index, china] == 0.8
    assert session.overrides == {RESPONSIVENESS: 0.8}
    assert session.is_changed(RESPONSIVENESS)


def test_setting_a_value_back_to_the_file_value_drops_the_change():
    session = small_session()
    original = session.value(RESPONSIVENESS)
    session.set_parameter(RESPONSIVENESS, 0.8)
    session.set_parameter(RESPONSIVENESS, original)
    assert session.overrides == {}
    session.set_parameter("guanxi.enabled", False)
    session.clear_changes()
    assert session.overrides == {} and session.spec.guanxi.enabled is True


def test_rejected_value_shows_the_schemas_message_and_changes_nothing():
    session = small_session()
    session.step(2)
    before = session.spec
    assert not session.set_parameter("firms.ours.strategies.china.initial_followers", 0.9)
    assert "initial_followers (0.9) must be at most initial_awareness" in session.error
    assert "\n" not in session.error
    assert session.spec is before and session.day == 2
    assert session.set_parameter(RESPONSIVENESS, 0.5)
    assert session.error is None


def test_error_message_is_the_clis():
    session = small_session()
    session.set_parameter("firms.ours.strategies.china.posts_per_day", 99.0)
    with pytest.raises(ScenarioError) as cli:
        load_scenario("baseline", {"firms.ours.strategies.china.posts_per_day": 99.0})
    reason = str(cli.value).split(": ", 1)[1]  # the CLI's words, after its source
    assert reason in session.error
    assert session.error.startswith(
        "Your change firms.ours.strategies.china.posts_per_day = 99.0 was not applied"
    )
    assert session.error.endswith(
        "The model still runs firms.ours.strategies.china.posts_per_day = 2.0."
    )


def test_a_refused_change_blames_the_change_not_the_uploaded_file():
    """Issue 16, bug 4: the message named the uploaded file as if it were broken."""
    session = small_session()
    toml = session.spec.to_toml().encode()
    assert session.load_upload("mine.toml", toml)
    assert not session.set_parameter("firms.ours.strategies.china.posts_per_day", 99.0)
    assert "mine.toml" not in session.error and "upload" not in session.error
    assert "was not applied" in session.error
    assert session.value("firms.ours.strategies.china.posts_per_day") == 2.0
    assert session.model.spec is session.spec  # the model runs the value shown


def test_step_advances_the_model_and_its_history():
    session = small_session()
    session.step()
    session.step(4)
    assert session.day == 5 == session.history.steps
    days = session.history.days("ours", "china")
    np.testing.assert_array_equal(days, np.arange(6))
    frame = session.model.datacollector.get_table_dataframe("firm_market")
    mine = frame[(frame.firm == "ours") & (frame.market == "china")]
    np.testing.assert_allclose(
        session.history.series("ours", "china", "attitude_mean"), mine.attitude_mean
    )
    firms = session.model.datacollector.get_agent_vars_dataframe()
    crm = firms[firms.firm == "ours"].crm_capability.to_numpy()
    np.testing.assert_allclose(session.history.firm_series("crm_capability", "ours"), crm)


def test_reset_replays_the_same_run_and_a_new_seed_a_different_one():
    session = small_session()
    session.step(10)
    first = session.history.series("ours", "china", "attitude_mean").copy()
    session.reset()
    assert session.day == 0
    session.step(10)
    np.testing.assert_array_equal(session.history.series("ours", "china", "attitude_mean"), first)
    session.set_parameter("model.seed", 7)
    session.step(10)
    assert session.seed == 7
    assert not np.array_equal(session.history.series("ours", "china", "attitude_mean"), first)


def test_upload_of_a_valid_file_replaces_the_scenario():
    session = small_session()
    text = load_scenario("baseline", {"model.n_users": 300, "model.name": "mine"}).to_toml()
    assert session.load_upload("mine.toml", text.encode())
    assert session.label == "mine.toml" and session.spec.model.name == "mine"
    assert session.model.population.n_users == 300


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"[model\nn_users = 5", "malformed TOML"),
        (b"\x00\x01\x02binary", "not a text file"),
        (b"", "file is empty"),
        (b'[model]\nn_users = "many"\n', "n_users"),
        (b"[model]\nn_users = 1000\n", "missing required key 'markets'"),
        (b'import os\nos.system("echo hi")\n', "malformed TOML"),
    ],
)
def test_invalid_upload_keeps_the_running_scenario(data, message):
    session = small_session()
    session.step(2)
    assert not session.load_upload("bad.toml", data)
    assert message in session.error and session.error.startswith("upload bad.toml:")
    assert session.label == "baseline" and session.day == 2


def test_oversized_upload_is_refused_by_its_real_size():
    session = small_session()
    assert not session.load_upload("big.toml", b"#" * (MAX_SCENARIO_BYTES + 1), size=5_000_000)
    assert "5,000,000 bytes" in session.error
    assert f"at most {MAX_SCENARIO_BYTES:,}" in session.error


def test_the_ui_refuses_populations_meant_for_the_cli():
    session = small_session()
    assert not session.set_parameter("model.n_users", MAX_UI_USERS + 1)
    assert "guanxi run" in session.error and session.spec.model.n_users == 500


def test_sessions_do_not_share_state():
    one, two = small_session(), small_session()
    one.step(5)
    one.set_parameter(RESPONSIVENESS, 0.9)
    one.step(2)
    assert two.day == 0 and two.overrides == {}
    assert one.model is not two.model and one.history is not two.history
    assert ExploreSession.bundled().day == 0
