"""A chosen local partner (``firms[].local_partner``): validated in one line, a guanxi
tie from day 0 when set, and nothing at all when empty (the default)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.model import MarketModel
from sim.runner import model_frame, run_model
from sim.scenario import ScenarioError, bundled_scenarios, read_scenario_file, scenario_from_data

RAW = read_scenario_file(bundled_scenarios()["baseline"])
PATH = "firms.ours.local_partner"


def spec(**overrides):
    return scenario_from_data(RAW, "baseline", {"model.n_users": 600, **overrides})


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (PATH, "nobody", "firms.ours.local_partner: 'nobody' is not a firm; allowed: euro_rival"),
        (PATH, "ours", "firms.ours.local_partner: 'ours' is the firm itself"),
        (
            "firms.euro_rival.local_partner",
            "china_leader",
            "'china_leader' is from china, not a market euro_rival targets (western_europe)",
        ),
    ],
)
def test_unknown_self_or_foreign_partners_are_refused_in_one_line(path, value, message):
    with pytest.raises(ScenarioError) as info:
        spec(**{path: value})
    assert message in str(info.value) and "\n" not in str(info.value)


def test_no_partner_by_default_and_no_tie_on_day_0():
    plain = spec()
    assert all(firm.local_partner == "" for firm in plain.firms)
    assert MarketModel(plain, rng=1).guanxi.graph.number_of_edges() == 0
    assert 'local_partner = ""' in plain.to_toml()  # reads back


def test_a_chosen_partner_is_tied_on_day_0_and_changes_the_run():
    chosen = spec(**{PATH: "china_leader"})
    model = MarketModel(chosen, rng=1)
    ours, leader = model.focal.index, next(f.index for f in model.firms if f.name == "china_leader")
    assert model.guanxi.graph.has_edge(ours, leader)
    assert model.guanxi.graph.edges[ours, leader]["formed_at"] == 0
    assert [(e.step, e.event) for e in model.guanxi.events] == [(0, "formed")]

    with_partner = model_frame(run_model(chosen, 20, 1))
    without = model_frame(run_model(spec(), 20, 1))
    assert with_partner.ties.iloc[0] == 1 and without.ties.iloc[0] == 0
    assert (with_partner.ties >= 1).all()  # kept through the first evaluation window
    # The tie acts: what our business earns differs from the run without it.
    assert not np.array_equal(with_partner.focal_revenue, without.focal_revenue)


def test_no_tie_with_guanxi_off():
    off = spec(**{PATH: "china_leader", "guanxi.enabled": False})
    assert MarketModel(off, rng=1).guanxi.graph.number_of_edges() == 0


def test_the_chosen_partner_shows_our_posts_to_its_followers_from_the_first_days():
    """The tie's favours flow from day 1: with no searches and no evaluation (so no
    other tie forms and this one lasts), the partner cross-promotes our China posts
    to its followers; without a partner nobody does."""
    fixed = {
        "guanxi.search_interval": 10_000,
        "guanxi.evaluation_window": 10_000,
        "model.n_users": 2_000,
    }

    def cross_promotion(**partner) -> float:
        model = run_model(spec(**fixed, **partner), 20, 1)
        frame = model.datacollector.get_table_dataframe("firm_market")
        ours = frame[(frame.firm == "ours") & (frame.market == "china")]
        return float(ours.cross_promotion_impressions.sum())

    assert cross_promotion(**{PATH: "china_leader"}) > 0
    assert cross_promotion() == 0
