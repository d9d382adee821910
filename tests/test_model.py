"""The market model: each mechanism's effect, invariants, determinism, Mesa integration.

Effects are measured with common random numbers (same seeds for both variants) on
small populations; each assertion is a direction that a broken mechanism would flip
or erase. tests/test_mutations.py runs every mechanism's check with that mechanism
removed and requires it to fail.
"""

from __future__ import annotations

import pickle

import mesa
import numpy as np
import pandas as pd
import pytest

from sim.model import FLOWS, Expressed, MarketModel
from sim.model.attitude import social_influence
from sim.model.crm import update_crm_capability
from sim.model.engagement import consume_and_engage
from sim.model.exposure import content_filter, share_chances
from sim.model.ledger import Ledger
from sim.scenario import PRESETS, Scenario
from tests.conftest import focal_rows, paired, run, small, start_day


def total(model: MarketModel, flow: str, firm: str | None = None) -> float:
    frame = model.datacollector.get_table_dataframe("firm_market")
    rows = frame[frame.firm == (firm or model.focal.name)]
    return float(rows[flow].sum())


# ---------------------------------------------------------------------- invariants
def test_state_invariants_hold_every_step():
    model = MarketModel(small(n_users=1500), rng=5)
    pop = model.population
    previous_aware = pop.aware.copy()
    for _ in range(40):
        model.step()
        assert not (pop.following & ~pop.aware).any(), "followers are aware"
        assert not (pop.customer & ~pop.aware).any(), "customers are aware"
        assert (pop.aware >= previous_aware).all(), "awareness is never lost"
        assert np.all(np.abs(pop.attitude) <= 1.0)
        assert np.all(pop.attitude[~pop.aware] == 0), "unaware users hold no opinion"
        # Users only relate to firms that target their market.
        assert not (pop.aware & ~model.active_nf).any()
        previous_aware = pop.aware.copy()
        assert 0.0 <= model.focal.crm_capability <= 1.0


def test_follower_flows_balance_the_stock():
    model = run(small(n_users=1500), 30)
    frame = model.datacollector.get_table_dataframe("firm_market")
    for (_, _), rows in frame.groupby(["firm", "market"]):
        change = rows.followers.diff().iloc[1:]
        flows = (rows.new_followers - rows.unfollows).iloc[1:]
        assert np.array_equal(change.to_numpy(), flows.to_numpy())


def test_revenue_is_purchases_times_people_times_price_and_profit_adds_up():
    """Verification: revenue = purchases x people per simulated user x the firm's price;
    the books add up (profit = revenue x margin - costs, costs = posts + ads + answers
    + commission + upkeep)."""
    model = run(small(n_users=1500), 30)
    frame = model.datacollector.get_table_dataframe("firm_market")
    frame = frame[frame.step > 0]
    price = {f.name: f.price for f in model.firms}
    assert np.allclose(
        frame.revenue, frame.conversions * frame.people_per_user * frame.firm.map(price)
    )
    assert (frame.conversions == frame.social_purchases + frame.category_purchases).all()
    for firm in model.firms:
        assert firm.total_profit == pytest.approx(
            firm.total_revenue * firm.gross_margin - firm.total_costs
        )
    spend = frame[["spend_posts", "spend_ads", "spend_answers", "commission"]].sum().sum()
    upkeep = sum(f.total_costs for f in model.firms) - spend
    ties = model.datacollector.get_model_vars_dataframe()["ties"].iloc[1:].sum()
    costs = sum(f.total_costs for f in model.firms)  # (summed in another order: rounding)
    assert upkeep == pytest.approx(2 * model.spec.guanxi.upkeep_cost * ties, abs=1e-9 * costs)


def test_users_split_by_share_and_traits_follow_markets():
    model = MarketModel(small(n_users=4000), rng=1)
    pop = model.population
    assert pop.n_users == 4000
    china, europe = pop.block(0), pop.block(1)
    assert model.markets[0].name == "china"
    assert pop.sns_dependency[china].mean() > pop.sns_dependency[europe].mean() + 0.1
    assert pop.relational_motive[china].mean() > pop.relational_motive[europe].mean() + 0.1
    assert (
        abs(pop.transactional_motive[china].mean() - pop.transactional_motive[europe].mean()) < 0.05
    )


# ---------------------------------------------------------------------- determinism
def frames(model):
    dc = model.datacollector
    return [
        dc.get_model_vars_dataframe(),
        dc.get_agent_vars_dataframe(),
        dc.get_table_dataframe("firm_market"),
        dc.get_table_dataframe("guanxi_edges"),
    ]


def test_same_seed_same_results_different_seed_different_results():
    spec = small(n_users=1200)
    a, b, c = run(spec, 40, seed=9), run(spec, 40, seed=9), run(spec, 40, seed=10)
    for fa, fb in zip(frames(a), frames(b), strict=True):
        pd.testing.assert_frame_equal(fa, fb)
    assert not frames(a)[2].equals(frames(c)[2])


def test_seed_defaults_to_scenario_seed():
    spec = small(n_users=800)
    a = run(spec, 10, seed=spec.model.seed)
    b = MarketModel(spec)
    for _ in range(10):
        b.step()
    pd.testing.assert_frame_equal(frames(a)[2], frames(b)[2])


def test_model_pickles_and_runs_with_batch_run_in_processes():
    model = run(small(n_users=500), 3)
    clone = pickle.loads(pickle.dumps(model))
    assert clone.focal.name == model.focal.name
    results = mesa.batch_run(
        MarketModel,
        parameters={
            "spec": ["baseline"],
            "model__n_users": [400],
            "guanxi__enabled": [True, False],
        },
        rng=[1, 2],
        max_steps=5,
        number_processes=2,
        data_collection_period=-1,
        display_progress=False,
    )
    frame = pd.DataFrame(results)
    assert len(frame.groupby(["guanxi__enabled", "rng"])) == 4
    assert {"focal_attitude", "crm_capability", "firm"} <= set(frame.columns)
    assert (frame[~frame.guanxi__enabled].ties == 0).all()


def test_overrides_as_keyword_arguments():
    model = MarketModel("baseline", rng=1, model__n_users=300, guanxi__enabled=False)
    assert model.population.n_users == 300
    assert model.spec.guanxi.enabled is False


# ---------------------------------------------------------------------- mechanisms
# Each mechanism's check is a function ``check_...(off=None)`` that builds its
# scenarios, runs them and asserts the mechanism's effect. ``off`` holds scenario
# overrides applied after the check's own, so that tests/test_mutations.py can run the
# same check with the mechanism removed (its parameter at 0, or its equation
# monkeypatched in the module that uses it) and require that the check then fails.
#
# Kinds of evidence: a *verification* checks an equation or a count exactly, within a
# day or a few; an *emergent effect* runs the model for weeks and checks the direction
# of a mechanism's effect under common random numbers (the same seeds in every arm).
# Where the setting an emergent check varies acts through several mechanisms, the
# check switches the others off or freezes them, so that the difference between its
# arms comes from its own mechanism: removed, the arms are equal and the strict
# inequality fails (rather than passing on another mechanism's effect).

Off = dict[str, object] | None
BOTH = ("china", "western_europe")


# Shop visits and checkouts raised tenfold (the shop's premium kept: 0.5 x
# seamlessness) so that a small market sees enough social purchases.
BUYING = {
    "users__purchase_intent_base": 0.3,
    "users__redirect_checkout_rate": 0.3,
    "users__shop_checkout_rate": 0.8,
}


def variant(name: str = "baseline", n_users: int = 2000, off: Off = None, **own) -> Scenario:
    """small(name, n_users) with a check's own overrides, then ``off`` (which wins)."""
    return small(name, n_users, **{**own, **(off or {})})


def ours(setting: str, value, markets=BOTH) -> dict:
    """The same strategy setting for our firm in each of ``markets``."""
    return {f"firms__ours__strategies__{m}__{setting}": value for m in markets}


def firm(model: MarketModel, name: str):
    return next(f for f in model.firms if f.name == name)


def attitude(model: MarketModel) -> float:
    return model.focal.mean_attitude


def china_attitude(model: MarketModel) -> float:
    return focal_rows(model, "china").attitude_mean.iloc[-1]


def china_conversion(model: MarketModel) -> float:
    """Social purchases per item of our content consumed in China."""
    rows = focal_rows(model, "china")
    return rows.social_purchases.sum() / max(rows.consumed.sum(), 1)


def unfollow_rate(model: MarketModel) -> float:
    rows = focal_rows(model)
    return rows.unfollows.sum() / max(rows.followers.mean(), 1)


# ------------------------------------------------------------------ answers
# CRM capability frozen (answers also feed CRM learning) and no guanxi: the arms
# differ only by the answer term of the attitude update.
# Engagement and comments raised above the calibrated rates (and capacity without
# limit) so that a 2,000-user market has enough comments for the answers to show.
HIGH_SIGNAL = {
    "users__engage_intercept": -2.0,
    "users__comment_share": 1.0,
    "firms__ours__response_capacity": 1e9,
    **{f"firms__ours__strategies__{m}__budget": 1e9 for m in ("china", "western_europe")},
}
ANSWERS_ONLY = {
    "crm__learning_rate": 0.0,
    "crm__decay": 0.0,
    "guanxi__enabled": False,
    **HIGH_SIGNAL,
}
# Each term of the answer effect on its own: the other one is set to 0.
OTHER_ANSWER_TERM = {"answered": "users__ignored_effect", "ignored": "users__response_effect"}


def check_answers_move_attitude(term: str, off: Off = None) -> None:
    """Emergent effect: answering every comment instead of none raises the focal firm's
    mean attitude, through the gain from answered comments (``term="answered"``) or
    the loss from ignored ones (``term="ignored"``), the other term at 0."""
    own = {**ANSWERS_ONLY, OTHER_ANSWER_TERM[term]: 0.0}
    low, high = paired(
        attitude,
        variant(off=off, **own, **ours("responsiveness", 0.0)),
        variant(off=off, **own, **ours("responsiveness", 1.0)),
        steps=60,
    )
    assert (high > low).all(), (low, high)


def test_more_responsiveness_raises_focal_attitude():
    check_answers_move_attitude("answered")


def test_ignoring_comments_lowers_focal_attitude():
    check_answers_move_attitude("ignored")


def check_answering_builds_crm_capability(off: Off = None) -> None:
    """Emergent effect: answered comments count toward social media use (answer_weight),
    so answering every comment builds more CRM capability than answering none. Answers
    leave attitudes alone here, so that engagement (the other interactions) is equal."""
    own = {
        "guanxi__enabled": False,
        "users__response_effect": 0.0,
        "users__ignored_effect": 0.0,
        **HIGH_SIGNAL,
    }
    low, high = paired(
        lambda m: m.focal.crm_capability,
        variant(off=off, **own, **ours("responsiveness", 0.0)),
        variant(off=off, **own, **ours("responsiveness", 1.0)),
        steps=60,
    )
    assert (high > low).all(), (low, high)


def test_answering_builds_crm_capability():
    check_answering_builds_crm_capability()


# ------------------------------------------------------------------ CRM capability
# Capability held where it starts (no learning or decay) and no guanxi (capable firms
# make attractive partners): the arms differ only by capability, which acts through
# the one effect a check leaves on.
CRM_FROZEN = {"crm__learning_rate": 0.0, "crm__decay": 0.0, "guanxi__enabled": False}
CRM_EFFECTS = ("conversion_effect", "retention_effect", "targeting_effect", "response_effect")


def crm_outcome(effect: str) -> tuple[str, dict, object, int]:
    """(scenario, own overrides, outcome, sign) of the check of one CRM effect."""
    return {
        # Purchase intent raised so that a small market sees enough conversions; 4,000
        # users (at 2,000 the switchers' churn made one seed's arms cross: 68 vs 49).
        "conversion_effect": (
            "social_commerce",
            {**BUYING, "n_users": 4000},
            lambda m: total(m, "social_purchases"),
            1,
        ),
        # Followers leave at 2% a day, so a small market sees enough unfollows; every
        # user alike (switching dispersion 0), else the arm that keeps more followers
        # also keeps more switchers, whose higher rate dilutes the effect on the stock.
        "retention_effect": (
            "baseline",
            {"users__unfollow_base": 0.02, "users__switching_dispersion": 0.0},
            unfollow_rate,
            -1,
        ),
        "targeting_effect": (
            "baseline",
            {"users__engage_intercept": -3.0},
            lambda m: total(m, "engagements"),
            1,
        ),
        # A capacity that binds: 20,000 real comments a day at capability 0 (about two
        # simulated users' comments at 2,000 users), for all comments wanted.
        "response_effect": (
            "baseline",
            {
                **HIGH_SIGNAL,
                "firms__ours__response_capacity": 20_000.0,
                **ours("responsiveness", 1.0),
            },
            lambda m: total(m, "answered"),
            1,
        ),
    }[effect]


def check_crm_capability_effect(effect: str, off: Off = None) -> None:
    """Emergent effect: our firm at CRM capability 0.8 does better than at 0 on what one
    CRM effect acts on (conversions, unfollowing, engagement through targeted content,
    answers within capacity), with the other three effects at 0."""
    name, own, outcome, sign = crm_outcome(effect)
    own = {
        **CRM_FROZEN,
        **own,
        **{f"crm__{other}": 0.0 for other in CRM_EFFECTS if other != effect},
    }
    low, high = paired(
        outcome,
        variant(name, off=off, **own, firms__ours__initial_crm_capability=0.0),
        variant(name, off=off, **own, firms__ours__initial_crm_capability=0.8),
        steps=60,
    )
    assert (sign * (high - low) > 0).all(), (low, high)


@pytest.mark.parametrize("effect", CRM_EFFECTS)
def test_crm_capability_raises_conversion_retention_targeting_and_capacity(effect):
    check_crm_capability_effect(effect)


def check_crm_capability_decays_without_use(off: Off = None) -> None:
    """Verification: with no posts (hardly any interactions) capability decays at ``decay``."""
    spec = variant(
        n_users=500,
        off=off,
        crm__decay=0.01,
        firms__ours__initial_crm_capability=0.8,
        guanxi__enabled=False,
        **ours("posts_per_day", 0.0),
    )
    model = run(spec, 50)
    assert model.focal.crm_capability == pytest.approx(0.8 * 0.99**50, rel=0.05)


def test_crm_capability_decays_without_use():
    check_crm_capability_decays_without_use()


# ------------------------------------------------------------------ guanxi and CRM
# Benefits scale with the simulated population, so small test markets use a small upkeep.
CHEAP_TIES = {"guanxi__upkeep_cost": 0.5}


# One tie, ours - tea_house, from the first day; no other tie forms (one partner each,
# no searches) and none is severed (no upkeep, any imbalance accepted).
FIXED_TIE = {
    "guanxi__max_partners": 1,
    "guanxi__search_interval": 10_000,
    "guanxi__upkeep_cost": 0.0,
    "guanxi__max_imbalance": 1.0,
}


def run_tied(spec: Scenario, steps: int, seed: int) -> MarketModel:
    """A run in which ours and tea_house are partners from the first day."""
    model = MarketModel(spec, rng=seed)
    model.guanxi.form(model.focal, firm(model, "tea_house"))
    for _ in range(steps):
        model.step()
    return model


def tied_pair(metric, spec_a: Scenario, spec_b: Scenario, steps: int, seeds=(1, 2, 3)):
    a = np.array([metric(run_tied(spec_a, steps, s)) for s in seeds])
    b = np.array([metric(run_tied(spec_b, steps, s)) for s in seeds])
    return a, b


def mean_crm(model: MarketModel) -> float:
    return float(np.mean([f.crm_capability for f in model.firms]))


def promotions(model: MarketModel) -> float:
    return sum(total(model, "cross_promotion_impressions", f.name) for f in model.firms)


def check_guanxi_speeds_crm(off: Off = None) -> None:
    """Emergent effect: with guanxi the firms' CRM capability grows faster than without
    (acceleration and partners' know-how, Luo 2024)."""
    busy = {**CHEAP_TIES, "users__engage_intercept": -3.0}  # interactions to learn from
    on, off_ = paired(
        mean_crm,
        variant("guanxi_partnerships", 2500, off=off, **busy),
        variant("guanxi_partnerships", 2500, off=off, guanxi__enabled=False, **busy),
        steps=120,
    )
    # About 0.09 higher; 0.015 without acceleration and know-how (cross-promotion).
    assert on.mean() > off_.mean() + 0.05, (off_, on)


def check_guanxi_switch(off: Off = None) -> None:
    """Verification: with guanxi on ties form and partners cross-promote each other's
    posts; with guanxi off no tie forms and no post is cross-promoted."""
    on = run(variant("guanxi_partnerships", 1500, off=off, **CHEAP_TIES), 60)
    assert on.guanxi.events and promotions(on) > 0
    switched_off = variant("guanxi_partnerships", 1500, off=off, guanxi__enabled=False)
    no_guanxi = run(switched_off, 60)
    assert promotions(no_guanxi) == 0 and no_guanxi.guanxi.graph.number_of_edges() == 0
    assert not no_guanxi.guanxi.events


def test_switching_guanxi_off_removes_ties_and_cross_promotion():
    check_guanxi_switch()


def test_guanxi_speeds_crm_learning():
    check_guanxi_speeds_crm()


# CRM learning near saturation in a small market: half saturation at a small market's
# daily interactions (as in the oracle's busy market), so that what multiplies
# learning shows within two months.
CRM_BUSY = {"crm__half_saturation": 10.0}


def check_guanxi_accelerates_crm_learning(off: Off = None) -> None:
    """Emergent effect: the guanxi level multiplies CRM learning from social media (Luo
    2024's moderator): with the same tie, and no know-how through it, our capability
    grows faster with the acceleration at its default than at 0."""
    base = {
        "guanxi__knowledge_spillover": 0.0,
        "users__engage_intercept": -3.0,  # interactions to learn from
        **FIXED_TIE,
        **CRM_BUSY,
    }
    without, with_ = tied_pair(
        lambda m: m.focal.crm_capability,
        variant("guanxi_partnerships", 1000, off=off, guanxi__crm_acceleration=0.0, **base),
        variant("guanxi_partnerships", 1000, off=off, **base),
        steps=60,
    )
    assert (with_ > without).all(), (without, with_)


def test_guanxi_accelerates_crm_learning_from_social_media():
    check_guanxi_accelerates_crm_learning()


def check_knowledge_spillover(off: Off = None) -> None:
    """Emergent effect: a more capable partner's know-how (spill-over at its default)
    lifts the CRM capability of our firm, which starts without any; no acceleration."""
    base = {
        "guanxi__crm_acceleration": 0.0,
        "firms__ours__initial_crm_capability": 0.0,
        "users__engage_intercept": -3.0,  # interactions to learn from (absorptive capacity)
        **FIXED_TIE,
        **CRM_BUSY,
    }
    none, spill = tied_pair(
        lambda m: m.focal.crm_capability,
        variant("guanxi_partnerships", 1000, off=off, guanxi__knowledge_spillover=0.0, **base),
        variant("guanxi_partnerships", 1000, off=off, **base),
        steps=60,
    )
    # 1.2-1.9 times as high.
    assert (spill > none).all() and spill.mean() > 1.2 * none.mean(), (none, spill)


def test_knowledge_spillover_lifts_the_less_capable_partner():
    check_knowledge_spillover()


def crm_after_one_update(
    engagements: float, spillover: float, off: Off = None
) -> tuple[float, float]:
    """(learner, partner) capability after one CRM update: learner 0.1, partner 0.8."""
    spec = variant("guanxi_partnerships", 500, off=off, guanxi__knowledge_spillover=spillover)
    model = MarketModel(spec, rng=3)
    learner, partner = model.focal, next(f for f in model.firms if f is not model.focal)
    learner.crm_capability, partner.crm_capability = 0.1, 0.8
    model.guanxi.form(learner, partner)
    ledger = Ledger.open(model.cells)
    ledger["engagements"][learner.index, 0] = engagements
    update_crm_capability(model, ledger)
    return learner.crm_capability, partner.crm_capability


def check_knowledge_absorbed_through_use(off: Off = None) -> None:
    """Verification of one CRM update with a more capable partner: its know-how
    multiplies what we learn from our own interactions, and adds nothing without them."""
    # No interactions today: a capable partner's know-how adds nothing, only decay.
    idle_without, _ = crm_after_one_update(0.0, 0.0, off)
    idle_with, _ = crm_after_one_update(0.0, 8.0, off)
    assert idle_with == idle_without < 0.1
    # With interactions, the partner's know-how raises what the learner learns from them.
    busy_without, partner_without = crm_after_one_update(300.0, 0.0, off)
    busy_with, partner_with = crm_after_one_update(300.0, 8.0, off)
    assert busy_with - 0.1 > 2 * (busy_without - 0.1) > 0, (busy_without, busy_with)
    assert partner_with == partner_without  # nothing flows to the more capable side


def test_knowledge_is_absorbed_only_through_own_social_media_use():
    check_knowledge_absorbed_through_use()


# ------------------------------------------------------------------ guanxi favours
def check_cross_promotion(off: Off = None) -> None:
    """Emergent effect: a partner showing our posts to its followers makes more of them
    aware of us."""
    none, promoted = tied_pair(
        lambda m: m.focal.aware,
        variant("guanxi_partnerships", 1500, off=off, guanxi__cross_promotion=0.0, **FIXED_TIE),
        variant("guanxi_partnerships", 1500, off=off, guanxi__cross_promotion=1.0, **FIXED_TIE),
        steps=30,
    )
    assert (promoted > none).all(), (none, promoted)


def test_cross_promotion_raises_awareness():
    check_cross_promotion()


def referral_outcomes(model: MarketModel) -> tuple[float, int, float]:
    return total(model, "referrals"), model.focal.aware, total(model, "social_purchases")


def check_referrals(off: Off = None) -> None:
    """Emergent effect: a partner referring its customers to us brings us referred
    users, who become aware of us and buy from us. The tie's other favours and its
    acceleration of CRM learning are off; purchase intent is raised so that the
    partner has customers to refer within a month."""
    own = {
        **FIXED_TIE,
        "guanxi__cross_promotion": 0.0,
        "guanxi__knowledge_spillover": 0.0,
        "guanxi__policy_support": 0.0,
        "guanxi__crm_acceleration": 0.0,
        **BUYING,
    }
    none, referring = tied_pair(
        referral_outcomes,
        variant("guanxi_partnerships", 1500, off=off, guanxi__referral_rate=0.0, **own),
        variant("guanxi_partnerships", 1500, off=off, guanxi__referral_rate=1.0, **own),
        steps=30,
    )
    assert (none[:, 0] == 0).all() and (referring[:, 0] > 0).all(), (none, referring)
    assert (referring[:, 1:] > none[:, 1:]).all(), (none, referring)


def test_referrals_raise_awareness_and_conversions():
    check_referrals()


def check_policy_support(off: Off = None) -> None:
    """Verification: a partner at home in China lets more of our unlocalised posts
    through its regulation; a local firm's posts are never filtered."""
    model = MarketModel(variant("guanxi_partnerships", 500, off=off), rng=1)
    ours_, local = model.focal, firm(model, "tea_house")
    china = model.market_index["china"]
    pass_before, _ = content_filter(model, [])
    model.guanxi.form(ours_, local)
    pass_after, _ = content_filter(model, model.guanxi.directed_ties())
    assert pass_after[ours_.index, china] > pass_before[ours_.index, china]
    assert pass_after[local.index, china] == pass_before[local.index, china] == 1.0


def test_policy_support_reduces_filtering_of_foreign_content():
    check_policy_support()


# ------------------------------------------------------------------ guanxi ties
def check_one_sided_tie_is_severed(off: Off = None) -> None:
    """Emergent effect: the free rider gets partners, but its one-sided ties are cut."""
    spec = variant(
        "guanxi_partnerships",
        1500,
        off=off,
        guanxi__max_imbalance=0.5,
        guanxi__upkeep_cost=0.1,
    )
    model = run(spec, 200, seed=2)
    events = model.guanxi.events
    formed = [e for e in events if e.event == "formed" and "free_rider" in (e.firm_a, e.firm_b)]
    assert formed, "the free rider did get partners before being cut"
    severed = [e for e in events if e.event == "severed"]
    involving_rider = [e for e in severed if "free_rider" in (e.firm_a, e.firm_b)]
    assert involving_rider, events
    assert any("one-sided" in e.reason or "not mutually" in e.reason for e in involving_rider)
    # A free rider ends without lasting ties while reciprocating firms keep some.
    assert model.guanxi.degree(firm(model, "free_rider").index) <= 1


def test_one_sided_tie_is_severed():
    check_one_sided_tie_is_severed()


def check_ties_form_only_when_both_expect_to_gain(off: Off = None) -> None:
    """Emergent effect: no tie forms when upkeep exceeds what anyone expects to gain;
    with cheap upkeep ties form."""
    dear = run(variant("guanxi_partnerships", 1500, off=off, guanxi__upkeep_cost=500.0), 60, 3)
    assert not any(e.event == "formed" for e in dear.guanxi.events), "no one expects to gain"
    cheap = run(variant("guanxi_partnerships", 1500, off=off, guanxi__upkeep_cost=0.5), 60, 3)
    assert any(e.event == "formed" for e in cheap.guanxi.events)


def test_ties_form_only_when_both_sides_expect_to_gain():
    check_ties_form_only_when_both_expect_to_gain()


def test_edge_snapshots_record_strength_and_benefits_both_ways():
    model = run(small("guanxi_partnerships", n_users=1500, **CHEAP_TIES), 60, 2)
    edges = model.datacollector.get_table_dataframe("guanxi_edges")
    assert len(edges) > 0
    assert edges.strength.between(0, 1).all()
    assert (edges.benefit_a > 0).any() and (edges.benefit_b > 0).any()
    assert set(edges.columns) >= {"firm_a", "firm_b", "age", "favours_a", "favours_b"}


# ------------------------------------------------------------------ purchase


def check_in_platform_shop_raises_conversion(off: Off = None) -> None:
    """Emergent effect: an in-platform shop completes more shop visits than a redirect:
    checkout 0.3 + 0.5 x 0.9 in China's shop vs 0.3 by redirect (2.5 times) with the
    raised rates of BUYING, 1.2-2.2 times the social purchases per item consumed."""
    redirect, shop = paired(
        china_conversion,
        variant(
            "social_commerce", 1500, off=off, firms__ours__strategies__china__shop=False, **BUYING
        ),
        variant(
            "social_commerce", 1500, off=off, firms__ours__strategies__china__shop=True, **BUYING
        ),
        steps=40,
    )
    # Less than the checkout ratio: buyers' needs are met, so repeat visits find
    # fewer people ready to buy (the Erlang-2 readiness).
    assert (shop > redirect).all() and shop.sum() > 1.3 * redirect.sum(), (redirect, shop)


def test_in_platform_shop_raises_conversion():
    check_in_platform_shop_raises_conversion()


def check_shop_pays_more_where_seamless(off: Off = None) -> None:
    """Emergent effect: the shop's checkout premium scales with the market's
    seamlessness of social commerce: 0.3 + 0.5 x seamlessness with the raised rates of
    BUYING, 2.3 times the checkouts at 1.0 as at 0.1 (1.3-1.8 times the purchases)."""
    clunky, seamless = paired(
        china_conversion,
        variant("social_commerce", off=off, markets__china__shop_seamlessness=0.1, **BUYING),
        variant("social_commerce", off=off, markets__china__shop_seamlessness=1.0, **BUYING),
        steps=60,
    )
    assert (seamless > clunky).all() and seamless.sum() > 1.2 * clunky.sum(), (clunky, seamless)


def test_shop_pays_more_where_social_commerce_is_seamless():
    check_shop_pays_more_where_seamless()


# ------------------------------------------------------------------ engagement
def check_dependency_raises_engagement(off: Off = None) -> None:
    """Emergent effect: within each market, users in the top third of SNS dependency
    engage more than those in the bottom third (attention to posts, consuming and
    engaging all rise with dependency; traits are drawn independently). Engagement
    raised above the calibrated rate so that 3,000 users engage often enough."""
    model = run(variant(n_users=3000, off=off, users__engage_intercept=-3.0), 60, seed=4)
    pop = model.population
    for m in range(model.n_markets):
        block = pop.block(m)
        dependency, engaged = pop.sns_dependency[block], pop.engaged_total[block]
        low, high = np.quantile(dependency, [1 / 3, 2 / 3])
        bottom, top = engaged[dependency <= low].mean(), engaged[dependency >= high].mean()
        # 1.9-2.6 times; without dependency's effects about equal.
        assert top > 1.5 * bottom, (m, bottom, top)


def test_higher_dependency_raises_engagement():
    check_dependency_raises_engagement()


def check_chinese_users_engage_more(off: Off = None) -> None:
    """Emergent effect: Chinese users engage with more of our content that they consume
    than Western users do (higher dependency, relational motive and collectivism, Zhang
    2025), although our content fits less in China (it is half localised). Both
    markets on the same platform (equal engagement offsets), so that the difference is
    the users'."""
    same_platform = {f"markets__{m}__engagement_offset": 0.0 for m in BOTH}
    model = run(variant(n_users=4000, off=off, **same_platform), 60, seed=4)
    rate = {
        market: rows.engagements.sum() / rows.consumed.sum()
        for market, rows in focal_rows(model).groupby("market")
    }
    # 1.5-2.2 times; without the three mediators about equal.
    assert rate["china"] > 1.25 * rate["western_europe"], rate


def test_chinese_users_engage_more_than_western_users():
    check_chinese_users_engage_more()


# ------------------------------------------------------------------ localisation
# Localisation acts through two channels, each checked alone: with no content
# regulation in China, only through fit (fit_kept); with China as individualist as our
# home market (no cultural distance, so fit keeps all), only through the filter,
# here tightened so that its effect stands well above noise. No guanxi: partners'
# policy support also changes what passes the filter.
LOCALISATION_CHANNELS = {
    "fit": {"markets__china__content_regulation": 0.0},
    "filter": {
        "markets__china__individualism": PRESETS["western_europe"]["individualism"],
        "markets__china__content_regulation": 0.5,
        # Enough followers in China for the posts that pass to show.
        "firms__ours__strategies__china__initial_awareness": 0.3,
        "firms__ours__strategies__china__initial_followers": 0.15,
        "firms__ours__strategies__china__posts_per_day": 10.0,
        "firms__ours__strategies__china__budget": 1e9,
        "users__fatigue_per_post": 0.0,  # so many posts would tire: that is another check
    },
}


def check_localisation_improves_attitude_in_china(channel: str, off: Off = None) -> None:
    """Emergent effect: localised content raises our attitude in China, through content
    fit (unlocalised content loses fit with cultural distance) or through the content
    filter (regulation filters unlocalised foreign posts; our content fits, so more of
    it seen raises attitude)."""
    own = {"guanxi__enabled": False, **LOCALISATION_CHANNELS[channel]}
    standard, local = paired(
        china_attitude,
        variant("china_entry", off=off, **own, firms__ours__strategies__china__localisation=0.0),
        variant("china_entry", off=off, **own, firms__ours__strategies__china__localisation=1.0),
        steps=60,
    )
    assert (local > standard).all(), (standard, local)


@pytest.mark.parametrize("channel", sorted(LOCALISATION_CHANNELS))
def test_localisation_improves_attitude_in_china(channel):
    check_localisation_improves_attitude_in_china(channel)


def check_cultural_distance_costs_fit(off: Off = None) -> None:
    """Emergent effect: the same standardised content does worse in China from a firm at
    home in Western Europe (far) than from one at home in China (no distance). No
    content regulation in China, so being foreign matters only through distance."""
    own = {
        "guanxi__enabled": False,
        "markets__china__content_regulation": 0.0,
        "firms__ours__strategies__china__localisation": 0.0,
    }
    far, near = paired(
        china_attitude,
        variant("china_entry", off=off, **own),
        variant("china_entry", off=off, **own, firms__ours__home_market="china"),
        steps=60,
    )
    assert (near > far).all(), (far, near)


def test_cultural_distance_costs_unlocalised_content_its_fit():
    check_cultural_distance_costs_fit()


# ------------------------------------------------------------------ following
MIXES = {
    "transactional": {
        "informational": 0.5,
        "promotional": 0.5,
        "entertaining": 0.0,
        "relational": 0.0,
    },
    "relational": {
        "informational": 0.0,
        "promotional": 0.0,
        "entertaining": 0.0,
        "relational": 1.0,
    },
}
# Each content type's term of the follow probability on its own: the other one at 0.
OTHER_FOLLOW_TERM = {
    "transactional": "users__follow_per_relational",
    "relational": "users__follow_per_transactional",
}


def check_content_raises_following(kind: str, off: Off = None) -> None:
    """Emergent effect: content of one kind (transactional or relational) wins at least
    twice as many new followers as content of the other, through its own term of the
    follow probability (the other term at 0; Zhang 2025). The follow intercept is
    raised (as in the oracle's busy market) so that a small market sees enough new
    followers; without either term the two mixes win about as many (0.6-1.8 times)."""
    other = "relational" if kind == "transactional" else "transactional"
    own = {
        OTHER_FOLLOW_TERM[kind]: 0.0,
        "users__follow_intercept": -3.5,
        "users__follow_after_purchase": 0.0,  # buyers' follows come from the purchases
    }
    theirs, this = paired(
        lambda m: total(m, "new_followers"),
        variant(off=off, **own, **ours("content_mix", MIXES[other])),
        variant(off=off, **own, **ours("content_mix", MIXES[kind])),
        steps=60,
    )
    assert (this > theirs).all() and this.sum() > 2 * theirs.sum(), (theirs, this)


@pytest.mark.parametrize("kind", sorted(MIXES))
def test_content_raises_following(kind):
    check_content_raises_following(kind)


FLOOD = {
    **ours("posts_per_day", 40.0),
    **ours("budget", 5000.0),
    "firms__ours__cost_per_post": 1.0,
}
# Over-posting fatigue acts on unfollowing and on attitude; each check leaves one on.
FATIGUE_EFFECTS = {"unfollow": "users__fatigue_per_post", "attitude": "users__unfollow_per_fatigue"}


def check_over_posting_fatigue(effect: str, off: Off = None) -> None:
    """Emergent effect: flooding followers with posts (40 a day instead of 2) makes them
    unfollow more (``effect="unfollow"``) or think less of us (``effect="attitude"``),
    through fatigue beyond the threshold of posts seen a day; the other effect at 0.
    Without fatigue more posts seen mean more (fitting) content consumed and more
    followers, which would raise attitude and dilute the unfollow rate."""
    # Promotions and irrelevant posts also annoy per post seen: off, to isolate fatigue.
    own = {
        FATIGUE_EFFECTS[effect]: 0.0,
        "users__unfollow_per_promotion": 0.0,
        "users__unfollow_per_irrelevance": 0.0,
    }
    metric = unfollow_rate if effect == "unfollow" else attitude
    moderate, flood = paired(
        metric,
        variant(off=off, **own, **ours("posts_per_day", 2.0)),
        variant(off=off, **own, **FLOOD),
        steps=40,
    )
    if effect == "unfollow":
        # Unfollows per average follower over the run: 2.0-2.3 against 0.04-0.18;
        # without fatigue 0.04-0.15 in both arms.
        assert (flood > moderate + 1.0).all(), (moderate, flood)
    else:
        assert (flood < moderate).all(), (moderate, flood)


@pytest.mark.parametrize("effect", sorted(FATIGUE_EFFECTS))
def test_over_posting_causes_fatigue(effect):
    check_over_posting_fatigue(effect)


QUIET = {  # no contact with our firm: no posts, ads, shares or partners
    **ours("posts_per_day", 0.0),
    **ours("paid_reach", 0.0),
    "network__share_reach": 0.0,
    "guanxi__enabled": False,
}


def check_unfollow_base_rate(off: Off = None) -> None:
    """Verification: without posts, followers leave at the base rate times retention
    (1 - retention_effect x capability): the unfollows over 60 days are within four
    binomial standard deviations of the expected count, and above zero. Every user
    alike (switching dispersion 0): with dispersed propensities the switchers leave
    first and the stock's rate falls below the base rate (tests/test_markets.py)."""
    spec = variant(
        n_users=3000,
        off=off,
        users__unfollow_base=0.01,
        users__switching_dispersion=0.0,
        users__unfollow_per_negative_attitude=0.0,
        crm__learning_rate=0.0,
        crm__decay=0.0,
        **QUIET,
    )
    model = run(spec, 60)
    rows = focal_rows(model)
    by_day = rows.groupby("step")[["followers", "unfollows"]].sum()
    at_risk = by_day.followers.shift(1).iloc[1:].sum()  # follower-days
    p = spec.users.unfollow_base * (1 - spec.crm.retention_effect * model.focal.crm_capability)
    left = by_day.unfollows.iloc[1:].sum()
    assert left > 0
    assert abs(left - p * at_risk) < 4 * np.sqrt(at_risk * p * (1 - p)), (left, p * at_risk)


def test_followers_leave_at_the_base_rate():
    check_unfollow_base_rate()


# ------------------------------------------------------------------ attitude
def check_attitude_decays_without_contact(off: Off = None) -> None:
    """Verification: without contact, attitudes toward our firm only decay: after 30
    days at 5% a day their absolute sum is 0.95^30 of the start. People in the market
    for the category may still buy the brand: their experience and the opinion they
    express to their ties are switched off (with them on, one purchase in one of the
    seeds' streams moved the sum by 1.7%)."""
    spec = variant(
        n_users=800,
        off=off,
        users__attitude_decay=0.05,
        users__experience_weight=0.0,
        users__social_influence=0.0,
        **QUIET,
    )
    model = MarketModel(spec, rng=1)
    start = np.abs(model.population.attitude[:, model.focal.index]).sum(dtype=np.float64)
    for _ in range(30):
        model.step()
    end = np.abs(model.population.attitude[:, model.focal.index]).sum(dtype=np.float64)
    assert end == pytest.approx(start * 0.95**30, rel=1e-4), (start, end)


def test_attitude_decays_without_contact():
    check_attitude_decays_without_contact()


def check_social_influence(off: Off = None) -> None:
    """Verification (one day's listeners pass): aware listeners move toward the opinion
    their ties express, more in China, where the collectivist weigh it more."""
    model = MarketModel(variant(n_users=2000, off=off, users__social_influence=0.5), rng=1)
    pop, f = model.population, model.focal.index
    pop.aware[:, f] = model.active_nf[:, f]
    pop.attitude[:, f] = 0.0
    speakers = np.flatnonzero(pop.aware[:, f])[::10]
    pop.attitude[speakers, f] = 1.0
    model.expressed = Expressed.of(speakers, np.full(speakers.size, f), model.n_firms)
    heard = model.word_of_mouth.listen(
        model.population, model.expressed, share_chances(model), model.rng
    )
    social_influence(model, heard)
    listeners = np.setdiff1d(np.flatnonzero(pop.aware[:, f]), speakers)
    moved = pop.attitude[listeners, f]
    assert (moved >= 0).all() and (moved > 0).mean() > 0.5
    china, europe = pop.block(0), pop.block(1)
    in_china = listeners[(listeners >= china.start) & (listeners < china.stop)]
    in_europe = listeners[(listeners >= europe.start) & (listeners < europe.stop)]
    # Same opinion heard, but collectivist (relational) users weigh it more.
    assert pop.attitude[in_china, f].mean() > 2 * pop.attitude[in_europe, f].mean() > 0


def test_social_influence_pulls_listeners_toward_expressed_opinions_more_in_china():
    check_social_influence()


# ------------------------------------------------------------------ awareness
WORD_OF_MOUTH = {"silent": (0.0, 0.0), "strong": (0.02, 0.0), "weak": (0.0, 0.02)}


def check_word_of_mouth(off: Off = None) -> None:
    """Emergent effect: awareness of our firm spreads on strong ties alone and on weak
    ties alone; with neither nobody new hears of us (there is no other contact)."""
    aware = {
        arm: np.array(
            [
                run(
                    variant(
                        off=off,
                        **QUIET,
                        network__strong_tie_wom=strong,
                        network__weak_tie_wom=weak,
                    ),
                    25,
                    seed,
                ).focal.aware
                for seed in (1, 2, 3)
            ]
        )
        for arm, (strong, weak) in WORD_OF_MOUTH.items()
    }
    start = np.array([MarketModel(variant(off=off, **QUIET), rng=s).focal.aware for s in (1, 2, 3)])
    assert (aware["silent"] == start).all(), "without word of mouth or contact nobody new hears"
    assert (aware["strong"] > aware["silent"]).all(), aware
    assert (aware["weak"] > aware["silent"]).all(), aware


def test_word_of_mouth_spreads_awareness_on_strong_and_weak_ties():
    check_word_of_mouth()


def check_fully_mixed_word_of_mouth(off: Off = None) -> None:
    """Emergent effect: fully mixed, word of mouth (Bass's q) spreads awareness."""
    quiet = {"network__structure": "fully_mixed", **QUIET}
    none, some = paired(
        lambda m: m.focal.aware,
        variant(off=off, network__mixed_wom=0.0, **quiet),
        variant(off=off, network__mixed_wom=0.3, **quiet),
        steps=20,
    )
    assert (some > 1.5 * none).all(), (none, some)


def test_fully_mixed_word_of_mouth_follows_aware_share():
    check_fully_mixed_word_of_mouth()


# ------------------------------------------------------------------ firms
def check_budget_limits_posts_and_ads(off: Off = None) -> None:
    """Verification: a firm posts and advertises only what its daily budget pays for:
    with no budget neither; with a budget of 2.5 posts, 2 posts a day of 20 planned."""
    broke = run(
        variant(n_users=500, off=off, **ours("budget", 0.0), **ours("paid_reach", 0.01)), 10
    )
    assert total(broke, "posts") == 0
    assert total(broke, "ad_impressions") == 0
    cost = broke.focal.cost_per_post
    capped = run(
        variant(n_users=500, off=off, **ours("budget", 2.5 * cost), **ours("posts_per_day", 20.0)),
        10,
    )
    rows = focal_rows(capped)
    assert (rows[rows.step > 0].posts == 2).all(), rows.posts.tolist()


def test_budget_limits_posts_and_ads():
    check_budget_limits_posts_and_ads()


def check_ads_raise_awareness(off: Off = None) -> None:
    """Emergent effect: ads reach non-followers and make them aware of us."""
    none, ads = paired(
        lambda m: m.focal.aware,
        variant(off=off, firms__ours__strategies__china__paid_reach=0.0),
        variant(
            off=off,
            firms__ours__strategies__china__paid_reach=0.02,
            firms__ours__strategies__china__budget=5000.0,
        ),
        steps=30,
    )
    assert (ads > none).all(), (none, ads)


def test_ads_reach_non_followers_and_raise_awareness():
    check_ads_raise_awareness()


def check_adaptive_imitation(off: Off = None) -> None:
    """Verification: an adaptive firm that performs worse than its peers moves its
    strategy part of the way (its imitation rate) toward one better performer's; the
    best performer keeps its strategy."""
    model = MarketModel(variant(n_users=500, off=off, guanxi__enabled=False), rng=3)
    upstart = firm(model, "china_upstart")
    china = model.market_index["china"]
    table = model.strategy
    fields = ("posts_per_day", "responsiveness")
    before = {name: getattr(table, name)[upstart.index, china] for name in fields}
    model.metrics.performance[:] = 0.9
    model.metrics.performance[upstart.index] = 0.1
    upstart.revise_strategy()
    assert upstart.strategy_revisions == 1
    after = {name: getattr(table, name)[upstart.index, china] for name in fields}
    assert after != before, "the strategy moved"
    rate = upstart.imitation_rate
    peers = [f for f in model.firms if f is not upstart and table.active[f.index, china]]
    matches = [
        p
        for p in peers
        if all(
            np.isclose(after[name], old + rate * (getattr(table, name)[p.index, china] - old))
            for name, old in before.items()
        )
    ]
    assert matches, "moved part of the way toward one better-performing peer"
    # A firm that already performs best keeps its strategy.
    model.metrics.performance[upstart.index] = 1.0
    snapshot = table.posts_per_day.copy()
    upstart.revise_strategy()
    assert np.array_equal(snapshot, table.posts_per_day)


def test_adaptive_firm_imitates_a_better_performer():
    check_adaptive_imitation()


# ------------------------------------------------------------------ bookkeeping
def test_consumers_and_engagers_count_distinct_users_a_day():
    model = MarketModel(small(n_users=3000), rng=4)
    for _ in range(30):
        model.step()
    day = start_day(model)
    touched = day.exposure.touched
    _, consumed, engagements = consume_and_engage(model, day.ledger, touched)
    for flow, per_entry in (("consumers", consumed), ("engagers", engagements)):
        counted = model.flows[FLOWS.index(flow)]
        users = np.zeros_like(counted)
        np.add.at(users, (touched.firm, touched.market), per_entry > 0)
        assert np.array_equal(counted, users), flow
    assert (model.flows[FLOWS.index("consumers")] <= model.flows[FLOWS.index("consumed")]).all()
    assert model.flows[FLOWS.index("engagers")].sum() > 0


def test_flows_are_reported_for_every_firm_market():
    model = run(small(n_users=600), 5)
    frame = model.datacollector.get_table_dataframe("firm_market")
    expected_rows = 6 * int(model.strategy.active.sum())
    assert len(frame) == expected_rows
    assert set(FLOWS) <= set(frame.columns)
    for column in ("engagement_rate", "customer_acquisition_cost", "retention", "share_of_voice"):
        assert column in frame.columns
    last = frame[frame.step == 5]
    for _, rows in last.groupby("market"):
        assert rows.share_of_voice.sum() == pytest.approx(1.0) or rows.impressions.sum() == 0


def test_table_columns_append_the_rows_add_table_row_would():
    from sim.model.reporting import MarketDataCollector

    by_rows = MarketDataCollector(tables={"t": ["a", "b"]})
    by_columns = MarketDataCollector(tables={"t": ["a", "b"]})
    for row in ({"a": 1, "b": 2.5}, {"a": 3, "b": -1.0}):
        by_rows.add_table_row("t", row)
    by_columns.add_table_columns("t", {"b": [2.5, -1.0], "a": [1, 3]})
    pd.testing.assert_frame_equal(
        by_rows.get_table_dataframe("t"), by_columns.get_table_dataframe("t")
    )
    with pytest.raises(ValueError, match="has columns"):
        by_columns.add_table_columns("t", {"a": [1]})
    with pytest.raises(ValueError, match="different lengths"):
        by_columns.add_table_columns("t", {"a": [1], "b": [1.0, 2.0]})
