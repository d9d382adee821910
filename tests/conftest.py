"""Shared helpers: small, fast versions of the bundled scenarios."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from sim.model import MarketModel
from sim.model.answers import answer_comments
from sim.model.attitude import update_attitudes
from sim.model.engagement import consume_and_engage
from sim.model.exposure import Exposure, expose
from sim.model.ledger import Ledger
from sim.scenario import Scenario, load_scenario


def small(name: str = "baseline", n_users: int = 2000, **overrides) -> Scenario:
    """A bundled scenario with few users; ``overrides`` use dotted keys with '__' for '.'."""
    dotted = {key.replace("__", "."): value for key, value in overrides.items()}
    return load_scenario(name, {"model.n_users": n_users, **dotted})


def run(spec: Scenario, steps: int, seed: int = 1) -> MarketModel:
    model = MarketModel(spec, rng=seed)
    for _ in range(steps):
        model.step()
    return model


def focal_rows(model: MarketModel, market: str | None = None):
    frame = model.datacollector.get_table_dataframe("firm_market")
    rows = frame[frame.firm == model.focal.name]
    return rows if market is None else rows[rows.market == market]


def paired(metric, spec_a: Scenario, spec_b: Scenario, steps: int, seeds=(1, 2, 3)):
    """metric(model) for both variants over the same seeds (common random numbers)."""
    a = np.array([metric(run(spec_a, steps, s)) for s in seeds])
    b = np.array([metric(run(spec_b, steps, s)) for s in seeds])
    return a, b


@pytest.fixture
def baseline_small() -> Scenario:
    return small()


@dataclass
class Day:
    """The phases of one day run up to a point, with the values they handed on."""

    ledger: Ledger
    exposure: Exposure
    fit: np.ndarray | None = None
    consumed: np.ndarray | None = None
    engagements: np.ndarray | None = None
    answered: np.ndarray | None = None
    ignored: np.ndarray | None = None
    excess: np.ndarray | None = None


def start_day(model: MarketModel) -> Day:
    """Open a day: firms act, then exposure (phases 1-2)."""
    model.ledger = ledger = Ledger.open(model.cells)
    model.guanxi.start_day()
    model.firms.shuffle_do("act")
    posts = np.array([firm.posts_today for firm in model.ordered_firms], np.int64)
    ad_reach = np.array([firm.ad_reach_today for firm in model.ordered_firms])
    return Day(ledger, expose(model, ledger, posts, ad_reach))


def run_phases_to_attitude(model: MarketModel) -> Day:
    """Phases 1-5 of a day (through the attitude update)."""
    day = start_day(model)
    touched = day.exposure.touched
    day.fit, day.consumed, day.engagements = consume_and_engage(model, day.ledger, touched)
    day.answered, day.ignored = answer_comments(model, day.ledger, touched, day.engagements)
    day.excess = update_attitudes(
        model, touched, day.fit, day.consumed, day.answered, day.ignored, day.exposure.heard
    )
    return day
