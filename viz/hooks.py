"""Hooks for a calibration posterior and an optimisation's Pareto set in the UI:
the seams they plug into (used by :mod:`viz.posterior`,
:mod:`viz.comparison` and :mod:`viz.optimisation`).

**Pareto set (optimisation issue).** An optimiser returns points, each a set of
strategy changes (dotted ``--set`` paths, as everywhere in the UI) with the
objectives they reached. :func:`apply_pareto_point` puts one into strategy A or B of
the Compare tab, checked by the schema like any typed change (all or nothing), so a
strategist can run it against the current strategy and read its verdict. A page
component listing the front only needs a sequence of :class:`ParetoPoint`.

**Calibration posterior (calibration issue).** A posterior is anything with
:class:`PosteriorSource`'s shape: ``draws(count, seed)`` returns ``count`` sets of
parameter changes (dotted paths). The intended use in a comparison: replication r of
A *and* of B runs with draw r applied under the variant's own changes (common draws,
as common random numbers), so B - A's interval includes parameter uncertainty; the
verdict's caveats then say so (:func:`viz.verdict.caveats` with
``parameter_uncertainty=True``) and every chart is labelled "includes parameter
uncertainty". :func:`posterior_overrides` is where the draw and the variant's changes
meet, with the variant's changes winning (a strategist's decision is not uncertain).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # viz.state imports the comparison, which uses these hooks
    from viz.state import ExploreSession


@dataclass(frozen=True)
class ParetoPoint:
    """One strategy on an optimisation's Pareto front."""

    overrides: Mapping[str, Any]  # dotted path -> value, as `guanxi run --set`
    objectives: Mapping[str, float] = field(default_factory=dict)  # e.g. {"profit": 1.2e6}
    label: str = ""


class PosteriorSource(Protocol):
    """Parameter draws from a calibration."""

    name: str

    def draws(self, count: int, seed: int) -> Sequence[Mapping[str, Any]]:
        """``count`` draws, each a mapping of dotted paths to values."""
        ...


def apply_pareto_point(session: ExploreSession, point: ParetoPoint, variant: str = "B") -> bool:
    """Make ``variant``'s changes exactly the point's; False (and nothing changed, the
    reason in :attr:`ExploreSession.compare_error`) if the schema refuses any."""
    before_a, before_b = dict(session.compare.a), dict(session.compare.b)
    if variant == "A":
        session.compare.a = {}
    else:
        session.compare.b = {}
    for path, value in point.overrides.items():
        if not session.set_compare_parameter(variant, path, value):
            error = session.compare_error
            session.compare.a, session.compare.b = before_a, before_b
            session.compare_error = error
            return False
    return True


def posterior_overrides(
    draw: Mapping[str, Any], variant_changes: Mapping[str, Any]
) -> dict[str, Any]:
    """One replication's overrides: a posterior draw under the variant's own changes."""
    return {**draw, **variant_changes}
