"""Looking at a sweep's results: per-point summary with 95% CIs, tables and charts.

``guanxi sweep-report DIR`` writes to ``DIR/report`` (or ``--out``):

* ``summary.csv`` and ``summary.md``: one row per design point: its parameters, the
  runs recorded and failed, and for each outcome the mean over replications with its
  95% confidence interval (t distribution, :func:`sim.stats.mean_ci`);
* ``effect_<outcome>.png``: the outcome against each varied parameter, mean and 95%
  CI band over all runs at each value (for sampled designs, over ten quantile bins);
* ``heatmap_<outcome>.png`` for grids of two or more parameters: the mean outcome for
  each pair of parameters (over the other parameters' values).

Only each run's final row is read, one file at a time, so memory does not grow with
the number of days recorded.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from sim.stats import mean_ci  # noqa: E402
from sim.sweep.store import SweepStore  # noqa: E402

BINS = 10


def short_labels(paths: Sequence[str]) -> dict[str, str]:
    """Shortest unique dotted suffix of each path (``china.posts_per_day``)."""
    labels = {}
    for path in paths:
        parts = path.split(".")
        for n in range(1, len(parts) + 1):
            label = ".".join(parts[-n:])
            if sum(p == label or p.endswith("." + label) for p in paths) == 1:
                break
        labels[path] = label
    return labels


def final_frame(store: SweepStore, unreadable: dict[Path, str] | None = None) -> pd.DataFrame:
    """One row per recorded run: run, point, replication, seed, parameters, outcomes, status.

    Unreadable run files are left out and named in ``unreadable`` if given; otherwise
    the first one raises :class:`~sim.sweep.spec.SweepError` (one line).
    """
    table = store.final_rows(unreadable=unreadable)
    frame = table.to_pandas()
    return frame.sort_values("run", kind="stable").reset_index(drop=True)


def point_summary(store: SweepStore, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per design point: parameters, runs, failed, and mean / ci_low / ci_high per outcome.

    Points with no recorded run yet appear with ``runs`` = 0.
    """
    frame = final_frame(store) if frame is None else frame
    outcomes = store.manifest["outcomes"]
    parameters = store.parameters
    ok = frame[frame.status == "ok"]
    grouped_ok = dict(tuple(ok.groupby("point", sort=True)))
    counts = frame.groupby("point").size()
    failures = frame[frame.status != "ok"].groupby("point").size()
    rows = []
    for point, values in enumerate(store.points):
        row: dict[str, Any] = {"point": point}
        row.update(dict(zip(parameters, values, strict=True)))
        row["runs"] = int(counts.get(point, 0))
        row["failed"] = int(failures.get(point, 0))
        runs = grouped_ok.get(point)
        for name in outcomes:
            estimate = mean_ci(runs[name].to_numpy() if runs is not None else [])
            row[f"{name}.mean"] = estimate.mean
            row[f"{name}.ci_low"] = estimate.low
            row[f"{name}.ci_high"] = estimate.high
        rows.append(row)
    return pd.DataFrame(rows)


def format_estimate(mean: float, low: float, high: float) -> str:
    """``mean [low, high]`` with digits to suit the magnitude."""
    if not math.isfinite(mean):
        return "-"
    scale = max(abs(mean), abs(low), abs(high)) if math.isfinite(low) else abs(mean)
    fmt = "{:,.0f}" if scale >= 100 else "{:.3f}"
    if low == high or not math.isfinite(low):
        return fmt.format(mean)
    return f"{fmt.format(mean)} [{fmt.format(low)}, {fmt.format(high)}]"


def _format_value(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def summary_table(
    store: SweepStore, summary: pd.DataFrame, max_rows: int = 40, max_outcomes: int = 5
) -> Table:
    """A rich table of the first points and outcomes: mean [95% CI] over replications."""
    labels = short_labels(store.parameters)
    outcomes = store.manifest["outcomes"][:max_outcomes]
    reps = store.manifest["replications"]
    table = Table(
        title=f"{store.manifest['name']}: {len(summary)} design points x {reps} replications; "
        "mean [95% CI] per point",
        title_justify="left",
    )
    table.add_column("point", justify="right")
    for path in store.parameters:
        table.add_column(labels[path], justify="right")
    table.add_column("runs", justify="right")
    for name in outcomes:
        table.add_column(name, justify="right")
    for _, record in summary.head(max_rows).iterrows():
        cells = [str(record["point"])]
        cells += [_format_value(record[path]) for path in store.parameters]
        failed = f" ({record['failed']} failed)" if record["failed"] else ""
        cells.append(f"{record['runs']}{failed}")
        for name in outcomes:
            cells.append(
                format_estimate(
                    record[f"{name}.mean"], record[f"{name}.ci_low"], record[f"{name}.ci_high"]
                )
            )
        table.add_row(*cells)
    notes = []
    if len(summary) > max_rows:
        notes.append(f"{len(summary) - max_rows} more points")
    if len(store.manifest["outcomes"]) > max_outcomes:
        notes.append(f"{len(store.manifest['outcomes']) - max_outcomes} more outcomes")
    if notes:
        table.caption = f"{' and '.join(notes)}: see `guanxi sweep-report`"
    return table


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table of ``frame``."""

    def cell(value: Any) -> str:
        if isinstance(value, float) and not math.isfinite(value):
            return ""
        return _format_value(value).replace("|", "\\|")

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join([header, rule, *body]) + "\n"


# ---------------------------------------------------------------------- report
def write_report(root: Path, out: Path | None = None, console: Console | None = None) -> list[Path]:
    """Write the summary (CSV, Markdown) and charts of the sweep in ``root``."""
    from sim.sweep.store import check_writable

    store = SweepStore.open(root)
    out = Path(out) if out is not None else Path(root) / "report"
    check_writable(out, f"--out {out}")
    unreadable: dict[Path, str] = {}
    frame = final_frame(store, unreadable)
    summary = point_summary(store, frame)
    written = [out / "summary.csv", out / "summary.md"]
    summary.to_csv(written[0], index=False)
    written[1].write_text(_summary_markdown(store, summary, frame))
    ok = frame[frame.status == "ok"]
    if not ok.empty:
        for name in store.manifest["outcomes"]:
            written.append(plot_effects(store, ok, name, out))
            if store.manifest["design"]["method"] == "grid" and len(store.parameters) >= 2:
                written.append(plot_heatmaps(store, ok, name, out))
    if console is not None:
        console.print(summary_table(store, summary))
        failed = frame[frame.status != "ok"]
        if not failed.empty:
            console.print(
                f"{len(failed)} runs failed; first: run {failed.run.iloc[0]}: "
                f"{failed.error.iloc[0]}"
            )
        missing = len(store.manifest["runs"]["rows"]) - len(frame) - len(unreadable)
        if missing:
            console.print(f"{missing} runs not run yet (continue with `guanxi sweep --resume`)")
    if unreadable:
        # The report of the readable runs is written; say which runs it leaves out.
        from sim.sweep.spec import SweepError
        from sim.sweep.store import resume_command

        first, why = next(iter(sorted(unreadable.items())))
        more = f" and {len(unreadable) - 1} more" if len(unreadable) > 1 else ""
        raise SweepError(
            f"{first}{more}: unreadable run file ({why}); the report in {out} leaves "
            f"{'them' if more else 'it'} out; `{resume_command(store)}` sets "
            f"{'them' if more else 'it'} aside and runs {'them' if more else 'it'} again"
        )
    return written


def _summary_markdown(store: SweepStore, summary: pd.DataFrame, frame: pd.DataFrame) -> str:
    manifest = store.manifest
    labels = short_labels(store.parameters)
    table = summary.rename(columns=labels)
    for name in manifest["outcomes"]:
        table[name] = [
            format_estimate(m, lo, hi)
            for m, lo, hi in zip(
                summary[f"{name}.mean"],
                summary[f"{name}.ci_low"],
                summary[f"{name}.ci_high"],
                strict=True,
            )
        ]
        table = table.drop(columns=[f"{name}.mean", f"{name}.ci_low", f"{name}.ci_high"])
    failed = int((frame.status != "ok").sum())
    lines = [
        f"# Sweep {manifest['name']}",
        "",
        f"{manifest['design']['method']} design, {len(store.points)} points x "
        f"{manifest['replications']} replications, {manifest['steps']} days per run, "
        f"sweep seed {manifest['seed']}; {len(frame)} runs recorded, {failed} failed.",
        "Each cell: mean over replications [95% confidence interval].",
    ]
    posterior = manifest.get("posterior")
    if posterior:
        lines.append(
            f"Replication r of every point ran at draw r of the calibration posterior in "
            f"{posterior['directory']} ('{posterior['calibration']}', "
            f"{posterior['particles']} particles): {', '.join(posterior['paths'])}; "
            "the intervals include that parameter uncertainty."
        )
    lines += ["", markdown_table(table)]
    return "\n".join(lines)


def _binned(ok: pd.DataFrame, path: str, name: str, discrete: bool) -> pd.DataFrame:
    if discrete:
        keys = ok[path]
    else:
        edges = np.unique(np.quantile(ok[path], np.linspace(0, 1, BINS + 1)))
        keys = pd.cut(ok[path], edges, include_lowest=True).map(lambda b: b.mid).astype(float)
    rows = []
    for value, group in ok.groupby(keys, sort=True, observed=True):
        estimate = mean_ci(group[name].to_numpy())
        rows.append((value, estimate.mean, estimate.low, estimate.high))
    return pd.DataFrame(rows, columns=["value", "mean", "low", "high"])


def plot_effects(store: SweepStore, ok: pd.DataFrame, name: str, out: Path) -> Path:
    """Outcome against each varied parameter: mean and 95% CI band."""
    factors = store.manifest["design"]["factors"]
    labels = short_labels(store.parameters)
    fig, axes = plt.subplots(
        1, len(factors), figsize=(4.2 * len(factors), 3.4), squeeze=False, sharey=True
    )
    for ax, factor in zip(axes[0], factors, strict=True):
        path = factor["path"]
        discrete = "values" in factor
        points = _binned(ok, path, name, discrete)
        numeric = factor["kind"] in ("float", "int")
        x = points["value"].to_numpy() if numeric else np.arange(len(points))
        if not discrete:
            ax.scatter(ok[path], ok[name], s=6, alpha=0.25, color="grey", label="runs")
        ax.plot(x, points["mean"], marker="o", color="C0", label="mean")
        ax.fill_between(x, points["low"], points["high"], alpha=0.25, color="C0", label="95% CI")
        if not numeric:
            ax.set_xticks(x, [_format_value(v) for v in points["value"]])
        ax.set_xlabel(labels[path])
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(name)
    axes[0][0].legend(fontsize="small")
    fig.suptitle(f"{name}: mean and 95% CI over runs at each value")
    fig.tight_layout()
    path = out / f"effect_{_file_name(name)}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_heatmaps(store: SweepStore, ok: pd.DataFrame, name: str, out: Path) -> Path:
    """Mean outcome for each pair of grid parameters (over the others' values)."""
    labels = short_labels(store.parameters)
    pairs = list(itertools.combinations(store.parameters, 2))
    cols = min(3, len(pairs))
    rows = math.ceil(len(pairs) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.8 * rows), squeeze=False)
    for ax in axes.flat[len(pairs) :]:
        ax.set_visible(False)
    for ax, (first, second) in zip(axes.flat, pairs, strict=False):
        grid = ok.pivot_table(index=second, columns=first, values=name, aggfunc="mean")
        image = ax.imshow(grid.to_numpy(), origin="lower", aspect="auto", cmap="viridis")
        ax.set_xticks(range(grid.shape[1]), [_format_value(v) for v in grid.columns])
        ax.set_yticks(range(grid.shape[0]), [_format_value(v) for v in grid.index])
        ax.set_xlabel(labels[first])
        ax.set_ylabel(labels[second])
        for (i, j), value in np.ndenumerate(grid.to_numpy()):
            ax.text(j, i, f"{value:.3g}", ha="center", va="center", color="white", fontsize=7)
        fig.colorbar(image, ax=ax, shrink=0.8)
    note = " (mean over the other parameters)" if len(store.parameters) > 2 else ""
    fig.suptitle(f"{name}: mean over replications{note}")
    fig.tight_layout()
    path = out / f"heatmap_{_file_name(name)}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _file_name(outcome: str) -> str:
    return outcome.replace(".", "_")
