"""Factors of a sweep: the scenario parameters it varies, checked against the schema.

Each ``[[parameters]]`` entry of a sweep file (:class:`~sim.sweep.spec.ParameterSection`)
becomes a :class:`Factor` by :func:`resolve_factor`: its path must name a scenario
parameter; its values or range must fit the parameter's type, bounds and allowed
names, and the design method (a grid takes levels, the samplers a distribution).
A :class:`Factor` then maps SALib's sample coordinates to scenario values
(:mod:`sim.sweep.design`) and describes itself for the manifest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.parameters import Bounds, Kind, bounds, field_info, field_kind
from sim.sweep.spec import SweepError, check_parameter_path

if TYPE_CHECKING:
    from sim.sweep.spec import ParameterSection


@dataclass(frozen=True)
class Factor:
    """One varied parameter, checked against the scenario schema.

    ``kind`` is the parameter's type: ``float``, ``int``, ``bool`` or ``choice``.
    ``values`` are discrete levels (explicit, both booleans, or a grid over a range);
    otherwise ``low``..``high`` with ``distribution`` is sampled continuously.
    """

    path: str
    kind: Kind
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    distribution: str = "uniform"
    peak: float | None = None
    mean: float | None = None
    sd: float | None = None

    def salib_bounds(self) -> tuple[list[float], str]:
        """SALib bounds and distribution name; discrete levels map from uniform [0, k)."""
        if self.values is not None:
            return [0.0, float(len(self.values))], "unif"
        lo, hi = float(self.low), float(self.high)  # type: ignore[arg-type]
        match self.distribution:
            case "uniform":
                return [lo, hi], "unif"
            case "loguniform":
                return [lo, hi], "logunif"
            case "triangular":
                return [lo, hi, (float(self.peak) - lo) / (hi - lo)], "triang"  # type: ignore[arg-type]
            case _:  # normal, truncated to [low, high]
                return [lo, hi, float(self.mean), float(self.sd)], "truncnorm"  # type: ignore[arg-type]

    def from_salib(self, x: float) -> Any:
        """The parameter value for one SALib sample coordinate."""
        if self.values is not None:
            return self.values[min(max(int(math.floor(x)), 0), len(self.values) - 1)]
        value = min(max(float(x), float(self.low)), float(self.high))  # type: ignore[arg-type]
        return int(round(value)) if self.kind == "int" else value

    def describe(self) -> dict[str, Any]:
        """JSON-ready description for the manifest."""
        keys = ("path", "kind", "values", "low", "high", "distribution", "peak", "mean", "sd")
        out = {k: getattr(self, k) for k in keys}
        out["values"] = list(self.values) if self.values is not None else None
        return {k: v for k, v in out.items() if v is not None}


def _bounds_text(found: Bounds) -> str:
    return found.text() or "any number"


def resolve_factor(p: ParameterSection, method: str, base: dict[str, Any], source: str) -> Factor:
    """The factor of one ``[[parameters]]`` entry, checked against the base scenario
    ``base`` (JSON data) and the design ``method``; else one :class:`SweepError` line."""
    where = f"{source}: parameters.{p.path}"
    probe = p.values[0] if p.values else (p.low if p.low is not None else 0)
    check_parameter_path(base, p.path, probe, where)
    info = field_info(p.path)
    kind, options = field_kind(info)
    kind = kind or "choice"
    has_range = p.low is not None or p.high is not None or p.mean is not None
    if p.values is not None and has_range:
        raise SweepError(f"{where}: give values or a range (low, high), not both")
    if method != "grid" and p.levels is not None:
        raise SweepError(f"{where}.levels: only for design method 'grid' (this is '{method}')")

    if kind in ("bool", "choice"):
        if has_range:
            raise SweepError(
                f"{where}: not a number; give values, allowed: "
                f"{', '.join(map(_toml, options)) if options else 'names (strings)'}"
            )
        values = tuple(p.values) if p.values is not None else options
        if not values:
            raise SweepError(f"{where}: give values = [...] (names)")
        for value in values:
            if kind == "bool" and not isinstance(value, bool):
                raise SweepError(f"{where}.values: {value!r} is not true/false")
            if kind == "choice" and (
                not isinstance(value, str) or (options and value not in options)
            ):
                allowed = ", ".join(map(_toml, options)) if options else "strings"
                raise SweepError(f"{where}.values: {_toml(value)} not allowed; allowed: {allowed}")
        _no_duplicates(values, where)
        return Factor(p.path, kind, values=values)  # type: ignore[arg-type]

    limits = bounds(info)
    if p.values is not None:
        for value in p.values:
            _check_number(value, kind, limits, f"{where}.values")
        values = tuple(int(v) if kind == "int" else float(v) for v in p.values)
        _no_duplicates(values, where)
        return Factor(p.path, kind, values=values)  # type: ignore[arg-type]

    if p.distribution == "normal":
        if p.mean is None or p.sd is None:
            raise SweepError(f"{where}: distribution 'normal' needs mean and sd")
        low = p.low if p.low is not None else limits.lower
        high = p.high if p.high is not None else limits.upper
        if low is None or high is None:
            raise SweepError(f"{where}: distribution 'normal' needs low and high to truncate it")
        _check_number(p.mean, "float", limits, f"{where}.mean")
    else:
        if p.mean is not None or p.sd is not None:
            raise SweepError(f"{where}: mean and sd are only for distribution 'normal'")
        if p.low is None or p.high is None:
            raise SweepError(
                f"{where}: give values = [...] or a range with low and high "
                f"(allowed: {_bounds_text(limits)})"
            )
        low, high = p.low, p.high
    _check_number(low, kind, limits, f"{where}.low")
    _check_number(high, kind, limits, f"{where}.high")
    if not low < high:
        raise SweepError(f"{where}: empty range: low {low:g} must be below high {high:g}")
    if p.distribution == "triangular":
        if p.peak is None or not low <= p.peak <= high:
            raise SweepError(f"{where}.peak: distribution 'triangular' needs low <= peak <= high")
        if high < 0:
            raise SweepError(f"{where}: distribution 'triangular' needs high >= 0 (SALib)")
    elif p.peak is not None:
        raise SweepError(f"{where}.peak: only for distribution 'triangular'")
    if p.distribution == "loguniform" and low <= 0:
        raise SweepError(f"{where}.low: distribution 'loguniform' needs low > 0")

    if method == "grid":
        if p.distribution != "uniform":
            raise SweepError(
                f"{where}.distribution: '{p.distribution}' is for designs lhs, sobol, morris; "
                "a grid takes values or low, high and levels"
            )
        if p.levels is None:
            raise SweepError(f"{where}: a grid over low..high needs levels (number of points)")
        grid = np.linspace(low, high, p.levels)
        if kind == "int":
            values = tuple(dict.fromkeys(int(round(v)) for v in grid))
        else:
            values = tuple(float(v) for v in grid)
        return Factor(p.path, kind, values=values)  # type: ignore[arg-type]
    if method == "morris" and p.distribution != "uniform":
        raise SweepError(
            f"{where}.distribution: Morris samples a uniform grid; allowed: uniform "
            "(or give values)"
        )
    return Factor(
        p.path,
        kind,  # type: ignore[arg-type]
        low=float(low),
        high=float(high),
        distribution=p.distribution,
        peak=p.peak,
        mean=p.mean,
        sd=p.sd,
    )


def _check_number(value: Any, kind: str, limits: Bounds, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SweepError(f"{where}: {_toml(value)} is not a number")
    if kind == "int" and float(value) != int(value):
        raise SweepError(f"{where}: {value!r} is not a whole number")
    if not limits.admits(value):
        raise SweepError(f"{where}: {value:g} out of bounds; allowed: {_bounds_text(limits)}")


def _no_duplicates(values: Sequence[Any], where: str) -> None:
    seen = []
    for value in values:
        if value in seen:
            raise SweepError(f"{where}.values: {_toml(value)} is listed twice")
        seen.append(value)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    return repr(value)
