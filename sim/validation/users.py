"""V1-V4: simulated users analysed as Zhang, de Jong & Gosselt (2025) analysed respondents.

Zhang 2025 surveyed Western European and Chinese users (N = 388) about their SNS
dependency, their motives for following company accounts and three behaviours
(following, consuming, engaging). Here the same model that answers strategy
questions simulates a Chinese and a Western European market, each with the same
six brands running the same strategy (fully localised, so that only the users and
their culture differ), and a random sample of simulated users is then "surveyed":

* **V1** SNS dependency by market: Welch t-test, China minus Western Europe.
* **V2** following (brand accounts followed at the end), consuming (company posts
  consumed per week) and engaging (engagements per week) by market: Welch t-tests.
* **V3** the effect of transactional content on following, per market: an
  experiment with common random numbers. Every brand's mix is tilted toward
  transactional content (informational + promotional share 0.7) in one arm and
  toward relational content (share 0.3) in the other; same seeds, same users. The
  paired difference in followers per brand and market (share of the market's users)
  is averaged per run, and the runs are the units of the t interval (clustered by
  run: the brands of one simulated market share its users and are not independent
  evidence). V3 has more runs than the survey (its own replication count). For
  reference, the survey regression of following on the transactional motive is
  reported as well.
* **V4** relational motive by market (Welch t-test), and a parallel mediation
  analysis (Hayes' model 4) of culture (China = 1) -> engagement through SNS
  dependency and through the social-integration (relational) motive, with
  percentile bootstrap intervals for both indirect effects.

Regressions use statsmodels; bootstraps use a numpy Generator seeded from the
validation seed.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import statsmodels.api as sm
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from sim.validation.common import (
    MARKETS,
    Check,
    Settings,
    TargetResult,
    build_scenario,
    cluster_mean_test,
    percentile_ci,
    run_model,
    seeds_for,
)

N_BRANDS = 6
#: Transactional (informational + promotional) share of the two V3 arms.
RELATIONAL_ARM = 0.3
TRANSACTIONAL_ARM = 0.7


SURVEY_PLATFORM = "instagram"


def survey_scenario_data(n_users: int, transactional_share: float | None) -> dict[str, Any]:
    """Raw scenario: China and Western Europe, six brands with one strategy in both.

    ``transactional_share`` sets every brand's informational + promotional share
    (split evenly, the rest split evenly between entertaining and relational);
    ``None`` keeps the schema's default mix.
    """
    strategy: dict[str, Any] = {
        "posts_per_day": 2.0,
        "responsiveness": 0.3,
        "localisation": 1.0,  # no cultural-distance penalty and no filtering
        "paid_reach": 0.005,  # ads bring non-followers into contact with the brands
        "initial_awareness": 0.1,
        "initial_followers": 0.02,
    }
    if transactional_share is not None:
        half_t, half_r = transactional_share / 2, (1.0 - transactional_share) / 2
        strategy["content_mix"] = {
            "informational": half_t,
            "promotional": half_t,
            "entertaining": half_r,
            "relational": half_r,
        }
    firms = [
        {
            "name": f"brand_{i + 1}",
            "home_market": MARKETS[i % 2],
            "strategies": [{"market": market, **strategy} for market in MARKETS],
        }
        for i in range(N_BRANDS)
    ]
    return {
        "model": {"name": "validation: users (Zhang 2025)", "n_users": n_users},
        # Both markets on one platform profile, as a survey asks about company
        # accounts in general: the markets differ by culture (the studies' question),
        # not by the platforms' formats and reach.
        "markets": [
            {"name": name, "preset": name, "user_share": 1.0, "platform": SURVEY_PLATFORM}
            for name in MARKETS
        ],
        "firms": firms,
    }


def simulate_market(
    settings: Settings, n_users: int, steps: int, seed: int, transactional_share: float | None
) -> dict[str, np.ndarray]:
    """One run; per-user traits and behaviours, and followers per (brand, market).

    Returns arrays: ``market`` (0 = China), ``dependency``, ``transactional``,
    ``relational`` (motives, 0-1), ``following`` (accounts followed), ``consuming``
    and ``engaging`` (per week), and ``followers_share`` (brands x markets, share
    of the market's users following the brand).
    """
    raw = survey_scenario_data(n_users, transactional_share)
    spec = build_scenario(raw, "validation users", settings)
    model = run_model(spec, steps, seed)
    pop = model.population
    weeks = steps / 7.0
    size = np.diff(pop.bounds).astype(float)
    followers = np.stack(
        [pop.following[pop.block(m)].sum(axis=0) / size[m] for m in range(model.n_markets)],
        axis=1,
    )
    return {
        "market": pop.market.astype(np.int8),
        "dependency": pop.sns_dependency.astype(float),
        "transactional": pop.transactional_motive.astype(float),
        "relational": pop.relational_motive.astype(float),
        "following": pop.following.sum(axis=1).astype(float),
        "consuming": pop.consumed_total / weeks,
        "engaging": pop.engaged_total / weeks,
        "followers_share": followers,
    }


def run_users(settings: Settings) -> list[TargetResult]:
    """Run the V1-V4 experiments and analyses."""
    started = time.perf_counter()
    reps = settings.replications(full=4, quick=2)
    v3_reps = settings.replications(full=12, quick=6)
    n_users = settings.size(20_000, 8_000)
    steps = 120
    per_market = 1000  # survey respondents per market
    n_boot = settings.size(2000, 500)
    seeds = seeds_for(settings.seed, "users", max(reps, v3_reps))
    worker = settings.picklable()
    jobs = [(worker, n_users, steps, seed, None) for seed in seeds[:reps]]
    for seed in seeds[:v3_reps]:
        jobs += [(worker, n_users, steps, seed, RELATIONAL_ARM)]
        jobs += [(worker, n_users, steps, seed, TRANSACTIONAL_ARM)]
    runs = settings.map(simulate_market, jobs)
    survey_runs, arms = runs[:reps], runs[reps:]
    relational_runs, transactional_runs = arms[0::2], arms[1::2]

    rng = np.random.default_rng(seeds_for(settings.seed, "users-sample", 1)[0])
    survey = draw_respondents(survey_runs, per_market, rng)
    n_resp = int(survey["market"].size)
    simulated = int(round(n_users * settings.factor("model.n_users")))
    design = (
        f"{reps} simulated markets x {simulated:,} users x {steps} days; survey of "
        f"{per_market} respondents per market drawn across the runs (N = {n_resp})"
    )
    results = [
        v1_dependency(survey, design),
        v2_behaviours(survey, design),
        v3_transactional_content(relational_runs, transactional_runs, survey, v3_reps, steps),
        v4_relational_and_mediation(survey, design, n_boot, rng),
    ]
    elapsed = time.perf_counter() - started
    for result in results:
        result.seconds = elapsed / len(results)
    return results


def draw_respondents(
    runs: list[dict[str, np.ndarray]], per_market: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """A simple random sample of ``per_market`` users per market, spread over the runs."""
    keys = ("market", "dependency", "transactional", "relational", "following")
    keys += ("consuming", "engaging")
    parts: dict[str, list[np.ndarray]] = {key: [] for key in keys}
    for m in range(len(MARKETS)):
        quota = np.full(len(runs), per_market // len(runs))
        quota[: per_market % len(runs)] += 1
        for run, count in zip(runs, quota, strict=True):
            members = np.flatnonzero(run["market"] == m)
            chosen = rng.choice(members, size=min(count, members.size), replace=False)
            for key in keys:
                parts[key].append(run[key][chosen])
    return {key: np.concatenate(values) for key, values in parts.items()}


def welch(survey: dict[str, np.ndarray], variable: str) -> tuple[float, float, float, float]:
    """China minus Western Europe: (difference, CI low, CI high, p), Welch's t-test."""
    china = survey[variable][survey["market"] == 0]
    europe = survey[variable][survey["market"] == 1]
    compare = CompareMeans(DescrStatsW(china), DescrStatsW(europe))
    _, p_value, _ = compare.ttest_ind(usevar="unequal")
    low, high = compare.tconfint_diff(usevar="unequal")
    return float(china.mean() - europe.mean()), float(low), float(high), float(p_value)


def _higher_in_china(survey: dict[str, np.ndarray], variable: str, label: str) -> Check:
    diff, low, high, p_value = welch(survey, variable)
    return Check(
        name=f"{variable} higher in China",
        statistic=f"{label}: China minus Western Europe (Welch t-test)",
        value=diff,
        low=low,
        high=high,
        p_value=p_value,
        passed=bool(diff > 0 and low > 0 and p_value < 0.05),
        rule="difference > 0 with 95% CI above 0 (p < 0.05)",
    )


def _market_means(survey: dict[str, np.ndarray], variables: tuple[str, ...]) -> dict[str, Any]:
    return {
        variable: {
            name: float(survey[variable][survey["market"] == m].mean())
            for m, name in enumerate(MARKETS)
        }
        for variable in variables
    }


def v1_dependency(survey: dict[str, np.ndarray], design: str) -> TargetResult:
    return TargetResult(
        target="V1",
        finding="Chinese users have stronger SNS dependency than Western European users.",
        source="Zhang, de Jong & Gosselt (2025)",
        expected="mean dependency China > Western Europe",
        method=f"{design}; Welch t-test on SNS dependency (0-1).",
        checks=[_higher_in_china(survey, "dependency", "SNS dependency (0-1)")],
        details={"means": _market_means(survey, ("dependency",))},
    )


def v2_behaviours(survey: dict[str, np.ndarray], design: str) -> TargetResult:
    labels = {
        "following": "brand accounts followed (of 6)",
        "consuming": "company posts consumed per week",
        "engaging": "engagements per week",
    }
    return TargetResult(
        target="V2",
        finding="Chinese users follow, consume and engage with company accounts more.",
        source="Zhang, de Jong & Gosselt (2025); Zhang et al. (2022)",
        expected="following, consuming and engaging all higher in China",
        method=f"{design}; Welch t-test per behaviour.",
        checks=[_higher_in_china(survey, key, label) for key, label in labels.items()],
        details={"means": _market_means(survey, tuple(labels))},
    )


def clustered_paired_effect(
    low_arm: np.ndarray, high_arm: np.ndarray, run: np.ndarray
) -> dict[str, float]:
    """Paired difference ``high_arm - low_arm`` with runs as clusters.

    Arrays hold one value per brand and run (``run`` names the run); the per-run mean
    differences are the units of the t interval (:func:`cluster_mean_test`).
    """
    return cluster_mean_test(np.asarray(high_arm) - np.asarray(low_arm), run)


def v3_transactional_content(
    relational_runs: list[dict[str, np.ndarray]],
    transactional_runs: list[dict[str, np.ndarray]],
    survey: dict[str, np.ndarray],
    reps: int,
    steps: int,
) -> TargetResult:
    checks = []
    effects = {}
    for m, name in enumerate(MARKETS):
        low_arm = np.concatenate([run["followers_share"][:, m] for run in relational_runs])
        high_arm = np.concatenate([run["followers_share"][:, m] for run in transactional_runs])
        run = np.repeat(
            np.arange(len(relational_runs)),
            [r["followers_share"].shape[0] for r in relational_runs],
        )
        test = clustered_paired_effect(low_arm, high_arm, run)
        naive = DescrStatsW(high_arm - low_arm)
        effect = test["mean"]
        effects[name] = {
            "relational_arm": float(low_arm.mean()),
            "transactional_arm": float(high_arm.mean()),
            "per_run_effect": [
                float((high_arm - low_arm)[run == r].mean()) for r in np.unique(run)
            ],
            "unclustered_ci": [float(v) for v in naive.tconfint_mean()],
        }
        checks.append(
            Check(
                name=f"transactional content raises following in {name}",
                statistic=(
                    f"{name}: followers per brand (share of users), transactional-leaning "
                    f"minus relational-leaning mix, paired, clustered by run "
                    f"({test['clusters']} runs x {naive.nobs / max(test['clusters'], 1):.0f} "
                    "brands)"
                ),
                value=effect,
                low=test["low"],
                high=test["high"],
                p_value=test["p_value"],
                passed=bool(effect > 0 and test["low"] > 0),
                rule="paired difference > 0 with 95% CI (t over per-run means) above 0",
            )
        )
    motive = {}
    for m, name in enumerate(MARKETS):
        rows = survey["market"] == m
        exog = sm.add_constant(
            np.column_stack(
                [
                    survey["transactional"][rows],
                    survey["relational"][rows],
                    survey["dependency"][rows],
                ]
            )
        )
        fit = sm.OLS(survey["following"][rows], exog).fit(cov_type="HC3")
        motive[name] = {"coefficient": float(fit.params[1]), "p_value": float(fit.pvalues[1])}
    return TargetResult(
        target="V3",
        finding="Transactional motives matter for both groups: transactional content raises following.",
        source="Zhang, de Jong & Gosselt (2025)",
        expected="more transactional content -> more followers, in China and in Western Europe",
        method=(
            f"Experiment with common random numbers: {reps} seeds x 2 arms x {steps} days; "
            f"every brand's transactional share {TRANSACTIONAL_ARM} vs {RELATIONAL_ARM}; "
            "paired difference in followers per brand and market, averaged per run; t "
            "interval over the runs (clustered by run). "
            "Reported, not tested: survey OLS (HC3) of accounts followed on transactional "
            "motive, relational motive and dependency, per market."
        ),
        checks=checks,
        details={"arms": effects, "survey_regression_transactional_motive": motive},
    )


def parallel_mediation(
    culture: np.ndarray, mediators: np.ndarray, outcome: np.ndarray
) -> tuple[np.ndarray, float]:
    """Indirect effects a_k x b_k of culture through each mediator, and the direct effect.

    Hayes' model 4: mediator_k = i_k + a_k culture; outcome = i + c' culture +
    sum_k b_k mediator_k, each fitted by OLS (statsmodels).
    """
    design_a = sm.add_constant(culture, has_constant="add")
    a_paths = np.array(
        [sm.OLS(mediators[:, k], design_a).fit().params[1] for k in range(mediators.shape[1])]
    )
    design_b = sm.add_constant(np.column_stack([culture, mediators]), has_constant="add")
    fit = sm.OLS(outcome, design_b).fit()
    b_paths = fit.params[2:]
    return a_paths * b_paths, float(fit.params[1])


def v4_relational_and_mediation(
    survey: dict[str, np.ndarray], design: str, n_boot: int, rng: np.random.Generator
) -> TargetResult:
    relational = _higher_in_china(survey, "relational", "relational motive (0-1)")
    culture = (survey["market"] == 0).astype(float)  # China = 1
    mediators = np.column_stack([survey["dependency"], survey["relational"]])
    outcome = survey["engaging"]
    indirect, direct = parallel_mediation(culture, mediators, outcome)
    n = culture.size
    boot = np.empty((n_boot, 2))
    for i in range(n_boot):
        rows = rng.integers(0, n, n)
        boot[i], _ = parallel_mediation(culture[rows], mediators[rows], outcome[rows])
    checks = [relational]
    for k, (label, name) in enumerate(
        (("SNS dependency", "dependency"), ("social-integration (relational) motive", "relational"))
    ):
        low, high = percentile_ci(boot[:, k])
        checks.append(
            Check(
                name=f"indirect effect through {name}",
                statistic=(
                    f"indirect effect of culture (China = 1) on engagements per week through "
                    f"{label}, a x b ({n_boot} bootstrap resamples)"
                ),
                value=float(indirect[k]),
                low=low,
                high=high,
                passed=bool(indirect[k] > 0 and low > 0),
                rule="indirect effect > 0 with 95% percentile bootstrap CI above 0",
            )
        )
    return TargetResult(
        target="V4",
        finding=(
            "Chinese users have more relational motives; culture affects behaviour through "
            "SNS dependency and the social-integration motive."
        ),
        source="Zhang, de Jong & Gosselt (2025)",
        expected="relational motive higher in China; both indirect effects significant",
        method=(
            f"{design}; Welch t-test on the relational motive; parallel mediation "
            "(Hayes model 4, OLS in statsmodels) of culture -> engagements per week through "
            "dependency and the relational motive, percentile bootstrap."
        ),
        checks=checks,
        details={
            "means": _market_means(survey, ("relational",)),
            "direct_effect": direct,
            "indirect_effects": {
                "dependency": float(indirect[0]),
                "relational": float(indirect[1]),
            },
        },
    )
