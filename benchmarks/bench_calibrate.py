"""Issue 14's evidence for `guanxi calibrate`. Prints its figures (and writes them as JSON).

1. ``coverage``: simulation-based calibration (Talts et al. 2018). For each of
   ``--datasets`` synthetic data sets, true values of ``--params`` parameters are
   drawn from their priors (seeded), the model makes a weekly export of the firm's
   metrics at those values, and `guanxi calibrate`'s ABC-SMC fits it. Reported: per
   parameter, the share of data sets whose 90% credible interval (weighted 5%-95%
   quantiles of the last generation) holds the truth, the mean width ratio
   (posterior 90% over prior 90%), the effective sample size (Kish) of the last
   generation's weights, and the run time. The issue's target: >= 80% of 20 data sets
   for 3-6 parameters at once. The interval's probability content falls short of 90%
   by Monte Carlo error when few particles carry the weight (about 0.9 n / (n + 1)
   for n equally weighted particles), so the population, not only the generations,
   sets how close to nominal the coverage can be.
2. ``speed``: one 4-parameter calibration of china_entry (default 5,000 users over 180
   days) with the given budget and workers, its wall time (target: 30 minutes on 2
   cores) and the inference library's overhead: the calibration's wall time against
   the same number of plain model runs (build, run, read the firm_market table) timed
   in this process.

    .venv/bin/python benchmarks/bench_calibrate.py coverage [--datasets 20] [--params 3]
        [--users 1000] [--days 56] [--population 30] [--generations 3] [--workers 2]
    .venv/bin/python benchmarks/bench_calibrate.py coverage --quick     # 4 data sets, tiny
    .venv/bin/python benchmarks/bench_calibrate.py speed [--users 5000] [--days 180]
        [--population 40] [--generations 3] [--workers 2]
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

#: The parameters of the study, in order (--params N takes the first N): China's paid
#: reach, China's engagement offset, Western Europe's organic reach, China's organic
#: reach, our product quality, China's purchase cycle. Priors as in a calibration file.
PARAMETERS = [
    {
        "path": "firms.ours.strategies.china.paid_reach",
        "prior": "uniform",
        "low": 0.001,
        "high": 0.015,
    },
    {"path": "markets.china.engagement_offset", "prior": "uniform", "low": -2.5, "high": 0.0},
    {"path": "markets.western_europe.organic_reach", "prior": "uniform", "low": 0.05, "high": 0.4},
    {"path": "markets.china.organic_reach", "prior": "uniform", "low": 0.02, "high": 0.25},
    {"path": "firms.ours.product_quality", "prior": "uniform", "low": -0.5, "high": 0.8},
    {"path": "markets.china.purchase_cycle", "prior": "loguniform", "low": 20.0, "high": 365.0},
]
METRICS = ("followers", "new_followers", "impressions", "engagements", "conversions")


def calibration_file(folder: Path, params: list[dict], args, seed: int) -> Path:
    """Write a calibration file for ``observed.csv`` in ``folder`` (TOML written as data)."""
    import tomli_w

    data = {
        "calibration": {
            "name": folder.name,
            "scenario": "china_entry",
            "seed": seed,
            "firm": "ours",
            "start_date": dt.date(2025, 1, 6),
            "fixed": {"model.n_users": args.users},
        },
        "observed": {"file": "observed.csv", "frequency": "weekly", "market_column": "market"},
        "parameters": params,
        "budget": {
            "population_size": args.population,
            "generations": args.generations,
            "max_walltime_minutes": args.walltime,
            "predictive_draws": 0,
        },
    }
    path = folder / "calibration.toml"
    path.write_bytes(tomli_w.dumps(data).encode())
    return path


def engine_for(workers: int):
    from contextlib import nullcontext

    from sim.sweep.engines import make_engine

    return nullcontext() if workers == 1 else make_engine(workers)


def calibrate(path: Path, out: Path, engine) -> tuple:
    from sim.inference.abc import run_calibration
    from sim.inference.outputs import (
        effective_sample_size,
        parameter_summary,
        posterior_frame,
        read_history,
    )
    from sim.inference.spec import load_calibration

    plan = load_calibration(path)
    executor = None if engine is None else engine.executor
    slots = 1 if engine is None else engine.slots()
    run = run_calibration(plan, out, executor, slots, report=lambda line: None)
    posterior = posterior_frame(read_history(out))
    summary = parameter_summary(plan, posterior)
    return plan, run, summary.assign(ess=effective_sample_size(posterior.weight))


def coverage(args) -> dict:
    from sim.inference.priors import resolve_prior
    from sim.inference.spec import ParameterSection
    from sim.inference.synthetic import synthetic_export
    from sim.scenario import load_scenario
    from sim.seeds import derive_rng, derive_seed

    params = PARAMETERS[: args.params]
    priors = [resolve_prior(ParameterSection(**p), p["path"]) for p in params]
    base = load_scenario("china_entry", {"model.n_users": args.users})
    hits = {p.path: [] for p in priors}
    ratios = {p.path: [] for p in priors}
    seconds, simulations, ess = [], [], []
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, engine_for(args.workers) as engine:
        for i in range(args.datasets):
            rng = derive_rng(args.seed, "sbc-truth", i)
            truth = {p.path: float(p.frozen().ppf(rng.uniform())) for p in priors}
            folder = Path(tmp, f"set{i}")
            folder.mkdir()
            export = synthetic_export(
                base,
                truth,
                "ours",
                args.days,
                derive_seed(args.seed, "sbc-data", i),
                metrics=METRICS,
            )
            export.to_csv(folder / "observed.csv", index=False)
            path = calibration_file(folder, params, args, derive_seed(args.seed, "sbc-fit", i))
            t0 = time.monotonic()
            _, run, summary = calibrate(path, folder / "out", engine)
            seconds.append(time.monotonic() - t0)
            simulations.append(run.simulations)
            ess.append(float(summary.ess.iloc[0]))
            line = []
            for r in summary.itertuples():
                inside = r.posterior_q05 <= truth[r.parameter] <= r.posterior_q95
                hits[r.parameter].append(bool(inside))
                ratios[r.parameter].append(float(r.width_ratio))
                line.append(
                    f"{r.parameter.split('.')[-1]} {truth[r.parameter]:.4g} "
                    f"{'in' if inside else 'OUT'} [{r.posterior_q05:.4g}, {r.posterior_q95:.4g}] "
                    f"({r.width_ratio:.2f})"
                )
            print(
                f"data set {i + 1}/{args.datasets}: {seconds[-1]:.0f} s, "
                f"{run.simulations} sims, {run.generations} gens, ESS {ess[-1]:.0f}: {'; '.join(line)}",
                flush=True,
            )
    per_parameter = {
        path: {
            "coverage_90": sum(h) / len(h),
            "mean_width_ratio": sum(ratios[path]) / len(ratios[path]),
        }
        for path, h in hits.items()
    }
    all_hits = [h for values in hits.values() for h in values]
    return {
        "study": "coverage",
        "datasets": args.datasets,
        "parameters": len(priors),
        "users": args.users,
        "days": args.days,
        "population": args.population,
        "generations": args.generations,
        "workers": args.workers,
        "per_parameter": per_parameter,
        "coverage_90_all": sum(all_hits) / len(all_hits),
        "min_coverage_90": min(v["coverage_90"] for v in per_parameter.values()),
        "target_met": min(v["coverage_90"] for v in per_parameter.values()) >= 0.8,
        "seconds_total": time.monotonic() - started,
        "seconds_per_calibration": sum(seconds) / len(seconds),
        "simulations_per_calibration": sum(simulations) / len(simulations),
        "mean_final_ess": sum(ess) / len(ess),
    }


def speed(args) -> dict:
    from sim.inference.synthetic import synthetic_export
    from sim.runner import firm_market_frame, run_model
    from sim.scenario import load_scenario, scenario_from_data

    params = PARAMETERS[:4]
    truth = {p["path"]: (p["low"] + p["high"]) / 2 for p in params}
    base = load_scenario("china_entry", {"model.n_users": args.users})
    with tempfile.TemporaryDirectory() as tmp, engine_for(args.workers) as engine:
        folder = Path(tmp)
        synthetic_export(base, truth, "ours", args.days, 1, metrics=METRICS).to_csv(
            folder / "observed.csv", index=False
        )
        path = calibration_file(folder, params, args, 1)
        t0, cpu0 = time.monotonic(), time.process_time()
        plan, run, summary = calibrate(path, folder / "out", engine)
        wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
    # The same runs without the inference library: build, run, read the table.
    plain, plain_cpu = [], []
    for k in range(args.plain_runs):
        t1, cpu1 = time.monotonic(), time.process_time()
        spec = scenario_from_data(base.model_dump(mode="json"), "plain", truth)
        firm_market_frame(run_model(spec, args.days, 100 + k))
        plain.append(time.monotonic() - t1)
        plain_cpu.append(time.process_time() - cpu1)
    per_run = sum(plain) / len(plain)
    per_run_cpu = sum(plain_cpu) / len(plain_cpu)
    plain_total = per_run * run.simulations / args.workers
    result = {
        "study": "speed",
        "parameters": len(params),
        "users": args.users,
        "days": args.days,
        "population": args.population,
        "generations_stored": run.generations,
        "workers": args.workers,
        "simulations": run.simulations,
        "seconds": wall,
        "target_seconds": 1800,
        "target_met": wall <= 1800,
        "plain_run_seconds": per_run,
        "plain_run_cpu_seconds": per_run_cpu,
        "plain_equivalent_seconds": plain_total,
        "overhead_fraction_wall": 1 - plain_total / wall,
    }
    if args.workers == 1:  # everything ran in this process: CPU time is comparable
        result["calibration_cpu_seconds"] = cpu
        result["overhead_fraction_cpu"] = 1 - per_run_cpu * run.simulations / cpu
    return {
        **result,
        "verdicts": dict(zip(summary.parameter, summary.verdict, strict=True)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study", choices=("coverage", "speed"))
    parser.add_argument("--datasets", type=int, default=20)
    parser.add_argument("--params", type=int, default=3, choices=range(1, len(PARAMETERS) + 1))
    parser.add_argument("--users", type=int)
    parser.add_argument("--days", type=int)
    parser.add_argument("--population", type=int)
    parser.add_argument("--generations", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--walltime", type=float, default=60.0, help="minutes per calibration")
    parser.add_argument("--plain-runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="at most 4 data sets, 300 users, 28 days, population 10",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.study == "coverage":
        if args.quick:
            args.datasets = min(args.datasets, 4)
            args.users, args.days, args.population = 300, 28, 10
        args.users = args.users or 1000
        args.days = args.days or 56
        args.population = args.population or 30
        result = coverage(args)
    else:
        args.users = args.users or 5000
        args.days = args.days or 180
        args.population = args.population or 40
        result = speed(args)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
