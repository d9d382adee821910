"""``guanxi calibrate``: fit a scenario's parameters to a brand's analytics export (ABC-SMC).

Light to import: the handler imports pyabc, the model and the engines when it runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from sim.cli import out_dir, positive_int, seed_int

    cal = sub.add_parser(
        "calibrate",
        help="fit scenario parameters to your own analytics (ABC-SMC); a posterior for what-ifs",
        description="Approximate Bayesian computation (ABC-SMC, pyabc) of the parameters a "
        "calibration file names, from an analytics export (CSV or Parquet). Writes the "
        "history (SQLite), posterior samples, diagnostics, charts and a report to --out. "
        "See docs/calibrate.md.",
    )
    cal.add_argument("calibration", help="calibration file (TOML) or a bundled calibration's name")
    cal.add_argument(
        "--out",
        type=out_dir,
        metavar="DIR",
        help="new or empty directory for the history and outputs (default: "
        "calibration-<name> here); with --resume, the directory to continue",
    )
    cal.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="local worker processes, or LocalCluster workers (default 1: in this process); "
        "the particles are the same for any number",
    )
    cal.add_argument(
        "--scheduler",
        metavar="ADDRESS|local",
        help="run on Dask, as sweeps do: 'local' starts a LocalCluster; tcp://HOST:8786 uses "
        "a running scheduler",
    )
    cal.add_argument(
        "--resume",
        action="store_true",
        help="continue the calibration in --out DIR from its last stored generation",
    )
    cal.add_argument("--seed", type=seed_int, help="calibration seed (default: calibration.seed)")
    cal.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from sim.cli import get_console
    from sim.inference.abc import run_calibration
    from sim.inference.outputs import write_outputs
    from sim.inference.spec import CalibrationError, load_calibration
    from sim.resources import check_memory
    from sim.sweep.engines import make_engine, scheduler_address

    plan = load_calibration(args.calibration, args.seed)
    out: Path = args.out if args.out is not None else Path(f"calibration-{plan.name}")
    if args.resume and args.out is None and not out.is_dir():
        raise CalibrationError("--resume: give --out DIR, the calibration to continue")
    scheduler = args.scheduler
    if scheduler is not None and scheduler != "local":
        scheduler = scheduler_address(scheduler)
    if scheduler in (None, "local"):
        check_memory(plan.base, plan.days, "calibration.days", args.workers)
    console = get_console()

    def report(line: str) -> None:
        console.print(line, highlight=False)

    in_process = args.workers == 1 and scheduler is None
    with nullcontext() if in_process else make_engine(args.workers, scheduler) as engine:
        executor = None if engine is None else engine.executor
        slots = 1 if engine is None else engine.slots()
        workers_text = "1 (in this process)" if engine is None else engine.description
        run = run_calibration(
            plan, out, executor, slots, workers_text, resume=args.resume, report=report
        )
        written = write_outputs(plan, out, run, executor, report)
    console.print(
        f"{plan.name}: {run.generations} generations stored ({run.new_generations} new, "
        f"{run.simulations:,} simulations, {run.seconds:.0f} s); wrote {len(written)} files "
        f"and {out / 'history.db'} to {out}"
    )
    console.print(f"report: {out / 'report.md'}")
    return 0
