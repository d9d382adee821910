"""Guanxi with memory: pair trust, firm reputation and introductions (sim.model.guanxi).

Behaviour checks on small versions of the ``guanxi_partnerships`` scenario; none
depends on the size of the benefits, only on who gives what to whom.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from sim.model import MarketModel
from tests.conftest import run, small

RIDER = "free_rider"
# Every firm may tie with every other (room for four partners) and ties cost nothing,
# so ties form whenever both sides expect any gain and are cut only as one-sided:
# what happens does not depend on the size of the benefits.
OPEN_TIES = {"guanxi__upkeep_cost": 0.0, "guanxi__max_partners": 4}
# Memory off: any trust suffices, and severing costs neither trust nor reputation.
NO_MEMORY = {
    "guanxi__min_trust": 0.0,
    "guanxi__betrayal_penalty": 0.0,
    "guanxi__reputation_loss": 0.0,
}
# No searches, no upkeep, no evaluation within a test's run: ties exist only where a
# test forms them, and last.
FIXED_TIES = {
    "guanxi__search_interval": 10_000,
    "guanxi__upkeep_cost": 0.0,
    "guanxi__evaluation_window": 10_000,
}


def firm(model: MarketModel, name: str):
    return next(f for f in model.firms if f.name == name)


def rider_ties_formed(model: MarketModel) -> Counter:
    """Ties formed per pair that includes the free rider."""
    return Counter(
        frozenset((e.firm_a, e.firm_b))
        for e in model.guanxi.events
        if e.event == "formed" and RIDER in (e.firm_a, e.firm_b)
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_a_severed_free_rider_is_not_taken_back(seed):
    """The free rider's partners cut it as one-sided (or for no exchange at all) and,
    once cut as one-sided, never tie with it again over 400 days, although the cooldown (90 days) runs out several
    times; with memory switched off the same pairs form and sever again and again (four
    times each in these runs)."""
    with_memory = run(small("guanxi_partnerships", 2000, **OPEN_TIES), 400, seed)
    cut = [
        e
        for e in with_memory.guanxi.events
        if e.event == "severed" and RIDER in (e.firm_a, e.firm_b)
    ]
    # Cut as one-sided (the free rider gave less), or for no exchange at all.
    assert any(f"{RIDER} gave less" in e.reason for e in cut), cut
    assert all(f"{RIDER} gave less" in e.reason or "no exchange" in e.reason for e in cut), cut
    formed = rider_ties_formed(with_memory)
    assert len(formed) >= 2, formed
    # A pair cut because the free rider gave less never forms again (a pair cut for no
    # exchange at all, where nobody free-rode, may).
    for e in cut:
        if f"{RIDER} gave less" in e.reason:
            pair = frozenset((e.firm_a, e.firm_b))
            again = [
                f
                for f in with_memory.guanxi.events
                if f.event == "formed"
                and f.step > e.step
                and frozenset((f.firm_a, f.firm_b)) == pair
            ]
            assert not again, (e, again)
    rider = firm(with_memory, RIDER).index
    # Its name suffers (still, after months of recovery) and so does every cut pair's trust.
    assert with_memory.guanxi.reputation(rider) < 0.9 * with_memory.spec.guanxi.initial_reputation
    for pair in formed:
        partner = firm(with_memory, next(name for name in pair if name != RIDER)).index
        assert with_memory.guanxi.trust(rider, partner) < with_memory.spec.guanxi.min_trust

    forgetful = run(small("guanxi_partnerships", 2000, **OPEN_TIES, **NO_MEMORY), 400, seed)
    cycles = rider_ties_formed(forgetful)
    assert max(cycles.values()) > 2, cycles
    assert sum(cycles.values()) > 2 * sum(formed.values()), (cycles, formed)


def tied_model(a: str, b: str, days: int, seed: int = 3) -> tuple[MarketModel, int, int]:
    """A run with only the tie a - b, from the first day."""
    # Cross-promotion at 0.5 (the default is an occasional mention, 0.05) so that two
    # months of favours are large enough to move trust.
    spec = small("guanxi_partnerships", 1500, guanxi__cross_promotion=0.5, **FIXED_TIES)
    model = MarketModel(spec, rng=seed)
    first, second = firm(model, a), firm(model, b)
    model.guanxi.form(first, second)
    for _ in range(days):
        model.step()
    return model, first.index, second.index


def test_reciprocated_ties_raise_trust_and_one_sided_ties_lower_it():
    """Two reciprocating firms trust each other more after two months of favours (from
    0.5 to 0.55-0.65 in these runs); a tie with the free rider, who returns nothing, loses trust
    (below 0.4); the edge rows report the tie's trust."""
    model, a, b = tied_model("tea_house", "electronics", 60)
    initial = model.spec.guanxi.initial_trust
    assert model.guanxi.trust(a, b) == model.guanxi.trust(b, a)
    assert model.guanxi.trust(a, b) > initial + 0.03
    (row,) = model.guanxi.edge_rows()
    assert row["trust"] == pytest.approx(model.guanxi.trust(a, b))

    one_sided, a, b = tied_model("tea_house", RIDER, 60)
    assert one_sided.guanxi.trust(a, b) < 0.8 * initial  # about 0.19
    # Nobody else dealt with anybody: their trust stays where it started.
    assert one_sided.guanxi.trust(firm(one_sided, "ours").index, a) == pytest.approx(initial)


def test_low_reputation_lowers_the_partner_search_score():
    """Partner search scores reputation: a candidate whose reputation falls from 0.5 to 0
    scores reputation_weight x 0.5 less, and every other candidate's score is unchanged,
    so it is drawn less often."""
    model = MarketModel(small("guanxi_partnerships", 300), rng=1)
    guanxi = model.guanxi
    searcher = firm(model, "tea_house")
    others = [f for f in model.firms if f is not searcher]
    before = guanxi.attractiveness_scores(searcher, others)
    rider = next(i for i, f in enumerate(others) if f.name == RIDER)
    guanxi.reputations[others[rider].index] = 0.0
    after = guanxi.attractiveness_scores(searcher, others)
    drop = model.spec.guanxi.reputation_weight * model.spec.guanxi.initial_reputation
    assert before[rider] - after[rider] == pytest.approx(drop)
    assert drop > 0.5
    keep = [i for i in range(len(others)) if i != rider]
    assert after[keep] == pytest.approx(before[keep])

    def share(scores):
        weights = np.exp(scores - scores.max())
        return weights[rider] / weights.sum()

    assert share(after) < 0.7 * share(before)


def introduction_model(vouched: float, own: float | None = None) -> tuple[MarketModel, int, int]:
    """design_studio, tied to tea_house, searches once; tea_house is tied to electronics
    and trusts it ``vouched``; electronics is the only candidate (the others do not seek
    partners). ``own``: design_studio's own trust in electronics beforehand."""
    spec = small(
        "guanxi_partnerships",
        1500,
        firms__ours__seeks_partners=False,
        firms__free_rider__seeks_partners=False,
        **FIXED_TIES,
    )
    model = MarketModel(spec, rng=4)
    guanxi = model.guanxi
    searcher, introducer, candidate = (
        firm(model, name) for name in ("design_studio", "tea_house", "electronics")
    )
    guanxi.form(searcher, introducer)
    guanxi.form(introducer, candidate)
    i, c = introducer.index, candidate.index
    guanxi.trust_matrix[i, c] = guanxi.trust_matrix[c, i] = vouched
    if own is not None:
        s = searcher.index
        guanxi.trust_matrix[s, c] = guanxi.trust_matrix[c, s] = own
    guanxi.search_partner(searcher)
    return model, searcher.index, c


def test_an_introduced_tie_starts_with_the_introducers_trust():
    """A tie formed through a shared partner starts with that partner's trust in the
    candidate (0.9, not the default 0.5); an introducer who trusts the candidate less
    than the searcher already does leaves the searcher's own trust; the searcher's own
    low trust (a past betrayal) is not overridden: no tie forms."""
    model, s, c = introduction_model(vouched=0.9)
    assert model.guanxi.graph.has_edge(s, c)
    assert model.guanxi.trust(s, c) == pytest.approx(0.9)

    model, s, c = introduction_model(vouched=0.45, own=0.7)
    assert model.guanxi.graph.has_edge(s, c)
    assert model.guanxi.trust(s, c) == pytest.approx(0.7)

    model, s, c = introduction_model(vouched=0.9, own=0.1)
    assert not model.guanxi.graph.has_edge(s, c)
    assert model.guanxi.trust(s, c) == pytest.approx(0.1)


def test_introductions_score_the_introducers_trust():
    """The introduction term is introduction_weight x the introducer's trust in the
    candidate: a trusted introduction (0.9) scores 0.8 x weight more than a doubtful one
    (0.1)."""
    model, _, _ = introduction_model(vouched=0.9)
    guanxi = model.guanxi
    searcher = firm(model, "ours")  # untied: introduced to nobody
    guanxi.form(searcher, firm(model, "tea_house"))
    candidate = firm(model, "electronics")
    i, c = firm(model, "tea_house").index, candidate.index
    scores = {}
    for vouched in (0.9, 0.1):
        guanxi.trust_matrix[i, c] = guanxi.trust_matrix[c, i] = vouched
        scores[vouched] = guanxi.attractiveness_scores(searcher, [candidate])[0]
    weight = model.spec.guanxi.introduction_weight
    assert scores[0.9] - scores[0.1] == pytest.approx(0.8 * weight)


def test_blame_follows_effort_not_the_size_of_favours():
    """A tie cut as one-sided costs the free rider (reciprocity 0) its partner's trust
    (x 0.2) and reputation (0.5 -> 0.25), but a reciprocating firm that gave less only
    because it has less to give loses only the parting penalty (trust x 0.7: a tie that
    did not pay is remembered, less than a betrayal) and keeps its reputation."""
    model = MarketModel(small("guanxi_partnerships", 300, **FIXED_TIES), rng=1)
    guanxi, spec = model.guanxi, model.spec.guanxi
    tea, rider, studio = (firm(model, n) for n in ("tea_house", RIDER, "design_studio"))
    guanxi.form(tea, rider)
    guanxi.form(tea, studio)
    guanxi.sever(tea.index, rider.index, "one-sided", free_rider=rider.index)
    guanxi.sever(tea.index, studio.index, "one-sided", free_rider=studio.index)
    initial = spec.initial_trust
    assert guanxi.trust(tea.index, rider.index) == pytest.approx(
        initial * (1 - spec.betrayal_penalty)
    )
    assert guanxi.reputation(rider.index) == pytest.approx(
        spec.initial_reputation - spec.reputation_loss
    )
    assert guanxi.trust(tea.index, studio.index) == pytest.approx(
        initial * (1 - spec.parting_penalty)
    )
    assert guanxi.trust(tea.index, studio.index) > guanxi.trust(tea.index, rider.index)
    assert guanxi.reputation(studio.index) == spec.initial_reputation
