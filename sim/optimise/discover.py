"""Scenario discovery: in which ranges of the uncertain parameters does an outcome fail?

From a sweep's results directory (its varied parameters and outcomes) or an
optimisation's re-evaluation runs (the sampled market parameters, and the levers when
strategies are pooled), runs whose outcome is below (or above) a threshold are the
cases of interest. PRIM (Friedman and Fisher 1999, through the EMA Workbench,
:mod:`ema_workbench.analysis.prim`) peels the parameter space down to a box that holds
many of them (coverage: the share of all cases of interest inside the box) and little
else (density: the share of runs in the box that are cases of interest). Its peeling
trajectory is the trade-off between the two; the box chosen is the one of greatest
coverage whose density is at least ``min_density``. CART (the Workbench's wrapper of
scikit-learn's decision tree) gives a second opinion: its leaves where most runs are
cases of interest.

Written to OUT: ``peeling.csv`` (the trajectory), ``box.json`` and ``discover.md``
(the chosen box's limits, coverage, density, mass), ``peeling.png`` (coverage vs
density) and ``box.png`` (the box's limits against each parameter's range),
``cart.md``.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.optimise.spec import OptimiseError


@dataclass
class Discovery:
    out: Path
    summary: str
    written: list[Path]
    box: dict[str, Any]


def load_cases(
    folder: Path, outcome: str, strategy: str | None
) -> tuple[pd.DataFrame, pd.Series, str]:
    """(parameters X, outcome y, what) from a sweep's or an optimisation's directory."""
    if (folder / "optimisation.json").is_file():
        return _optimisation_cases(folder, outcome, strategy)
    if (folder / "manifest.json").is_file():
        if strategy is not None:
            raise OptimiseError("--strategy: only for an optimisation's directory")
        return _sweep_cases(folder, outcome)
    raise OptimiseError(
        f"{folder}: neither a sweep's results (manifest.json) nor an optimisation's "
        "(optimisation.json)"
    )


def _sweep_cases(folder: Path, outcome: str):
    from sim.sweep.manifest import read_manifest

    manifest = read_manifest(folder)
    factors = [f["path"] for f in manifest["design"]["factors"]]
    outcomes = manifest["outcomes"]
    if outcome not in outcomes:
        raise OptimiseError(
            f"--outcome {outcome}: not recorded by this sweep; recorded: {', '.join(outcomes)}"
        )
    runs_dir = folder / "runs"
    files = sorted(runs_dir.glob("run-*.parquet")) if runs_dir.is_dir() else []
    if not files:
        raise OptimiseError(f"{folder}: no finished runs in {runs_dir}")
    frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    frame = frame[frame.status == "ok"]
    if "step" in frame:  # daily records: the last day of each run
        frame = frame.sort_values("step").groupby("run", as_index=False).last()
    return (
        frame[factors].reset_index(drop=True),
        frame[outcome].reset_index(drop=True),
        "runs of the sweep",
        outcome,
    )


def _optimisation_cases(folder: Path, outcome: str, strategy: str | None):
    from sim.optimise.search import FINAL_DIR, read_runs

    manifest = json.loads((folder / "optimisation.json").read_text())
    keys = [o["key"] for o in manifest["objectives"]]
    by_outcome = {}
    for o in manifest["objectives"]:
        by_outcome.setdefault(o["outcome"], []).append(o["key"])
    if outcome not in keys:
        if len(set(by_outcome.get(outcome, []))) == 1:
            outcome = by_outcome[outcome][0]
        else:
            raise OptimiseError(
                f"--outcome {outcome}: not an objective of this optimisation; allowed: {', '.join(keys)}"
            )
    records = read_runs(folder / FINAL_DIR)
    if not records:
        raise OptimiseError(f"{folder}: no re-evaluation runs yet (in {folder / FINAL_DIR})")
    frame = pd.DataFrame(list(records.values()))
    frame = frame[frame.status == "ok"]
    uncertain = [u["path"] for u in manifest["uncertainties"]]
    uncertain += (manifest.get("posterior") or {}).get("paths", [])
    levers = [d["path"] for d in manifest["decisions"]]
    labels = {}
    if (folder / "pareto.parquet").is_file():
        pareto = pd.read_parquet(folder / "pareto.parquet")
        labels = dict(zip(pareto.strategy, pareto.candidate, strict=True))
    if strategy is not None:
        if strategy not in labels:
            raise OptimiseError(
                f"--strategy {strategy}: allowed: {', '.join(labels) or 'none (no pareto.parquet)'}"
            )
        frame = frame[frame.candidate == labels[strategy]]
        columns, what = uncertain, f"re-evaluation runs of strategy {strategy}"
    else:
        columns = uncertain + [p for p in levers if frame[p].nunique() > 1]
        what = "re-evaluation runs of every strategy"
    if not columns:
        raise OptimiseError(f"{folder}: no uncertain parameter varies; nothing to discover")
    x = frame[columns].reset_index(drop=True)
    for column in x:
        if x[column].dtype == bool or x[column].dtype == object:
            x[column] = x[column].astype(str).astype("category")  # CART needs categories
    return x, frame[outcome].reset_index(drop=True), what, outcome


def discover(
    folder: Path,
    outcome: str,
    threshold: float,
    below: bool,
    strategy: str | None = None,
    min_density: float = 0.8,
    out: Path | None = None,
) -> Discovery:
    from sim.errors import ensure_writable_dir

    folder = Path(folder)
    if not folder.is_dir():
        raise OptimiseError(f"{folder}: no such directory")
    x, y_values, what, outcome = load_cases(folder, outcome, strategy)
    if len(x) < 10:
        raise OptimiseError(f"{folder}: {len(x)} runs; PRIM needs at least 10")
    y = (y_values < threshold) if below else (y_values > threshold)
    y = y.to_numpy(dtype=bool)
    side = "below" if below else "above"
    lo, hi = float(y_values.min()), float(y_values.max())
    if not y.any():
        raise OptimiseError(
            f"--{side} {threshold:g}: no run has {outcome} {side} it (runs range {lo:g} to {hi:g})"
        )
    if y.all():
        raise OptimiseError(
            f"--{side} {threshold:g}: every run has {outcome} {side} it (runs range {lo:g} to "
            f"{hi:g}); nothing to tell apart"
        )
    out = out or folder / f"discover-{outcome.replace('@', '-day').replace('/', '_')}"
    ensure_writable_dir(out, f"--out {out}", OptimiseError)

    box, trajectory, limits, chosen, box_init = run_prim(x, y, min_density)
    cart_rows = run_cart(x, y)
    restricted = _restricted(limits, box_init)
    stats = trajectory.iloc[chosen]
    condition = f"{outcome} {'<' if below else '>'} {threshold:g}"
    box_info = {
        "outcome": outcome,
        "condition": condition,
        "cases": int(y.sum()),
        "runs": int(len(y)),
        "chosen_box": int(chosen),
        "coverage": float(stats.coverage),
        "density": float(stats.density),
        "mass": float(stats["mass"]),
        "limits": {c: _limit_json(limits[c], box_init[c]) for c in restricted},
        "data": what,
    }
    written = []
    from sim.sweep.durable import atomic_write

    def put(name: str, data: bytes) -> None:
        atomic_write(out / name, data)
        written.append(out / name)

    put("peeling.csv", trajectory.to_csv(index=False).encode())
    put("box.json", json.dumps(box_info, indent=1).encode())
    text = _markdown(
        box_info, restricted, limits, box_init, trajectory, chosen, min_density, cart_rows
    )
    put("discover.md", text.encode())
    put("cart.md", _cart_markdown(cart_rows, condition).encode())
    put("peeling.png", _peeling_png(trajectory, chosen, condition))
    put("box.png", _box_png(limits, box_init, restricted, condition, stats))
    summary = text.split("## Peeling trajectory")[0]
    return Discovery(out, summary, written, box_info)


def run_prim(x: pd.DataFrame, y: np.ndarray, min_density: float):
    """PRIM's first box: (box, trajectory, chosen limits, chosen index, initial box)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import logging

        from ema_workbench.analysis import prim
        from ema_workbench.analysis import scenario_discovery_util as sdutil

        logging.getLogger("EMA").setLevel(logging.WARNING)
        finder = prim.Prim(x, y.astype(int), peel_alpha=0.05, paste_alpha=0.05, mass_min=0.05)
        box = finder.find_box()
    trajectory = box.peeling_trajectory.reset_index(drop=True)
    dense = trajectory[trajectory.density >= min_density]
    if dense.empty:
        chosen = int(trajectory.density.idxmax())
    else:  # the greatest coverage; among equal coverage, the densest
        chosen = int(dense.sort_values(["coverage", "density"], kind="stable").index[-1])
    return box, trajectory, box.box_lims[chosen], chosen, sdutil._make_box(x)


def run_cart(x: pd.DataFrame, y: np.ndarray) -> list[dict[str, Any]]:
    """CART's leaves where most runs are cases of interest: limits and statistics."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import cart
        from ema_workbench.analysis import scenario_discovery_util as sdutil

        tree = cart.CART(x, y.astype(int), mass_min=0.05)
        tree.build_tree()
        box_init = sdutil._make_box(x)
        rows = []
        try:
            leaves = list(zip(tree.boxes, tree.stats, strict=True))
        except IndexError:  # a tree without a split (the Workbench cannot list its one leaf)
            return []
        for limits, stats in leaves:
            if stats["density"] <= 0.5:
                continue
            restricted = _restricted(limits, box_init)
            rows.append(
                {
                    "coverage": float(stats["coverage"]),
                    "density": float(stats["density"]),
                    "mass": float(stats["mass"]),
                    "limits": {c: _limit_json(limits[c], box_init[c]) for c in restricted},
                }
            )
    return sorted(rows, key=lambda r: -r["coverage"])


def _restricted(limits: pd.DataFrame, box_init: pd.DataFrame) -> list[str]:
    out = []
    for column in box_init.columns:
        a, b = limits[column], box_init[column]
        if isinstance(b.iloc[0], set):
            if set(a.iloc[0]) != set(b.iloc[0]):
                out.append(column)
        elif float(a.iloc[0]) > float(b.iloc[0]) or float(a.iloc[1]) < float(b.iloc[1]):
            out.append(column)
    return out


def _limit_json(limit: pd.Series, full: pd.Series) -> dict[str, Any]:
    if isinstance(full.iloc[0], set):
        return {"values": sorted(map(str, limit.iloc[0])), "of": sorted(map(str, full.iloc[0]))}
    return {
        "low": float(limit.iloc[0]),
        "high": float(limit.iloc[1]),
        "range": [float(full.iloc[0]), float(full.iloc[1])],
    }


def _limit_text(limit: pd.Series, full: pd.Series) -> str:
    if isinstance(full.iloc[0], set):
        return "in {" + ", ".join(sorted(map(str, limit.iloc[0]))) + "}"
    low, high = float(limit.iloc[0]), float(limit.iloc[1])
    parts = []
    if low > float(full.iloc[0]):
        parts.append(f">= {low:.4g}")
    if high < float(full.iloc[1]):
        parts.append(f"<= {high:.4g}")
    return " and ".join(parts) + f" (of {float(full.iloc[0]):.4g} to {float(full.iloc[1]):.4g})"


def _markdown(
    info, restricted, limits, box_init, trajectory, chosen, min_density, cart_rows
) -> str:
    lines = [
        f"# Scenario discovery: {info['condition']}",
        "",
        f"{info['cases']} of {info['runs']} {info['data']} have {info['condition']}. "
        f"PRIM's box (step {chosen} of its peeling trajectory: the greatest coverage with "
        f"density at least {min_density:g}, or else the densest) holds "
        f"{info['coverage']:.0%} of them (coverage) and {info['density']:.0%} of the runs "
        f"inside it are such cases (density); it holds {info['mass']:.0%} of all runs (mass).",
        "",
        "The box:" if restricted else "PRIM restricted no parameter: no box separates the cases.",
        "",
    ]
    lines += [f"- `{c}` {_limit_text(limits[c], box_init[c])}" for c in restricted]
    if cart_rows:
        top = cart_rows[0]
        where = "; ".join(
            f"`{c}` "
            + (
                f"{v['low']:.4g} to {v['high']:.4g}"
                if "low" in v
                else "in " + ", ".join(v["values"])
            )
            for c, v in top["limits"].items()
        )
        lines += [
            "",
            f"CART's second opinion (its leaf with the most cases): {where} "
            f"(coverage {top['coverage']:.0%}, density {top['density']:.0%}); all leaves in "
            "cart.md.",
        ]
    lines += [
        "",
        "## Peeling trajectory",
        "",
        "| step | coverage | density | mass | restricted |",
        "|---|---|---|---|---|",
    ]
    for i, row in trajectory.iterrows():
        mark = " (chosen)" if i == chosen else ""
        lines.append(
            f"| {i}{mark} | {row.coverage:.3f} | {row.density:.3f} | {row['mass']:.3f} | {int(row.res_dim)} |"
        )
    return "\n".join(lines) + "\n"


def _cart_markdown(rows, condition: str) -> str:
    lines = [f"# CART leaves where most runs have {condition}", ""]
    if not rows:
        return "\n".join(lines + ["No leaf where most runs are cases of interest.", ""])
    lines += ["| coverage | density | mass | limits |", "|---|---|---|---|"]
    for r in rows:
        limits = "; ".join(
            f"{c}: "
            + (f"{v['low']:.4g} to {v['high']:.4g}" if "low" in v else ", ".join(v["values"]))
            for c, v in r["limits"].items()
        )
        lines.append(
            f"| {r['coverage']:.3f} | {r['density']:.3f} | {r['mass']:.3f} | {limits or 'none'} |"
        )
    return "\n".join(lines) + "\n"


def _png(fig) -> bytes:
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _peeling_png(trajectory: pd.DataFrame, chosen: int, condition: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.2, 4.6))
    points = ax.scatter(
        trajectory.coverage, trajectory.density, c=trajectory.res_dim, cmap="viridis"
    )
    ax.plot(trajectory.coverage, trajectory.density, color="0.7", zorder=0)
    ax.scatter(
        [trajectory.coverage[chosen]],
        [trajectory.density[chosen]],
        s=160,
        facecolors="none",
        edgecolors="red",
        label="chosen box",
    )
    fig.colorbar(points, ax=ax, label="restricted parameters")
    ax.set_xlabel("coverage (share of cases of interest in the box)")
    ax.set_ylabel("density (share of the box's runs that are cases)")
    ax.set_title(f"PRIM peeling trajectory: {condition}")
    ax.legend()
    ax.grid(alpha=0.3)
    return _png(fig)


def _box_png(limits, box_init, restricted, condition: str, stats) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    numeric = [c for c in restricted if not isinstance(box_init[c].iloc[0], set)]
    fig, ax = plt.subplots(figsize=(7, 0.7 * max(len(numeric), 1) + 1.6))
    for i, column in enumerate(numeric):
        lo0, hi0 = float(box_init[column].iloc[0]), float(box_init[column].iloc[1])
        lo, hi = float(limits[column].iloc[0]), float(limits[column].iloc[1])
        span = hi0 - lo0 or 1.0
        ax.barh(i, 1.0, color="0.9")
        ax.barh(i, (hi - lo) / span, left=(lo - lo0) / span, color="tab:red", alpha=0.7)
        ax.text(
            1.02, i, f"{lo:.4g} to {hi:.4g} (of {lo0:.4g} to {hi0:.4g})", va="center", fontsize=8
        )
    ax.set_yticks(range(len(numeric)), numeric)
    ax.set_xlim(0, 1.6)
    ax.set_xticks([0, 0.5, 1], ["low", "mid", "high"])
    ax.set_title(
        f"PRIM box for {condition}: coverage {stats.coverage:.0%}, density {stats.density:.0%}"
    )
    return _png(fig)
