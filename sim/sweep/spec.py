"""Sweep files: the base scenario, what to vary, how to sample it and how often to repeat.

A sweep file is TOML, parsed as data and validated with pydantic like a scenario
(:mod:`sim.scenario`); every failure is one :class:`SweepError` line naming the file,
the key and what is allowed::

    [sweep]
    name = "strategy_grid"
    scenario = "baseline"        # bundled name, or a path relative to this file
    seed = 2025                  # sweep seed: every run's seed derives from it
    replications = 5
    steps = 365                  # days per run (default: the scenario's [model] steps)
    record = "final"             # "final": end of run only; "daily": every day
    outcomes = ["attitude", "profit", "china.followers"]   # default: all
    common_random_numbers = false

    [sweep.fixed]                # set in the base scenario before varying (like --set)
    "model.n_users" = 5000

    [design]
    method = "grid"              # "grid", "lhs", "sobol" or "morris"

    [[parameters]]
    path = "firms.ours.strategies.china.posts_per_day"   # any scenario parameter
    values = [1, 2, 4]

    [[parameters]]
    path = "firms.ours.strategies.china.responsiveness"
    low = 0.1
    high = 0.9
    levels = 3                   # grid: 3 evenly spaced values

Instead of ``sweep.scenario`` a sweep may carry its base scenario inline as a
``[scenario]`` table (``[scenario.model]``, ``[[scenario.markets]]``, ...).

Parameters are factors of the design: explicit ``values`` (numbers, booleans or
names), a range ``low``..``high`` (``levels`` evenly spaced points for a grid; a
``distribution`` for the samplers: ``uniform``, ``loguniform``, ``triangular`` with
``peak``, ``normal`` with ``mean`` and ``sd``, truncated to the range or the
parameter's bounds). A true/false parameter with neither varies over both.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import math
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.errors import GuanxiError
from sim.parameters import (
    Bounds,
    Kind,
    PathError,
    bounds,
    check_path,
    describe_validation_error,
    field_info,
    field_kind,
    parse_assignment,
    readable_location,
)
from sim.scenario import (
    SCENARIO_DIR,
    Scenario,
    bundled_scenarios,
    read_scenario_file,
    resolve_scenario_path,
    scenario_from_data,
    suggest,
)
from sim.seeds import SWEEP_COMMON, SWEEP_DESIGN, SWEEP_RUNS, derive_rng, derive_seed

SWEEP_DIR = SCENARIO_DIR / "sweeps"
MAX_SWEEP_BYTES = 1_000_000
MAX_RUNS = 1_000_000
DESIGN_METHODS = ("grid", "lhs", "sobol", "morris")
DISTRIBUTIONS = ("uniform", "loguniform", "triangular", "normal")
#: Items of the sweep file's lists, named in error messages by this key.
SWEEP_LIST_KEYS = {"parameters": "path"}


class SweepError(GuanxiError):
    """A sweep file, option or results directory that cannot be used; one line."""


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class SweepSection(_Table):
    """``[sweep]``: what is run and recorded."""

    name: str = Field("", description="Short name; default: the file's stem.")
    description: str = Field("", description="The question the sweep answers.")
    scenario: str | None = Field(
        None, description="Base scenario: bundled name or path (relative to the sweep file)."
    )
    seed: int = Field(1, ge=0, le=2**63 - 1, description="Sweep seed; run seeds derive from it.")
    replications: int = Field(1, ge=1, le=100_000, description="Runs per design point.")
    steps: int | None = Field(
        None, ge=1, le=100_000, description="Days per run; default: the scenario's [model] steps."
    )
    record: Literal["final", "daily"] = Field(
        "final", description="Record outcomes at the end of each run or on every day."
    )
    outcomes: list[str] = Field(
        default_factory=list, description="Outcomes to record (see sim.sweep.outcomes); [] = all."
    )
    common_random_numbers: bool = Field(
        False,
        description="Replication r uses the same seed at every design point (sharper "
        "comparisons between points); otherwise seeds differ by point too.",
    )
    fixed: dict[str, Any] = Field(
        default_factory=dict, description="Dotted-path overrides of the base scenario."
    )


class DesignSection(_Table):
    """``[design]``: how design points are chosen."""

    method: Literal["grid", "lhs", "sobol", "morris"] = "grid"
    samples: int | None = Field(
        None,
        ge=1,
        le=MAX_RUNS,
        description="lhs: points; sobol: base samples N (a power of 2); morris: trajectories.",
    )
    second_order: bool | None = Field(
        None, description="sobol only: also design for second-order indices (default true)."
    )
    levels: int | None = Field(
        None, ge=2, le=1000, description="morris only: grid levels p, even (default 4)."
    )


class ParameterSection(_Table):
    """``[[parameters]]``: one factor, a scenario parameter by dotted path."""

    path: str = Field(..., min_length=1)
    values: list[bool | int | float | str] | None = Field(None, min_length=1)
    low: float | None = None
    high: float | None = None
    levels: int | None = Field(None, ge=2, le=10_000)
    distribution: Literal["uniform", "loguniform", "triangular", "normal"] = "uniform"
    peak: float | None = None
    mean: float | None = None
    sd: float | None = Field(None, gt=0)


class SweepFile(_Table):
    """A whole sweep file."""

    sweep: SweepSection
    design: DesignSection = Field(default_factory=DesignSection)
    parameters: list[ParameterSection] = Field(..., min_length=1)
    scenario: dict[str, Any] | None = None


# --------------------------------------------------------------------------- factors
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


# --------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class Run:
    """One run of a sweep: design point, replication and its seed."""

    run: int
    point: int
    replication: int
    seed: int


@dataclass(frozen=True)
class SweepPlan:
    """A resolved sweep: everything needed to run it and to recognise it on resume."""

    source: str  # the sweep file
    text: str  # its contents, kept in the manifest
    spec: SweepFile
    name: str
    base: Scenario  # base scenario after [sweep.fixed] and --set
    overrides: tuple[str, ...]  # --set given on the command line
    factors: tuple[Factor, ...]
    method: str
    points: tuple[tuple[Any, ...], ...]  # parameter values per point, in factor order
    sample: np.ndarray | None  # SALib's sample matrix (lhs, sobol, morris)
    problem: dict[str, Any] | None  # SALib problem definition
    second_order: bool
    morris_levels: int
    outcomes: tuple[str, ...]
    steps: int
    replications: int
    seed: int
    record: str
    common_random_numbers: bool

    @property
    def n_runs(self) -> int:
        return len(self.points) * self.replications

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.factors)

    def point_parameters(self, point: int) -> dict[str, Any]:
        return dict(zip(self.parameters, self.points[point], strict=True))

    @cached_property
    def seeds(self) -> np.ndarray:
        """Every run's seed, by run number (computed once: a SeedSequence per run)."""
        seeds = np.empty(self.n_runs, np.int64)
        for point in range(len(self.points)):
            for replication in range(self.replications):
                seeds[point * self.replications + replication] = run_seed(
                    self.seed, point, replication, self.common_random_numbers
                )
        return seeds

    def runs(self) -> Iterator[Run]:
        """Every run, point-major: run = point * replications + replication."""
        seeds = self.seeds.tolist()
        for point in range(len(self.points)):
            for replication in range(self.replications):
                run = point * self.replications + replication
                yield Run(run, point, replication, seeds[run])

    def base_data(self) -> dict[str, Any]:
        return self.base.model_dump(mode="json")

    def base_hash(self) -> str:
        return sha256_json(self.base_data())


def run_seed(sweep_seed: int, point: int, replication: int, common: bool = False) -> int:
    """A run's model seed, 0..2^63-1, from the sweep seed, design point and replication.

    The one seed scheme (:mod:`sim.seeds`) on the sweep's stream, indexed by point
    and replication: independent streams that do not depend on how many runs there
    are or where they run. With common random numbers the point is left out, so
    replication r starts alike at every point.
    """
    if common:
        return derive_seed(sweep_seed, SWEEP_COMMON, replication)
    return derive_seed(sweep_seed, SWEEP_RUNS, point, replication)


def design_rng(sweep_seed: int) -> np.random.Generator:
    """The random source of the samplers (LHS, scrambled Sobol, Morris)."""
    return derive_rng(sweep_seed, SWEEP_DESIGN)


def sha256_json(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(text.encode()).hexdigest()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# --------------------------------------------------------------------------- loading
def bundled_sweeps() -> dict[str, Path]:
    """Bundled sweep files by name (file stem)."""
    return {p.stem: p for p in sorted(SWEEP_DIR.glob("*.toml"))}


def resolve_sweep_path(name_or_path: str | Path) -> Path:
    """A bundled sweep's name or a path to a TOML file."""
    path = Path(name_or_path)
    if path.exists():
        return path
    bundled = bundled_sweeps()
    if str(name_or_path) in bundled:
        return bundled[str(name_or_path)]
    raise SweepError(f"{path}: no such sweep file; bundled sweeps: {', '.join(bundled) or 'none'}")


def load_sweep(name_or_path: str | Path, overrides: Iterable[str] = ()) -> SweepPlan:
    """Read, validate and resolve a sweep file; ``overrides`` are ``--set`` assignments.

    Raises :class:`SweepError` (or :class:`~sim.scenario.ScenarioError` for the base
    scenario file) with one line naming the file, key and what is allowed.
    """
    path = resolve_sweep_path(name_or_path)
    text = _read_text(path)
    source = str(path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SweepError(f"{source}: malformed TOML: {exc}") from None
    except RecursionError:
        raise SweepError(
            f"{source}: malformed TOML: arrays or inline tables nested too deeply"
        ) from None
    try:
        spec = SweepFile.model_validate(raw)
    except ValidationError as exc:
        raise SweepError(f"{source}: {_describe(exc, raw)}") from None
    overrides = tuple(overrides)
    return resolve(spec, source, text, path.parent, overrides, default_name=path.stem)


def _read_text(path: Path) -> str:
    """The text of a sweep file: a regular file of at most MAX_SWEEP_BYTES (checked before
    reading, so a FIFO or a device is refused, not waited on), UTF-8, a BOM allowed."""
    from sim.scenario import read_limited

    raw = read_limited(path, MAX_SWEEP_BYTES, "a TOML sweep file", SweepError)
    raw = raw.removeprefix(codecs.BOM_UTF8)
    if not raw.strip():
        raise SweepError(f"{path}: file is empty; expected [sweep], [design] and [[parameters]]")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SweepError(f"{path}: not a text file (not UTF-8); expected TOML") from None


def resolve(
    spec: SweepFile,
    source: str,
    text: str,
    folder: Path,
    overrides: Sequence[str] = (),
    default_name: str = "sweep",
) -> SweepPlan:
    """Check a validated sweep file against its base scenario and build its design."""
    from sim.sweep.design import build_design
    from sim.sweep.outcomes import available_outcomes

    sweep = spec.sweep
    raw_base, base_source = _base_scenario_data(spec, source, folder)
    fixed: dict[str, Any] = {}
    for dotted, value in sweep.fixed.items():
        _check_path(raw_base, dotted, value, f"{source}: sweep.fixed.{dotted}")
        fixed[dotted] = value
    for assignment in overrides:
        dotted, value = parse_assignment(assignment)
        _check_path(raw_base, dotted, value, f"--set {dotted}")
        fixed[dotted] = value
    base = scenario_from_data(raw_base, base_source, fixed)
    base_data = base.model_dump(mode="json")

    factors = tuple(_factor(p, spec.design.method, base_data, source) for p in spec.parameters)
    paths = [f.path for f in factors]
    for path in paths:
        if paths.count(path) > 1:
            raise SweepError(f"{source}: parameters: '{path}' is listed twice; vary it once")

    def check_size(n_points: int) -> None:
        # Before the design is built: its size is known from the factors and options.
        from sim.resources import check_design_size

        n_runs = n_points * sweep.replications
        if n_runs > MAX_RUNS:
            raise SweepError(
                f"{source}: design: {n_points:,} points x {sweep.replications} "
                f"replications = {n_runs:,} runs; at most {MAX_RUNS:,}"
            )
        sampled = spec.design.method != "grid"
        check_design_size(
            f"{source}: design", n_runs, n_points, len(factors), sampled, sweep.replications
        )

    design = build_design(factors, spec.design, design_rng(sweep.seed), source, check_size)

    allowed = available_outcomes(base)
    outcomes = tuple(sweep.outcomes) or tuple(allowed)
    for name in outcomes:
        if name not in allowed:
            raise SweepError(
                f"{source}: sweep.outcomes: unknown outcome '{name}'{suggest(name, allowed)}"
            )
    if len(set(outcomes)) != len(outcomes):
        raise SweepError(f"{source}: sweep.outcomes: an outcome is listed twice")
    return SweepPlan(
        source=source,
        text=text,
        spec=spec,
        name=sweep.name or default_name,
        base=base,
        overrides=tuple(overrides),
        factors=factors,
        method=spec.design.method,
        points=design.points,
        sample=design.sample,
        problem=design.problem,
        second_order=design.second_order,
        morris_levels=design.morris_levels,
        outcomes=outcomes,
        steps=sweep.steps or base.model.steps,
        replications=sweep.replications,
        seed=sweep.seed,
        record=sweep.record,
        common_random_numbers=sweep.common_random_numbers,
    )


def _base_scenario_data(spec: SweepFile, source: str, folder: Path) -> tuple[dict, str]:
    named, inline = spec.sweep.scenario, spec.scenario
    if named is not None and inline is not None:
        raise SweepError(
            f"{source}: sweep.scenario and an inline [scenario] table both given; keep one"
        )
    if inline is not None:
        return inline, f"{source} [scenario]"
    if named is None:
        raise SweepError(
            f"{source}: sweep.scenario: missing; name a bundled scenario (e.g. 'baseline'), "
            "a scenario file, or give an inline [scenario] table"
        )
    beside = folder / named
    path = beside if beside.is_file() else resolve_scenario_path(named)
    if not path.is_file():
        raise SweepError(
            f"{source}: sweep.scenario: '{named}' is not a file (beside the sweep file or "
            f"from here) nor a bundled scenario; bundled: {', '.join(bundled_scenarios())}"
        )
    return read_scenario_file(path), str(path)


def _check_path(raw: Mapping[str, Any], dotted: str, value: Any, where: str) -> None:
    """Check that ``dotted`` names a scenario parameter (items by name) in ``raw``."""
    try:
        check_path(raw, dotted, value)
    except PathError as exc:
        raise SweepError(f"{where}: {exc.reason}") from None


def _bounds_text(found: Bounds) -> str:
    return found.text() or "any number"


def _factor(p: ParameterSection, method: str, base: dict[str, Any], source: str) -> Factor:
    where = f"{source}: parameters.{p.path}"
    probe = p.values[0] if p.values else (p.low if p.low is not None else 0)
    _check_path(base, p.path, probe, where)
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


# --------------------------------------------------------------------------- errors
def _describe(exc: ValidationError, raw: Mapping[str, Any]) -> str:
    """The schema error as one line (:func:`sim.parameters.describe_validation_error`)."""
    err = exc.errors()[0]
    if "values" in err["loc"] and err["type"] not in ("extra_forbidden", "missing", "too_short"):
        key, _ = readable_location(err["loc"], raw, SweepFile, SWEEP_LIST_KEYS)
        return f"{key}: expected numbers, true/false or names (got {err.get('input')!r})"
    return describe_validation_error(exc, raw, SweepFile, SWEEP_LIST_KEYS)
