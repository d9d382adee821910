"""Printing and writing validation results: console table, Markdown report, PNG charts.

Targets are grouped by their kind of evidence (input check, verification, mechanism,
output validation: :data:`sim.validation.KINDS`), and every table names the kind.
The report directory gets ``validation.md`` (the table, then one section per kind
and per target with its method, checks and details), ``results.json`` (everything,
with the settings, seed and the targets by kind) and PNG charts; files are replaced
atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from sim.validation import KIND_BASIS, KINDS, TARGETS, kind_of  # noqa: E402
from sim.validation.common import Settings, TargetResult  # noqa: E402


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def _kind(result: TargetResult) -> str:
    return result.kind or kind_of(result.target)


def grouped(results: Sequence[TargetResult]) -> list[tuple[str, list[TargetResult]]]:
    """``(kind, results)`` in the order of :data:`KINDS`, targets in their own order.

    Kinds outside :data:`KINDS` come last, in the order met.
    """
    order = {target: i for i, target in enumerate(TARGETS)}
    kinds = list(KINDS) + [k for k in dict.fromkeys(map(_kind, results)) if k not in KINDS]
    groups = []
    for kind in kinds:
        members = [result for result in results if _kind(result) == kind]
        if members:
            members.sort(key=lambda r: order.get(r.target, len(order)))
            groups.append((kind, members))
    return groups


def robustness_rows(robustness: dict[str, Any]) -> list[tuple[str, dict[str, int], bool]]:
    """``(target, passes per size, verdict)``; a run without sizes counts as one size."""
    k = robustness["k"]
    threshold = robustness.get("threshold", k)
    rows = []
    for target, passed in robustness["passed"].items():
        by_size = passed if isinstance(passed, dict) else {"": passed}
        ok = robustness.get("verdict", {}).get(
            target, all(count >= threshold for count in by_size.values())
        )
        rows.append((target, by_size, bool(ok)))
    return rows


# ---------------------------------------------------------------------- console
def print_table(results: Sequence[TargetResult], console: Console, title: str) -> None:
    """One row per check, grouped by kind of evidence; the target's kind, finding,
    source and verdict on its first row."""
    table = Table(title=title, title_justify="left", show_lines=True)
    table.add_column("kind")
    table.add_column("target")
    table.add_column("finding (source)", max_width=40)
    table.add_column("expected", max_width=26)
    table.add_column("measured: statistic [95% CI], p", max_width=58)
    table.add_column("check")
    table.add_column("target")
    for n, (kind, members) in enumerate(grouped(results)):
        if n:
            table.add_section()
        for result in members:
            for i, check in enumerate(result.checks):
                first = i == 0
                style = "green" if check.passed else "red"
                table.add_row(
                    kind if first else "",
                    result.target if first else "",
                    f"{result.finding} ({result.source})" if first else "",
                    result.expected if first else "",
                    f"{check.statistic}: {check.summary()}",
                    f"[{style}]{verdict(check.passed)}[/{style}]",
                    f"[bold]{verdict(result.passed)}[/bold]" if first else "",
                )
    console.print(table)


def print_robustness(
    summary: dict[str, Any], console: Console, k: int, parameters: Sequence[str]
) -> None:
    """The robustness table: passes per target and user count, and the verdict.

    ``summary`` is :func:`sim.validation.robustness.run_robustness`'s result (or,
    as before, just its ``passed`` mapping of target -> count).
    """
    robustness = summary if "passed" in summary else {"k": k, "passed": summary}
    rows = robustness_rows(robustness)
    sizes = list(dict.fromkeys(size for _, by_size, _ in rows for size in by_size))
    threshold = robustness.get("threshold", k)
    table = Table(
        title=f"Robustness: {k} settings, key parameters x U(0.8, 1.2) each; "
        f"a target holds with >= {threshold}/{k} passing at every user count",
        title_justify="left",
    )
    table.add_column("target")
    for size in sizes:
        table.add_column(f"passing{' at ' + size if size else ''}", justify="right")
    table.add_column("verdict")
    for target, by_size, ok in rows:
        style = "green" if ok else "red"
        cells = [f"{by_size[size]}/{k}" if size in by_size else "" for size in sizes]
        table.add_row(target, *cells, f"[{style}]{verdict(ok)}[/{style}]")
    console.print(table)
    console.print("perturbed: " + ", ".join(parameters))


# ---------------------------------------------------------------------- files
def write_report(
    results: Sequence[TargetResult],
    out_dir: Path,
    settings: Settings,
    elapsed: float,
    robustness: dict[str, Any] | None = None,
) -> list[Path]:
    """Write validation.md, results.json and the charts to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    charts = write_charts(results, out_dir)
    by_target = {result.target: result for result in results}
    for name, targets in CHART_TARGETS.items():
        for target in targets:
            if target in by_target and (out_dir / name).exists():
                by_target[target].charts.append(name)
    payload = {
        "settings": {
            "quick": settings.quick,
            "reps": settings.reps,
            "seed": settings.seed,
            "overrides": dict(settings.overrides),
            "scale": dict(settings.scale),
        },
        "elapsed_seconds": elapsed,
        "all_passed": all(result.passed for result in results),
        "kinds": {
            kind: [result.target for result in members] for kind, members in grouped(results)
        },
        "targets": [result.to_dict() for result in results],
        "robustness": robustness,
    }
    written = [
        _atomic_text(out_dir / "results.json", json.dumps(payload, indent=2, default=_json) + "\n"),
        _atomic_text(out_dir / "validation.md", markdown(results, settings, elapsed, robustness)),
    ]
    return written + charts


def _json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _atomic_text(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def markdown_table(results: Sequence[TargetResult]) -> str:
    """The validation table in Markdown, grouped by kind (also used in docs/model.md)."""
    lines = [
        "| kind | target | finding (source) | expected | measured: statistic [95% CI], p "
        "| result |",
        "|---|---|---|---|---|---|",
    ]
    for kind, members in grouped(results):
        for result in members:
            measured = "<br>".join(
                f"{check.name}: {check.summary()} ({verdict(check.passed)})"
                for check in result.checks
            )
            cells = [f"{result.finding} ({result.source})", result.expected, measured]
            finding, expected, measured = (cell.replace("|", "\\|") for cell in cells)
            lines.append(
                f"| {kind} | {result.target} | {finding} | {expected} | {measured} | "
                f"**{verdict(result.passed)}** |"
            )
    return "\n".join(lines) + "\n"


def robustness_markdown(robustness: dict[str, Any]) -> str:
    """The robustness table in Markdown (passes per target and user count, verdict)."""
    k = robustness["k"]
    rows = robustness_rows(robustness)
    sizes = list(dict.fromkeys(size for _, by_size, _ in rows for size in by_size))
    header = "| target | " + " | ".join(f"passing{' at ' + size if size else ''}" for size in sizes)
    lines = [header + " | verdict |", "|---|" + "---|" * (len(sizes) + 1)]
    for target, by_size, ok in rows:
        cells = " | ".join(f"{by_size[s]}/{k}" if s in by_size else "" for s in sizes)
        lines.append(f"| {target} | {cells} | **{verdict(ok)}** |")
    return "\n".join(lines)


def markdown(
    results: Sequence[TargetResult],
    settings: Settings,
    elapsed: float,
    robustness: dict[str, Any] | None,
) -> str:
    passed = sum(result.passed for result in results)
    mode = "quick" if settings.quick else "full"
    parts = [
        "# Validation against the studies\n",
        f"{passed} of {len(results)} targets pass ({mode} run, seed {settings.seed}, "
        f"{elapsed:.0f} s).",
    ]
    if settings.overrides:
        changed = ", ".join(f"{k}={v}" for k, v in settings.overrides.items())
        parts.append(f"Scenario overrides applied to every experiment: {changed}.")
    parts.append("")
    parts.append(
        "Kinds of evidence: *input check* (an input or a written-in coefficient reproduces "
        "a study's gap or direction), *verification* (the model reproduces a known model), "
        "*mechanism* (a study's direction emerges where no equation writes it in), "
        "*output validation* (a simulated figure inside the band of published figures).\n"
    )
    parts.append(markdown_table(results))
    if robustness:
        parts.append("## Robustness\n")
        sizes = robustness.get("user_factors")
        at_sizes = (
            " at each user count (n_users x " + ", x ".join(f"{f:g}" for f in sizes) + ")"
            if sizes
            else ""
        )
        parts.append(
            f"{robustness['k']} settings; in each, every key parameter is multiplied by an "
            f"independent U(0.8, 1.2) factor and the experiments get new seeds, run{at_sizes}. "
            f"A target holds if it passes in at least "
            f"{robustness.get('threshold', robustness['k'])} of {robustness['k']} settings "
            "at every user count.\n"
        )
        parts.append(robustness_markdown(robustness))
        parts.append("\nPerturbed: " + ", ".join(robustness["parameters"]) + "\n")
    for kind, members in grouped(results):
        parts.append(f"## {kind[0].upper()}{kind[1:]}s\n")
        for result in members:
            parts.append(f"### {result.target}: {verdict(result.passed)}\n")
            parts.append(
                f"**Kind of evidence.** {kind}",
            )
            if result.target in KIND_BASIS:
                parts[-1] += f": {KIND_BASIS[result.target]}"
            parts[-1] += ".\n"
            parts.append(f"**Finding.** {result.finding} ({result.source})\n")
            parts.append(f"**Expected.** {result.expected}\n")
            parts.append(f"**Method.** {result.method}\n")
            for check in result.checks:
                parts.append(
                    f"- {check.name}: {check.statistic} = {check.summary()}; rule: "
                    f"{check.rule}; **{verdict(check.passed)}**"
                )
            parts.append("")
            details = {k: v for k, v in result.details.items() if k != "pairs"}
            if "pairs" in result.details:
                details["pairs"] = [
                    {k: v for k, v in pair.items() if k not in ("curve_days", "simulated", "bass")}
                    for pair in result.details["pairs"]
                ]
            parts.append("```json\n" + json.dumps(details, indent=1, default=_json) + "\n```\n")
            for chart in result.charts:
                parts.append(f"![{result.target}]({chart})\n")
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------- charts
CHART_TARGETS = {
    "v1_v2_v4_markets.png": ("V1", "V2", "V4"),
    "v3_content.png": ("V3",),
    "v5_v6_firms.png": ("V5", "V6"),
    "v7_bass.png": ("V7",),
    "v8_goldenberg.png": ("V8",),
}


def write_charts(results: Sequence[TargetResult], out_dir: Path) -> list[Path]:
    """One PNG per experiment that ran (skipped when its details are missing)."""
    by_target = {result.target: result for result in results}

    def has(target: str, key: str) -> bool:
        return target in by_target and bool(by_target[target].details.get(key))

    written = []
    if any(has(t, "means") for t in ("V1", "V2", "V4")):
        written.append(_markets_chart(by_target, out_dir / "v1_v2_v4_markets.png"))
    if has("V3", "arms"):
        written.append(_content_chart(by_target["V3"], out_dir / "v3_content.png"))
    if has("V5", "a_path") or has("V6", "simple_slopes"):
        written.append(_firms_chart(by_target, out_dir / "v5_v6_firms.png"))
    if has("V7", "pairs"):
        written.append(_bass_chart(by_target["V7"], out_dir / "v7_bass.png"))
    if has("V8", "tie_effect_gap_by_stage"):
        written.append(_goldenberg_chart(by_target["V8"], out_dir / "v8_goldenberg.png"))
    return written


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=100, metadata={"Software": None})
    plt.close(fig)
    os.replace(tmp, path)
    return path


def _markets_chart(by_target: dict[str, TargetResult], path: Path) -> Path:
    means: dict[str, dict[str, float]] = {}
    for target in ("V1", "V2", "V4"):
        if target in by_target:
            means.update(by_target[target].details.get("means", {}))
    fig, axes = plt.subplots(1, len(means), figsize=(2.6 * len(means), 3.2), squeeze=False)
    for ax, (variable, by_market) in zip(axes[0], means.items(), strict=True):
        ax.bar(list(by_market), list(by_market.values()), color=["#c0392b", "#2e86c1"])
        ax.set_title(variable)
        ax.tick_params(axis="x", labelsize=7)
    fig.suptitle("Simulated survey respondents by market (means)")
    return _save(fig, path)


def _content_chart(result: TargetResult, path: Path) -> Path:
    arms = result.details["arms"]
    markets = list(arms)
    x = np.arange(len(markets))
    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.bar(x - 0.2, [arms[m]["relational_arm"] for m in markets], 0.4, label="relational-leaning")
    ax.bar(
        x + 0.2, [arms[m]["transactional_arm"] for m in markets], 0.4, label="transactional-leaning"
    )
    ax.set_xticks(x, markets)
    ax.set_ylabel("followers per brand (share of users)")
    ax.set_title("V3: content mix and following")
    ax.legend(fontsize=7)
    return _save(fig, path)


def _firms_chart(by_target: dict[str, TargetResult], path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    if "V5" in by_target and "a_path" in by_target["V5"].details:
        details = by_target["V5"].details
        check = by_target["V5"].checks[0]
        control = details.get("negative_control", {})
        labels = ["a: SMI->CRM", "b: CRM->perf.", "b (experiment)", "b (no feedback)"]
        labels += ["c': direct", "a x b"]
        values = [
            details["a_path"],
            details["b_path"],
            details.get("causal_b_path", float("nan")),
            control.get("causal_b_path", float("nan")),
            details["direct_effect"],
            check.value,
        ]
        axes[0].bar(labels, values, color="#7f8c8d")
        if check.low is not None:
            axes[0].errorbar(
                [5],
                [check.value],
                yerr=[[check.value - check.low], [check.high - check.value]],
                fmt="none",
                color="black",
                capsize=4,
            )
        axes[0].axhline(0, color="black", lw=0.8)
        axes[0].set_title("V5: mediation paths (95% CI on a x b)")
        axes[0].tick_params(axis="x", labelsize=7, rotation=20)
    if "V6" in by_target and by_target["V6"].details.get("simple_slopes"):
        by_horizon = by_target["V6"].details["simple_slopes"]
        if "low" in by_horizon:  # one horizon, as results before two horizons had it
            by_horizon = {"": by_horizon}
        labels, values, lows, highs = [], [], [], []
        for horizon, slopes in by_horizon.items():
            for key, slope in slopes.items():
                name = f"P{slope['percentile']}" if "percentile" in slope else key
                labels.append(f"{horizon}\n{name} ({slope['guanxi']:.2f})".strip())
                values.append(slope["slope"])
                lows.append(slope["slope"] - slope["low"])
                highs.append(slope["high"] - slope["slope"])
        colours = ["#d4ac0d", "#a04000"] * len(by_horizon)
        axes[1].bar(labels, values, yerr=[lows, highs], capsize=4, color=colours[: len(labels)])
        axes[1].axhline(0, color="black", lw=0.8)
        axes[1].set_title("V6: slope of CRM on SMI at low/high guanxi (95% CI)")
        axes[1].tick_params(axis="x", labelsize=7)
    return _save(fig, path)


def _bass_chart(result: TargetResult, path: Path) -> Path:
    pairs = result.details["pairs"]
    fig, axes = plt.subplots(1, len(pairs), figsize=(3.6 * len(pairs), 3.2), squeeze=False)
    for ax, pair in zip(axes[0], pairs, strict=True):
        ax.plot(pair["curve_days"], pair["bass"], color="black", lw=2, label="Bass solution")
        ax.plot(
            pair["curve_days"],
            pair["simulated"],
            color="#e67e22",
            ls="--",
            label="simulated (mean)",
        )
        ax.set_title(
            f"p = {pair['p']:.3g}, q = {pair['q']:.3g}: max err {pair['max_error']:.4f}", fontsize=8
        )
        ax.set_xlabel("day")
    axes[0][0].set_ylabel("share aware")
    axes[0][0].legend(fontsize=7)
    return _save(fig, path)


def _goldenberg_chart(result: TargetResult, path: Path) -> Path:
    details = result.details
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    axes[0].bar(
        ["0 -> 16%", "16% -> 95%"],
        [details["beta_a_early"], details["beta_a_late"]],
        color="#8e44ad",
    )
    axes[0].set_ylabel("effect of a (per SD) on ln duration")
    axes[0].set_title("V8: advertising by phase")
    gaps = details["tie_effect_gap_by_stage"]
    stages = list(gaps)
    value = np.array([gaps[s]["gap"] for s in stages])
    low = np.array([gaps[s]["ci"][0] for s in stages])
    high = np.array([gaps[s]["ci"][1] for s in stages])
    axes[1].bar(stages, value, color="#16a085", yerr=[value - low, high - value], capsize=4)
    axes[1].axhline(0.0, color="black", linewidth=0.8)
    axes[1].set_xlabel("time to share of the market aware")
    axes[1].set_ylabel("coef. b_s - coef. b_w on ln t")
    axes[1].set_title("V8: weak minus strong tie effect (95% CI)")
    return _save(fig, path)
