"""Scenario parameters as the UI shows them, generated from the schema in :mod:`sim.scenario`.

Every control's label, help text, kind, unit and bounds come from the schema's
fields, read through :mod:`sim.parameters` (:func:`~sim.parameters.iter_parameters`,
:func:`~sim.parameters.field_kind`, :func:`~sim.parameters.field_bounds`,
:func:`~sim.parameters.field_unit` and the field descriptions), and values are read
by :func:`~sim.parameters.get_value`. This module only chooses which parameters are
*key* (shown first) and how to address them: by the same dotted override paths as
``guanxi run --set`` (lists of tables by their name key, e.g.
``firms.ours.strategies.china.responsiveness``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import tomli_w
from pydantic import BaseModel

from sim.parameters import (
    Kind,
    PathError,
    field_bounds,
    field_kind,
    field_unit,
    get_value,
    iter_parameters,
)
from sim.scenario import (
    FirmSection,
    GuanxiSection,
    MarketSection,
    ModelSection,
    Scenario,
    StrategySection,
)

# The focal firm's strategy in each market: what a strategist decides.
KEY_STRATEGY = (
    "posts_per_day",
    "content_mix.informational",
    "content_mix.promotional",
    "content_mix.entertaining",
    "content_mix.relational",
    "responsiveness",
    "localisation",
    "shop",
    "paid_reach",
    "budget",
)
KEY_FIRM = (
    "product_quality",
    "price",
    "initial_crm_capability",
    "response_capacity",
    "seeks_partners",
    "reciprocity",
)
KEY_MARKET = (
    "dependency_mean",
    "relational_motive_mean",
    "transactional_motive_mean",
    "individualism",
    "power_distance",
    "population",
    "shop_seamlessness",
    "organic_reach",
    "content_regulation",
    "institutional_weight",
)
KEY_GUANXI = (
    "enabled",
    "max_partners",
    "cross_promotion",
    "knowledge_spillover",
    "referral_rate",
    "policy_support",
    "crm_acceleration",
    "upkeep_cost",
    "decay_rate",
    "max_imbalance",
)
# Top-level tables listed under "All parameters" (markets and firms have their own panels).
GLOBAL_TABLES = ("model", "users", "network", "crm", "guanxi")
# Set elsewhere in the page (seed, focal firm) or not a model parameter (name, description,
# and the currency: the name the money figures are shown in).
NOT_A_CONTROL = {
    "model.name",
    "model.description",
    "model.seed",
    "model.focal_firm",
    "model.currency",
}

# Where a schema bound is a technical limit far above sensible values, the slider
# spans a narrower range (values outside it are typed instead; the schema still
# validates every value). Content weights are relative: only their ratios matter.
SLIDER_RANGE: dict[str, tuple[float, float]] = {
    "content_mix.informational": (0.0, 1.0),
    "content_mix.promotional": (0.0, 1.0),
    "content_mix.entertaining": (0.0, 1.0),
    "content_mix.relational": (0.0, 1.0),
}
MAX_SLIDER_POSITIONS = 500
# The browser UI steps the model in the server's memory; larger populations belong
# to `guanxi run` and sweeps. Uploaded files cannot ask for more, and the N users
# control says so (its upper bound is this, not the schema's).
MAX_UI_USERS = 200_000
UI_LIMITS: dict[str, tuple[float, str]] = {
    "model.n_users": (
        MAX_UI_USERS,
        f" The browser UI runs at most {MAX_UI_USERS:,} users; use `guanxi run` for more.",
    ),
}


@dataclass(frozen=True)
class Parameter:
    """One scenario parameter: where it lives, what it means and what it may be."""

    path: str  # dotted override path, e.g. firms.ours.strategies.china.posts_per_day
    field: str  # path inside its table, e.g. content_mix.informational
    label: str  # e.g. "Posts per day"
    help: str  # the schema's description
    unit: str
    kind: Kind
    lower: float | None = None
    upper: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def slider(self) -> tuple[float, float, float] | None:
        """(min, max, step) when a slider fits this parameter, else None (typed input)."""
        if self.kind not in ("float", "int"):
            return None
        low, high = SLIDER_RANGE.get(self.field, (self.lower, self.upper))
        if low is None or high is None or not high > low:
            return None
        if self.kind == "int":
            return (low, high, 1) if high - low <= MAX_SLIDER_POSITIONS else None
        if high - low > MAX_SLIDER_POSITIONS:
            return None
        step = 10.0 ** math.floor(math.log10((high - low) / MAX_SLIDER_POSITIONS))
        return float(low), float(high), step

    def fits_slider(self, value: Any) -> bool:
        """Whether ``value`` can be shown on the slider without rounding it away."""
        slider = self.slider
        if slider is None or isinstance(value, bool) or not isinstance(value, int | float):
            return False
        low, high, step = slider
        on_grid = abs(value / step - round(value / step)) < 1e-6
        return low <= value <= high and on_grid

    def describe_bounds(self) -> str:
        """Allowed values in words, e.g. '0 to 50 posts/day'."""
        if self.kind == "bool":
            return "on or off"
        if self.kind == "choice":
            return ", ".join(self.choices)
        low = "-inf" if self.lower is None else f"{self.lower:g}"
        high = "inf" if self.upper is None else f"{self.upper:g}"
        return f"{low} to {high}" + (f" {self.unit}" if self.unit else "")


def humanise(field: str) -> str:
    """'content_mix.relational' -> 'Content mix: relational'; 'posts_per_day' -> 'Posts per day'."""
    parts = field.split(".")
    words = [part.replace("_", " ") for part in parts]
    text = ": ".join(words)
    return text[:1].upper() + text[1:]


def describe_field(path: str, field: str, info: Any) -> Parameter | None:
    """A :class:`Parameter` from a schema field, or None when it is not a scalar control."""
    kind, options = field_kind(info)
    if kind is None or (kind == "choice" and not options):  # a table, or free text
        return None
    if kind == "choice":
        return Parameter(
            path=path,
            field=field,
            label=humanise(field),
            help=info.description or "",
            unit="",
            kind="choice",
            choices=tuple(str(choice) for choice in options),
        )
    lower, upper = field_bounds(info)
    return Parameter(
        path=path,
        field=field,
        label=humanise(field),
        help=info.description or "",
        unit=field_unit(info),
        kind=kind,
        lower=None if lower is None else float(lower),
        upper=None if upper is None else float(upper),
    )


def ui_limited(parameter: Parameter) -> Parameter:
    """The parameter with the UI's own limit (:data:`UI_LIMITS`) as its bound and help."""
    if parameter.path not in UI_LIMITS:
        return parameter
    upper, note = UI_LIMITS[parameter.path]
    bound = upper if parameter.upper is None else min(parameter.upper, upper)
    return replace(parameter, upper=float(bound), help=parameter.help + note)


def table_parameters(
    schema: type[BaseModel], prefix: str, fields: Sequence[str] | None = None
) -> list[Parameter]:
    """Controls for the scalar fields of one table (all, or ``fields`` in that order)."""
    available = {}
    for field, info in iter_parameters(schema):
        described = describe_field(f"{prefix}{field}", field, info)
        if described is not None and described.path not in NOT_A_CONTROL:
            available[field] = ui_limited(described)
    if fields is None:
        return list(available.values())
    return [available[field] for field in fields if field in available]


def other_parameters(all_parameters: Iterable[Parameter], key: Sequence[str]) -> list[Parameter]:
    """The parameters of a table that are not among its key ones."""
    return [p for p in all_parameters if p.field not in key]


def strategy_parameters(firm: str, market: str, key_only: bool = True) -> list[Parameter]:
    """The strategy of ``firm`` in ``market`` (its key levers, or all of it)."""
    prefix = f"firms.{firm}.strategies.{market}."
    every = [p for p in table_parameters(StrategySection, prefix) if p.field != "market"]
    return [p for p in every if p.field in KEY_STRATEGY] if key_only else every


def firm_parameters(firm: str) -> list[Parameter]:
    """Firm-level parameters (economics, CRM, guanxi behaviour) of ``firm``."""
    return [p for p in table_parameters(FirmSection, f"firms.{firm}.") if p.field not in ("name",)]


def market_parameters(market: str) -> list[Parameter]:
    """Every parameter of one market, key ones first."""
    every = table_parameters(MarketSection, f"markets.{market}.")
    every = [p for p in every if p.field not in ("name",)]
    key = [p for p in every if p.field in KEY_MARKET]
    key.sort(key=lambda p: KEY_MARKET.index(p.field))
    return key + other_parameters(every, KEY_MARKET)


def guanxi_parameters() -> list[Parameter]:
    """Every guanxi parameter, key ones first."""
    every = table_parameters(GuanxiSection, "guanxi.")
    key = table_parameters(GuanxiSection, "guanxi.", KEY_GUANXI)
    return key + other_parameters(every, KEY_GUANXI)


def global_parameters(table: str) -> list[Parameter]:
    """Every scalar parameter of a top-level table (model, users, network, crm, guanxi)."""
    schema = Scenario.model_fields[table].annotation
    return table_parameters(schema, f"{table}.")


def n_users_parameter() -> Parameter:
    """The population size control."""
    return table_parameters(ModelSection, "model.", ["n_users"])[0]


def scenario_value(spec: Scenario, path: str) -> Any:
    """The value at a dotted override path (items of lists by their name key).

    Raises KeyError when the scenario has no such parameter (e.g. a market it lacks).
    """
    try:
        return get_value(spec, path)
    except PathError as exc:
        raise KeyError(str(exc)) from None


def assignment(path: str, value: Any) -> str:
    """``path = value`` as ``guanxi run --set`` takes it (the value in TOML syntax)."""
    return f"{path} = {tomli_w.dumps({'v': value})[4:].strip()}"


def coerce(parameter: Parameter, value: Any) -> Any:
    """A control's raw value in the parameter's type (sliders send floats for ints)."""
    if parameter.kind == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    if parameter.kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
