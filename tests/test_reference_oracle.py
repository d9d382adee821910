"""The vectorised model against the agent-per-user Mesa reference: the oracle.

``tests/reference`` runs the same model one ``mesa.Agent`` per user: the same
equations (the mechanism modules' functions), its own sampling (one user's draws
at a time) and bookkeeping (tallies as users add to them, stocks counted over the
users every day). Run over several seeds from the same scenario, both models must agree in
distribution on the focal firm's outcomes after ``STEPS`` days: mean attitude,
followers, conversions and social CRM capability. "Agree" is judged against the
seed-to-seed spread: Welch's t of the two means must stay within ``T_LIMIT``, and the
two-sample Kolmogorov-Smirnov test (exact) must not reject equal distributions at
``KS_ALPHA``.

The tolerances are wide enough for chance (false alarms below 0.001 per outcome,
also for skewed or heavy-tailed outcomes: the runs' guanxi ties make them so) and
narrow enough for a wrong mechanism: the same check flags the vectorised model with
one mechanism switched off (answers, CRM learning, cross-promotion) as different
(|t| of 10 or more, samples fully separated, in those cases).

At 600 users the baseline scenario barely moves in 100 days, so ``BUSY`` makes the
small market active enough for every mechanism to matter: more engagement, following
and purchase intent, CRM learning saturating at a market-sized interaction count,
cheaper guanxi ties and a response capacity that binds.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ks_2samp

from sim.model import MarketModel
from sim.scenario import Scenario, load_scenario
from tests.reference.model import ReferenceModel

pytestmark = pytest.mark.slow

N_USERS = 600
STEPS = 100
VECTORISED_SEEDS = range(1, 9)
REFERENCE_SEEDS = range(101, 109)
OUTCOMES = ("attitude", "followers", "conversions", "crm_capability")
T_LIMIT = 4.5
KS_ALPHA = 0.001
BUSY = {
    "users.engage_intercept": -2.0,
    "users.follow_intercept": -3.5,
    "users.purchase_intent_base": 0.3,
    "crm.half_saturation": 10.0,
    "guanxi.upkeep_cost": 0.5,
    "firms.ours.response_capacity": 3.0,
}


def busy_scenario(structure: str = "social", **overrides) -> Scenario:
    return load_scenario(
        "baseline",
        {"model.n_users": N_USERS, "network.structure": structure, **BUSY, **overrides},
    )


def focal_outcomes(model: MarketModel | ReferenceModel) -> list[float]:
    """The focal firm's attitude, followers, conversions so far and CRM capability."""
    focal = model.focal
    if isinstance(model, ReferenceModel):
        conversions = model.focal_conversions
    else:
        table = model.datacollector.get_table_dataframe("firm_market")
        conversions = table.loc[table.firm == focal.name, "conversions"].sum()
    return [focal.mean_attitude, focal.followers, float(conversions), focal.crm_capability]


def outcomes_over_seeds(model_class: type, spec: Scenario, seeds: range) -> np.ndarray:
    """(seeds, OUTCOMES) after STEPS days, one run per seed."""
    rows = []
    for seed in seeds:
        model = model_class(spec, rng=seed)
        for _ in range(STEPS):
            model.step()
        rows.append(focal_outcomes(model))
    return np.array(rows)


def welch_t(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Welch's t of the difference in means, per column."""
    spread = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
    return (a.mean(axis=0) - b.mean(axis=0)) / spread


def disagreements(a: np.ndarray, b: np.ndarray) -> dict[str, str]:
    """Outcomes whose means or spreads differ beyond chance, with the evidence."""
    found = {}
    t = welch_t(a, b)
    for i, name in enumerate(OUTCOMES):
        ks = ks_2samp(a[:, i], b[:, i], method="exact").pvalue
        if abs(t[i]) > T_LIMIT or ks < KS_ALPHA:
            found[name] = (
                f"mean {a[:, i].mean():.4g} vs {b[:, i].mean():.4g} (t = {t[i]:.1f}), "
                f"sd {a[:, i].std(ddof=1):.3g} vs {b[:, i].std(ddof=1):.3g}, KS p = {ks:.2g}"
            )
    return found


@pytest.fixture(scope="module")
def reference_social() -> np.ndarray:
    return outcomes_over_seeds(ReferenceModel, busy_scenario(), REFERENCE_SEEDS)


def test_reference_is_reproducible_and_reads_the_scenario():
    spec = load_scenario("baseline", {"model.n_users": 200})
    runs = []
    for _ in range(2):
        model = ReferenceModel(spec, rng=3)
        for _ in range(5):
            model.step()
        runs.append(focal_outcomes(model))
    assert runs[0] == runs[1]
    assert len(model.users) == 200
    assert {a.market for a in model.users} == {0, 1}
    frame = model.datacollector.get_model_vars_dataframe()
    assert list(frame.columns[:4]) == [
        "focal_attitude",
        "focal_followers",
        "focal_customers",
        "focal_conversions",
    ]
    assert len(frame) == 6  # the initial state and 5 days


def test_vectorised_model_agrees_with_reference_on_a_social_network(reference_social):
    vectorised = outcomes_over_seeds(MarketModel, busy_scenario(), VECTORISED_SEEDS)
    assert disagreements(vectorised, reference_social) == {}


def test_vectorised_model_agrees_with_reference_when_fully_mixed():
    spec = busy_scenario("fully_mixed")
    vectorised = outcomes_over_seeds(MarketModel, spec, VECTORISED_SEEDS)
    reference = outcomes_over_seeds(ReferenceModel, spec, REFERENCE_SEEDS)
    assert disagreements(vectorised, reference) == {}


@pytest.mark.parametrize(
    ("altered", "outcome"),
    [
        ({"users.response_effect": 0.0}, "attitude"),
        ({"crm.learning_rate": 0.0}, "crm_capability"),
        ({"guanxi.cross_promotion": 0.0}, "followers"),
    ],
    ids=["no_answer_effect", "no_crm_learning", "no_cross_promotion"],
)
def test_oracle_detects_an_altered_mechanism(reference_social, altered, outcome):
    """One mechanism switched off in the vectorised model only: the check must fail."""
    vectorised = outcomes_over_seeds(MarketModel, busy_scenario(**altered), VECTORISED_SEEDS)
    assert outcome in disagreements(vectorised, reference_social)
