"""Scenario schema: the one source of truth for every parameter.

A scenario has the tables ``[model]``, ``[users]``, ``[network]``, ``[crm]``,
``[guanxi]``, ``[[markets]]`` and ``[[firms]]`` (each firm with
``[[firms.strategies]]``, one per target market). Every field carries its default,
bounds, unit and help text; the CLI, the UI controls and the docs read them from
here. Where a default is not a published number, its help text says "Assumption".
Sources are the short names of the studies cited in docs/model.md.

* :mod:`sim.schema.sections`: ``[model]``, ``[users]``, ``[network]``, ``[crm]``, ``[guanxi]``;
* :mod:`sim.schema.markets`: ``[[markets]]`` and their presets;
* :mod:`sim.schema.firms`: ``[[firms]]`` and their strategies;
* :class:`Scenario` (here): the whole, with its cross-references.

Reading files is :mod:`sim.scenario`; parameters by dotted path, :mod:`sim.parameters`.
"""

from __future__ import annotations

import tomli_w
from pydantic import Field, model_validator

from sim.schema.firms import ContentMix, FirmSection, StrategySection
from sim.schema.markets import PRESETS, MarketSection
from sim.schema.sections import (
    CONTENT_TYPES,
    CrmSection,
    GuanxiSection,
    ModelSection,
    NetworkSection,
    Section,
    UsersSection,
    param,
    require_unique,
)

__all__ = [
    "CONTENT_TYPES",
    "PRESETS",
    "ContentMix",
    "CrmSection",
    "FirmSection",
    "GuanxiSection",
    "MarketSection",
    "ModelSection",
    "NetworkSection",
    "Scenario",
    "Section",
    "StrategySection",
    "UsersSection",
    "param",
]


# --------------------------------------------------------------------------- scenario
class Scenario(Section):
    """A whole market scenario."""

    model: ModelSection = Field(default_factory=ModelSection)
    users: UsersSection = Field(default_factory=UsersSection)
    network: NetworkSection = Field(default_factory=NetworkSection)
    crm: CrmSection = Field(default_factory=CrmSection)
    guanxi: GuanxiSection = Field(default_factory=GuanxiSection)
    markets: list[MarketSection] = Field(..., min_length=1)
    firms: list[FirmSection] = Field(..., min_length=1)

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        require_unique((m.name for m in self.markets), "markets", "name")
        require_unique((f.name for f in self.firms), "firms", "name")
        markets = [m.name for m in self.markets]
        for firm in self.firms:
            if firm.home_market not in markets:
                raise ValueError(
                    f"firms.{firm.name}.home_market: '{firm.home_market}' is not a market; "
                    f"allowed: {', '.join(markets)}"
                )
            for strategy in firm.strategies:
                if strategy.market not in markets:
                    raise ValueError(
                        f"firms.{firm.name}.strategies.market: '{strategy.market}' is not a "
                        f"market; allowed: {', '.join(markets)}"
                    )
        by_name = {f.name: f for f in self.firms}
        for firm in self.firms:
            chosen = firm.local_partner
            if not chosen:
                continue
            where = f"firms.{firm.name}.local_partner"
            if chosen == firm.name:
                raise ValueError(f"{where}: '{chosen}' is the firm itself; choose another firm")
            if chosen not in by_name:
                raise ValueError(
                    f"{where}: '{chosen}' is not a firm; allowed: "
                    f"{', '.join(n for n in by_name if n != firm.name)}"
                )
            targets = [s.market for s in firm.strategies]
            if by_name[chosen].home_market not in targets:
                raise ValueError(
                    f"{where}: '{chosen}' is from {by_name[chosen].home_market}, not a market "
                    f"{firm.name} targets ({', '.join(targets)}); a local partner is at home "
                    "in one of them"
                )
        if self.model.focal_firm and self.model.focal_firm not in [f.name for f in self.firms]:
            raise ValueError(
                f"model.focal_firm: '{self.model.focal_firm}' is not a firm; allowed: "
                f"{', '.join(f.name for f in self.firms)}"
            )
        return self

    @property
    def focal_firm(self) -> str:
        return self.model.focal_firm or self.firms[0].name

    def to_toml(self) -> str:
        """The fully resolved scenario as TOML text that :func:`load_scenario` reads back."""
        return tomli_w.dumps(self.model_dump(mode="json"))
