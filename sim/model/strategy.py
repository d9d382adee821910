"""Every firm's strategy per target market, held as (firms x markets) arrays.

The user phases read all firms' plans at once from these arrays; each firm owns
its row. Content mixes are stored as shares over CONTENT_TYPES.

The four content types act differently (uses and gratifications; Zhang 2025's
transactional and relational motives): informational and promotional posts appeal to
transactional motives, relational posts to relational motives, and entertaining posts
half to each (:attr:`StrategyTable.transactional_share`, ``relational_share``);
besides, promotional posts raise purchase intent most and make followers unfollow,
informational posts raise purchase intent, and entertaining posts raise engagement
and shares (:mod:`sim.model.engagement`, :mod:`sim.model.purchase`,
:mod:`sim.model.following`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario import CONTENT_TYPES, Scenario

INFORMATIONAL = CONTENT_TYPES.index("informational")
PROMOTIONAL = CONTENT_TYPES.index("promotional")
ENTERTAINING = CONTENT_TYPES.index("entertaining")
RELATIONAL = CONTENT_TYPES.index("relational")


@dataclass
class StrategyTable:
    active: np.ndarray  # bool (F, M): the firm targets the market
    posts_per_day: np.ndarray  # (F, M)
    content_mix: np.ndarray  # (F, M, 4) shares summing to 1 where active
    responsiveness: np.ndarray  # (F, M) share of comments the firm aims to answer
    localisation: np.ndarray  # (F, M)
    shop: np.ndarray  # bool (F, M)
    paid_reach: np.ndarray  # (F, M) share of non-followers reached by ads per day
    budget: np.ndarray  # (F, M) currency per day

    @classmethod
    def from_scenario(cls, spec: Scenario) -> StrategyTable:
        markets = {m.name: i for i, m in enumerate(spec.markets)}
        shape = (len(spec.firms), len(spec.markets))
        table = cls(
            active=np.zeros(shape, bool),
            posts_per_day=np.zeros(shape),
            content_mix=np.zeros((*shape, len(CONTENT_TYPES))),
            responsiveness=np.zeros(shape),
            localisation=np.zeros(shape),
            shop=np.zeros(shape, bool),
            paid_reach=np.zeros(shape),
            budget=np.zeros(shape),
        )
        for f, firm in enumerate(spec.firms):
            for s in firm.strategies:
                m = markets[s.market]
                table.active[f, m] = True
                table.posts_per_day[f, m] = s.posts_per_day
                table.content_mix[f, m] = s.content_mix.shares()
                table.responsiveness[f, m] = s.responsiveness
                table.localisation[f, m] = s.localisation
                table.shop[f, m] = s.shop
                table.paid_reach[f, m] = s.paid_reach
                table.budget[f, m] = s.budget
        return table

    @property
    def transactional_share(self) -> np.ndarray:
        """(F, M) appeal to transactional motives: informational, promotional, half of
        entertaining."""
        mix = self.content_mix
        return mix[..., INFORMATIONAL] + mix[..., PROMOTIONAL] + 0.5 * mix[..., ENTERTAINING]

    @property
    def relational_share(self) -> np.ndarray:
        """(F, M) appeal to relational motives: relational and half of entertaining."""
        return self.content_mix[..., RELATIONAL] + 0.5 * self.content_mix[..., ENTERTAINING]

    @property
    def informational_share(self) -> np.ndarray:
        return self.content_mix[..., INFORMATIONAL]

    @property
    def promotional_share(self) -> np.ndarray:
        return self.content_mix[..., PROMOTIONAL]

    @property
    def entertaining_share(self) -> np.ndarray:
        return self.content_mix[..., ENTERTAINING]

    def imitate(self, firm: int, reference: int, rate: float, rng: np.random.Generator) -> None:
        """Move ``firm``'s strategy toward ``reference``'s in the markets both target."""
        shared = self.active[firm] & self.active[reference]
        for name in ("posts_per_day", "responsiveness", "localisation", "paid_reach"):
            values = getattr(self, name)
            values[firm, shared] += rate * (values[reference, shared] - values[firm, shared])
        self.content_mix[firm, shared] += rate * (
            self.content_mix[reference, shared] - self.content_mix[firm, shared]
        )
        adopt_shop = shared & self.shop[reference] & ~self.shop[firm]
        self.shop[firm] |= adopt_shop & (rng.random(adopt_shop.size) < rate)
