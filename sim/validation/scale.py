"""Scale check: the answers do not change with the number of simulated users.

``n_users`` is the resolution, not the market: a simulated user stands for
population / users real people, and every amount is per real person. This check runs
each bundled scenario at several resolutions with the same seeds and compares the
focal firm's outcomes (:data:`METRICS`) between resolutions: for each metric and
pair of resolutions, the difference of the seed means must lie within t x its
standard error (Student's t, at a family-wise 1% level over all comparisons by
Bonferroni), plus an absolute tolerance for metrics near zero.

``python -m sim.validation.scale --out docs/validation`` writes ``scale.md`` and
``scale.png`` (the figure in docs/model.md); ``tests/test_scale.py`` runs the
check on the baseline at a shorter horizon.
"""

from __future__ import annotations

import argparse
import itertools
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from scipy import stats

#: Focal-firm outcomes compared across resolutions, with an absolute tolerance each.
METRICS = {
    "awareness": ("share of the target markets' people aware of the focal firm", 0.01),
    "follower_share": ("share of the target markets' people following it", 0.002),
    "engagement_rate": ("engagements per follower per post, last 90 days", 0.0002),
    "purchase_rate": ("its purchases per person per year, last 90 days", 0.002),
    "crm_capability": ("its social CRM capability", 0.02),
    "ties": ("its guanxi ties, mean over the run", 0.3),
    "profit": ("its profit over the run, currency", 0.0),
}
SIZES = (5_000, 20_000, 80_000)
SCENARIOS = ("baseline", "china_entry", "guanxi_partnerships", "social_commerce")


def run_one(scenario: str, n_users: int, days: int, seed: int) -> dict[str, float]:
    """The focal firm's :data:`METRICS` in one run."""
    from sim.model import MarketModel

    model = MarketModel(scenario, rng=seed, model__n_users=n_users)
    for _ in range(days):
        model.step()
    table = model.datacollector.get_table_dataframe("firm_market")
    mine = table[table.focal & (table.step > 0)]
    last = mine[mine.step > days - 90]
    final = mine[mine.step == days]
    population = {m.name: m.population for m in model.markets}
    people = final.market.map(population).to_numpy(float)
    firms = model.datacollector.get_agent_vars_dataframe().reset_index()
    focal = firms[(firms.firm == model.focal.name) & (firms.Step > 0)]
    exposure = (last.followers * last.posts).sum()
    bought = (last.conversions * last.people_per_user).sum()
    return {
        "awareness": float((final.awareness.to_numpy() * people).sum() / people.sum()),
        "follower_share": float(final.followers_people.sum() / people.sum()),
        "engagement_rate": float(last.engagements.sum() / exposure) if exposure else 0.0,
        "purchase_rate": float(bought / people.sum() * 365 / 90),
        "crm_capability": float(model.focal.crm_capability),
        "ties": float(focal.ties.mean()),
        "profit": float(model.focal.total_profit),
    }


@dataclass
class Comparison:
    scenario: str
    metric: str
    small: int
    large: int
    difference: float
    limit: float

    @property
    def passed(self) -> bool:
        return abs(self.difference) <= self.limit


def compare(
    results: dict[tuple[str, int], list[dict[str, float]]], level: float = 0.01
) -> list[Comparison]:
    """Every pair of resolutions per scenario and metric, at a family-wise ``level``."""
    keys = sorted({scenario for scenario, _ in results})
    sizes = sorted({size for _, size in results})
    pairs = list(itertools.combinations(sizes, 2))
    tail = level / 2 / (len(keys) * len(METRICS) * len(pairs))
    out = []
    for scenario in keys:
        for metric, (_, tolerance) in METRICS.items():
            for small, large in pairs:
                a = np.array([run[metric] for run in results[(scenario, small)]])
                b = np.array([run[metric] for run in results[(scenario, large)]])
                se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
                t = stats.t.ppf(1 - tail, a.size + b.size - 2)
                out.append(
                    Comparison(
                        scenario, metric, small, large, b.mean() - a.mean(), t * se + tolerance
                    )
                )
    return out


def scale_check(
    scenarios=SCENARIOS, sizes=SIZES, days: int = 365, seeds: int = 4, workers: int = 2
) -> tuple[dict, list[Comparison]]:
    """Run every scenario at every size with the same seeds; compare the resolutions."""
    jobs = [(s, n, days, 1000 + k) for s in scenarios for n in sizes for k in range(seeds)]
    with ProcessPoolExecutor(workers, mp_context=get_context("forkserver")) as pool:
        runs = list(pool.map(run_one, *zip(*jobs, strict=True)))
    results: dict[tuple[str, int], list[dict[str, float]]] = {}
    for (scenario, size, _, _), run in zip(jobs, runs, strict=True):
        results.setdefault((scenario, size), []).append(run)
    return results, compare(results)


def report(results: dict, comparisons: list[Comparison], out: Path) -> None:
    """``scale.md`` (means and 95% intervals per size, verdicts) and ``scale.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = sorted({s for s, _ in results})
    sizes = sorted({n for _, n in results})
    lines = [
        "# Scale check",
        "",
        "Focal firm's outcomes by resolution (mean [95% CI] over seeds).",
        "",
    ]
    lines.append(
        "| scenario | metric | " + " | ".join(f"{n:,} users" for n in sizes) + " | same? |"
    )
    lines.append("|---|---|" + "---|" * len(sizes) + "---|")
    verdict = {(c.scenario, c.metric): True for c in comparisons}
    for c in comparisons:
        verdict[(c.scenario, c.metric)] &= c.passed
    fig, axes = plt.subplots(
        len(scenarios),
        len(METRICS),
        figsize=(3 * len(METRICS), 2.4 * len(scenarios)),
        squeeze=False,
    )
    for i, scenario in enumerate(scenarios):
        for j, metric in enumerate(METRICS):
            cells, means, errors = [], [], []
            for n in sizes:
                values = np.array([run[metric] for run in results[(scenario, n)]])
                half = (
                    stats.t.ppf(0.975, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size)
                )
                cells.append(
                    f"{values.mean():.4g} [{values.mean() - half:.4g}, {values.mean() + half:.4g}]"
                )
                means.append(values.mean())
                errors.append(half)
            mark = "yes" if verdict[(scenario, metric)] else "**no**"
            lines.append(f"| {scenario} | {metric} | " + " | ".join(cells) + f" | {mark} |")
            ax = axes[i][j]
            ax.errorbar(range(len(sizes)), means, yerr=errors, marker="o", capsize=3)
            ax.set_xticks(range(len(sizes)), [f"{n // 1000}k" for n in sizes])
            ax.set_title(f"{scenario}\n{metric}", fontsize=8)
            ax.tick_params(labelsize=7)
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "scale.png", dpi=90)
    (out / "scale.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.validation.scale")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("docs/validation"))
    args = parser.parse_args(argv)
    results, comparisons = scale_check(days=args.days, seeds=args.seeds, workers=args.workers)
    report(results, comparisons, args.out)
    failed = [c for c in comparisons if not c.passed]
    for c in failed:
        print(
            f"differs: {c.scenario} {c.metric} {c.small} vs {c.large}: {c.difference:.4g} > {c.limit:.4g}"
        )
    print(f"{len(comparisons) - len(failed)}/{len(comparisons)} comparisons within limits")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
