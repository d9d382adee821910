"""V5-V6: simulated firms analysed as Luo (2024) analysed surveyed firms.

Luo (2024) surveyed firms: social media use -> social CRM capability -> marketing
performance (mediation), with guanxi moderating the first path. Here each
replication is one simulated market of many firms in China and Western Europe
that differ in social media intensity (posts per day, log-uniform 0.5-8), in
responsiveness, initial CRM capability, markets served and whether they look for
guanxi partners; guanxi ties then form, work and break as the model says. At the
end the firms are "surveyed":

* social media intensity (SMI) = ln(mean posts per day over the run);
* social CRM capability at the end (0-1);
* marketing performance = the model's performance index, mean of the last 30 days;
* guanxi = the firm's guanxi level (sum of tie strengths, capped at 1), averaged
  over the run (a survey asks about the firm's guanxi in general, not on one day).

Firms of all replications are pooled, with replication fixed effects (each
replication is a separate market). **V5**: a-path CRM ~ SMI, b-path performance ~
CRM + SMI (OLS), indirect effect a x b with a percentile bootstrap over firms, as
the survey would. A cross-sectional b path cannot tell CRM -> performance from
performance -> engagement -> CRM (capability is learned from the interactions that
followers and awareness bring), so V5 also measures the b path by experiment: every
replication is run a second time with every firm's initial CRM capability raised by
``CRM_BOOST`` (capped at 1), same seed; the paired difference in performance per
firm must be positive. Both checks must pass.
**V6**: CRM ~ SMI x guanxi (mean-centred, OLS with HC3 errors), the interaction
term and the simple slopes of SMI at guanxi mean -/+ 1 SD.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import statsmodels.api as sm
from statsmodels.stats.weightstats import DescrStatsW

from sim.validation.common import (
    MARKETS,
    Check,
    Settings,
    TargetResult,
    build_scenario,
    percentile_ci,
    run_model,
    seeds_for,
)

USERS_PER_FIRM = 1000
PERFORMANCE_WINDOW = 30  # days averaged for the performance measure
CRM_BOOST = 0.5  # raise of every firm's initial CRM capability in the V5 experiment


def firm_population_data(n_firms: int, seed: int, crm_boost: float = 0.0) -> dict[str, Any]:
    """Raw scenario: ``n_firms`` heterogeneous firms in China and Western Europe.

    Firm traits are drawn from a Generator seeded with ``seed`` (the design is part
    of the replication): home market alternating, a second market with probability
    0.5, posts per day log-uniform on [0.5, 8], responsiveness U(0.1, 0.9),
    localisation abroad U(0.3, 1), initial CRM capability U(0.05, 0.5), partner
    search with probability 0.7. ``crm_boost`` is added to every initial CRM
    capability (capped at 1) without changing any other draw.
    """
    rng = np.random.default_rng(seed)
    firms = []
    for i in range(n_firms):
        home = MARKETS[i % 2]
        abroad = MARKETS[1 - i % 2]
        targets = [home] + ([abroad] if rng.random() < 0.5 else [])
        posts = float(np.exp(rng.uniform(np.log(0.5), np.log(8.0))))
        responsiveness = float(rng.uniform(0.1, 0.9))
        strategies = [
            {
                "market": market,
                "posts_per_day": posts,
                "responsiveness": responsiveness,
                "localisation": 1.0 if market == home else float(rng.uniform(0.3, 1.0)),
                "budget": 1000.0,
                "initial_awareness": 0.1,
                "initial_followers": 0.02,
            }
            for market in targets
        ]
        firms.append(
            {
                "name": f"firm_{i + 1}",
                "home_market": home,
                "initial_crm_capability": min(1.0, float(rng.uniform(0.05, 0.5)) + crm_boost),
                "seeks_partners": bool(rng.random() < 0.7),
                "strategies": strategies,
            }
        )
    return {
        "model": {"name": "validation: firms (Luo 2024)", "n_users": n_firms * USERS_PER_FIRM},
        "markets": [{"name": name, "preset": name} for name in MARKETS],
        "firms": firms,
    }


def simulate_firms(
    settings: Settings, n_firms: int, steps: int, seed: int, crm_boost: float = 0.0
) -> dict[str, np.ndarray]:
    """One market of firms; the survey measures per firm (see the module docstring)."""
    raw = firm_population_data(n_firms, seed, crm_boost)
    spec = build_scenario(raw, "validation firms", settings)
    model = run_model(spec, steps, seed)
    agents = model.datacollector.get_agent_vars_dataframe().reset_index()
    agents = agents[agents["Step"] > 0]
    by_firm = agents.groupby("firm")
    last_days = agents[agents["Step"] > steps - PERFORMANCE_WINDOW].groupby("firm")
    names = [firm.name for firm in sorted(model.firms, key=lambda f: f.index)]
    table = model.datacollector.get_table_dataframe("firm_market")
    posts = table[table.step > 0].groupby("firm")["posts"].sum() / steps
    return {
        "smi": np.log(np.maximum(posts.reindex(names).to_numpy(float), 1e-3)),
        "crm": by_firm["crm_capability"].last().reindex(names).to_numpy(float),
        "performance": last_days["performance"].mean().reindex(names).to_numpy(float),
        "guanxi": by_firm["guanxi_level"].mean().reindex(names).to_numpy(float),
        "ties": by_firm["ties"].mean().reindex(names).to_numpy(float),
    }


def run_firms(settings: Settings, targets: tuple[str, ...] = ("V5", "V6")) -> list[TargetResult]:
    """Run the V5-V6 experiment and the analyses of ``targets``."""
    started = time.perf_counter()
    reps = settings.replications(full=4, quick=3)
    n_firms = settings.size(40, 30)
    steps = settings.size(180, 120)
    n_boot = settings.size(2000, 500)
    seeds = seeds_for(settings.seed, "firms", reps)
    worker = settings.picklable()
    boosts = (0.0, CRM_BOOST) if "V5" in targets else (0.0,)
    jobs = [(worker, n_firms, steps, seed, boost) for seed in seeds for boost in boosts]
    runs = settings.map(simulate_firms, jobs)
    baseline = runs[:: len(boosts)]
    data = {key: np.concatenate([run[key] for run in baseline]) for key in baseline[0]}
    data["rep"] = np.repeat(np.arange(reps), [run["smi"].size for run in baseline])
    design = (
        f"{reps} simulated markets x {n_firms} firms x {steps} days "
        f"({n_firms * USERS_PER_FIRM:,} users each); N = {data['smi'].size} firms"
    )
    rng = np.random.default_rng(seeds_for(settings.seed, "firms-bootstrap", 1)[0])
    results = []
    if "V5" in targets:
        boosted = runs[1 :: len(boosts)]
        experiment = {
            key: np.concatenate([run[key] for run in boosted]) for key in ("crm", "performance")
        }
        results.append(v5_mediation(data, experiment, design, n_boot, rng))
    if "V6" in targets:
        results.append(v6_moderation(data, design))
    elapsed = time.perf_counter() - started
    for result in results:
        result.seconds = elapsed / len(results)
    return results


def _fixed_effects(rep: np.ndarray) -> np.ndarray:
    """Replication dummies (first replication as reference); (n, reps - 1)."""
    levels = np.unique(rep)
    return (rep[:, None] == levels[None, 1:]).astype(float)


def mediation_paths(data: dict[str, np.ndarray]) -> tuple[float, float, float]:
    """(a, b, c'): CRM ~ SMI and performance ~ CRM + SMI, with replication effects."""
    effects = _fixed_effects(data["rep"])
    design_a = sm.add_constant(np.column_stack([data["smi"], effects]), has_constant="add")
    a_path = sm.OLS(data["crm"], design_a).fit().params[1]
    design_b = sm.add_constant(
        np.column_stack([data["crm"], data["smi"], effects]), has_constant="add"
    )
    fit = sm.OLS(data["performance"], design_b).fit()
    return float(a_path), float(fit.params[1]), float(fit.params[2])


def v5_mediation(
    data: dict[str, np.ndarray],
    boosted: dict[str, np.ndarray],
    design: str,
    n_boot: int,
    rng: np.random.Generator,
) -> TargetResult:
    a_path, b_path, direct = mediation_paths(data)
    indirect = a_path * b_path
    n = data["smi"].size
    boot = np.empty(n_boot)
    strata = [np.flatnonzero(data["rep"] == r) for r in np.unique(data["rep"])]
    for i in range(n_boot):
        # Resample firms within each replication so every market keeps its firms.
        rows = np.concatenate([rng.choice(members, members.size) for members in strata])
        sample = {key: values[rows] for key, values in data.items()}
        a_b, b_b, _ = mediation_paths(sample)
        boot[i] = a_b * b_b
    low, high = percentile_ci(boot)
    survey = Check(
        name="indirect effect SMI -> CRM -> performance",
        statistic=f"indirect effect a x b ({n_boot} bootstrap resamples of firms)",
        value=indirect,
        low=low,
        high=high,
        passed=bool(indirect > 0 and low > 0),
        rule="indirect effect > 0 with 95% percentile bootstrap CI above 0",
    )
    gain = DescrStatsW(boosted["performance"] - data["performance"])
    gain_low, gain_high = gain.tconfint_mean()
    _, gain_p, _ = gain.ttest_mean(0.0)
    crm_gain = float(np.mean(boosted["crm"] - data["crm"]))
    causal = Check(
        name="CRM capability raises performance (experiment)",
        statistic=(
            f"performance index, every firm's initial CRM capability + {CRM_BOOST} minus "
            f"baseline, same seeds, paired over {gain.nobs:.0f} firms"
        ),
        value=float(gain.mean),
        low=float(gain_low),
        high=float(gain_high),
        p_value=float(gain_p),
        passed=bool(gain.mean > 0 and gain_low > 0),
        rule="paired difference > 0 with 95% CI above 0",
    )
    return TargetResult(
        target="V5",
        finding=(
            "Social media use raises marketing performance through social CRM capability "
            "(mediation)."
        ),
        source="Luo (2024); Wang & Kim (2017); Foltean, Trif & Tuleu (2019)",
        expected=(
            "significant positive indirect effect (bootstrap CI above 0); higher CRM "
            "capability raises performance"
        ),
        method=(
            f"{design}; OLS paths with replication fixed effects; SMI = ln(posts per day), "
            "CRM capability at the end, performance index averaged over the last "
            f"{PERFORMANCE_WINDOW} days. Experiment for the b path: each replication run "
            f"again with every firm's initial CRM capability + {CRM_BOOST} (capped at 1)."
        ),
        checks=[survey, causal],
        details={
            "causal_b_path": float(gain.mean) / crm_gain if crm_gain else float("nan"),
            "crm_difference_at_end": crm_gain,
            "a_path": a_path,
            "b_path": b_path,
            "direct_effect": direct,
            "n_firms": int(n),
            "n_boot": n_boot,
        },
    )


def v6_moderation(data: dict[str, np.ndarray], design: str) -> TargetResult:
    smi = data["smi"] - data["smi"].mean()
    guanxi = data["guanxi"] - data["guanxi"].mean()
    effects = _fixed_effects(data["rep"])
    exog = sm.add_constant(
        np.column_stack([smi, guanxi, smi * guanxi, effects]), has_constant="add"
    )
    fit = sm.OLS(data["crm"], exog).fit(cov_type="HC3")
    interaction, p_value = float(fit.params[3]), float(fit.pvalues[3])
    ci_low, ci_high = fit.conf_int()[3]
    spread = float(data["guanxi"].std(ddof=1))
    slopes = {}
    for label, level in (("low", -spread), ("high", spread)):
        contrast = np.zeros(exog.shape[1])
        contrast[1], contrast[3] = 1.0, level
        test = fit.t_test(contrast)
        low, high = test.conf_int()[0]
        slopes[label] = {
            "guanxi": float(data["guanxi"].mean() + level),
            "slope": float(test.effect[0]),
            "low": float(low),
            "high": float(high),
            "p_value": float(test.pvalue),
        }
    check = Check(
        name="guanxi x SMI interaction on CRM capability",
        statistic="interaction coefficient SMI x guanxi (mean-centred; OLS, HC3)",
        value=interaction,
        low=float(ci_low),
        high=float(ci_high),
        p_value=p_value,
        passed=bool(interaction > 0 and p_value < 0.05),
        rule="interaction > 0 with p < 0.05 (two-sided)",
    )
    return TargetResult(
        target="V6",
        finding="Guanxi strengthens the social media -> social CRM capability path (moderation).",
        source="Luo (2024)",
        expected="positive interaction; steeper SMI slope at high guanxi than at low",
        method=(
            f"{design}; CRM ~ SMI + guanxi + SMI x guanxi + replication effects (OLS, HC3); "
            "guanxi = mean guanxi level over the run; simple slopes at guanxi mean -/+ 1 SD."
        ),
        checks=[check],
        details={
            "simple_slopes": slopes,
            "guanxi_mean": float(data["guanxi"].mean()),
            "guanxi_sd": spread,
            "share_with_ties": float(np.mean(data["ties"] > 0)),
            "main_effect_smi": float(fit.params[1]),
            "main_effect_guanxi": float(fit.params[2]),
        },
    )
