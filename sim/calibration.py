"""Calibration of the assumed coefficients to published figures (issue 13).

``python -m sim.calibration [--users N] [--seeds K] [--out docs/calibration.md]``

Each step fixes one parameter to one figure of ``../shared/kpi_targets.md`` by
one-dimensional root finding (:func:`scipy.optimize.brentq`) on the statistic the
figure defines, measured over days 181-540 of 540-day runs of a bundled scenario
(the same seeds in every evaluation: common random numbers make the statistic a
smooth function of the parameter). The steps run in order, each with the values
found before it:

1. ``engagement_offset`` of Instagram (Western Europe in ``baseline``): engagement per
   follower per post = Rival IQ's 2022 median, 0.47%;
2. ``engagement_offset`` of Weibo (China in ``baseline``): L2 2014's 0.100-0.308%,
   centre 0.20%;
3. ``engagement_offset`` of Facebook (Australia in ``social_commerce``): Rival IQ's
   median 0.060%;
4. ``unfollow_per_promotion`` and 5. ``unfollow_per_fatigue`` relative to
   ``unfollow_per_irrelevance``: unfollows for too many promotions, irrelevant
   content and too many posts in the proportions of Sprout Social's 2016 survey
   (46 : 41 : 35);
6. ``purchase_intent_base``: shop visits per brand item seen in Western Europe =
   Facebook ads' click-through, 0.90% (WordStream 2017).

Set by hand (:data:`BY_HAND`, written to the same table file): the switching
propensity's dispersion on the output validation's new-follower attrition (O9) with
its follower growth (O8) in view (two figures that pull in opposite directions, in
the validation's own 3-year runs: a grid rather than a root), with
``follow_after_purchase`` re-centred so that its mean over buyers stays 0.3.

These figures are calibration targets: ``guanxi validate`` labels their targets
"calibration check", not validation. The results are printed and written as a
Markdown table; the defaults in ``sim/schema/platforms.py`` and
``sim/schema/sections.py`` are set from it by hand (the script never edits code).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

DAYS = 540
WINDOW = (181, 540)  # after the first half year


@dataclass
class Step:
    parameter: str  # dotted path
    figure: str
    source: str
    target: float
    statistic: str  # key of measure()
    scenario: str
    bracket: tuple[float, float]
    log_statistic: bool = True


STEPS = [
    Step(
        "markets.western_europe.engagement_offset",
        "engagement per follower per post, Instagram",
        "Rival IQ 2023 report: 2022 median 0.47%",
        0.0047,
        "er_western_europe",
        "baseline",
        (-1.0, 2.0),
    ),
    Step(
        "markets.china.engagement_offset",
        "engagement per follower per post, Weibo",
        "L2 Digital IQ China 2014: 0.100-0.308%",
        0.0020,
        "er_china",
        "baseline",
        (-2.5, 0.5),
    ),
    Step(
        "markets.australia.engagement_offset",
        "engagement per follower per post, Facebook",
        "Rival IQ 2019-2024: median 0.060-0.09%",
        0.0006,
        "er_australia",
        "social_commerce",
        (-2.0, 1.5),
    ),
    Step(
        "users.unfollow_per_promotion",
        "unfollows for promotions / for irrelevant content",
        "Sprout Social 2016: 46% vs 41%",
        46 / 41,
        "promotion_per_irrelevance",
        "baseline",
        (0.003, 0.05),
    ),
    Step(
        "users.unfollow_per_fatigue",
        "unfollows for too many posts / for irrelevant content",
        "Sprout Social 2016: ~35% vs 41%",
        35 / 41,
        "overposting_per_irrelevance",
        "baseline",
        (0.002, 0.05),
    ),
    Step(
        "users.purchase_intent_base",
        "shop visits per brand item seen (click-through), Western Europe",
        "WordStream 2017: Facebook ads' CTR 0.90% (0.47-1.61% by industry)",
        0.009,
        "visits_per_impression_western_europe",
        "baseline",
        (0.01, 1.0),
    ),
]


#: Parameters set by hand on the output validation (``guanxi validate --only
#: O1,O2,O3,O4,O7,O8,O9,O13,O14 --workers 2 --set ...``, full runs: days 366-730 of
#: 1,095, 10,000 users, 5 seeds per scenario): the grid tried, O9 (new followers
#: lost within 3 weeks, band 8-25%), O8 (annual follower growth, band 10-100%) and
#: O4 (Kendall's tau of engagement rate with followers, must lie below 0) at each
#: point, means over replications (O4: None where it was not run); O1-O3, O7, O13
#: and O14 passed at every point. The first row is the chosen one.
BY_HAND = {
    "parameters": (
        "users.switching_dispersion",
        "users.unfollow_base",
        "users.follow_after_purchase",
    ),
    "figure": "new followers lost within 3 weeks (O9), annual follower growth (O8) in its band",
    "source": "SocialBro 2013: 15% (band 8-25%); TrackMaven 2015 and others (band 10-100%)",
    "grid": [
        # (dispersion, unfollow_base, follow_after_purchase, O9, O8, O4)
        (2.5, 0.0008, 0.46, 0.1343, 0.1588, 0.004),
        (0.0, 0.0008, 0.3, 0.0577, 0.1237, -0.282),
        (0.0, 0.0002, 0.3, 0.0478, 0.1927, -0.426),
        (1.5, 0.0008, 0.3, 0.1100, 0.0838, None),
        (2.0, 0.0004, 0.3, 0.1115, 0.1135, None),
        (2.5, 0.0002, 0.3, 0.1189, 0.1178, 0.107),
        (3.0, 0.0004, 0.3, 0.1422, 0.0809, None),
        (3.0, 0.0002, 0.3, 0.1342, 0.1022, None),
        (1.0, 0.0004, 0.3634, 0.0826, 0.1574, -0.063),
        (1.5, 0.0004, 0.3955, 0.0992, 0.1739, -0.159),
        (2.5, 0.0002, 0.46, 0.1130, 0.2275, -0.093),
    ],
}


def by_hand_markdown() -> str:
    """The hand-set parameters' table (:data:`BY_HAND`)."""
    first, second, third = BY_HAND["parameters"]
    lines = [
        "## Set by hand on the output validation",
        "",
        f"`{first}`: {BY_HAND['figure']} ({BY_HAND['source']}); `{third}` re-centred "
        "so that its mean over buyers stays 0.3 (0.46 at dispersion 2.5, 0.40 at 1.5, "
        f"0.36 at 1); `{second}` tried lower. Each row is a full output validation run "
        "(`guanxi validate --only O1,O2,O3,O4,O7,O8,O9,O13,O14 --workers 2 --set "
        "...`: days 366-730 of 1,095, 10,000 users, 5 seeds per scenario), means over "
        "replications; the first row is the default. O1-O3, O7, O13 and O14 passed at "
        "every point; O4 (tau below 0 with its whole 95% interval) failed at every "
        "point with a dispersion (- where it was not run). A wider dispersion raises "
        "O9 and lowers O8 (switchers reach their steady state sooner, so less growth "
        "is left for the second year); a lower base rate and more follows after a "
        "purchase raise O8. The grid was run before CRM capability became a stock "
        "(docs/model.md 7.7); on the final model the default gives O9 13.4%, O8 17.0% "
        "and O4 +0.14 (docs/validation).",
        "",
        f"| `{first}` | `{second}` | `{third}` | O9 lost within 3 weeks | "
        "O8 growth a year | O4 tau |",
        "|---|---|---|---|---|---|",
    ]
    for dispersion, base, after, attrition, growth, tau in BY_HAND["grid"]:
        shown = "-" if tau is None else f"{tau:.2f}"
        lines.append(
            f"| {dispersion:g} | {base:g} | {after:g} | {attrition:.1%} | {growth:.1%} | {shown} |"
        )
    return "\n".join(lines) + "\n"


def measure(scenario: str, overrides: dict[str, float], seed: int, n_users: int) -> dict:
    """The calibration statistics of one run, over its window :data:`WINDOW`."""
    from sim.model import MarketModel
    from sim.scenario import load_scenario

    markets = {m.name for m in load_scenario(scenario).markets}
    keyword = {
        key.replace(".", "__"): value
        for key, value in overrides.items()
        if not key.startswith("markets.") or key.split(".")[1] in markets
    }
    model = MarketModel(scenario, rng=seed, model__n_users=n_users, **keyword)
    for _ in range(DAYS):
        model.step()
    table = model.datacollector.get_table_dataframe("firm_market")
    year = table[(table.step >= WINDOW[0]) & (table.step <= WINDOW[1])]
    out: dict[str, float] = {}
    for market, rows in year.groupby("market"):
        exposure = (rows.followers * rows.posts).sum()
        out[f"er_{market}"] = rows.engagements.sum() / exposure if exposure else math.nan
        total = rows.groupby("step").market_purchases.first().sum()
        out[f"social_share_{market}"] = rows.social_purchases.sum() / total if total else 0.0
        seen = rows.impressions.sum()
        out[f"visits_per_impression_{market}"] = rows.shop_visits.sum() / seen if seen else 0.0
    causes = year[["unfollows_promotion", "unfollows_irrelevance", "unfollows_overposting"]].sum()
    irrelevance = max(causes.unfollows_irrelevance, 1e-12)
    out["promotion_per_irrelevance"] = causes.unfollows_promotion / irrelevance
    out["overposting_per_irrelevance"] = causes.unfollows_overposting / irrelevance
    return out


def averaged(
    pool: ProcessPoolExecutor, scenario: str, overrides: dict, seeds: list[int], n_users: int
) -> dict[str, float]:
    runs = list(
        pool.map(
            measure,
            [scenario] * len(seeds),
            [overrides] * len(seeds),
            seeds,
            [n_users] * len(seeds),
        )
    )
    return {key: float(np.nanmean([run[key] for run in runs])) for key in runs[0]}


def calibrate(
    n_users: int,
    seeds: list[int],
    workers: int,
    given: dict[str, float] | None = None,
    echo: Callable = print,
) -> list[dict]:
    """Run the steps in order; parameters in ``given`` keep their value (a step skipped,
    e.g. to resume) and are applied in the later steps."""
    from scipy.optimize import brentq

    found: dict[str, float] = dict(given or {})
    rows = []
    with ProcessPoolExecutor(workers, mp_context=get_context("forkserver")) as pool:
        for step in STEPS:
            if step.parameter in found:
                achieved = averaged(pool, step.scenario, found, seeds, n_users)[step.statistic]
                rows.append({**step.__dict__, "value": found[step.parameter], "achieved": achieved})
                continue

            def gap(value: float, step: Step = step) -> float:
                stats = averaged(
                    pool, step.scenario, {**found, step.parameter: value}, seeds, n_users
                )
                got = stats[step.statistic]
                echo(f"  {step.parameter} = {value:.5g}: {step.statistic} = {got:.5g}")
                if step.log_statistic:
                    return math.log(max(got, 1e-12)) - math.log(step.target)
                return got - step.target

            value = brentq(gap, *step.bracket, xtol=5e-3, rtol=5e-3, maxiter=30)
            found[step.parameter] = round(value, 4)
            achieved = averaged(pool, step.scenario, found, seeds, n_users)[step.statistic]
            rows.append({**step.__dict__, "value": found[step.parameter], "achieved": achieved})
            echo(
                f"{step.parameter} = {found[step.parameter]} -> {achieved:.4g} (target {step.target:.4g})"
            )
    return rows


def markdown(rows: list[dict], n_users: int, seeds: list[int]) -> str:
    lines = [
        "# Calibration",
        "",
        "Written by `python -m sim.calibration` "
        f"(--users {n_users} --seeds {len(seeds)}): each parameter fixed to one published "
        "figure by root finding on the statistic the figure defines, over days 181-540 "
        "of 540-day runs, in this order. These figures are calibration targets, not "
        "validation.",
        "",
        "| parameter | figure | source | target | value | achieved |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| `{row['parameter']}` | {row['figure']} | {row['source']} | "
            f"{row['target']:.4g} | {row['value']} | {row['achieved']:.4g} |"
        )
    return "\n".join(lines) + "\n\n" + by_hand_markdown()


def _assignment(text: str) -> tuple[str, float]:
    """``PATH=VALUE`` with a number, or a one-line argparse error."""
    path, sep, value = text.partition("=")
    try:
        if not sep or not path:
            raise ValueError
        return path, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected PATH=NUMBER, got {text!r}") from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sim.calibration", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--given",
        nargs="*",
        default=[],
        type=_assignment,
        metavar="PATH=VALUE",
        help="keep these values (a step whose parameter is given is skipped)",
    )
    args = parser.parse_args(argv)
    seeds = [101 + k for k in range(args.seeds)]
    given = dict(args.given)
    rows = calibrate(args.users, seeds, args.workers, given)
    text = markdown(rows, args.users, seeds)
    print(text)
    if args.out is not None:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
