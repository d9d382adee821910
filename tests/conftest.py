"""Shared helpers: small, fast versions of the bundled scenarios."""

from __future__ import annotations

import numpy as np
import pytest

from sim.model import MarketModel
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
