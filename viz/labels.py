"""Business language for parameters and changes: the one place that words them.

A strategist reads "Our China content: fully localised", not
``firms.ours.strategies.china.localisation = 1.0``. Everything here is derived from
the schema's field information through :mod:`viz.parameters` (itself reading
:mod:`sim.parameters`): the field's label, unit and bounds. This module adds only
the words the schema cannot know: who "we" are (the focal firm), market names as
a reader writes them, the few strategy levers that have a natural phrase, and the
verb phrase of a single change ("Localising content in China") for verdicts.

Pure functions, no Solara: the page, the verdicts, the report and the CSV stamps all
use them, so a change is worded the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sim.parameters import PathError, field_info, iter_parameters
from sim.scenario import FirmSection, GuanxiSection, MarketSection, Scenario
from viz.parameters import Parameter, describe_field

# Nouns of the focal firm's strategy levers: "Our China <noun>: <value>".
STRATEGY_NOUNS = {
    "posts_per_day": "posts",
    "localisation": "content",
    "responsiveness": "replies to comments",
    "shop": "in-platform shop",
    "paid_reach": "paid reach",
    "budget": "budget",
    "initial_awareness": "starting awareness",
    "initial_followers": "starting followers",
    "initial_attitude": "starting attitude",
}
# Phrases of firm-level and guanxi fields, where "<Label>: <value>" reads badly.
FIELD_NOUNS = {
    "guanxi.enabled": "Guanxi ties between firms",
    "seeks_partners": "seeks guanxi partners",
    "local_partner": "chosen local partner",
    "model.n_users": "Simulated users",
    "model.seed": "Seed",
    "model.steps": "Days simulated",
}


def market_name(market: str) -> str:
    """'western_europe' -> 'Western Europe', 'china' -> 'China'."""
    return " ".join(word.capitalize() for word in market.split("_"))


def firm_name(firm: str, focal: str) -> str:
    """'ours' as focal -> 'Our business'; 'euro_rival' -> 'Euro rival'."""
    if firm == focal:
        return "Our business"
    text = firm.replace("_", " ")
    return text[:1].upper() + text[1:]


def parameter_of(path: str) -> Parameter | None:
    """The UI's :class:`~viz.parameters.Parameter` for a dotted path (None: no scalar control)."""
    try:
        info = field_info(path)
    except PathError:
        return None
    return describe_field(path, _field(path), info)


def _field(path: str) -> str:
    """The field part of a path: what follows the table holding it."""
    parts = path.split(".")
    if parts[0] == "firms" and len(parts) > 3 and parts[2] == "strategies":
        return ".".join(parts[4:])
    if parts[0] in ("firms", "markets") and len(parts) > 2:
        return ".".join(parts[2:])
    return ".".join(parts[1:])


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def unit_words(unit: str, currency: str) -> str:
    """A schema unit as read: 'currency/day' -> 'EUR a day', '1/day' -> 'a day'."""
    words = unit.replace("currency", currency)
    if words == "1/day":
        return "a day"
    if words.endswith("/day"):
        return words[: -len("/day")] + " a day"
    return words


def describe_value(path: str, value: Any, currency: str = "EUR") -> str:
    """A value in words with its unit: 'fully localised', '1,500 EUR a day', 'on'."""
    field = _field(path)
    if field == "localisation" and isinstance(value, int | float):
        if value <= 0:
            return "standardised (not localised)"
        if value >= 1:
            return "fully localised"
        return f"{value:.0%} localised"
    if field == "responsiveness" and isinstance(value, int | float):
        return f"answers {value:.0%} of comments"
    if field == "paid_reach" and isinstance(value, int | float):
        return f"ads reach {value:.1%} of non-followers a day"
    if field == "local_partner" and isinstance(value, str):
        # a firm's name; the focal firm's own name cannot be chosen (the schema says so)
        return firm_name(value, "") if value else "none"
    if field.startswith("content_mix.") and isinstance(value, int | float):
        return f"weight {_number(float(value))}"
    if isinstance(value, bool):
        if field in ("shop", "seeks_partners", "adaptive"):
            return "yes" if value else "no"
        return "on" if value else "off"
    if isinstance(value, int | float):
        parameter = parameter_of(path)
        unit = unit_words(parameter.unit, currency) if parameter else ""
        return f"{_number(float(value))} {unit}".strip()
    return str(value).replace("_", " ")


def subject(path: str, focal: str) -> str:
    """What a path is about, as a strategist says it ('Our China content')."""
    parts = path.split(".")
    field = _field(path)
    parameter = parameter_of(path)
    label = parameter.label if parameter else field.replace("_", " ")
    if parts[0] == "firms" and len(parts) > 3 and parts[2] == "strategies":
        market = market_name(parts[3])
        if field.startswith("content_mix."):
            noun = f"{field.split('.', 1)[1]} content"
        else:
            noun = STRATEGY_NOUNS.get(field, label.lower())
        if parts[1] == focal:
            return f"Our {market} {noun}"
        return f"{firm_name(parts[1], focal)}'s {market} {noun}"
    if parts[0] == "firms" and len(parts) > 2:
        noun = FIELD_NOUNS.get(field, label.lower())
        if parts[1] == focal and field == "seeks_partners":
            return "We seek guanxi partners"
        owner = "Our" if parts[1] == focal else f"{firm_name(parts[1], focal)}'s"
        return f"{owner} {noun}"
    if parts[0] == "markets" and len(parts) > 2:
        return f"{market_name(parts[1])} market: {label.lower()}"
    if path in FIELD_NOUNS:
        return FIELD_NOUNS[path]
    if parts[0] == "guanxi":
        return f"Guanxi: {label.lower()}"
    return f"{parts[0].capitalize()}: {label.lower()}"


def describe_change(path: str, value: Any, focal: str, currency: str = "EUR") -> str:
    """One change in plain words: 'Our China content: fully localised'."""
    return f"{subject(path, focal)}: {describe_value(path, value, currency)}"


def describe_changes(
    changes: Mapping[str, Any], focal: str, currency: str = "EUR", none: str = "as the scenario"
) -> str:
    """Several changes in plain words, '; '-separated (``none`` when there are none)."""
    if not changes:
        return none
    return "; ".join(describe_change(p, v, focal, currency) for p, v in changes.items())


def action(path: str, old: Any, new: Any, focal: str, currency: str = "EUR") -> str:
    """The verb phrase of one change, for a verdict: 'Localising content in China'."""
    parts = path.split(".")
    field = _field(path)
    ours = len(parts) > 1 and parts[0] == "firms" and parts[1] == focal
    if ours and len(parts) > 3 and parts[2] == "strategies":
        market = market_name(parts[3])
        if field == "localisation":
            if new >= 1 and old < new:
                return f"Localising content in {market}"
            if new <= 0 and old > new:
                return f"Standardising content in {market}"
        if field == "shop" and isinstance(new, bool):
            return (
                f"Opening an in-platform shop in {market}"
                if new
                else f"Closing the in-platform shop in {market}"
            )
    if path == "guanxi.enabled" and isinstance(new, bool):
        return "Allowing guanxi ties" if new else "Turning guanxi ties off"
    if ours and field == "local_partner" and isinstance(new, str):
        if new:
            return f"Taking {describe_value(path, new)} as our local guanxi partner from day 0"
        return "Having no chosen local partner"
    if ours and field == "seeks_partners" and isinstance(new, bool):
        return "Seeking guanxi partners" if new else "Not seeking guanxi partners"
    if isinstance(new, int | float) and isinstance(old, int | float) and not isinstance(new, bool):
        verb = "Raising" if new > old else "Lowering"
        thing = subject(path, focal)
        thing = thing[:1].lower() + thing[1:]
        return (
            f"{verb} {thing} from {describe_value(path, old, currency)} "
            f"to {describe_value(path, new, currency)}"
        )
    return (
        f"Setting {describe_change(path, new, focal, currency)[:1].lower()}"
        + (describe_change(path, new, focal, currency)[1:])
    )


def assumption_labels(spec: Scenario, changed: Iterable[str] = ()) -> list[str]:
    """The parameters the outcomes rest on that the schema marks as assumptions (its
    help text says "Assumption"), in words and grouped: our firm's, the markets'
    (each market has them), and guanxi's when guanxi is on. Changed ones are left
    out: the strategist chose them."""
    changed = set(changed)
    focal = spec.focal_firm

    def marked(prefix: str, schema: type) -> list[str]:
        return [
            field
            for field, info in iter_parameters(schema)
            if "Assumption" in (info.description or "") and prefix + field not in changed
        ]

    found = [subject(f"firms.{focal}.{field}", focal).lower() for field in marked("", FirmSection)]
    market_fields = marked("", MarketSection)
    if market_fields:
        words = ", ".join(_field_label(MarketSection, field) for field in market_fields)
        found.append(f"in each market: {words}")
    if spec.guanxi.enabled:
        count = len(marked("guanxi.", GuanxiSection))
        if count:
            found.append(f"what guanxi ties bring and cost ({count} guanxi parameters)")
    return found


def _field_label(schema: type, field: str) -> str:
    info = dict(iter_parameters(schema))[field]
    described = describe_field(field, field, info)
    return described.label.lower() if described else field.replace("_", " ")
