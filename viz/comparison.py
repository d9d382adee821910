"""Strategy A against strategy B, over time, with common random numbers.

The same design as :func:`sim.compare.compare` (and the same pieces: variants from
:func:`sim.compare.variant`, seeds from :func:`sim.compare.replication_seeds`, the
one seed scheme of :mod:`sim.seeds`; end outcomes from
:func:`sim.runner.focal_outcomes`, intervals from :func:`sim.stats.mean_ci`):
replication r of A and of B share a seed, so B - A
reflects the strategies rather than chance. The UI also needs each replication's
path over time, to draw mean and 95% CI bands per day, so each run's series are
kept (:func:`replicate`).

Where the runs go: in the caller's (background) thread one after the other,
reporting progress per simulated day and stopping at the next day once cancelled;
or, given an executor (the page's :class:`ComparisonJob` starts one worker process
per core, :func:`comparison_workers`), all at once, reporting progress per finished
run and stopping the workers once cancelled. Each run depends only on its scenario
and seed, so both give the same numbers bit for bit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Executor, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.compare import OUTCOMES, Comparison, outcome_labels, replication_seeds, variant
from sim.errors import GuanxiError
from sim.model import MarketModel
from sim.parameters import get_value
from sim.resources import available_cores
from sim.runner import firm_market_frame, focal_outcomes, model_frame, run_model
from sim.scenario import Scenario
from sim.stats import mean_ci
from sim.sweep.workers import WORKER_PRELOAD, ResilientProcessPool
from viz.figures import Chart, band_chart
from viz.hooks import PosteriorSource, posterior_overrides
from viz.jobs import BackgroundJob
from viz.labels import assumption_labels, describe_changes, market_name
from viz.parameters import assignment
from viz.stamp import version
from viz.verdict import caveats, change_subject, verdict_text

# Focal-firm outcomes drawn over time (the keys of OUTCOMES): key -> title. People are
# real people; "currency" is replaced by the scenario's (:func:`series_title`).
SERIES_TITLES: dict[str, str] = {
    "attitude": "Mean attitude toward us (aware users, -1..1)",
    "followers_people": "Followers (people)",
    "customers_people": "Customers (people)",
    "conversions_people": "Conversions (purchases by people, cumulative)",
    "revenue": "Revenue (currency, cumulative)",
    "profit": "Profit (currency, cumulative)",
    "crm_capability": "Social CRM capability (0..1)",
    "performance": "Marketing performance index (0..1)",
    "ties": "Guanxi ties",
}
VARIANTS = ("A", "B", "B - A")
#: Said on every chart of a comparison run over a calibration posterior.
UNCERTAINTY_NOTE = "includes parameter uncertainty"
MAX_REPLICATIONS = 100


def series_title(key: str, currency: str) -> str:
    """The title of an outcome's chart, with the currency named."""
    return SERIES_TITLES[key].replace("(currency", f"({currency}")


class ComparisonCancelled(Exception):
    """The user cancelled the comparison."""


@dataclass(frozen=True)
class ComparisonRequest:
    """What to compare: overrides of A and B on one base scenario, and the design."""

    base: Scenario
    a_overrides: Mapping[str, Any]
    b_overrides: Mapping[str, Any]
    reps: int
    steps: int
    seed: int
    # the changes from the scenario file that ``base`` already holds (for reports)
    scenario_changes: Mapping[str, Any] = field(default_factory=dict)
    # a calibration posterior (viz.hooks.PosteriorSource): replication r of A and of B
    # runs with draw r under the variant's own changes
    posterior: PosteriorSource | None = None

    def replication_variants(self) -> list[tuple[Scenario, Scenario]]:
        """(A, B) of each replication: the variants themselves, or with a posterior,
        the base at draw r under A's and B's own changes (which win; as
        ``guanxi compare --posterior``)."""
        a, b = self.variants()
        if self.posterior is None:
            return [(a, b)] * self.reps
        pairs = []
        for r, draw in enumerate(self.posterior.draws(self.reps, self.seed)):
            pairs.append(
                (
                    variant(self.base, posterior_overrides(draw, self.a_overrides), f"A, draw {r}"),
                    variant(self.base, posterior_overrides(draw, self.b_overrides), f"B, draw {r}"),
                )
            )
        return pairs

    def variants(self) -> tuple[Scenario, Scenario]:
        """Validated scenarios A and B (raises ScenarioError with one line)."""
        if not 1 <= self.reps <= MAX_REPLICATIONS:
            raise GuanxiError(f"replications: {self.reps}; allowed: 1 to {MAX_REPLICATIONS}")
        if not 1 <= self.steps <= self.base.model.steps * 10:
            raise GuanxiError(f"days: {self.steps}; allowed: 1 to {self.base.model.steps * 10}")
        a = variant(self.base, dict(self.a_overrides), "A")
        b = variant(self.base, dict(self.b_overrides), "B")
        return a, b


@dataclass(frozen=True)
class Replication:
    """One run's focal-firm series (one value per day, day 0 first) and end outcomes."""

    seed: int
    series: dict[str, np.ndarray]
    final: dict[str, float]
    # real people per simulated user, by market (for the verdict's caveats)
    people_per_user: dict[str, float] = field(default_factory=dict)


def focal_series(model: MarketModel) -> dict[str, np.ndarray]:
    """The focal firm's outcomes per day from a finished run's DataCollector.

    Followers, customers and purchases in real people: the firm_market table's
    people columns, summed over the focal firm's markets.
    """
    frame = model_frame(model)
    fm = firm_market_frame(model)
    mine = fm[fm.firm == model.focal.name].assign(
        conversions_people=lambda rows: rows.conversions * rows.people_per_user
    )
    per_day = mine.groupby("step")[["followers_people", "customers_people", "conversions_people"]]
    people = per_day.sum().reindex(frame.step, fill_value=0.0)
    return {
        "attitude": frame.focal_attitude.to_numpy(dtype=float),
        "followers_people": people.followers_people.to_numpy(dtype=float),
        "customers_people": people.customers_people.to_numpy(dtype=float),
        "conversions_people": np.cumsum(people.conversions_people.to_numpy(dtype=float)),
        "revenue": np.cumsum(frame.focal_revenue.to_numpy(dtype=float)),
        "profit": np.cumsum(frame.focal_profit.to_numpy(dtype=float)),
        "crm_capability": frame.focal_crm_capability.to_numpy(dtype=float),
        "performance": frame.focal_performance.to_numpy(dtype=float),
        "ties": frame.ties.to_numpy(dtype=float),
    }


def replicate(
    spec: Scenario, steps: int, seed: int, on_step: Callable[[int], None] | None = None
) -> Replication:
    """Run ``spec`` for ``steps`` days with ``seed``; keep its series and end outcomes."""
    model = run_model(spec, steps, seed, on_step)
    outcome = focal_outcomes(model)
    return Replication(
        seed=seed,
        series=focal_series(model),
        final={key: float(outcome[key]) for key in OUTCOMES},
        people_per_user={
            market.name: float(model.people_per_user[index])
            for index, market in enumerate(spec.markets)
        },
    )


@dataclass
class ComparisonResult:
    """Both variants' replications, with the CLI's end-of-run table and bands over time."""

    request: ComparisonRequest
    a: Scenario
    b: Scenario
    seeds: list[int]
    runs_a: list[Replication]
    runs_b: list[Replication]
    _bands: dict[str, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]] = field(
        default_factory=dict, repr=False
    )

    @property
    def days(self) -> np.ndarray:
        return np.arange(self.request.steps + 1, dtype=float)

    def comparison(self) -> Comparison:
        """End-of-run estimates, as :func:`sim.compare.compare` reports them."""
        table = {}
        for key in OUTCOMES:
            va = np.array([run.final[key] for run in self.runs_a])
            vb = np.array([run.final[key] for run in self.runs_b])
            table[key] = {"A": mean_ci(va), "B": mean_ci(vb), "B - A": mean_ci(vb - va)}
        return Comparison(table, self.seeds, self.a, self.b)

    def bands(self, key: str) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(mean, low, high) per day for A, B and the paired B - A, 95% t intervals."""
        if key not in self._bands:
            a = np.vstack([run.series[key] for run in self.runs_a])
            b = np.vstack([run.series[key] for run in self.runs_b])
            self._bands[key] = {"A": mean_band(a), "B": mean_band(b), "B - A": mean_band(b - a)}
        return self._bands[key]

    @property
    def parameter_uncertainty(self) -> bool:
        """The replications drew the model's parameters from a calibration posterior."""
        return self.request.posterior is not None

    def chart(self, key: str) -> Chart:
        title = series_title(key, self.a.model.currency)
        if self.parameter_uncertainty:
            title += f"; {UNCERTAINTY_NOTE}"
        return band_chart(f"compare_{key}", title, self.days, self.bands(key))

    def bands_frame(self) -> pd.DataFrame:
        """Long table: day, outcome, variant, mean, low, high, replications."""
        frames = []
        for key in SERIES_TITLES:
            for name, (mean, low, high) in self.bands(key).items():
                frames.append(
                    pd.DataFrame(
                        {
                            "day": self.days.astype(int),
                            "outcome": key,
                            "variant": name,
                            "mean": mean,
                            "low": low,
                            "high": high,
                            "replications": len(self.runs_a),
                        }
                    )
                )
        return _stamped(pd.concat(frames, ignore_index=True), self.stamp())

    def stamp(self) -> dict[str, Any]:
        """What this comparison was: A's and B's changes (plain words and as ``--set``
        assignments), replications, days, seed and version; every export carries it."""
        return comparison_stamp(self.request)

    def table_frame(self) -> pd.DataFrame:
        """End-of-run outcomes: one row per outcome and variant, mean and 95% CI,
        stamped with A's and B's changes, the design and the version."""
        rows = []
        labels = outcome_labels(self.a.model.currency)
        for key, estimates in self.comparison().outcomes.items():
            for name in VARIANTS:
                estimate = estimates[name]
                rows.append(
                    {
                        "outcome": key,
                        "label": labels[key],
                        "variant": name,
                        "mean": estimate.mean,
                        "low": estimate.low,
                        "high": estimate.high,
                        "replications": estimate.n,
                    }
                )
        return _stamped(pd.DataFrame(rows), self.stamp())

    def runs_frame(self) -> pd.DataFrame:
        """Every replication's series: variant, replication, seed, day and outcomes."""
        frames = []
        for name, runs in (("A", self.runs_a), ("B", self.runs_b)):
            for index, run in enumerate(runs):
                frame = pd.DataFrame(run.series)
                frame.insert(0, "day", self.days.astype(int))
                frame.insert(0, "seed", run.seed)
                frame.insert(0, "replication", index)
                frame.insert(0, "variant", name)
                frames.append(frame)
        return _stamped(pd.concat(frames, ignore_index=True), self.stamp())


def comparison_stamp(request: ComparisonRequest) -> dict[str, Any]:
    """A comparison's identity as columns: scenario, changes of A and B, design, version."""
    focal, currency = request.base.focal_firm, request.base.model.currency
    return {
        "scenario": request.base.model.name,
        "a_changes": describe_changes(request.a_overrides, focal, currency),
        "b_changes": describe_changes(request.b_overrides, focal, currency),
        "a_set": "; ".join(assignment(k, v) for k, v in request.a_overrides.items()),
        "b_set": "; ".join(assignment(k, v) for k, v in request.b_overrides.items()),
        "days": request.steps,
        "base_seed": request.seed,
        "posterior": str(request.posterior.directory) if request.posterior is not None else "",
        "version": version(),
    }


def _stamped(frame: pd.DataFrame, stamp: Mapping[str, Any]) -> pd.DataFrame:
    for key, value in stamp.items():
        frame[key] = value
    return frame


@dataclass(frozen=True)
class ComparisonRecord:
    """A finished comparison as the session lists it: its number, what A and B
    changed in plain words, and its verdict with the caveats that apply."""

    number: int
    result: ComparisonResult
    subject: str
    a_words: str
    b_words: str
    verdict: str
    caveats: tuple[str, ...]

    @classmethod
    def of(cls, number: int, result: ComparisonResult) -> ComparisonRecord:
        request = result.request
        base, focal = request.base, request.base.focal_firm
        currency = base.model.currency
        changed = {*request.a_overrides, *request.b_overrides}
        base_values = {path: get_value(base, path) for path in changed}
        subject = change_subject(
            request.a_overrides, request.b_overrides, base_values, focal, currency
        )
        differences = {key: est["B - A"] for key, est in result.comparison().outcomes.items()}
        people = result.runs_a[0].people_per_user if result.runs_a else {}
        return cls(
            number=number,
            result=result,
            subject=subject,
            a_words=describe_changes(request.a_overrides, focal, currency),
            b_words=describe_changes(request.b_overrides, focal, currency),
            verdict=verdict_text(subject, differences, currency, request.steps),
            caveats=tuple(
                caveats(
                    request.steps,
                    len(result.seeds),
                    {market_name(m): p for m, p in people.items()},
                    assumption_labels(base, changed),
                    parameter_uncertainty=request.posterior is not None,
                )
            )
            + posterior_caveat(request),
        )

    @property
    def design(self) -> str:
        request = self.result.request
        return (
            f"{len(self.result.seeds)} replications x {request.steps:,} days, "
            f"base seed {request.seed}"
        )


def posterior_caveat(request: ComparisonRequest) -> tuple[str, ...]:
    """Which calibration the parameters were drawn from, in business words (or nothing)."""
    posterior = request.posterior
    if posterior is None:
        return ()
    describe = getattr(posterior, "describe", None)
    what = describe(request.base.focal_firm) if describe else posterior.name
    return (
        f"Results include parameter uncertainty: replication r of A and of B both use "
        f"draw r of the calibration posterior ({what}); A's and B's own changes win.",
    )


def mean_band(values: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and t-based confidence interval per column of (replications, days).

    Matches :func:`sim.stats.mean_ci` column by column (one replication or no spread
    gives a point), without a scipy call per day.
    """
    n = values.shape[0]
    mean = values.mean(axis=0)
    if n < 2:
        return mean, mean.copy(), mean.copy()
    sem = values.std(axis=0, ddof=1) / np.sqrt(n)
    half = stats.t.ppf(0.5 + level / 2, df=n - 1) * sem
    return mean, mean - half, mean + half


def run_comparison(
    request: ComparisonRequest,
    on_progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
    executor: Executor | None = None,
) -> ComparisonResult:
    """Run R replications of A and B with common random numbers.

    Without ``executor``, day by day in this thread: ``on_progress`` gets the share
    of simulated days done (0..1), at most once per percent, and setting ``cancel``
    stops the work at the next simulated day with :class:`ComparisonCancelled`.
    With one, every run is submitted at once: ``on_progress`` gets the share of runs
    done as they finish, and ``cancel`` cancels what has not started (the owner of
    the executor stops the running ones) and raises :class:`ComparisonCancelled`.
    """
    a, b = request.variants()
    pairs = request.replication_variants()
    seeds = replication_seeds(request.seed, request.reps)
    # A0, B0, A1, B1, ...: with a posterior, replication r's A and B at draw r
    jobs = [(spec, seed) for seed, pair in zip(seeds, pairs, strict=True) for spec in pair]
    if executor is None:
        runs = _run_here(jobs, request.steps, on_progress, cancel)
    else:
        runs = _run_on(executor, jobs, request.steps, on_progress, cancel)
    return ComparisonResult(request, a, b, seeds, runs[0::2], runs[1::2])


def _run_here(
    jobs: list[tuple[Scenario, int]],
    steps: int,
    on_progress: Callable[[float], None] | None,
    cancel: threading.Event | None,
) -> list[Replication]:
    total = len(jobs) * steps
    done = 0
    reported = -1

    def tick(_day: int) -> None:
        nonlocal done, reported
        if cancel is not None and cancel.is_set():
            raise ComparisonCancelled("comparison cancelled")
        done += 1
        percent = int(100 * done / total)
        if on_progress is not None and percent != reported:
            reported = percent
            on_progress(done / total)

    return [replicate(spec, steps, seed, tick) for spec, seed in jobs]


# Seconds between looks at the cancel flag while runs execute elsewhere.
_POLL_S = 0.2


def _run_on(
    executor: Executor,
    jobs: list[tuple[Scenario, int]],
    steps: int,
    on_progress: Callable[[float], None] | None,
    cancel: threading.Event | None,
) -> list[Replication]:
    futures = [executor.submit(replicate, spec, steps, seed) for spec, seed in jobs]
    pending = set(futures)
    while pending:
        if cancel is not None and cancel.is_set():
            for future in futures:
                future.cancel()
            raise ComparisonCancelled("comparison cancelled")
        finished, pending = wait(pending, timeout=_POLL_S, return_when=FIRST_COMPLETED)
        for future in finished:
            future.result()  # a run's error stops the comparison here
        if finished and on_progress is not None:
            on_progress(1.0 - len(pending) / len(futures))
    return [future.result() for future in futures]


# Simulated days (of 10,000 users or fewer; more users count pro rata) below which a
# comparison runs in the page's thread: starting worker processes and loading the
# model's compiled loops in each takes 3-4 s, which a shorter comparison (under
# about 15 s of work) would not win back.
PROCESSES_FROM_DAYS = 4_000


def comparison_workers(request: ComparisonRequest) -> int:
    """Worker processes for a comparison: one per core, no more than it has runs,
    and none (run in the thread) when it is too short to gain from them."""
    days = 2 * request.reps * request.steps * max(1.0, request.base.model.n_users / 10_000)
    if days < PROCESSES_FROM_DAYS:
        return 1
    return max(1, min(available_cores(), 2 * request.reps))


class ComparisonJob(BackgroundJob):
    """A comparison running in a background thread, with progress, cancel and outcome.

    Its runs execute in worker processes, one per core (:func:`comparison_workers`),
    started for the comparison and stopped when it ends or is cancelled; with one
    core, or for a short comparison, in the background thread itself.
    """

    what = "comparison"
    cancelled = ComparisonCancelled

    def __init__(self, request: ComparisonRequest, on_update: Callable[[], None]) -> None:
        super().__init__(on_update)
        self.request = request
        self.progress = 0.0
        self.result: ComparisonResult | None = None
        self.recorded = False  # added to the session's list of comparisons
        self._pool: ResilientProcessPool | None = None

    @property
    def simulated_days(self) -> int:
        return 2 * self.request.reps * self.request.steps

    def _progress(self, share: float) -> None:
        self.progress = share
        self._on_update()

    def work(self) -> None:
        if comparison_workers(self.request) > 1:
            self.request.variants()  # refuse bad input before starting processes
            self._pool = ResilientProcessPool(
                comparison_workers(self.request), preload=(*WORKER_PRELOAD, __name__)
            )
        self.result = run_comparison(self.request, self._progress, self._cancel, self._pool)

    def cleanup(self) -> None:
        if self._pool is not None:
            self._pool.terminate()  # the workers stop now, whether done, cancelled or failed
