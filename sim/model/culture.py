"""The cultural facts of a market model (:mod:`sim.schema.culture` has the equations)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.schema.culture import collectivism, cultural_distance

if TYPE_CHECKING:
    from sim.scenario import MarketSection


@dataclass(frozen=True)
class Culture:
    """The cultural facts of a market model, fixed for a run."""

    collectivism: np.ndarray  # (M,)
    cultural_distance: np.ndarray  # (F, M): between each firm's home and each market
    foreign: np.ndarray  # (F, M) bool: the market is not the firm's home

    @classmethod
    def of(cls, markets: Sequence[MarketSection], home_market: np.ndarray) -> Culture:
        individualism = np.array([m.individualism for m in markets])
        return cls(
            collectivism=np.array([collectivism(m.individualism) for m in markets]),
            cultural_distance=cultural_distance(
                individualism[home_market][:, None], individualism[None, :]
            ),
            foreign=home_market[:, None] != np.arange(len(markets))[None, :],
        )
