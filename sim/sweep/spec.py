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

With ``posterior = "DIR"`` in ``[sweep]`` (a ``guanxi calibrate --out`` directory,
relative to the file) or ``--posterior DIR``, replication r of every design point
runs at posterior draw r (:meth:`sim.inference.posterior.Posterior.draw` under the
sweep seed); the design point's own values win where both set a parameter.

Instead of ``sweep.scenario`` a sweep may carry its base scenario inline as a
``[scenario]`` table (``[scenario.model]``, ``[[scenario.markets]]``, ...).

Parameters are factors of the design: explicit ``values`` (numbers, booleans or
names), a range ``low``..``high`` (``levels`` evenly spaced points for a grid; a
``distribution`` for the samplers: ``uniform``, ``loguniform``, ``triangular`` with
``peak``, ``normal`` with ``mean`` and ``sd``, truncated to the range or the
parameter's bounds). A true/false parameter with neither varies over both.

This module holds the file's schema (:class:`SweepFile`) and :func:`load_sweep`, which
reads a file and resolves it against its base scenario into a
:class:`~sim.sweep.plan.SweepPlan`; each parameter is checked and made a factor in
:mod:`sim.sweep.factors`.
"""

from __future__ import annotations

import codecs
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.errors import GuanxiError
from sim.parameters import (
    PathError,
    check_path,
    describe_validation_error,
    parse_assignment,
    readable_location,
)
from sim.scenario import (
    SCENARIO_DIR,
    base_scenario_data,
    resolve_bundled_file,
    scenario_from_data,
    suggest,
)
from sim.sweep.plan import SweepPlan, design_rng

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
    posterior: str | None = Field(
        None,
        min_length=1,
        description="A `guanxi calibrate --out` directory (relative to the sweep file): "
        "replication r of every design point takes the parameters of posterior draw r.",
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


# --------------------------------------------------------------------------- loading
def bundled_sweeps() -> dict[str, Path]:
    """Bundled sweep files by name (file stem)."""
    return {p.stem: p for p in sorted(SWEEP_DIR.glob("*.toml"))}


def resolve_sweep_path(name_or_path: str | Path) -> Path:
    """A bundled sweep's name or a path to a TOML file."""
    return resolve_bundled_file(name_or_path, bundled_sweeps(), "sweep", SweepError)


def load_sweep(
    name_or_path: str | Path, overrides: Iterable[str] = (), posterior: str | Path | None = None
) -> SweepPlan:
    """Read, validate and resolve a sweep file; ``overrides`` are ``--set`` assignments.

    ``posterior`` is ``--posterior DIR`` (instead of ``sweep.posterior`` in the file).

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
    return resolve(
        spec, source, text, path.parent, overrides, default_name=path.stem, posterior=posterior
    )


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
    posterior: str | Path | None = None,
) -> SweepPlan:
    """Check a validated sweep file against its base scenario and build its design."""
    from sim.sweep.design import build_design
    from sim.sweep.factors import resolve_factor
    from sim.sweep.outcomes import available_outcomes

    sweep = spec.sweep
    raw_base, base_source = base_scenario_data(
        spec.sweep.scenario, spec.scenario, source, folder, "sweep.scenario", SweepError
    )
    fixed: dict[str, Any] = {}
    for dotted, value in sweep.fixed.items():
        check_parameter_path(raw_base, dotted, value, f"{source}: sweep.fixed.{dotted}")
        fixed[dotted] = value
    for assignment in overrides:
        dotted, value = parse_assignment(assignment)
        check_parameter_path(raw_base, dotted, value, f"--set {dotted}")
        fixed[dotted] = value
    base = scenario_from_data(raw_base, base_source, fixed)
    base_data = base.model_dump(mode="json")
    from sim.inference.posterior import resolve_posterior

    drawn_from = resolve_posterior(
        sweep.posterior, posterior, folder, source, "sweep.posterior", base, SweepError
    )

    factors = tuple(
        resolve_factor(p, spec.design.method, base_data, source) for p in spec.parameters
    )
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
        posterior=drawn_from,
        posterior_option=None if posterior is None else str(posterior),
    )


def check_parameter_path(raw: Mapping[str, Any], dotted: str, value: Any, where: str) -> None:
    """Check that ``dotted`` names a scenario parameter (items by name) in ``raw``."""
    try:
        check_path(raw, dotted, value)
    except PathError as exc:
        raise SweepError(f"{where}: {exc.reason}") from None


# --------------------------------------------------------------------------- errors
def _describe(exc: ValidationError, raw: Mapping[str, Any]) -> str:
    """The schema error as one line (:func:`sim.parameters.describe_validation_error`)."""
    err = exc.errors()[0]
    if "values" in err["loc"] and err["type"] not in ("extra_forbidden", "missing", "too_short"):
        key, _ = readable_location(err["loc"], raw, SweepFile, SWEEP_LIST_KEYS)
        return f"{key}: expected numbers, true/false or names (got {err.get('input')!r})"
    return describe_validation_error(exc, raw, SweepFile, SWEEP_LIST_KEYS)
