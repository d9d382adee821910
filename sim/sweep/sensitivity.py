"""Sensitivity indices of a sweep's outcomes with SALib: Sobol (Saltelli design) or Morris.

``guanxi sensitivity DIR`` reads each design point's mean outcome over its
replications and computes, for every outcome:

* Sobol design: first-order (S1) and total (ST) indices with 95% bootstrap
  confidence intervals, and second-order (S2) indices where the design has them
  (``SALib.analyze.sobol``);
* Morris design: mu* (mean absolute elementary effect, in the outcome's unit), its
  95% CI, mu and sigma (``SALib.analyze.morris``).

It refuses grid and Latin hypercube designs, and incomplete sweeps: the estimators
need every design point, in the design's order. Writes ``sensitivity.csv`` (long
format) and one chart per outcome to ``DIR/sensitivity`` (or ``--out``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from SALib.analyze import morris as morris_analysis  # noqa: E402
from SALib.analyze import sobol as sobol_analysis  # noqa: E402

from sim.seeds import SWEEP_ANALYSIS, seed_sequence  # noqa: E402
from sim.sweep.report import final_frame, short_labels  # noqa: E402
from sim.sweep.spec import SweepError  # noqa: E402
from sim.sweep.store import SweepStore, check_writable  # noqa: E402


@dataclass(frozen=True)
class Sensitivity:
    """Indices for every outcome: a long table and the outcomes without variation."""

    method: str  # "sobol" or "morris"
    indices: pd.DataFrame  # outcome, index, parameter, other, value, conf
    constant: tuple[str, ...]  # outcomes that did not vary: no indices


def point_means(store: SweepStore) -> pd.DataFrame:
    """Mean of each outcome over each point's successful runs, indexed by point."""
    frame = final_frame(store)
    ok = frame[frame.status == "ok"]
    means = ok.groupby("point")[list(store.manifest["outcomes"])].mean()
    return means.reindex(range(len(store.points)))


def analyse(root: Path) -> Sensitivity:
    """Sobol or Morris indices of the sweep in ``root``; refuses designs that lack them."""
    store = SweepStore.open(root)
    design = store.manifest["design"]
    method = design["method"]
    if method not in ("sobol", "morris"):
        raise SweepError(
            f"{root}: sensitivity needs a 'sobol' or 'morris' design; this sweep's design is "
            f"'{method}' (use `guanxi sweep-report {root}` for its effects)"
        )
    means = point_means(store)
    missing = int(means.isna().all(axis=1).sum())
    if missing:
        raise SweepError(
            f"{root}: {missing} of {len(means)} design points have no successful run; "
            f"{method} indices need every point (finish the sweep with --resume)"
        )
    problem = design["problem"]
    seed = int(seed_sequence(store.manifest["seed"], SWEEP_ANALYSIS).generate_state(1)[0])
    names = problem["names"]
    rows: list[dict] = []
    constant = []
    for outcome in store.manifest["outcomes"]:
        y = means[outcome].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)):
            raise SweepError(
                f"{root}: outcome '{outcome}' is missing at some design points; "
                f"{method} indices need a value at every point"
            )
        if np.ptp(y) == 0:
            constant.append(outcome)
            continue
        if method == "sobol":
            si = sobol_analysis.analyze(
                problem, y, calc_second_order=design["second_order"], seed=seed
            )
            for i, name in enumerate(names):
                for index in ("S1", "ST"):
                    rows.append(
                        _row(outcome, index, name, "", si[index][i], si[f"{index}_conf"][i])
                    )
            if design["second_order"]:
                for i, j in zip(*np.triu_indices(len(names), 1), strict=True):
                    rows.append(
                        _row(outcome, "S2", names[i], names[j], si["S2"][i, j], si["S2_conf"][i, j])
                    )
        else:
            x = np.asarray(design["sample"], dtype=float)
            si = morris_analysis.analyze(
                problem, x, y, num_levels=design["morris_levels"], seed=seed
            )
            for i, name in enumerate(names):
                rows.append(
                    _row(outcome, "mu_star", name, "", si["mu_star"][i], si["mu_star_conf"][i])
                )
                rows.append(_row(outcome, "mu", name, "", si["mu"][i], np.nan))
                rows.append(_row(outcome, "sigma", name, "", si["sigma"][i], np.nan))
    columns = ["outcome", "index", "parameter", "other", "value", "conf"]
    return Sensitivity(method, pd.DataFrame(rows, columns=columns), tuple(constant))


def _row(outcome: str, index: str, parameter: str, other: str, value, conf) -> dict:
    return {
        "outcome": outcome,
        "index": index,
        "parameter": parameter,
        "other": other,
        "value": float(value),
        "conf": float(conf),
    }


def write_sensitivity(root: Path, out: Path | None = None, console: Console | None = None):
    """Analyse, print one table per outcome and write the CSV and charts."""
    result = analyse(root)
    out = Path(out) if out is not None else Path(root) / "sensitivity"
    check_writable(out, f"--out {out}")
    written = [out / "sensitivity.csv"]
    result.indices.to_csv(written[0], index=False)
    for outcome, rows in result.indices.groupby("outcome", sort=False):
        written.append(_chart(result.method, outcome, rows, out))
        if console is not None:
            console.print(_table(result.method, outcome, rows))
    if console is not None and result.constant:
        console.print(f"no variation, no indices: {', '.join(result.constant)}")
    return result, written


def _fmt(value: float, conf: float) -> str:
    if not np.isfinite(conf):
        return f"{value:.3g}"
    return f"{value:.3f} ± {conf:.3f}"


def _table(method: str, outcome: str, rows: pd.DataFrame) -> Table:
    labels = short_labels(list(dict.fromkeys(rows.parameter)))
    by = {(r.index, r.parameter, r.other): r for r in rows.itertuples(index=False)}
    if method == "sobol":
        table = Table(title=f"{outcome}: Sobol indices (± 95% CI)", title_justify="left")
        for header in ("parameter", "S1 first order", "ST total"):
            table.add_column(header, justify="left" if header == "parameter" else "right")
        for name, label in labels.items():
            s1, st = by[("S1", name, "")], by[("ST", name, "")]
            table.add_row(label, _fmt(s1.value, s1.conf), _fmt(st.value, st.conf))
        second = rows[rows["index"] == "S2"].sort_values("value", ascending=False).head(3)
        if not second.empty:
            pairs = ", ".join(
                f"{labels[r.parameter]} x {labels[r.other]} {_fmt(r.value, r.conf)}"
                for r in second.itertuples(index=False)
            )
            table.caption = f"largest second-order: {pairs}"
        return table
    table = Table(title=f"{outcome}: Morris elementary effects", title_justify="left")
    for header in ("parameter", "mu* (± 95% CI)", "mu", "sigma"):
        table.add_column(header, justify="left" if header == "parameter" else "right")
    for name, label in labels.items():
        ms = by[("mu_star", name, "")]
        table.add_row(
            label,
            _fmt(ms.value, ms.conf),
            f"{by[('mu', name, '')].value:.3g}",
            f"{by[('sigma', name, '')].value:.3g}",
        )
    return table


def _chart(method: str, outcome: str, rows: pd.DataFrame, out: Path) -> Path:
    labels = short_labels(list(dict.fromkeys(rows.parameter)))
    names = list(labels)
    x = np.arange(len(names))
    if method == "sobol":
        fig, ax = plt.subplots(figsize=(1.2 * len(names) + 3, 3.6))
        for offset, index in ((-0.2, "S1"), (0.2, "ST")):
            part = rows[rows["index"] == index].set_index("parameter").loc[names]
            ax.bar(x + offset, part.value, 0.4, yerr=part.conf, capsize=3, label=index)
        ax.set_ylabel("Sobol index")
        ax.legend()
    else:
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(2 * len(names) + 5, 3.6))
        part = rows[rows["index"] == "mu_star"].set_index("parameter").loc[names]
        ax.bar(x, part.value, 0.6, yerr=part.conf, capsize=3)
        ax.set_ylabel("mu* (outcome units)")
        sigma = rows[rows["index"] == "sigma"].set_index("parameter").loc[names]
        ax2.scatter(part.value, sigma.value)
        for name, mx, sy in zip(names, part.value, sigma.value, strict=True):
            ax2.annotate(labels[name], (mx, sy), fontsize=7)
        ax2.set_xlabel("mu*")
        ax2.set_ylabel("sigma")
    ax.set_xticks(x, [labels[n] for n in names], rotation=20, ha="right")
    ax.set_title(f"{outcome}: {method} sensitivity")
    fig.tight_layout()
    path = out / f"{method}_{outcome.replace('.', '_')}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
