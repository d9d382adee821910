"""The plain-language verdict of a comparison, and the caveats that go with it.

"Localising content in China raises attitude by 0.16 (0.15 to 0.18) and profit by
970 (250 to 1,690) EUR over the year; it does not change conversions detectably."

:func:`verdict_text` is a pure function of what was changed and the paired B - A
estimates (:class:`sim.stats.Estimate`, 95% t intervals): an outcome is said to
change only when its interval excludes 0, and the interval is always given.
:func:`caveats` lists what the reader must keep in mind (horizon, how many people a
simulated user stands for, replications, what is an assumption).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sim.stats import Estimate
from viz.labels import action, describe_changes

# Outcomes a verdict speaks of, in this order: key -> (noun, kind).
VERDICT_OUTCOMES: dict[str, tuple[str, str]] = {
    "attitude": ("attitude", "attitude"),
    "profit": ("profit", "money"),
    "conversions_people": ("conversions", "people"),
    "followers_people": ("followers", "people"),
}


def attitude_decimals(estimate: Estimate) -> int:
    """Two decimals, or as many as it takes for the interval's ends to differ."""
    half = (estimate.high - estimate.low) / 2
    if not half > 0 or not math.isfinite(half):
        return 2
    return max(2, -math.floor(math.log10(half)))


def format_amount(value: float, kind: str, decimals: int | None = None) -> str:
    """Attitude with two decimals (or ``decimals``); people and money as whole
    numbers with separators."""
    if value != value:
        return "n/a"
    if kind == "attitude":
        return f"{value:.{2 if decimals is None else decimals}f}"
    if abs(value) >= 10:
        return f"{value:,.0f}"
    return f"{value:.2g}"


def horizon_words(days: int) -> str:
    return "over the year" if days == 365 else f"over {days:,} days"


def change_subject(
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    base: Mapping[str, Any],
    focal: str,
    currency: str,
) -> str:
    """Who does what: one change of B on the scenario as a verb phrase; else B vs A."""
    if dict(a) == dict(b):
        return "The same strategy as A and B (nothing changed between them)"
    if not a and len(b) == 1:
        ((path, new),) = b.items()
        return action(path, base.get(path), new, focal, currency)
    if not b and len(a) == 1:
        ((path, new),) = a.items()
        # B is the scenario as set: the change is A's, undone.
        return action(path, new, base.get(path), focal, currency)
    return (
        f"B ({describe_changes(b, focal, currency)}) compared with "
        f"A ({describe_changes(a, focal, currency)})"
    )


def verdict_text(
    subject: str,
    differences: Mapping[str, Estimate],
    currency: str,
    days: int,
    outcomes: Sequence[str] = tuple(VERDICT_OUTCOMES),
) -> str:
    """One sentence: what B - A does to each outcome, with its 95% interval.

    ``differences`` maps outcome keys (of :data:`VERDICT_OUTCOMES`) to the paired
    B - A estimate at the end of the run. Money is cumulative over ``days``.
    """
    moved, unchanged = [], []
    for key in outcomes:
        if key not in differences:
            continue
        noun, kind = VERDICT_OUTCOMES[key]
        estimate = differences[key]
        if estimate.n < 2 or not estimate.excludes_zero():
            unchanged.append(noun)
            continue
        verb = "raises" if estimate.mean > 0 else "lowers"
        decimals = attitude_decimals(estimate) if kind == "attitude" else None
        amount = format_amount(abs(estimate.mean), kind, decimals)
        if estimate.mean > 0:
            low, high = estimate.low, estimate.high
        else:
            low, high = -estimate.high, -estimate.low
        interval = (
            f"({format_amount(low, kind, decimals)} to {format_amount(high, kind, decimals)})"
        )
        unit = ""
        if kind == "money":
            unit = f" {currency} {horizon_words(days)}"
        elif kind == "people":
            unit = " people"
        moved.append((verb, f"{noun} by {amount} {interval}{unit}"))
    parts = []
    if moved:
        clauses = []
        for index, (verb, text) in enumerate(moved):
            same_verb = index > 0 and moved[index - 1][0] == verb
            clauses.append(text if same_verb else f"{verb} {text}")
        parts.append(f"{subject} {_join(clauses)}")
    if unchanged:
        lead = "it does not change" if moved else f"{subject} does not change"
        parts.append(f"{lead} {_join(unchanged, 'or')} detectably")
    if not parts:
        return f"{subject}: no outcomes to compare."
    return "; ".join(parts) + "."


def _join(items: Sequence[str], word: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def caveats(
    days: int,
    reps: int,
    people_per_user: Mapping[str, float],
    assumptions: Sequence[str] = (),
    parameter_uncertainty: bool = False,
) -> list[str]:
    """What the verdict depends on, one sentence each.

    ``parameter_uncertainty``: the replications drew the model's parameters from a
    calibration posterior (:mod:`viz.hooks`), so the ranges include that uncertainty.
    """
    spread = (
        "so they include uncertainty in the model's parameters (drawn from the calibration)"
        if parameter_uncertainty
        else "so they show the simulation's chance variation, not uncertainty in the "
        "model's parameters"
    )
    lines = [
        f"Simulated {horizon_words(days)}: effects that take longer to build up "
        "(or to wear off) are not in these numbers.",
        f"{reps} replications per strategy with common random numbers; ranges are 95% "
        f"confidence intervals of the paired differences (B - A), {spread}.",
    ]
    if people_per_user:
        each = ", ".join(f"{people:,.0f} in {market}" for market, people in people_per_user.items())
        lines.append(
            f"Each simulated user stands for a number of real people ({each}); "
            "people counts are scaled up from the simulated users."
        )
    if assumptions:
        lines.append("Assumptions, not measured: " + "; ".join(assumptions) + ".")
    return lines
