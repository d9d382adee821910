"""Shared pieces of the validation experiments: results, settings, scenarios, seeds.

Every experiment builds its scenarios as raw scenario data, validates them with the
same schema as the CLI (:func:`sim.scenario.scenario_from_data`) and runs the same
:class:`sim.model.MarketModel`; nothing here re-implements a mechanism. Settings
carry two kinds of changes that the tests and the robustness analysis apply on top
of an experiment's own scenario:

* ``overrides``: absolute values by dotted path (``guanxi.crm_acceleration=0``);
* ``scale``: multipliers by dotted path (``users.engage_per_dependency`` x 1.2), or
  by a design key of an experiment (``bass.q``, ``goldenberg.b_w``: see
  :data:`DESIGN_KEYS`).

A path that names a market the experiment does not have is skipped, so one set of
changes can be applied to every experiment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import numpy as np

from sim.model import MarketModel
from sim.parameters import check_path, get_value, parse_assignment
from sim.scenario import Scenario, ScenarioError, scenario_from_data
from sim.seeds import derive_seeds

#: The two markets the studies compare (Zhang 2025; Luo 2024), by preset name.
MARKETS = ("china", "western_europe")

T = TypeVar("T")
R = TypeVar("R")

#: Design keys (not scenario paths) that experiments read from ``Settings.scale``.
DESIGN_KEYS = {
    "bass.p": "V7: Bass innovation coefficient p of every (p, q) pair",
    "bass.q": "V7: Bass imitation coefficient q of every (p, q) pair",
    "goldenberg.a": "V8: upper bound of the advertising range a",
    "goldenberg.b_w": "V8: bounds of the weak-tie range b_w",
    "goldenberg.b_s": "V8: bounds of the strong-tie range b_s",
    "goldenberg.ties": "V8: bounds of the strong and weak tie-count ranges",
}


# ---------------------------------------------------------------------- results
@dataclass
class Check:
    """One tested claim: a statistic with its interval or p-value and the verdict."""

    name: str
    statistic: str  # what was measured, in words
    value: float
    low: float | None = None  # 95% CI, when there is one
    high: float | None = None
    p_value: float | None = None
    passed: bool = False
    rule: str = ""  # the pass rule, in words

    def summary(self) -> str:
        """``value [low, high], p = ...`` as short text."""
        text = _fmt(self.value)
        if self.low is not None and self.high is not None:
            text += f" [{_fmt(self.low)}, {_fmt(self.high)}]"
        if self.p_value is not None:
            text += f", p {_fmt_p(self.p_value)}"
        return text


@dataclass
class TargetResult:
    """The outcome of one validation target (V1-V8, O1-O16).

    ``kind`` is its kind of evidence (:data:`sim.validation.KINDS`); left empty, it
    is the target's own (:func:`sim.validation.kind_of`).
    """

    target: str  # "V1" ... "V8", "O1" ...
    finding: str
    source: str
    expected: str
    method: str
    checks: list[Check]
    details: dict[str, Any] = field(default_factory=dict)
    charts: list[str] = field(default_factory=list)
    seconds: float = 0.0
    kind: str = ""

    def __post_init__(self) -> None:
        if not self.kind:
            from sim.validation import kind_of

            self.kind = kind_of(self.target)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(check.passed for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        return data


def _fmt(value: float | None) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-3 or magnitude >= 1e4):
        return f"{value:.3g}"
    return f"{value:.4f}" if magnitude < 1 else f"{value:.3f}"


def _fmt_p(p: float) -> str:
    """``< 0.0001`` or ``= 0.0123``."""
    return "< 0.0001" if p < 1e-4 else f"= {p:.4f}"


# ---------------------------------------------------------------------- settings
@dataclass(frozen=True)
class Settings:
    """How large the experiments are and what is changed in their scenarios.

    Args:
        quick: reduced sizes (for tests); the full sizes take a few minutes.
        reps: replications per experiment (independent seeds); ``None`` = the
            experiment's default for the mode.
        seed: base seed; every experiment derives its seeds from it.
        overrides: absolute parameter values by dotted path, applied to every
            experiment whose scenario has the path.
        scale: multipliers by dotted path or design key (see :data:`DESIGN_KEYS`).
        executor: runs independent simulations in parallel when given.
    """

    quick: bool = False
    reps: int | None = None
    seed: int = 20250116
    overrides: Mapping[str, Any] = field(default_factory=dict)
    scale: Mapping[str, float] = field(default_factory=dict)
    executor: Executor | None = field(default=None, compare=False)

    def replications(self, full: int, quick: int) -> int:
        """``reps`` if given, else the experiment's default for the mode."""
        if self.reps is not None:
            return self.reps
        return quick if self.quick else full

    def size(self, full: T, quick: T) -> T:
        return quick if self.quick else full

    def factor(self, key: str) -> float:
        return float(self.scale.get(key, 1.0))

    def map(self, function: Callable[..., R], jobs: Sequence[tuple]) -> list[R]:
        """``[function(*job) for job in jobs]``, in parallel with the executor if any."""
        if self.executor is None or len(jobs) < 2:
            return [function(*job) for job in jobs]
        futures = [self.executor.submit(function, *job) for job in jobs]
        return [future.result() for future in futures]

    def picklable(self) -> Settings:
        """A copy without the executor, to send to worker processes."""
        return Settings(self.quick, self.reps, self.seed, dict(self.overrides), dict(self.scale))


def parse_overrides(assignments: Iterable[str]) -> dict[str, Any]:
    """``["path=value", ...]`` -> dict; each path must name a scenario parameter."""
    from sim.validation.users import survey_scenario_data

    probe = survey_scenario_data(n_users=100, transactional_share=None)
    values = {}
    for text in assignments:
        path, value = parse_assignment(text)
        check_path(probe, path, value, "validate --set")
        values[path] = value
    return values


# ---------------------------------------------------------------------- scenarios
def build_scenario(raw: Mapping[str, Any], source: str, settings: Settings) -> Scenario:
    """Validate ``raw``, then apply the settings' multipliers and overrides that apply."""
    spec = scenario_from_data(raw, source)
    data = spec.model_dump(mode="json")
    changes: dict[str, Any] = {}
    for path, factor in settings.scale.items():
        current = get_value(data, path, default=None)
        if isinstance(current, bool) or not isinstance(current, int | float):
            continue
        scaled = current * factor
        changes[path] = int(round(scaled)) if isinstance(current, int) else float(scaled)
    for path, value in settings.overrides.items():
        if get_value(data, path, default=_MISSING) is not _MISSING:
            changes[path] = value
    if not changes:
        return spec
    return scenario_from_data(data, source, changes)


_MISSING = object()


def check_scale_keys(scale: Mapping[str, float]) -> None:
    """Refuse multipliers that are neither a design key nor a scenario parameter."""
    from sim.validation.users import survey_scenario_data

    probe = survey_scenario_data(n_users=100, transactional_share=None)
    for key, factor in scale.items():
        if key in DESIGN_KEYS:
            continue
        if not np.isfinite(factor) or factor < 0:
            raise ScenarioError(f"scale {key}: multiplier must be >= 0, got {factor}")
        check_path(probe, key, 1.0, "validate scale")


# ---------------------------------------------------------------------- running
def seeds_for(base_seed: int, experiment: str, count: int) -> list[int]:
    """``count`` independent seeds for an experiment (its own stream, :mod:`sim.seeds`)."""
    return derive_seeds(base_seed, count, experiment)


def run_model(spec: Scenario, steps: int, seed: int) -> MarketModel:
    """Build the model from ``spec`` and step it ``steps`` days."""
    model = MarketModel(spec, rng=seed)
    for _ in range(steps):
        model.step()
    return model


def cluster_mean_test(
    values: np.ndarray, clusters: np.ndarray, level: float = 0.95
) -> dict[str, float]:
    """Mean of ``values`` with a t interval and p-value that treat ``clusters`` as the units.

    The per-cluster means are the observations (one-sample t-test against 0, G - 1
    degrees of freedom, G clusters), so correlation within a cluster (brands or firms
    of one simulated market) cannot pass for independent evidence. The estimate is the
    mean of the cluster means (the grand mean when clusters are of equal size); with
    equal sizes the interval equals OLS on a constant with cluster-robust (CR1)
    errors and t(G - 1) critical values. Fewer than two clusters give NaN bounds.
    """
    from scipy import stats

    values = np.asarray(values, dtype=float)
    clusters = np.asarray(clusters)
    levels = np.unique(clusters)
    means = np.array([values[clusters == c].mean() for c in levels])
    g = means.size
    mean = float(means.mean()) if g else float("nan")
    if g < 2:
        return {
            "mean": mean,
            "low": float("nan"),
            "high": float("nan"),
            "p_value": 1.0,
            "clusters": g,
            "se": float("nan"),
        }
    se = float(means.std(ddof=1) / np.sqrt(g))
    if se == 0:
        p_value = 0.0 if mean != 0 else 1.0
        return {
            "mean": mean,
            "low": mean,
            "high": mean,
            "p_value": p_value,
            "clusters": g,
            "se": 0.0,
        }
    crit = float(stats.t.ppf(0.5 + level / 2, g - 1))
    p_value = float(2 * stats.t.sf(abs(mean / se), g - 1))
    return {
        "mean": mean,
        "low": mean - crit * se,
        "high": mean + crit * se,
        "p_value": p_value,
        "clusters": g,
        "se": se,
    }


def percentile_ci(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``samples`` (NaNs dropped)."""
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return float("nan"), float("nan")
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)
