"""Culture of a market, from Hofstede's individualism index (0-100).

Collectivism (1 - individualism / 100) weighs engagement and others' opinions
(Zhang 2025: relational motives are stronger where collectivism is); the cultural
distance between a firm's home and a market costs unlocalised content its fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.scenario import MarketSection


def collectivism[T](individualism: T) -> T:
    """1 - individualism / 100, 0-1."""
    return 1.0 - individualism / 100.0


def cultural_distance[T](home_individualism: T, market_individualism: T) -> T:
    """|individualism at home - in the market| / 100, 0-1."""
    return abs(home_individualism - market_individualism) / 100


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
