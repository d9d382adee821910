"""Optimisation files: the strategy levers, the budget, the goals and the market's uncertainty.

An optimisation file is TOML, parsed as data (never run as code) and validated with
pydantic like a sweep file (:mod:`sim.sweep.spec`); every failure is one
:class:`OptimiseError` line naming the file, the key and what is allowed::

    [optimisation]
    scenario = "china_entry"     # bundled name, or a path relative to this file
    seed = 2026                  # every run's seed and the search's draws derive from it
    steps = 180                  # days per run (default: the longest objective horizon)
    population = 8               # candidates per generation (NSGA-II)
    generations = 5
    scenarios = 4                # sampled market states every candidate is run in
    replications = 1             # runs per market state (common random numbers)
    final_scenarios = 8          # fresh market states for the re-evaluation of the
    final_replications = 2       #   Pareto set (winner's curse)

    [optimisation.fixed]         # set in the base scenario (like --set)
    "model.n_users" = 2000

    [[decisions]]                # a lever: any scenario parameter by dotted path
    path = "firms.ours.strategies.china.posts_per_day"
    low = 0.5
    high = 8.0
    step = 0.25                  # optional grid; whole-number parameters step by 1

    [[decisions]]
    path = "firms.ours.strategies.china.shop"        # true/false: both

    [[constraints]]              # a linear limit on parameters (decisions or fixed)
    name = "daily budget"
    terms = { "firms.ours.strategies.china.budget" = 1.0 }
    at_most = 12000

    [[objectives]]
    outcome = "profit"           # an outcome sweeps know (sim.sweep.outcomes)
    direction = "maximise"
    horizon = 180                # the day it is read (default: steps)
    robustness = "percentile"    # "mean", "percentile" (a low one) or "regret"
    percentile = 10

    [[uncertainties]]            # a market parameter sampled like a sweep factor
    path = "markets.china.organic_reach"
    low = 0.05
    high = 0.2

Decisions and uncertainties are checked against the scenario schema with the sweep's
factor rules (:func:`sim.sweep.factors.resolve_factor`); the market states are a
Latin hypercube drawn with the one seed scheme (:mod:`sim.seeds`). With
``posterior = "DIR"`` in ``[optimisation]`` (relative to the file) or ``--posterior
DIR``, each market state also takes a seeded draw of a finished calibration's
posterior (:mod:`sim.inference.posterior`), on the optimisation's scenario.
"""

from __future__ import annotations

import codecs
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.errors import GuanxiError
from sim.parameters import describe_validation_error, get_value, parse_assignment
from sim.scenario import (
    SCENARIO_DIR,
    Scenario,
    base_scenario_data,
    resolve_bundled_file,
    scenario_from_data,
    suggest,
)
from sim.sweep.factors import Factor

if TYPE_CHECKING:
    from sim.inference.posterior import Posterior

OPTIMISATION_DIR = SCENARIO_DIR / "optimisations"
MAX_FILE_BYTES = 1_000_000
#: Runs one optimisation may ask for (search and re-evaluation together).
MAX_RUNS = 1_000_000
LIST_KEYS = {"decisions": "path", "uncertainties": "path", "objectives": "outcome"}


class OptimiseError(GuanxiError):
    """An optimisation file, option or results directory that cannot be used; one line."""


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class OptimisationSection(_Table):
    """``[optimisation]``: the base scenario and the size of the search."""

    name: str = Field("", description="Short name; default: the file's stem.")
    description: str = Field("", description="The question the optimisation answers.")
    scenario: str | None = Field(None, description="Base scenario: bundled name or path.")
    seed: int = Field(1, ge=0, le=2**63 - 1, description="Seed of runs and search.")
    steps: int | None = Field(None, ge=1, le=100_000, description="Days per run.")
    population: int = Field(8, ge=2, le=10_000, description="Candidates per generation.")
    generations: int = Field(5, ge=1, le=10_000, description="Generations of NSGA-II.")
    scenarios: int = Field(4, ge=1, le=10_000, description="Market states per candidate.")
    replications: int = Field(1, ge=1, le=10_000, description="Runs per market state.")
    final_scenarios: int | None = Field(
        None, ge=1, le=10_000, description="Fresh market states for the re-evaluation."
    )
    final_replications: int | None = Field(
        None, ge=1, le=10_000, description="Runs per market state in the re-evaluation."
    )
    final_candidates: int = Field(
        12, ge=1, le=1000, description="At most this many Pareto candidates are re-evaluated."
    )
    posterior: str | None = Field(
        None,
        description="A `guanxi calibrate --out` directory (relative to this file): each "
        "market state's parameters are a seeded draw from its posterior.",
    )
    fixed: dict[str, Any] = Field(default_factory=dict)


class DecisionSection(_Table):
    """``[[decisions]]``: one strategy lever."""

    path: str = Field(..., min_length=1)
    values: list[bool | int | float | str] | None = Field(None, min_length=1)
    low: float | None = None
    high: float | None = None
    step: float | None = Field(None, gt=0)
    log: bool = False


class ConstraintSection(_Table):
    """``[[constraints]]``: sum(coefficient x parameter) at most / at least a limit."""

    name: str = Field(..., min_length=1)
    terms: dict[str, float] = Field(..., min_length=1)
    at_most: float | None = None
    at_least: float | None = None


class ObjectiveSection(_Table):
    """``[[objectives]]``: an outcome to maximise or minimise, and how robustly."""

    outcome: str = Field(..., min_length=1)
    direction: Literal["maximise", "minimise"] = "maximise"
    horizon: int | None = Field(None, ge=1, le=100_000)
    robustness: Literal["mean", "percentile", "regret"] = "mean"
    percentile: float | None = Field(None, gt=0, le=50)
    label: str = ""


class UncertaintySection(_Table):
    """``[[uncertainties]]``: a market parameter sampled over its plausible range."""

    path: str = Field(..., min_length=1)
    values: list[bool | int | float | str] | None = Field(None, min_length=1)
    low: float | None = None
    high: float | None = None
    distribution: Literal["uniform", "loguniform", "triangular", "normal"] = "uniform"
    peak: float | None = None
    mean: float | None = None
    sd: float | None = Field(None, gt=0)


class OptimisationFile(_Table):
    optimisation: OptimisationSection
    decisions: list[DecisionSection] = Field(..., min_length=1)
    constraints: list[ConstraintSection] = Field(default_factory=list)
    objectives: list[ObjectiveSection] = Field(..., min_length=2)
    uncertainties: list[UncertaintySection] = Field(default_factory=list)
    scenario: dict[str, Any] | None = None


# --------------------------------------------------------------------------- resolved
@dataclass(frozen=True)
class Decision:
    """A lever checked against the schema: ``kind`` float, int, bool or choice."""

    path: str
    kind: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    values: tuple[Any, ...] | None = None

    def clean(self, value: Any) -> Any:
        """The value as run and as written on a ``--set`` line (floats to 10 digits)."""
        if self.kind == "float":
            return float(f"{float(value):.10g}")
        if self.kind == "int":
            return int(value)
        return value

    def describe(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in ("path", "kind", "low", "high", "step", "log")}
        out["values"] = list(self.values) if self.values is not None else None
        return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True)
class Constraint:
    name: str
    terms: tuple[tuple[str, float], ...]
    at_most: float | None
    at_least: float | None

    def violation(self, values: Mapping[str, Any]) -> float:
        """How far ``values`` break the limit (<= 0: met)."""
        total = sum(coef * float(values[path]) for path, coef in self.terms)
        over = total - self.at_most if self.at_most is not None else -math.inf
        under = self.at_least - total if self.at_least is not None else -math.inf
        return float(max(over, under))


@dataclass(frozen=True)
class Objective:
    outcome: str
    direction: str  # "maximise" or "minimise" (of the outcome)
    horizon: int
    robustness: str  # "mean", "percentile" or "regret"
    percentile: float
    label: str

    @property
    def key(self) -> str:
        """Column name: outcome and the day it is read."""
        return f"{self.outcome}@{self.horizon}"

    @property
    def minimise(self) -> bool:
        """The search's direction: regret is always minimised."""
        return self.robustness == "regret" or self.direction == "minimise"

    def title(self) -> str:
        """In business words, e.g. "Profit, 10th percentile over market states, day 180"."""
        what = self.label or self.outcome
        how = {
            "mean": "mean over market states",
            "percentile": f"{_ordinal(self.percentile)} {'percentile' if self.direction == 'maximise' else 'worst percentile'} over market states",
            "regret": "worst-case regret (shortfall from the best strategy per market state)",
        }[self.robustness]
        return f"{what} ({how}, day {self.horizon}; {'lower' if self.minimise else 'higher'} is better)"


@dataclass(frozen=True)
class OptimisationPlan:
    source: str
    text: str
    name: str
    spec: OptimisationFile
    base: Scenario
    overrides: tuple[str, ...]
    decisions: tuple[Decision, ...]
    constraints: tuple[Constraint, ...]
    objectives: tuple[Objective, ...]
    uncertainties: tuple[Factor, ...]
    steps: int
    seed: int
    population: int
    generations: int
    scenarios: int
    replications: int
    final_scenarios: int
    final_replications: int
    final_candidates: int
    constants: dict[str, float]  # constraint terms that are not decisions: base values
    posterior: Posterior | None = None  # market states drawn from a calibration posterior

    @property
    def outcomes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(o.outcome for o in self.objectives))

    @property
    def horizons(self) -> tuple[int, ...]:
        return tuple(sorted({o.horizon for o in self.objectives}))

    @property
    def n_trials(self) -> int:
        return self.population * self.generations

    def base_data(self) -> dict[str, Any]:
        return self.base.model_dump(mode="json")


# --------------------------------------------------------------------------- loading
def bundled_optimisations() -> dict[str, Path]:
    return {p.stem: p for p in sorted(OPTIMISATION_DIR.glob("*.toml"))}


def resolve_optimisation_path(name_or_path: str | Path) -> Path:
    return resolve_bundled_file(
        name_or_path, bundled_optimisations(), "optimisation", OptimiseError
    )


def load_optimisation(
    name_or_path: str | Path,
    overrides: Sequence[str] = (),
    seed: int | None = None,
    posterior: str | Path | None = None,
) -> OptimisationPlan:
    """Read, validate and resolve an optimisation file (one :class:`OptimiseError` line)."""
    from sim.scenario import read_limited

    path = resolve_optimisation_path(name_or_path)
    source = str(path)
    raw_bytes = read_limited(
        path, MAX_FILE_BYTES, "a TOML optimisation file", OptimiseError
    ).removeprefix(codecs.BOM_UTF8)
    if not raw_bytes.strip():
        raise OptimiseError(f"{source}: file is empty; expected [optimisation], [[decisions]]")
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise OptimiseError(f"{source}: not a text file (not UTF-8); expected TOML") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise OptimiseError(f"{source}: malformed TOML: {exc}") from None
    except RecursionError:
        raise OptimiseError(f"{source}: malformed TOML: nested too deeply") from None
    try:
        spec = OptimisationFile.model_validate(raw)
    except ValidationError as exc:
        message = describe_validation_error(exc, raw, OptimisationFile, LIST_KEYS)
        raise OptimiseError(f"{source}: {message}") from None
    return resolve(spec, source, text, path.parent, tuple(overrides), path.stem, seed, posterior)


def resolve(
    spec: OptimisationFile,
    source: str,
    text: str,
    folder: Path,
    overrides: tuple[str, ...] = (),
    default_name: str = "optimisation",
    seed: int | None = None,
    posterior_dir: str | Path | None = None,
) -> OptimisationPlan:
    from sim.sweep.outcomes import available_outcomes
    from sim.sweep.spec import SweepError, check_parameter_path

    section = spec.optimisation
    raw_base, base_source = base_scenario_data(
        spec.optimisation.scenario,
        spec.scenario,
        source,
        folder,
        "optimisation.scenario",
        OptimiseError,
    )
    try:
        fixed: dict[str, Any] = {}
        for dotted, value in section.fixed.items():
            check_parameter_path(raw_base, dotted, value, f"{source}: optimisation.fixed.{dotted}")
            fixed[dotted] = value
        for assignment in overrides:
            dotted, value = parse_assignment(assignment)
            check_parameter_path(raw_base, dotted, value, f"--set {dotted}")
            fixed[dotted] = value
    except SweepError as exc:
        raise OptimiseError(str(exc)) from None
    base = scenario_from_data(raw_base, base_source, fixed)
    base_data = base.model_dump(mode="json")

    decisions = tuple(_decision(d, base_data, source) for d in spec.decisions)
    _no_repeats([d.path for d in decisions], f"{source}: decisions")
    uncertainties = tuple(_uncertainty(u, base_data, source) for u in spec.uncertainties)
    _no_repeats([u.path for u in uncertainties], f"{source}: uncertainties")
    both = {d.path for d in decisions} & {u.path for u in uncertainties}
    if both:
        raise OptimiseError(
            f"{source}: '{sorted(both)[0]}' is both a decision and an uncertainty; keep one"
        )

    from sim.inference.posterior import resolve_posterior

    posterior = resolve_posterior(
        section.posterior,
        posterior_dir,
        folder,
        source,
        "optimisation.posterior",
        base,
        OptimiseError,
    )
    if posterior is not None:
        for kind, paths in (("a decision", decisions), ("an uncertainty", uncertainties)):
            clash = sorted({p.path for p in paths} & set(posterior.paths))
            if clash:
                raise OptimiseError(
                    f"{source}: '{clash[0]}' is both {kind} and a parameter of the posterior "
                    f"in {posterior.directory}; keep one"
                )

    steps = section.steps
    horizons = [o.horizon for o in spec.objectives if o.horizon is not None]
    steps = steps or max(horizons, default=None) or base.model.steps
    allowed = available_outcomes(base)
    objectives = []
    for o in spec.objectives:
        where = f"{source}: objectives.{o.outcome}"
        if o.outcome not in allowed:
            raise OptimiseError(
                f"{where}: not an outcome{suggest(o.outcome, allowed)}; outcomes: "
                f"{', '.join(allowed)}"
            )
        horizon = o.horizon or steps
        if horizon > steps:
            raise OptimiseError(
                f"{where}.horizon: day {horizon} is after the last day run ({steps}); "
                f"allowed: 1..{steps}"
            )
        if o.robustness == "percentile" and o.percentile is None:
            raise OptimiseError(f"{where}.percentile: robustness 'percentile' needs it (e.g. 10)")
        if o.robustness != "percentile" and o.percentile is not None:
            raise OptimiseError(f"{where}.percentile: only for robustness 'percentile'")
        objectives.append(
            Objective(o.outcome, o.direction, horizon, o.robustness, o.percentile or 0.0, o.label)
        )
    keys = [(o.outcome, o.horizon, o.robustness, o.percentile) for o in objectives]
    if len(set(keys)) != len(keys):
        raise OptimiseError(f"{source}: objectives: an objective is listed twice")

    by_path = {d.path: d for d in decisions}
    constraints, constants = [], {}
    for c in spec.constraints:
        where = f"{source}: constraints.{c.name}"
        if (c.at_most is None) == (c.at_least is None):
            raise OptimiseError(f"{where}: give one of at_most or at_least")
        for dotted in c.terms:
            if dotted in by_path:
                if by_path[dotted].kind not in ("float", "int", "bool"):
                    raise OptimiseError(f"{where}.terms.{dotted}: not a number")
                continue
            try:
                value = get_value(base_data, dotted)
            except GuanxiError as exc:
                raise OptimiseError(f"{where}.terms.{dotted}: {_reason(exc)}") from None
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise OptimiseError(f"{where}.terms.{dotted}: not a number (it is {value!r})")
            constants[dotted] = float(value)
        constraint = Constraint(c.name, tuple(c.terms.items()), c.at_most, c.at_least)
        best = _least_violation(constraint, by_path, constants)
        if best > 1e-9:
            raise OptimiseError(
                f"{where}: no candidate can meet it (within the decisions' ranges the "
                f"smallest violation is {best:g}); widen the ranges or the limit"
            )
        constraints.append(constraint)

    final_scenarios = section.final_scenarios or 2 * section.scenarios
    final_replications = section.final_replications or 2 * section.replications
    uncertain = bool(uncertainties) or posterior is not None
    if not uncertain and (section.scenarios > 1 or (section.final_scenarios or 1) > 1):
        raise OptimiseError(
            f"{source}: optimisation.scenarios: without [[uncertainties]] or a posterior there "
            "is one market state; set scenarios = 1 (and final_scenarios) and use replications"
        )
    if not uncertain:
        final_scenarios = 1
    n_runs = section.population * section.generations * section.scenarios * section.replications
    n_runs += section.final_candidates * final_scenarios * final_replications
    if n_runs > MAX_RUNS:
        raise OptimiseError(f"{source}: optimisation: {n_runs:,} runs; at most {MAX_RUNS:,}")
    return OptimisationPlan(
        source=source,
        text=text,
        name=section.name or default_name,
        spec=spec,
        base=base,
        overrides=overrides,
        decisions=decisions,
        constraints=tuple(constraints),
        objectives=tuple(objectives),
        uncertainties=uncertainties,
        steps=steps,
        seed=section.seed if seed is None else seed,
        population=section.population,
        generations=section.generations,
        scenarios=section.scenarios,
        replications=section.replications,
        final_scenarios=final_scenarios,
        final_replications=final_replications,
        final_candidates=section.final_candidates,
        constants=constants,
        posterior=posterior,
    )


def _reason(exc: Exception) -> str:
    return getattr(exc, "reason", None) or str(exc)


def _decision(d: DecisionSection, base: dict[str, Any], source: str) -> Decision:
    """A lever, checked with the sweep's factor rules (type, bounds, allowed names)."""
    from sim.sweep.factors import resolve_factor
    from sim.sweep.spec import ParameterSection, SweepError

    where = f"{source}: decisions.{d.path}"
    try:
        factor = resolve_factor(
            ParameterSection(path=d.path, values=d.values, low=d.low, high=d.high),
            "lhs",
            base,
            source.rstrip() + " [decisions]",
        )
    except SweepError as exc:
        raise OptimiseError(str(exc).replace(" [decisions]: parameters.", ": decisions.")) from None
    if factor.values is not None:
        if d.step is not None or d.log:
            raise OptimiseError(f"{where}: step and log are for a range (low, high), not values")
        return Decision(d.path, factor.kind, values=factor.values)
    low, high = float(factor.low), float(factor.high)  # type: ignore[arg-type]
    step = d.step
    if factor.kind == "int":
        if low != int(low) or high != int(high):
            raise OptimiseError(f"{where}: a whole-number parameter needs whole low and high")
        step = step or 1.0
        if step != int(step):
            raise OptimiseError(f"{where}.step: {step:g} is not a whole number")
    if step is not None:
        if step > high - low:
            raise OptimiseError(f"{where}.step: {step:g} is wider than the range {low:g}..{high:g}")
        if d.log:
            raise OptimiseError(f"{where}: give step or log, not both")
        span = (high - low) / step
        if abs(span - round(span)) > 1e-9:
            raise OptimiseError(
                f"{where}.step: the range {low:g}..{high:g} is not a whole number of steps "
                f"of {step:g}"
            )
    if d.log and low <= 0:
        raise OptimiseError(f"{where}.low: log = true needs low > 0")
    return Decision(d.path, factor.kind, low=low, high=high, step=step, log=d.log)


def _uncertainty(u: UncertaintySection, base: dict[str, Any], source: str) -> Factor:
    from sim.sweep.factors import resolve_factor
    from sim.sweep.spec import ParameterSection, SweepError

    try:
        return resolve_factor(
            ParameterSection(**u.model_dump()), "lhs", base, source.rstrip() + " [uncertainties]"
        )
    except SweepError as exc:
        raise OptimiseError(
            str(exc).replace(" [uncertainties]: parameters.", ": uncertainties.")
        ) from None


def _least_violation(
    c: Constraint, decisions: Mapping[str, Decision], constants: Mapping[str, float]
) -> float:
    """The smallest violation of ``c`` over the decisions' box (the terms are linear)."""
    sign = 1.0 if c.at_most is not None else -1.0
    total = 0.0
    for path, coef in c.terms:
        if path in decisions:
            d = decisions[path]
            options = (
                [float(v) for v in d.values] if d.values is not None else [d.low, d.high]  # type: ignore[list-item]
            )
            total += min(sign * coef * v for v in options)
        else:
            total += sign * coef * constants[path]
    limit = c.at_most if c.at_most is not None else c.at_least
    return total - sign * float(limit)  # type: ignore[arg-type]


def _no_repeats(paths: list[str], where: str) -> None:
    for path in paths:
        if paths.count(path) > 1:
            raise OptimiseError(f"{where}: '{path}' is listed twice")


def _ordinal(p: float) -> str:
    n = int(p) if float(p).is_integer() else p
    if isinstance(n, int):
        suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        return f"{n}{suffix}"
    return f"{n:g}th"
