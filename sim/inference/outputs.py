"""What a calibration writes beside its database, each file whole or not at all.

* ``posterior.parquet``: the last generation's particles, one column per parameter
  (dotted path), ``weight`` (summing to 1), ``distance`` and ``generation``;
* ``diagnostics.csv``: per generation: epsilon, simulations, accepted, acceptance
  rate, effective sample size (Kish), end time;
* ``predictive.parquet``: posterior-predictive runs (a particle drawn by weight per
  run, seeded): the model's value of every observed cell; with ``observed.parquet``
  (the data as read);
* ``posterior.png``: marginal posteriors (weighted histograms) over the prior
  densities; ``predictive.png``: the 5-95% and 25-75% posterior-predictive bands and
  median against the observed series, per market and metric;
* ``report.md``: what was fitted, the diagnostics, and per parameter the prior and
  posterior 90% intervals and whether the data pinned it down.

All can be rewritten from the database (``--resume`` on a finished calibration).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.inference.abc import ABC_ID, DATABASE, CalibrationRun, write_atomic
from sim.inference.observed import METRICS, Observed, simulated_table
from sim.inference.spec import CalibrationPlan
from sim.seeds import derive_rng, derive_seed

#: Posterior 90% width over prior 90% width below which the data "pinned down" a
#: parameter, and above which it "stayed at its prior".
PINNED, AT_PRIOR = 0.5, 0.8


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float | np.ndarray) -> Any:
    order = np.argsort(values)
    values, weights = np.asarray(values)[order], np.asarray(weights)[order]
    cumulative = np.cumsum(weights) - 0.5 * weights
    cumulative /= weights.sum()
    return np.interp(q, cumulative, values)


def effective_sample_size(weights: np.ndarray) -> float:
    w = np.asarray(weights, float)
    return float(w.sum() ** 2 / np.sum(w**2)) if len(w) else 0.0


def read_history(out: Path):
    from pyabc import History

    history = History(f"sqlite:///{(out / DATABASE).resolve()}")
    history.id = ABC_ID
    return history


def posterior_frame(history) -> pd.DataFrame:
    """The last generation's particles: parameters, weight (sums to 1), distance."""
    population = history.get_population(t=history.max_t)
    rows = [
        {
            **{k: float(v) for k, v in p.parameter.items()},
            "weight": p.weight,
            "distance": p.distance,
        }
        for p in population.particles
    ]
    frame = pd.DataFrame(rows)
    frame["weight"] = frame.weight / frame.weight.sum()
    frame["generation"] = int(history.max_t)
    return frame


def diagnostics_frame(history) -> pd.DataFrame:
    populations = history.get_all_populations()
    populations = populations[populations.t >= 0]
    rows = []
    for r in populations.itertuples():
        _, weights = history.get_distribution(m=0, t=int(r.t))
        rows.append(
            {
                "generation": int(r.t),
                "epsilon": float(r.epsilon),
                "simulations": int(r.samples),
                "accepted": int(r.particles),
                "acceptance_rate": float(r.particles) / max(int(r.samples), 1),
                "ess": effective_sample_size(weights),
                "end_time": str(r.population_end_time),
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- predictive
def predictive_run(
    base_data: dict,
    source: str,
    values: dict[str, float],
    days: int,
    seed: int,
    observed: Observed,
    firm: str,
) -> np.ndarray:
    """One posterior-predictive run: the model's values of the observed cells."""
    from sim.runner import firm_market_frame, run_model
    from sim.scenario import scenario_from_data

    spec = scenario_from_data(base_data, source, values)
    model = run_model(spec, days, seed)
    return simulated_table(firm_market_frame(model), observed, firm).value.to_numpy(float)


def predictive_frame(
    plan: CalibrationPlan, posterior: pd.DataFrame, draws: int, executor: Executor | None
) -> pd.DataFrame:
    """``draws`` runs at particles drawn by weight (seeded from the calibration seed)."""
    if draws == 0:
        return pd.DataFrame()
    paths = [p.path for p in plan.priors]
    rng = derive_rng(plan.seed, "calibrate-predictive")
    picks = rng.choice(len(posterior), size=draws, p=posterior.weight.to_numpy(float))
    base = plan.base.model_dump(mode="json")
    jobs = []
    for k, row in enumerate(picks):
        values = {path: float(posterior[path].iloc[row]) for path in paths}
        seed = derive_seed(plan.seed, "calibrate-predictive", k)
        jobs.append((base, plan.source, values, plan.days, seed, plan.observed, plan.firm))
    if executor is None:
        results = [predictive_run(*job) for job in jobs]
    else:
        results = [f.result() for f in [executor.submit(predictive_run, *job) for job in jobs]]
    table = plan.observed.table
    frames = []
    for k, values in enumerate(results):
        frame = table[["market", "metric", "date"]].copy()
        frame["draw"] = k
        frame["particle"] = int(picks[k])
        frame["value"] = values
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- charts
def _png(figure) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def posterior_chart(plan: CalibrationPlan, posterior: pd.DataFrame) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(plan.priors)
    columns = min(n, 3)
    rows = -(-n // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    for ax, prior in zip(axes.flat, plan.priors, strict=False):
        values = posterior[prior.path].to_numpy(float)
        weights = posterior.weight.to_numpy(float)
        low, high = prior.interval(0.999)
        low, high = min(low, values.min()), max(high, values.max())
        grid = np.linspace(low, high, 200)
        ax.hist(
            values,
            bins=25,
            range=(low, high),
            weights=weights,
            density=True,
            alpha=0.6,
            color="tab:blue",
            label="posterior",
        )
        ax.plot(grid, prior.frozen().pdf(grid), color="tab:gray", lw=1.5, label="prior")
        q05, q95 = weighted_quantile(values, weights, [0.05, 0.95])
        ax.axvspan(q05, q95, color="tab:blue", alpha=0.08, label="90% credible")
        ax.set_title(prior.path, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7)
    figure.suptitle(f"{plan.name}: marginal posteriors (last generation) over priors", fontsize=10)
    figure.tight_layout()
    return _png(figure)


def predictive_chart(plan: CalibrationPlan, predictive: pd.DataFrame) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = plan.observed.table
    panels = list(table.groupby(["market", "metric"], sort=True).groups)
    columns = min(len(panels), 2)
    rows = -(-len(panels) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(6 * columns, 3 * rows), squeeze=False)
    for ax, (market, metric) in zip(axes.flat, panels, strict=False):
        seen = table[(table.market == market) & (table.metric == metric)]
        if not predictive.empty:
            runs = predictive[(predictive.market == market) & (predictive.metric == metric)]
            bands = runs.groupby("date").value.quantile([0.05, 0.25, 0.5, 0.75, 0.95]).unstack()
            ax.fill_between(
                bands.index,
                bands[0.05],
                bands[0.95],
                color="tab:blue",
                alpha=0.2,
                label="predictive 5-95%",
            )
            ax.fill_between(
                bands.index, bands[0.25], bands[0.75], color="tab:blue", alpha=0.35, label="25-75%"
            )
            ax.plot(bands.index, bands[0.5], color="tab:blue", lw=1, label="median")
        ax.plot(seen.date, seen.value, "o", color="black", ms=3, label="observed")
        ax.set_title(f"{market}: {METRICS[metric].label}", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.tick_params(axis="x", rotation=30)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7)
    figure.suptitle(
        f"{plan.name}: posterior predictive vs observed ({plan.observed.frequency})", fontsize=10
    )
    figure.tight_layout()
    return _png(figure)


# --------------------------------------------------------------------------- report
def parameter_summary(plan: CalibrationPlan, posterior: pd.DataFrame) -> pd.DataFrame:
    rows = []
    weights = posterior.weight.to_numpy(float)
    for prior in plan.priors:
        values = posterior[prior.path].to_numpy(float)
        p_low, p_high = prior.interval(0.9)
        q05, q50, q95 = weighted_quantile(values, weights, [0.05, 0.5, 0.95])
        ratio = (q95 - q05) / (p_high - p_low) if p_high > p_low else float("nan")
        verdict = (
            "pinned down"
            if ratio < PINNED
            else "stayed at its prior"
            if ratio >= AT_PRIOR
            else "narrowed"
        )
        rows.append(
            {
                "parameter": prior.path,
                "prior": prior.describe(),
                "prior_q05": p_low,
                "prior_q95": p_high,
                "posterior_mean": float(np.sum(values * weights)),
                "posterior_median": float(q50),
                "posterior_q05": float(q05),
                "posterior_q95": float(q95),
                "width_ratio": float(ratio),
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows)


def report_text(
    plan: CalibrationPlan,
    run: CalibrationRun | None,
    summary: pd.DataFrame,
    diagnostics: pd.DataFrame,
    draws: int,
) -> str:
    obs = plan.observed
    lines = [
        f"# Calibration: {plan.name}",
        "",
        f"Scenario `{plan.base.model.name}` ({plan.base.model.n_users:,} simulated users), "
        f"firm `{plan.firm}`, {plan.days} days from {obs.start_date}; seed {plan.seed}.",
        f"Data: `{plan.spec.observed.file}`, {len(obs.table)} {obs.frequency} values of "
        f"{', '.join(obs.metrics)} in {', '.join(obs.markets)}.",
        f"Method: ABC-SMC (pyabc), population {plan.budget.population_size}, "
        f"{plan.distance.kind} {plan.distance.p:g}-norm distance on "
        f"{'log(1 + x)' if plan.distance.transform == 'log1p' else 'raw values'}; "
        f"{len(diagnostics)} generations stored"
        + (
            f" ({run.new_generations} in this run, {run.simulations:,} simulations, "
            f"{run.seconds:.0f} s)."
            if run is not None
            else "."
        ),
        *(
            [f"This run stopped early: {run.stopped_by}; `--resume` continues it."]
            if run is not None and run.stopped_by
            else []
        ),
        "",
        "## What the data pinned down",
        "",
        "Width ratio: the posterior's 90% credible interval over the prior's 90% interval "
        f"(below {PINNED}: pinned down; {AT_PRIOR} or more: stayed at its prior).",
        "",
        "| parameter | prior | prior 90% | posterior median | posterior 90% | width ratio | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in summary.itertuples():
        lines.append(
            f"| `{r.parameter}` | {r.prior} | {r.prior_q05:.4g} .. {r.prior_q95:.4g} | "
            f"{r.posterior_median:.4g} | {r.posterior_q05:.4g} .. {r.posterior_q95:.4g} | "
            f"{r.width_ratio:.2f} | {r.verdict} |"
        )
    pinned = summary[summary.verdict == "pinned down"].parameter.tolist()
    prior_only = summary[summary.verdict == "stayed at its prior"].parameter.tolist()
    lines += [
        "",
        f"Pinned down: {', '.join(f'`{p}`' for p in pinned) or 'none'}. "
        f"Stayed at the prior: {', '.join(f'`{p}`' for p in prior_only) or 'none'}.",
        "",
        "## Generations",
        "",
        "| generation | epsilon | simulations | accepted | acceptance rate | ESS |",
        "|---|---|---|---|---|---|",
    ]
    for r in diagnostics.itertuples():
        lines.append(
            f"| {r.generation} | {r.epsilon:.4g} | {r.simulations:,} | {r.accepted} | "
            f"{r.acceptance_rate:.3f} | {r.ess:.1f} |"
        )
    lines += [
        "",
        "## Reading it",
        "",
        f"- `posterior.png`: marginal posteriors over the priors. `predictive.png`: {draws} "
        "runs at particles drawn from the posterior, their 5-95% and 25-75% bands against "
        "the data. Data outside the bands is what the model cannot reproduce with these "
        "parameters free.",
        "- The posterior is conditional on the scenario: every parameter not inferred is "
        "held at its value, so a narrow posterior can also mean a misspecified model.",
        "- ABC approximates the posterior within the final epsilon; fewer generations or a "
        "small population give wider, rougher intervals.",
        "- What-ifs over this posterior: `guanxi compare SCENARIO --posterior DIR --a ... "
        "--b ...`: each replication draws its parameters from it.",
        "",
    ]
    return "\n".join(lines)


def write_outputs(
    plan: CalibrationPlan,
    out: Path,
    run: CalibrationRun | None,
    executor: Executor | None = None,
    report: Callable[[str], None] = print,
) -> list[Path]:
    """Write posterior, diagnostics, predictive runs, charts and report into ``out``."""
    history = read_history(out)
    posterior = posterior_frame(history)
    diagnostics = diagnostics_frame(history)
    written = []

    def put(name: str, data: bytes) -> None:
        write_atomic(out / name, data)
        written.append(out / name)

    put("posterior.parquet", _parquet(posterior))
    put("diagnostics.csv", diagnostics.to_csv(index=False).encode())
    put("observed.parquet", _parquet(plan.observed.table))
    draws = plan.budget.predictive_draws
    if draws:
        report(f"posterior predictive: {draws} runs")
    predictive = predictive_frame(plan, posterior, draws, executor)
    if not predictive.empty:
        put("predictive.parquet", _parquet(predictive))
    summary = parameter_summary(plan, posterior)
    put("parameters.csv", summary.to_csv(index=False).encode())
    put("posterior.png", posterior_chart(plan, posterior))
    put("predictive.png", predictive_chart(plan, predictive))
    put("report.md", report_text(plan, run, summary, diagnostics, draws).encode())
    return written


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()
