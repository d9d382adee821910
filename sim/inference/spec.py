"""Calibration files: the scenario, the brand's analytics export, priors and the budget.

A calibration file is TOML, read as data and validated with pydantic like a sweep
file (:mod:`sim.sweep.spec`); every failure is one :class:`CalibrationError` line
naming the file, the key and what is allowed::

    [calibration]
    name = "china_entry_example"
    scenario = "china_entry"       # bundled name, or a path relative to this file
    seed = 1                       # particle seeds derive from it (sim.seeds)
    firm = "ours"                  # whose analytics these are (default: the focal firm)
    start_date = "2025-01-06"      # the date of simulated day 1 (default: first date)
    fixed = { "model.n_users" = 2000 }   # set in the scenario first (like --set)

    [observed]
    file = "observed.csv"          # CSV or Parquet, relative to this file
    frequency = "weekly"           # "daily" or "weekly": a row's date starts its period
    date_column = "date"
    market_column = "market"       # or market = "china" for a file of one market

    [observed.columns]             # model metric = column in the file
    followers = "followers"
    impressions = "impressions"

    [[parameters]]
    path = "firms.ours.strategies.china.localisation"
    prior = "uniform"              # "uniform", "loguniform" or "normal" (mean, sd)
    low = 0.0
    high = 1.0

    [distance]
    kind = "adaptive"              # pyabc's adaptive p-norm, or "fixed" (scaled by data)
    transform = "log1p"            # compare log(1 + x), or "none"

    [budget]
    population_size = 100
    generations = 6
    min_epsilon = 0.0
    max_walltime_minutes = 30

:func:`load_calibration` reads a file into a :class:`CalibrationPlan`: the validated
base scenario, the priors (:mod:`sim.inference.priors`) and the observed summary
statistics (:mod:`sim.inference.observed`).
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.errors import GuanxiError
from sim.parameters import PathError, check_path, describe_validation_error
from sim.scenario import (
    SCENARIO_DIR,
    Scenario,
    base_scenario_data,
    read_limited,
    resolve_bundled_file,
    scenario_from_data,
)

CALIBRATION_DIR = SCENARIO_DIR / "calibration"
MAX_CALIBRATION_BYTES = 1_000_000
#: Items of the calibration file's lists, named in error messages by this key.
CALIBRATION_LIST_KEYS = {"parameters": "path"}


class CalibrationError(GuanxiError):
    """A calibration file, observed file or calibration directory that cannot be used."""


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class CalibrationSection(_Table):
    """``[calibration]``: what is fitted, and from which seed."""

    name: str = Field("", description="Short name; default: the file's stem.")
    description: str = ""
    scenario: str = Field(..., min_length=1, description="Bundled name or path.")
    seed: int = Field(1, ge=0, le=2**63 - 1)
    firm: str | None = Field(None, description="Whose analytics; default: the focal firm.")
    start_date: dt.date | None = Field(None, description="Date of simulated day 1.")
    days: int | None = Field(
        None, ge=1, le=100_000, description="Days to simulate; default: to the last period."
    )
    fixed: dict[str, Any] = Field(default_factory=dict)


class ObservedSection(_Table):
    """``[observed]``: the analytics export and how its columns map to the model's metrics."""

    file: str = Field(..., min_length=1)
    frequency: Literal["daily", "weekly"] = "daily"
    date_column: str = "date"
    market_column: str | None = None
    market: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)


class ParameterSection(_Table):
    """``[[parameters]]``: one parameter to infer, by dotted path, with its prior."""

    path: str = Field(..., min_length=1)
    prior: Literal["uniform", "loguniform", "normal"] = "uniform"
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: float | None = Field(None, gt=0)


class DistanceSection(_Table):
    """``[distance]``: how far a simulation is from the data."""

    kind: Literal["adaptive", "fixed"] = "adaptive"
    p: float = Field(2.0, ge=1, le=10)
    transform: Literal["log1p", "none"] = "log1p"


class BudgetSection(_Table):
    """``[budget]``: how much inference to buy."""

    population_size: int = Field(100, ge=2, le=100_000)
    generations: int = Field(6, ge=1, le=1000)
    min_epsilon: float = Field(0.0, ge=0)
    max_walltime_minutes: float = Field(60.0, gt=0, le=100_000)
    max_simulations: int | None = Field(None, ge=1, le=100_000_000)
    min_acceptance_rate: float = Field(0.0, ge=0, le=1)
    predictive_draws: int = Field(40, ge=0, le=10_000)


class CalibrationFile(_Table):
    calibration: CalibrationSection
    observed: ObservedSection
    parameters: list[ParameterSection] = Field(..., min_length=1, max_length=50)
    distance: DistanceSection = Field(default_factory=DistanceSection)
    budget: BudgetSection = Field(default_factory=BudgetSection)


@dataclass(frozen=True)
class CalibrationPlan:
    """A calibration file resolved against its scenario and data."""

    source: str
    text: str
    name: str
    spec: CalibrationFile
    base: Scenario
    firm: str
    priors: tuple  # of sim.inference.priors.Prior
    observed: Any  # sim.inference.observed.Observed
    days: int

    @property
    def seed(self) -> int:
        return self.spec.calibration.seed

    @property
    def budget(self) -> BudgetSection:
        return self.spec.budget

    @property
    def distance(self) -> DistanceSection:
        return self.spec.distance

    def digest(self) -> str:
        """What a resumed calibration must share with its start: everything but the
        budget (which may grow: more generations, more time) and the seed (checked
        on its own)."""
        import json

        data = self.spec.model_dump(mode="json", exclude={"budget": True})
        data["calibration"].pop("seed", None)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


# --------------------------------------------------------------------------- loading
def bundled_calibrations() -> dict[str, Path]:
    """Bundled calibration files by name (file stem)."""
    return {p.stem: p for p in sorted(CALIBRATION_DIR.glob("*.toml"))}


def resolve_calibration_path(name_or_path: str | Path) -> Path:
    return resolve_bundled_file(
        name_or_path, bundled_calibrations(), "calibration", CalibrationError
    )


def load_calibration(name_or_path: str | Path, seed: int | None = None) -> CalibrationPlan:
    """Read, validate and resolve a calibration file (``seed`` replaces calibration.seed).

    Raises :class:`CalibrationError` (or ScenarioError for the scenario) in one line.
    """
    from sim.inference.observed import read_observed
    from sim.inference.priors import resolve_prior

    path = resolve_calibration_path(name_or_path)
    source = str(path)
    raw_bytes = read_limited(
        path, MAX_CALIBRATION_BYTES, "a TOML calibration file", CalibrationError
    )
    raw_bytes = raw_bytes.removeprefix(codecs.BOM_UTF8)
    if not raw_bytes.strip():
        raise CalibrationError(
            f"{source}: file is empty; expected [calibration], [observed] and [[parameters]]"
        )
    try:
        text = raw_bytes.decode("utf-8")
        raw = tomllib.loads(text)
    except UnicodeDecodeError:
        raise CalibrationError(f"{source}: not a text file (not UTF-8); expected TOML") from None
    except tomllib.TOMLDecodeError as exc:
        raise CalibrationError(f"{source}: malformed TOML: {exc}") from None
    except RecursionError:
        raise CalibrationError(f"{source}: malformed TOML: nested too deeply") from None
    try:
        spec = CalibrationFile.model_validate(raw)
    except ValidationError as exc:
        message = describe_validation_error(exc, raw, CalibrationFile, CALIBRATION_LIST_KEYS)
        raise CalibrationError(f"{source}: {message}") from None
    if seed is not None:
        spec = spec.model_copy(
            update={"calibration": spec.calibration.model_copy(update={"seed": seed})}
        )
    folder = path.parent
    cal = spec.calibration

    raw_base, base_source = base_scenario_data(
        cal.scenario, None, source, folder, "calibration.scenario", CalibrationError
    )
    for dotted, value in cal.fixed.items():
        _check_path(raw_base, dotted, value, f"{source}: calibration.fixed.{dotted}")
    base = scenario_from_data(raw_base, base_source, dict(cal.fixed))
    firm = cal.firm or base.focal_firm
    names = [f.name for f in base.firms]
    if firm not in names:
        raise CalibrationError(
            f"{source}: calibration.firm: no firm '{firm}' in the scenario; allowed: "
            f"{', '.join(names)}"
        )
    base_data = base.model_dump(mode="json")
    priors = []
    for p in spec.parameters:
        where = f"{source}: parameters.{p.path}"
        _check_path(base_data, p.path, p.low if p.low is not None else 0.0, where)
        if p.path in cal.fixed:
            raise CalibrationError(f"{where}: also in calibration.fixed; infer it or fix it")
        priors.append(resolve_prior(p, where))
    paths = [p.path for p in priors]
    for dotted in paths:
        if paths.count(dotted) > 1:
            raise CalibrationError(f"{source}: parameters: '{dotted}' is listed twice")
    # The scenario must be valid at the priors' centres (cross-field checks).
    scenario_from_data(
        base_data,
        f"{source}: parameters at their prior centres",
        {p.path: p.centre() for p in priors},
    )

    observed = read_observed(spec.observed, folder, source, base, firm, cal.start_date)
    days = cal.days if cal.days is not None else observed.last_day
    if days < observed.last_day:
        raise CalibrationError(
            f"{source}: calibration.days: {days} days do not reach the last observed period "
            f"(day {observed.last_day}); allowed: >= {observed.last_day} or leave it out"
        )
    return CalibrationPlan(
        source=source,
        text=text,
        name=cal.name or path.stem,
        spec=spec,
        base=base,
        firm=firm,
        priors=tuple(priors),
        observed=observed,
        days=days,
    )


def _check_path(raw: Mapping[str, Any], dotted: str, value: Any, where: str) -> None:
    try:
        check_path(raw, dotted, value)
    except PathError as exc:
        raise CalibrationError(f"{where}: {exc.reason}") from None
