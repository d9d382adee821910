"""Priors of the parameters a calibration infers, truncated to the schema's bounds.

* ``uniform``: ``low``..``high``; ``loguniform``: ``low``..``high``, both > 0;
* ``normal``: ``mean``, ``sd``, truncated to ``low``..``high`` where given, else to
  the parameter's bounds in the schema (a side without a bound stays open).

A prior is refused in one line when any part of it lies outside the parameter's
bounds (:func:`sim.parameters.bounds`), when the parameter is not a number, or
when its numbers do not make a distribution. Each prior gives pyabc its random
variable (:meth:`Prior.rv`) and the report its 90% interval (:meth:`Prior.interval`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sim.parameters import Bounds, bounds, field_info, field_kind

if TYPE_CHECKING:
    from sim.inference.spec import ParameterSection


@dataclass(frozen=True)
class Prior:
    path: str
    distribution: str  # uniform, loguniform, normal
    low: float  # lower end (normal: truncation, may be -inf)
    high: float  # upper end (normal: truncation, may be inf)
    mean: float | None = None
    sd: float | None = None

    def frozen(self):
        """The scipy distribution (frozen)."""
        from scipy import stats

        match self.distribution:
            case "uniform":
                return stats.uniform(self.low, self.high - self.low)
            case "loguniform":
                return stats.loguniform(self.low, self.high)
            case _:
                a = (self.low - self.mean) / self.sd
                b = (self.high - self.mean) / self.sd
                return stats.truncnorm(a, b, loc=self.mean, scale=self.sd)

    def rv(self):
        """The pyabc random variable of this prior."""
        from pyabc import RV

        match self.distribution:
            case "uniform":
                return RV("uniform", self.low, self.high - self.low)
            case "loguniform":
                return RV("loguniform", self.low, self.high)
            case _:
                a = (self.low - self.mean) / self.sd
                b = (self.high - self.mean) / self.sd
                return RV("truncnorm", a, b, loc=self.mean, scale=self.sd)

    def interval(self, mass: float = 0.9) -> tuple[float, float]:
        """The central interval holding ``mass`` of the prior."""
        dist = self.frozen()
        tail = (1 - mass) / 2
        return float(dist.ppf(tail)), float(dist.ppf(1 - tail))

    def centre(self) -> float:
        return float(self.frozen().median())

    def describe(self) -> str:
        if self.distribution == "normal":
            return f"normal(mean {self.mean:g}, sd {self.sd:g}) on [{self.low:g}, {self.high:g}]"
        return f"{self.distribution}({self.low:g}, {self.high:g})"


def resolve_prior(p: ParameterSection, where: str) -> Prior:
    """The prior of one ``[[parameters]]`` entry, checked against the schema's bounds."""
    from sim.inference.spec import CalibrationError

    info = field_info(p.path)
    kind, _ = field_kind(info)
    if kind != "float":
        what = {"int": "a whole number", "bool": "true/false", "choice": "a name"}.get(
            kind or "", "a table"
        )
        raise CalibrationError(
            f"{where}: is {what}; only number parameters can be inferred (fix it in "
            "calibration.fixed instead)"
        )
    limits = bounds(info)
    allowed = _allowed(limits)
    if p.prior == "normal":
        if p.mean is None or p.sd is None:
            raise CalibrationError(f"{where}: prior 'normal' needs mean and sd (sd > 0)")
        low = (
            p.low
            if p.low is not None
            else (limits.lower if limits.lower is not None else -math.inf)
        )
        high = (
            p.high
            if p.high is not None
            else (limits.upper if limits.upper is not None else math.inf)
        )
        _inside(p.mean, limits, f"{where}.mean", allowed)
    else:
        if p.mean is not None or p.sd is not None:
            raise CalibrationError(f"{where}: mean and sd are only for prior 'normal'")
        if p.low is None or p.high is None:
            raise CalibrationError(
                f"{where}: prior '{p.prior}' needs low and high (allowed: {allowed})"
            )
        low, high = p.low, p.high
    for name, value in (("low", low), ("high", high)):
        if math.isfinite(value):
            _inside(value, limits, f"{where}.{name}", allowed)
    if not low < high:
        raise CalibrationError(f"{where}: low ({low:g}) must be below high ({high:g})")
    if p.prior == "loguniform" and low <= 0:
        raise CalibrationError(f"{where}.low: prior 'loguniform' needs low > 0 (got {low:g})")
    if p.prior == "normal" and not low <= p.mean <= high:
        raise CalibrationError(f"{where}.mean: {p.mean:g} is outside low..high ({low:g}..{high:g})")
    return Prior(p.path, p.prior, float(low), float(high), p.mean, p.sd)


def _allowed(limits: Bounds) -> str:
    return limits.text() or "any number"


def _inside(value: float, limits: Bounds, where: str, allowed: str) -> None:
    """``value`` within the closed bounds: a continuous prior may touch a strict bound
    (it is drawn there with probability 0)."""
    from sim.inference.spec import CalibrationError

    closed = Bounds(limits.lower, False, limits.upper, False)
    if not closed.admits(value):
        raise CalibrationError(
            f"{where}: {value:g} is outside the parameter's bounds; allowed: {allowed}"
        )
