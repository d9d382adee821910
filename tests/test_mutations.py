"""Meta-tests: every mechanism's check in tests/test_model.py fails without its mechanism.

A check that still passes with its mechanism removed proves nothing about that
mechanism: it passes on another mechanism's effect, or by chance. Each case here
removes one mechanism and runs the check unchanged, requiring an AssertionError
(as the reference oracle's meta-test does for the oracle, in
tests/test_reference_oracle.py). A mechanism is removed either through its scenario
parameter (``off``: set to 0 over the check's own settings) or by monkeypatching its
equation in the module that uses it (``patch``), which removes it even where a check
sets the parameter itself. Numba kernels cannot be patched; their mechanisms go
through parameters, or through the Python function that calls them.

Any other exception than AssertionError (a patch that breaks the model) errors the test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

from sim.model import attitude, crm, engagement, exposure, following, guanxi, kernels, purchase
from sim.model import model as model_module
from sim.model.attitude import after_the_day, influence_weight
from sim.model.benefits import (
    cross_promotion_chance,
    filtered_share,
    policy_support,
    referral_probability,
)
from sim.model.crm import knowledge_boost
from sim.model.engagement import fit_kept
from sim.model.firms import Firm
from sim.model.guanxi import GuanxiNetwork
from sim.model.purchase import checkout_rate
from tests import test_model as checks


# ---------------------------------------------------------------------- the mutants
# Each keeps the signature of the function it replaces and calls the original (bound
# at import, before any patch) with the removed term zeroed.
def after_the_day_without_answers(attitude_, fit, consumed, answered, ignored, excess, users):
    return after_the_day(attitude_, fit, consumed, 0 * answered, 0 * ignored, excess, users)


def filter_ignoring_localisation(foreign, regulation, localisation):
    return filtered_share(foreign, regulation, 0.0 * localisation)


def fit_ignoring_localisation(cultural_distance, localisation):
    return fit_kept(cultural_distance, 0.0 * localisation)


def fit_ignoring_cultural_distance(cultural_distance, localisation):
    return fit_kept(0.0 * cultural_distance, localisation)


def checkout_ignoring_shop(users, shop, seamlessness):
    return checkout_rate(users, np.zeros_like(shop), seamlessness)


def checkout_ignoring_seamlessness(users, shop, seamlessness):
    return checkout_rate(users, shop, np.ones_like(seamlessness))


def influence_ignoring_collectivism(social_influence, collectivism):
    return influence_weight(social_influence, np.ones_like(collectivism))


def attention_ignoring_dependency(attention_base, dependency):
    return np.ones_like(dependency)


def no_cross_promotion(cross_promotion, weight, pass_share, posts):
    return 0.0 * cross_promotion_chance(cross_promotion, weight, pass_share, posts)


def no_referrals(referral_rate, weight):
    return 0.0 * referral_probability(referral_rate, weight)


def no_policy_support(support, weight, institutional_weight):
    return 0.0 * policy_support(support, weight, institutional_weight)


def no_knowledge(spillover, strength, reciprocity, gap):
    return 0.0 * knowledge_boost(spillover, strength, reciprocity, gap)


def nothing_decays(attitude_decay):
    return 1.0


def no_guanxi_level(self, firm):
    return 0.0


def no_evaluation(self):
    return None


def everyone_expects_to_gain(model, receiver, giver):
    return float("inf")


def nobody_unfollows(model, touched, excess, followers):
    return np.empty(0, np.int64)


def nobody_sees_ads(reach, market_bounds, following_by_firm, rng):
    return np.empty(0, np.int64)


_plan_day = Firm.plan_day


def plan_day_ignoring_budget(self):
    """Plan as if the budget were unlimited (the budget table restored afterwards)."""
    budget = self.model.strategy.budget
    kept = budget[self.index].copy()
    budget[self.index] = 1e12
    try:
        _plan_day(self)
    finally:
        budget[self.index] = kept


# ---------------------------------------------------------------------- the cases
@dataclass(frozen=True)
class Mutation:
    mechanism: str
    check: Callable[..., None]
    args: tuple = ()
    off: dict = field(default_factory=dict)
    patch: tuple[object, str, Callable] | None = None  # (module or class, name, mutant)

    @property
    def id(self) -> str:
        return self.mechanism.replace(" ", "_")


MUTATIONS = [
    # Answers.
    Mutation(
        "no answered-comment gain",
        checks.check_answers_move_attitude,
        ("answered",),
        off={"users__response_effect": 0.0},
    ),
    Mutation(
        "no ignored-comment loss",
        checks.check_answers_move_attitude,
        ("ignored",),
        off={"users__ignored_effect": 0.0},
    ),
    Mutation(
        "answer term dropped from attitude",
        checks.check_answers_move_attitude,
        ("answered",),
        patch=(attitude, "after_the_day", after_the_day_without_answers),
    ),
    # CRM capability: learning, decay and its four effects.
    Mutation(
        "answers not counted in CRM learning",
        checks.check_answering_builds_crm_capability,
        off={"crm__answer_weight": 0.0},
    ),
    Mutation(
        "no CRM learning",
        checks.check_answering_builds_crm_capability,
        off={"crm__learning_rate": 0.0},
    ),
    Mutation(
        "no CRM decay", checks.check_crm_capability_decays_without_use, off={"crm__decay": 0.0}
    ),
    *(
        Mutation(
            f"no CRM {effect.removesuffix('_effect')} effect",
            checks.check_crm_capability_effect,
            (effect,),
            off={f"crm__{effect}": 0.0},
        )
        for effect in checks.CRM_EFFECTS
    ),
    # Guanxi and CRM.
    Mutation(
        "no guanxi acceleration",
        checks.check_guanxi_accelerates_crm_learning,
        patch=(GuanxiNetwork, "level", no_guanxi_level),
    ),
    Mutation(
        "no knowledge spill-over",
        checks.check_knowledge_spillover,
        patch=(crm, "knowledge_boost", no_knowledge),
    ),
    Mutation(
        "no knowledge spill-over in one update",
        checks.check_knowledge_absorbed_through_use,
        patch=(crm, "knowledge_boost", no_knowledge),
    ),
    Mutation(
        "guanxi without CRM benefits",
        checks.check_guanxi_speeds_crm,
        off={"guanxi__crm_acceleration": 0.0, "guanxi__knowledge_spillover": 0.0},
    ),
    # Guanxi favours and ties.
    Mutation(
        "no cross-promotion",
        checks.check_cross_promotion,
        patch=(exposure, "cross_promotion_chance", no_cross_promotion),
    ),
    Mutation(
        "guanxi on without cross-promotion",
        checks.check_guanxi_switch,
        patch=(exposure, "cross_promotion_chance", no_cross_promotion),
    ),
    Mutation(
        "no referrals",
        checks.check_referrals,
        patch=(exposure, "referral_probability", no_referrals),
    ),
    Mutation(
        "no policy support",
        checks.check_policy_support,
        patch=(exposure, "policy_support", no_policy_support),
    ),
    Mutation(
        "no tie severing",
        checks.check_one_sided_tie_is_severed,
        patch=(GuanxiNetwork, "evaluate", no_evaluation),
    ),
    Mutation(
        "ties formed without expected benefit",
        checks.check_ties_form_only_when_both_expect_to_gain,
        patch=(guanxi, "expected_benefit", everyone_expects_to_gain),
    ),
    # Purchase.
    Mutation(
        "shop checkout as redirect",
        checks.check_in_platform_shop_raises_conversion,
        patch=(purchase, "checkout_rate", checkout_ignoring_shop),
    ),
    Mutation(
        "shop ignores seamlessness",
        checks.check_shop_pays_more_where_seamless,
        patch=(purchase, "checkout_rate", checkout_ignoring_seamlessness),
    ),
    # Engagement.
    Mutation(
        "no SNS dependency effects",
        checks.check_dependency_raises_engagement,
        off={
            "users__consume_per_dependency": 0.0,
            "users__engage_per_dependency": 0.0,
            "users__follow_per_dependency": 0.0,
        },
        patch=(model_module, "attention", attention_ignoring_dependency),
    ),
    Mutation(
        "no cultural mediators of engagement",
        checks.check_chinese_users_engage_more,
        off={
            "users__engage_per_dependency": 0.0,
            "users__engage_per_relational_motive": 0.0,
            "users__engage_per_collectivism": 0.0,
        },
    ),
    # Localisation and cultural distance.
    Mutation(
        "content filter ignores localisation",
        checks.check_localisation_improves_attitude_in_china,
        ("filter",),
        patch=(exposure, "filtered_share", filter_ignoring_localisation),
    ),
    Mutation(
        "fit ignores localisation",
        checks.check_localisation_improves_attitude_in_china,
        ("fit",),
        patch=(engagement, "fit_kept", fit_ignoring_localisation),
    ),
    Mutation(
        "fit ignores cultural distance",
        checks.check_cultural_distance_costs_fit,
        patch=(engagement, "fit_kept", fit_ignoring_cultural_distance),
    ),
    # Following.
    Mutation(
        "no transactional follow term",
        checks.check_content_raises_following,
        ("transactional",),
        off={"users__follow_per_transactional": 0.0},
    ),
    Mutation(
        "no relational follow term",
        checks.check_content_raises_following,
        ("relational",),
        off={"users__follow_per_relational": 0.0},
    ),
    Mutation(
        "no fatigue unfollowing",
        checks.check_over_posting_fatigue,
        ("unfollow",),
        off={"users__unfollow_per_fatigue": 0.0},
    ),
    Mutation(
        "no fatigue on attitude",
        checks.check_over_posting_fatigue,
        ("attitude",),
        off={"users__fatigue_per_post": 0.0},
    ),
    Mutation(
        "nobody unfollows",
        checks.check_unfollow_base_rate,
        patch=(following, "unfollows", nobody_unfollows),
    ),
    # Attitude.
    Mutation(
        "no attitude decay",
        checks.check_attitude_decays_without_contact,
        patch=(attitude, "kept_after_decay", nothing_decays),
    ),
    Mutation(
        "no social influence",
        checks.check_social_influence,
        off={"users__social_influence": 0.0},
    ),
    Mutation(
        "social influence ignores collectivism",
        checks.check_social_influence,
        patch=(attitude, "influence_weight", influence_ignoring_collectivism),
    ),
    # Awareness.
    Mutation(
        "no strong-tie word of mouth",
        checks.check_word_of_mouth,
        off={"network__strong_tie_wom": 0.0},
    ),
    Mutation(
        "no weak-tie word of mouth",
        checks.check_word_of_mouth,
        off={"network__weak_tie_wom": 0.0},
    ),
    Mutation(
        "no fully mixed word of mouth",
        checks.check_fully_mixed_word_of_mouth,
        off={"network__mixed_wom": 0.0},
    ),
    # Firms.
    Mutation(
        "no budget limit",
        checks.check_budget_limits_posts_and_ads,
        patch=(Firm, "plan_day", plan_day_ignoring_budget),
    ),
    Mutation(
        "no ads",
        checks.check_ads_raise_awareness,
        patch=(kernels, "ad_reach", nobody_sees_ads),
    ),
    Mutation(
        "no imitation",
        checks.check_adaptive_imitation,
        off={"firms__china_upstart__imitation_rate": 0.0},
    ),
]


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.id for m in MUTATIONS])
def test_check_fails_without_its_mechanism(mutation: Mutation, monkeypatch):
    if mutation.patch is not None:
        target, name, mutant = mutation.patch
        monkeypatch.setattr(target, name, mutant)
    with pytest.raises(AssertionError):
        mutation.check(*mutation.args, off=mutation.off)


# The checks that take a variant (one term or channel of a mechanism), and their variants.
VARIANTS = {
    "check_answers_move_attitude": checks.OTHER_ANSWER_TERM,
    "check_crm_capability_effect": checks.CRM_EFFECTS,
    "check_localisation_improves_attitude_in_china": checks.LOCALISATION_CHANNELS,
    "check_content_raises_following": checks.MIXES,
    "check_over_posting_fatigue": checks.FATIGUE_EFFECTS,
}


def test_every_mechanism_check_has_a_mutation():
    """Every check in tests/test_model.py, and each of its variants, is run mutated here."""
    names = {name for name in vars(checks) if name.startswith("check_")}
    expected = {(name, variant) for name in names for variant in VARIANTS.get(name, [None])}
    mutated = {(m.check.__name__, m.args[0] if m.args else None) for m in MUTATIONS}
    assert expected == mutated, expected ^ mutated
