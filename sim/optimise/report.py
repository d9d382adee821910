"""The winner's-curse guard and the report: re-evaluate the Pareto set, write what was found.

The search's Pareto set is chosen on the runs that also chose it, so its values are
flattering (the winner's curse). :func:`reevaluate` runs each of its strategies
again in fresh market states with fresh seeds and more replications (common random
numbers across strategies), and :func:`robust_table` reports each objective with a
95% bootstrap confidence interval and marks strategies dominated within noise
(:func:`sim.optimise.robust.noise_status`).

Written to the results directory::

    pareto.parquet, pareto.md   the re-evaluated strategies: levers, estimates [95% CI],
                                standing, and the --set line that reproduces each
    pareto_front.png            search candidates and the re-evaluated strategies
    convergence.png             hypervolume of the front found by each generation
    trials.parquet              every candidate of the search
    robustness.parquet          every re-evaluation run (for `guanxi discover`)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.optimise.robust import bootstrap, measure, noise_status, state_means
from sim.optimise.search import (
    FINAL_DIR,
    Progress,
    RunKey,
    candidate_values,
    execute_runs,
    hypervolume_by_generation,
    market_states,
    read_runs,
    runs_array,
)
from sim.optimise.spec import OptimisationPlan
from sim.seeds import derive_rng

STANDING = {
    "pareto": "robust Pareto set",
    "dominated": "dominated",
    "dominated within noise": "dominated within noise (indistinguishable)",
    "runs failed": "runs failed",
}


def reevaluate(
    plan: OptimisationPlan,
    out: Path,
    engine: Any,
    candidates: list[int],
    table: pd.DataFrame,
    on_progress: Callable[[Progress], None] | None = None,
    run_function: Callable[..., Any] | None = None,
) -> dict[RunKey, dict[str, Any]]:
    """Run the chosen strategies in the fresh market states; skip runs already on disk."""
    states = market_states(plan, FINAL_DIR)
    records = read_runs(out / FINAL_DIR)
    by_number = table.set_index("candidate")
    paths = [d.path for d in plan.decisions]
    jobs = []
    for c in candidates:
        values = candidate_values(plan, {p: _plain(by_number.loc[c, p]) for p in paths})
        for s in range(len(states)):
            for r in range(plan.final_replications):
                key = RunKey(FINAL_DIR, c, s, r)
                if key not in records:
                    jobs.append((key, values, {"generation": -1}))
    progress = Progress(total=len(candidates) * len(states) * plan.final_replications)
    progress.done = progress.total - len(jobs)
    records.update(
        execute_runs(plan, out, engine, jobs, states, progress, on_progress, run_function)
    )
    return records


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def robust_table(
    plan: OptimisationPlan,
    candidates: list[int],
    table: pd.DataFrame,
    records: dict[RunKey, dict[str, Any]],
) -> pd.DataFrame:
    """One row per re-evaluated strategy: levers, estimate and 95% CI per objective,
    the search's (optimistic) value, its standing and its ``--set`` line."""
    n_states = len(market_states(plan, FINAL_DIR))
    runs = runs_array(plan, records, FINAL_DIR, candidates, n_states, plan.final_replications)
    complete = ~np.isnan(runs).any(axis=(1, 2, 3))
    good = [c for c, ok in zip(candidates, complete, strict=True) if ok]
    units = [state_means(runs[complete, k]) for k in range(len(plan.objectives))]
    estimates = (
        np.column_stack([measure(o, u) for o, u in zip(plan.objectives, units, strict=True)])
        if good
        else np.empty((0, len(plan.objectives)))
    )
    resampled = (
        bootstrap(plan.objectives, units, derive_rng(plan.seed, "optimise-bootstrap"))
        if good
        else np.empty((0, 0, len(plan.objectives)))
    )
    standing = noise_status(plan.objectives, estimates, resampled) if good else []
    labels = {c: f"S{i + 1}" for i, c in enumerate(candidates)}
    by_number = table.set_index("candidate")
    rows = []
    for c in candidates:
        values = candidate_values(
            plan, {d.path: _plain(by_number.loc[c, d.path]) for d in plan.decisions}
        )
        row: dict[str, Any] = {"strategy": labels[c], "candidate": c, **values}
        if c in good:
            i = good.index(c)
            status, by = standing[i]
            row["standing"] = status
            row["dominated_by"] = labels[good[by]] if by is not None else None
            for k, o in enumerate(plan.objectives):
                row[o.key] = float(estimates[i, k])
                row[f"{o.key} low"] = float(np.percentile(resampled[:, i, k], 2.5))
                row[f"{o.key} high"] = float(np.percentile(resampled[:, i, k], 97.5))
        else:
            row["standing"], row["dominated_by"] = "runs failed", None
            for o in plan.objectives:
                row[o.key] = row[f"{o.key} low"] = row[f"{o.key} high"] = float("nan")
        for o in plan.objectives:
            row[f"{o.key} search"] = float(by_number.loc[c, o.key])
        row["set_line"] = set_line(values)
        rows.append(row)
    return pd.DataFrame(rows)


def set_line(values: dict[str, Any]) -> str:
    """``--set path=value`` for each lever: add it to `guanxi run` or `guanxi compare`."""
    return " ".join(f"--set {path}={_toml(value)}" for path, value in values.items())


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


# --------------------------------------------------------------------------- writing
def write_report(
    plan: OptimisationPlan,
    out: Path,
    table: pd.DataFrame,
    robust: pd.DataFrame,
    records: dict[RunKey, dict[str, Any]],
) -> list[Path]:
    import pyarrow as pa

    from sim.sweep.durable import atomic_write, parquet_bytes

    written = []

    def put(name: str, data: bytes) -> None:
        atomic_write(out / name, data)
        written.append(out / name)

    put("trials.parquet", parquet_bytes(pa.Table.from_pandas(table, preserve_index=False)))
    put("pareto.parquet", parquet_bytes(pa.Table.from_pandas(robust, preserve_index=False)))
    runs = pd.DataFrame(list(records.values()))
    if not runs.empty:
        runs = runs.sort_values(["candidate", "state", "replication"]).reset_index(drop=True)
        runs.insert(
            0,
            "strategy",
            runs.candidate.map(dict(zip(robust.candidate, robust.strategy, strict=True))),
        )
        put("robustness.parquet", parquet_bytes(pa.Table.from_pandas(runs, preserve_index=False)))
    put("pareto.md", markdown(plan, robust).encode())
    put("pareto_front.png", pareto_front_png(plan, table, robust))
    put("convergence.png", convergence_png(plan, table))
    return written


def _lever_name(path: str) -> str:
    from sim.parameters import field_info

    try:
        text = field_info(path).description or ""
    except Exception:
        text = ""
    short = path.removeprefix("firms.").replace(".strategies.", " ").replace("_", " ")
    return f"{short}" + (f" ({text.rstrip('.')})" if text else "")


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3f}"


def markdown(plan: OptimisationPlan, robust: pd.DataFrame) -> str:
    n_final = len(market_states(plan, FINAL_DIR))
    lines = [
        f"# {plan.name}: robust strategies",
        "",
        plan.spec.optimisation.description or "",
        "",
        f"Searched {plan.n_trials} candidate strategies (NSGA-II, {plan.generations} "
        f"generations of {plan.population}), each run in {plan.scenarios} sampled market "
        f"state(s) x {plan.replications} replication(s) of {plan.steps} days "
        f"({plan.base.model.n_users:,} simulated users, seed {plan.seed}). The search's best "
        f"strategies were then run again in {n_final} fresh market state(s) x "
        f"{plan.final_replications} replication(s) with fresh seeds: the figures below are "
        "those of the fresh runs, with 95% confidence intervals (bootstrap over market "
        "states), so they are not flattered by the search's luck.",
        "",
        "Goals:",
        "",
    ]
    lines += [f"- {o.title()}" for o in plan.objectives]
    if plan.uncertainties:
        lines += ["", "Market uncertainty sampled:", ""]
        for f in plan.uncertainties:
            rng = f"{f.low:g} to {f.high:g}" if f.values is None else ", ".join(map(str, f.values))
            lines.append(f"- `{f.path}`: {rng} ({f.distribution})")
    if plan.posterior is not None:
        lines += [
            "",
            "Market uncertainty from a calibration posterior: each market state's "
            + plan.posterior.describe()
            + " (a particle drawn by weight, seeded).",
        ]
    if plan.constraints:
        lines += ["", "Limits every strategy keeps:", ""]
        for c in plan.constraints:
            terms = " ".join(
                f"{'-' if coef < 0 else '+'} {abs(coef):g} x `{p}`" for p, coef in c.terms
            ).removeprefix("+ ")
            limit = (
                f"at most {c.at_most:g}" if c.at_most is not None else f"at least {c.at_least:g}"
            )
            lines.append(f"- {c.name}: {terms} {limit}")
    lines += ["", "## Strategies", ""]
    levers = [d.path for d in plan.decisions]
    header = [
        "strategy",
        *[_short(p) for p in levers],
        *[o.label or o.key for o in plan.objectives],
        "standing",
    ]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for _, row in robust.iterrows():
        cells = [row.strategy]
        cells += [_toml(_plain(row[p])) for p in levers]
        for o in plan.objectives:
            cells.append(
                f"{_fmt(row[o.key])} [{_fmt(row[f'{o.key} low'])}, {_fmt(row[f'{o.key} high'])}]"
            )
        standing = STANDING[row.standing]
        if isinstance(row.dominated_by, str):
            standing += f" by {row.dominated_by}"
        cells.append(standing)
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Standing: *robust Pareto set*: no other strategy does at least as well on every "
        "goal after re-evaluation; *dominated*: another strategy does better on every goal, "
        "beyond noise on at least one (95% bootstrap CI of the paired difference above "
        "zero); *dominated within noise*: another does better on every goal, but by no "
        "difference the runs can tell from chance, so both remain contenders.",
        "",
        "Search values (the optimistic figures that selected each strategy):",
        "",
    ]
    for _, row in robust.iterrows():
        vals = ", ".join(
            f"{o.label or o.key} {_fmt(row[f'{o.key} search'])}" for o in plan.objectives
        )
        lines.append(f"- {row.strategy}: {vals}")
    lines += ["", "Levers:", ""]
    lines += [f"- `{p}`: {_lever_name(p)}" for p in levers]
    base_set = " ".join(f"--set {a}" for a in _fixed_assignments(plan))
    scenario = plan.spec.optimisation.scenario or "SCENARIO.toml"
    lines += [
        "",
        "## Reproduce a strategy",
        "",
        "Add its levers to `guanxi run` (one run) or to `guanxi compare` (against the "
        "base scenario, with common random numbers); the base settings of this "
        "optimisation come first:",
        "",
        "```bash",
    ]
    for _, row in robust.iterrows():
        lines.append(f"# {row.strategy}")
        lines.append(
            f"guanxi run {scenario} --steps {plan.steps} {base_set} {row.set_line}".replace(
                "  ", " "
            )
        )
        b = row.set_line.replace("--set ", "")
        lines.append(
            f"guanxi compare {scenario} --steps {plan.steps} {base_set} --b {b}".replace("  ", " ")
        )
    lines += ["```", ""]
    return "\n".join(lines)


def _short(path: str) -> str:
    return path.removeprefix("firms.").replace(".strategies.", ".")


def _fixed_assignments(plan: OptimisationPlan) -> list[str]:
    fixed = dict(plan.spec.optimisation.fixed)
    for text in plan.overrides:
        key, _, value = text.partition("=")
        fixed[key.strip()] = value.strip()
    return [f"{k}={_toml(v)}" for k, v in fixed.items()]


def _png(fig) -> bytes:
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def pareto_front_png(plan: OptimisationPlan, table: pd.DataFrame, robust: pd.DataFrame) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    objectives = list(plan.objectives)
    pairs = [(i, j) for i in range(len(objectives)) for j in range(i + 1, len(objectives))]
    fig, axes = plt.subplots(1, len(pairs), figsize=(6.2 * len(pairs), 5), squeeze=False)
    colours = {
        "pareto": "tab:green",
        "dominated within noise": "tab:orange",
        "dominated": "tab:red",
    }
    feasible = table[table.feasible]
    for ax, (i, j) in zip(axes[0], pairs, strict=True):
        ox, oy = objectives[i], objectives[j]
        ax.scatter(feasible[ox.key], feasible[oy.key], s=14, c="0.7", label="search candidates")
        for status, colour in colours.items():
            rows = robust[robust.standing == status]
            if rows.empty:
                continue
            ax.errorbar(
                rows[ox.key],
                rows[oy.key],
                xerr=[rows[ox.key] - rows[f"{ox.key} low"], rows[f"{ox.key} high"] - rows[ox.key]],
                yerr=[rows[oy.key] - rows[f"{oy.key} low"], rows[f"{oy.key} high"] - rows[oy.key]],
                fmt="o",
                color=colour,
                capsize=3,
                label=f"re-evaluated: {STANDING[status]}",
            )
            for _, row in rows.iterrows():
                ax.annotate(
                    row.strategy,
                    (row[ox.key], row[oy.key]),
                    textcoords="offset points",
                    xytext=(5, 5),
                )
        ax.set_xlabel(_axis(ox))
        ax.set_ylabel(_axis(oy))
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"{plan.name}: Pareto front (re-evaluated, 95% CI)")
    return _png(fig)


def _axis(o) -> str:
    what = o.label or o.outcome
    how = {"mean": "mean", "percentile": f"p{o.percentile:g}", "regret": "max regret"}[o.robustness]
    arrow = "lower is better" if o.minimise else "higher is better"
    return f"{what}, {how}, day {o.horizon} ({arrow})"


def convergence_png(plan: OptimisationPlan, table: pd.DataFrame) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = hypervolume_by_generation(plan, table)
    fig, ax = plt.subplots(figsize=(6.2, 4))
    ax.plot([g for g, _ in curve], [h for _, h in curve], marker="o")
    ax.set_xticks([g for g, _ in curve])
    ax.set_xlabel("generation")
    ax.set_ylabel("hypervolume of the front found (objectives scaled 0..1)")
    ax.set_title(f"{plan.name}: convergence")
    ax.grid(alpha=0.3)
    return _png(fig)
