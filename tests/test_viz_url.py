"""The scenario, its changes and the comparison's settings travel in the page's address."""

from __future__ import annotations

from urllib.parse import parse_qsl

from viz.url import parse_query, session_from_query, state_query

LOCAL = "firms.ours.strategies.china.localisation"


def test_a_session_round_trips_through_its_address():
    session = session_from_query("set=model.n_users%3D800")
    session.set_parameter("guanxi.enabled", False)
    session.set_compare_parameter("B", LOCAL, 1.0)
    session.set_compare_design(reps=4, steps=30, seed=7)
    query = state_query(session)
    pairs = parse_qsl(query)
    assert ("scenario", "baseline") in pairs and ("b", f"{LOCAL}=1.0") in pairs
    again = session_from_query(query)
    assert again.error is None
    assert again.overrides == {"model.n_users": 800, "guanxi.enabled": False}
    assert again.compare.b == {LOCAL: 1.0} and again.compare.a == {}
    assert (again.compare.reps, again.compare.steps, again.compare.seed) == (4, 30, 7)
    assert again.spec == session.spec and state_query(again) == query


def test_an_address_is_read_as_strictly_as_set_and_bad_parts_are_reported():
    assert parse_query("set=model.n_users%3D900")["set"] == {"model.n_users": 900}
    session = session_from_query("scenario=nope&set=model.n_users%3D900&b=guanxi.enabled%3Dmaybe")
    assert session.label == "baseline"
    assert "no bundled scenario 'nope'" in session.error
    assert "b: --set guanxi.enabled=maybe: expected true or false" in session.error
    assert session.overrides == {"model.n_users": 900} and session.compare.b == {}
    session = session_from_query("set=firms.ours.strategies.china.localisation%3D3.0")
    assert session.overrides == {} and "Changes not applied" in session.error
    assert session_from_query("").error is None


def test_a_pareto_point_goes_into_compare_whole_or_not_at_all():
    from viz.hooks import ParetoPoint, apply_pareto_point, posterior_overrides
    from viz.verdict import caveats

    session = session_from_query("set=model.n_users%3D600")
    session.set_compare_parameter("B", "guanxi.enabled", False)
    point = ParetoPoint({LOCAL: 1.0, "firms.ours.strategies.china.budget": 900.0}, {"profit": 1.0})
    assert apply_pareto_point(session, point)
    assert session.compare.b == dict(point.overrides)
    bad = ParetoPoint({LOCAL: 0.2, "firms.ours.strategies.china.budget": -1.0})
    assert not apply_pareto_point(session, bad)
    assert session.compare.b == dict(point.overrides) and "budget" in session.compare_error
    assert posterior_overrides({"guanxi.decay_rate": 0.1, LOCAL: 0.0}, {LOCAL: 1.0}) == {
        "guanxi.decay_rate": 0.1,
        LOCAL: 1.0,
    }
    assert "include uncertainty in the model's parameters" in " ".join(
        caveats(365, 10, {}, parameter_uncertainty=True)
    )
