"""The scenario and its changes in the page's address, to share a view or survive a reload.

``?scenario=baseline&set=model.n_users%3D2000&b=guanxi.enabled%3Dfalse&reps=10&days=365``

* ``scenario``: a bundled scenario (an uploaded file cannot travel in an address:
  the address then holds only the changes, and says ``scenario=upload``);
* ``set``: one change of the scenario (left column), as ``guanxi run --set`` takes it;
* ``a``, ``b``: one change of strategy A or B in the Compare tab;
* ``reps``, ``days``, ``cseed``: the comparison's replications, days and base seed;
* ``posterior``: the folder of the calibration posterior loaded in Compare (opened
  again, and checked, like a typed folder).

Assignments are written by :func:`viz.parameters.assignment` and read by
:func:`sim.parameters.parse_assignment`, the CLI's strict reader: the address is
checked exactly as ``--set`` is, and a change the schema refuses is reported, not
applied.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from sim.parameters import parse_assignment
from sim.scenario import ScenarioError, bundled_scenarios
from viz.parameters import assignment
from viz.state import DEFAULT_SCENARIO, ExploreSession

MAX_QUERY = 20_000  # characters of an address's query read at most


def state_query(session: ExploreSession) -> str:
    """The session's scenario, changes and comparison settings as a query string."""
    names = bundled_scenarios()
    scenario = session.label if session.label in names else "upload"
    pairs: list[tuple[str, str]] = [("scenario", scenario)]
    pairs += [("set", _compact(assignment(k, v))) for k, v in session.overrides.items()]
    pairs += [("a", _compact(assignment(k, v))) for k, v in session.compare.a.items()]
    pairs += [("b", _compact(assignment(k, v))) for k, v in session.compare.b.items()]
    settings = session.compare
    if settings.reps != type(settings)().reps:
        pairs.append(("reps", str(settings.reps)))
    if settings.steps is not None:
        pairs.append(("days", str(settings.steps)))
    if settings.seed is not None:
        pairs.append(("cseed", str(settings.seed)))
    if session.posterior is not None:
        pairs.append(("posterior", str(session.posterior.directory)))
    return urlencode(pairs)


def _compact(text: str) -> str:
    return text.replace(" = ", "=", 1)


def parse_query(query: str | None, problems: list[str] | None = None) -> dict[str, Any]:
    """The query's settings, each assignment read strictly.

    A part that cannot be read is left out and described in ``problems`` (when
    given; else it raises ScenarioError).
    """
    state: dict[str, Any] = {
        "scenario": DEFAULT_SCENARIO,
        "set": {},
        "a": {},
        "b": {},
        "design": {},
        "posterior": None,
    }
    if not query:
        return state
    if len(query) > MAX_QUERY:
        raise ScenarioError(
            f"address: the query has {len(query):,} characters; at most {MAX_QUERY:,}"
        )
    for key, value in parse_qsl(query.lstrip("?"), keep_blank_values=True):
        try:
            if key == "scenario":
                state["scenario"] = value
            elif key in ("set", "a", "b"):
                path, parsed = parse_assignment(value)
                state[key][path] = parsed
            elif key == "posterior":
                state["posterior"] = value
            elif key in ("reps", "days", "cseed"):
                try:
                    number = int(value)
                except ValueError:
                    raise ScenarioError(f"{key}={value!r}: expected a whole number") from None
                state["design"][{"reps": "reps", "days": "steps", "cseed": "seed"}[key]] = number
        except ScenarioError as exc:
            if problems is None:
                raise
            problems.append(f"address: {key}: {exc} (left out)")
    return state


def session_from_query(query: str | None) -> ExploreSession:
    """A new session as the address describes it; what cannot be applied is reported
    in the session's error line, and the rest is applied."""
    problems: list[str] = []
    try:
        state = parse_query(query, problems)
    except ScenarioError as exc:  # the query as a whole (too long)
        state, problems = parse_query(None), [f"address not used: {exc}"]
    name = state["scenario"]
    if name not in bundled_scenarios():
        if name == "upload":
            problems.append(
                "address: the view was of an uploaded scenario, which an address cannot "
                f"hold; showing {DEFAULT_SCENARIO} with the address's changes"
            )
        else:
            problems.append(f"address: no bundled scenario {name!r}; showing {DEFAULT_SCENARIO}")
        name = DEFAULT_SCENARIO
    session = ExploreSession.bundled(name)
    if state["set"] and not session.set_parameters(state["set"]):
        problems.append(f"address: {session.error}")
    for variant in ("a", "b"):
        for path, value in state[variant].items():
            if not session.set_compare_parameter(variant.upper(), path, value):
                problems.append(f"address: {session.compare_error}")
    if state["design"]:
        session.set_compare_design(**state["design"])
    if state["posterior"] and not session.load_posterior(state["posterior"]):
        problems.append(f"address: {session.posterior_error}")
    session.compare_error = None
    if problems:
        session.report("; ".join(problems))
    return session
