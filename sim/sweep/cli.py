"""The ``guanxi sweep``, ``guanxi sweep-report`` and ``guanxi sensitivity`` commands."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from sim.errors import GuanxiError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the sweep commands to the ``guanxi`` parser."""
    from sim.cli import add_set_option, out_dir, positive_int

    sweep = subparsers.add_parser(
        "sweep",
        help="run a batch parameter sweep (grid, LHS, Sobol, Morris) locally or on Dask",
        description="Run every run of a sweep file; results stream to DIR as Parquet.",
    )
    sweep.add_argument("sweep", help="bundled sweep name or path to a sweep TOML file")
    sweep.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="results directory (default: runs/<sweep file name>)",
    )
    sweep.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="local worker processes, or LocalCluster workers (default: cores available)",
    )
    sweep.add_argument(
        "--scheduler",
        metavar="ADDRESS|local",
        help="run on Dask: 'local' starts a LocalCluster; tcp://HOST:8786 uses a running "
        "scheduler (dask scheduler / dask worker)",
    )
    sweep.add_argument(
        "--worker-timeout",
        type=positive_float,
        default=None,
        metavar="SECONDS",
        help="with --scheduler: stop, saying so, when the cluster has had no worker for this "
        "long (default 60)",
    )
    sweep.add_argument(
        "--resume", action="store_true", help="continue the sweep in DIR: run only what is missing"
    )
    sweep.add_argument(
        "--retry-failed",
        action="store_true",
        help="with --resume: also run again the runs recorded as failed (after a dead worker "
        "or cluster; an invalid scenario fails again)",
    )
    add_set_option(sweep, help_text="override a base-scenario parameter, e.g. model.n_users=2000")
    sweep.add_argument(
        "--posterior",
        type=out_dir,
        metavar="DIR",
        help="a `guanxi calibrate` output: replication r of every design point runs at "
        "posterior draw r (seeded; the point's own values win), instead of sweep.posterior",
    )
    sweep.set_defaults(func=cmd_sweep)

    report = subparsers.add_parser(
        "sweep-report", help="summary table (CSV, Markdown) and charts of a sweep's results"
    )
    report.add_argument("dir", type=Path, help="the sweep's results directory")
    report.add_argument("--out", type=Path, help="where to write (default: DIR/report)")
    report.set_defaults(func=cmd_report)

    sens = subparsers.add_parser(
        "sensitivity", help="Sobol or Morris sensitivity indices (SALib) of a sweep's outcomes"
    )
    sens.add_argument("dir", type=Path, help="the results directory of a sobol or morris sweep")
    sens.add_argument("--out", type=Path, help="where to write (default: DIR/sensitivity)")
    sens.set_defaults(func=cmd_sensitivity)


def cmd_sweep(args: argparse.Namespace) -> int:
    from sim.cli import console
    from sim.sweep.engines import make_engine, scheduler_address
    from sim.sweep.report import point_summary, summary_table
    from sim.sweep.run import print_interrupted, run_sweep
    from sim.sweep.spec import SweepError, load_sweep, resolve_sweep_path
    from sim.sweep.store import SweepStore
    from sim.sweep.workers import start_worker_server

    if args.scheduler not in (None, "local"):
        scheduler_address(args.scheduler)  # a malformed address fails before anything starts
    if args.scheduler is None:
        start_worker_server()
    plan = load_sweep(args.sweep, args.overrides, args.posterior)
    out = args.out or Path("runs") / resolve_sweep_path(args.sweep).stem
    if args.scheduler not in (None, "local") and args.workers:
        raise GuanxiError("--workers: not used with --scheduler ADDRESS (the cluster has its own)")
    if args.worker_timeout is not None and args.scheduler is None:
        raise GuanxiError("--worker-timeout: only with --scheduler (local workers never leave)")
    if args.retry_failed and not args.resume:
        raise GuanxiError("--retry-failed: only with --resume (it runs again what DIR recorded)")
    console.print(
        f"sweep {plan.name}: {plan.method} design, {len(plan.points):,} points x "
        f"{plan.replications} replications = {plan.n_runs:,} runs of {plan.steps} days"
    )
    if plan.posterior is not None:
        console.print(plan.posterior.describe())
    # Check DIR before starting any worker, write to it once the engine is up.
    SweepStore.create(out, plan, resume=args.resume, check_only=True)
    # `kill PID` (SIGTERM) stops the sweep like Ctrl-C: workers stopped, the line
    # saying what is saved and how to resume.
    previous_term = signal.signal(signal.SIGTERM, _interrupt)
    try:
        status = _run(args, plan, out, console, make_engine, run_sweep, print_interrupted)
    finally:
        signal.signal(signal.SIGTERM, previous_term)
    console.print(
        f"done: {status.done} of {status.total} runs in {out} ({status.ran} run now, "
        f"{status.failed} failed, {status.elapsed_s:.1f} s)"
    )
    store = SweepStore.open(out)
    console.print(summary_table(store, point_summary(store)))
    if status.ran and status.failed == status.ran and not status.already_ok:
        raise SweepError(
            f"every run failed ({status.failed} of {status.ran}); first: {status.first_error}"
        )
    return 0


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _run(args, plan, out, console, make_engine, run_sweep, print_interrupted):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    status = None
    engine = make_engine(args.workers, args.scheduler, worker_wait_s=args.worker_timeout)
    with engine:
        console.print(f"engine: {engine.description}")
        progress = Progress(
            TextColumn("{task.description}", style="bold", markup=False),  # the sweep's name
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("runs, [red]{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            disable=not console.is_terminal,
        )
        task = progress.add_task(plan.name, total=plan.n_runs, failed=0)

        def on_progress(state) -> None:
            nonlocal status
            if status is None and state.set_aside:
                first = state.set_aside[0]
                more = f" (and {len(state.set_aside) - 1} more)" if len(state.set_aside) > 1 else ""
                progress.console.print(
                    f"{len(state.set_aside)} unreadable run file{'s' if more else ''} set "
                    f"aside in {first.parent}{more}: {first.name} runs again"
                )
            if status is None and state.already_done:
                progress.console.print(
                    f"resuming: {state.already_done} of {state.total} runs already done"
                )
            status = state
            progress.update(task, completed=state.done, failed=state.failed)

        try:
            with progress:
                status = run_sweep(
                    plan,
                    out,
                    engine,
                    resume=args.resume,
                    retry_failed=args.retry_failed,
                    on_progress=on_progress,
                )
        except KeyboardInterrupt:
            print_interrupted(out, status)
            raise
    return status


def cmd_report(args: argparse.Namespace) -> int:
    from sim.cli import console
    from sim.sweep.report import write_report

    written = write_report(args.dir, args.out, console=console)
    console.print(f"wrote {len(written)} files to {written[0].parent}")
    return 0


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from sim.cli import console
    from sim.sweep.sensitivity import write_sensitivity

    _, written = write_sensitivity(args.dir, args.out, console=console)
    console.print(f"wrote {len(written)} files to {written[0].parent}")
    return 0
