"""The ``guanxi optimise`` and ``guanxi discover`` commands."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from sim.errors import GuanxiError


def register(subparsers: argparse._SubParsersAction) -> None:
    from sim.cli import positive_int, seed_int

    opt = subparsers.add_parser(
        "optimise",
        help="find robust strategies: multi-objective search (NSGA-II) under market uncertainty",
        description="Search the levers of an optimisation file for the strategies that do "
        "best on its goals across sampled market states; re-evaluate the best with fresh "
        "seeds and report them with 95% confidence intervals.",
    )
    opt.add_argument("file", help="bundled optimisation name or path to an optimisation TOML file")
    opt.add_argument(
        "--out", type=Path, metavar="DIR", help="results directory (default: runs/<file name>)"
    )
    opt.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="local worker processes, or LocalCluster workers (default: cores available)",
    )
    opt.add_argument(
        "--scheduler",
        metavar="ADDRESS|local",
        help="run on Dask: 'local' starts a LocalCluster; tcp://HOST:8786 uses a running one",
    )
    opt.add_argument(
        "--resume", action="store_true", help="continue the optimisation in DIR after a stop"
    )
    opt.add_argument("--seed", type=seed_int, help="seed (default: the file's optimisation.seed)")
    opt.add_argument(
        "--posterior",
        type=Path,
        metavar="DIR",
        help="a `guanxi calibrate --out` DIR: each market state's parameters are drawn from "
        "its posterior (seeded), as well as any [[uncertainties]]",
    )
    opt.set_defaults(func=cmd_optimise)

    disc = subparsers.add_parser(
        "discover",
        help="scenario discovery (PRIM, CART): which parameter ranges make an outcome fail",
        description="Find the box of uncertain parameters in which an outcome falls below "
        "(or rises above) a threshold, from a sweep's results directory or an "
        "optimisation's re-evaluation runs.",
    )
    disc.add_argument("dir", type=Path, help="a sweep's or an optimisation's results directory")
    disc.add_argument(
        "--outcome", required=True, help="outcome column, e.g. profit or china.attitude"
    )
    side = disc.add_mutually_exclusive_group(required=True)
    side.add_argument("--below", type=float, metavar="X", help="cases of interest: outcome < X")
    side.add_argument("--above", type=float, metavar="X", help="cases of interest: outcome > X")
    disc.add_argument(
        "--strategy", metavar="S", help="optimisation only: one strategy's runs (e.g. S2)"
    )
    disc.add_argument(
        "--min-density",
        type=float,
        default=0.8,
        metavar="D",
        help="choose the box of greatest coverage whose density is at least D (default 0.8)",
    )
    disc.add_argument("--out", type=Path, metavar="OUT", help="default: DIR/discover-<outcome>")
    disc.set_defaults(func=cmd_discover)


def _interrupt(signum, frame):  # noqa: ARG001
    raise KeyboardInterrupt


def cmd_optimise(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from sim.cli import get_console
    from sim.optimise.report import reevaluate, robust_table, write_report
    from sim.optimise.search import pareto_candidates, prepare_directory, run_search, search_table
    from sim.optimise.spec import load_optimisation, resolve_optimisation_path
    from sim.sweep.engines import make_engine, scheduler_address
    from sim.sweep.workers import start_worker_server

    if args.scheduler not in (None, "local"):
        scheduler_address(args.scheduler)
    if args.scheduler not in (None, "local") and args.workers:
        raise GuanxiError("--workers: not used with --scheduler ADDRESS (the cluster has its own)")
    plan = load_optimisation(args.file, seed=args.seed, posterior=args.posterior)
    out = args.out or Path("runs") / resolve_optimisation_path(args.file).stem
    console = get_console()
    per = plan.scenarios * plan.replications
    if plan.posterior is not None:
        console.print(plan.posterior.describe())
    console.print(
        f"optimise {plan.name}: {plan.generations} generations x {plan.population} candidates, "
        f"each {plan.scenarios} market states x {plan.replications} replications "
        f"({plan.n_trials * per:,} runs of {plan.steps} days at most); then the Pareto set "
        f"in {plan.final_scenarios} fresh states x {plan.final_replications} replications"
    )
    if args.scheduler in (None, "local"):  # a remote cluster's memory is not this machine's
        from sim.resources import available_cores, check_memory

        check_memory(plan.base, plan.steps, "optimisation.steps", args.workers or available_cores())
    prepare_directory(plan, out, args.resume)
    if args.scheduler is None:
        start_worker_server()
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with (
            make_engine(args.workers, args.scheduler) as engine,
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total} runs"),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            ) as bar,
        ):
            console.print(f"engine: {engine.description}")
            task = bar.add_task("search", total=plan.n_trials * per)

            def show(p) -> None:
                bar.update(task, completed=p.done, description=f"generation {p.generation + 1}")

            status = run_search(plan, out, engine, show)
            table = search_table(plan, out)
            candidates = pareto_candidates(plan, table)
            if not candidates:
                raise GuanxiError(
                    f"{plan.source}: no candidate met the constraints and ran without error; "
                    "widen the decisions' ranges or the limits"
                )
            final = bar.add_task("re-evaluation", total=1)

            def show_final(p) -> None:
                bar.update(final, completed=p.done, total=p.total)

            records = reevaluate(plan, out, engine, candidates, table, show_final)
    except KeyboardInterrupt:
        console.print(
            f"optimisation stopped; finished runs are saved in {out}: continue with "
            f"`guanxi optimise {args.file} --out {out} --resume`"
            + (f" --seed {args.seed}" if args.seed is not None else "")
            + (f" --posterior {args.posterior}" if args.posterior is not None else "")
        )
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    robust = robust_table(plan, candidates, table, records)
    written = write_report(plan, out, table, robust, records)
    console.print(
        f"searched {len(table)} candidates ({status.ran} runs now); re-evaluated "
        f"{len(candidates)} strategies; wrote {len(written)} files to {out}"
    )
    console.print(
        (out / "pareto.md").read_text().split("## Strategies", 1)[1].split("Standing:")[0]
    )
    return 0


def cmd_discover(args: argparse.Namespace) -> int:
    from sim.cli import get_console
    from sim.optimise.discover import discover

    if not 0 < args.min_density <= 1:
        raise GuanxiError(f"--min-density: {args.min_density:g} out of range; allowed: 0 < D <= 1")
    threshold = args.below if args.below is not None else args.above
    below = args.below is not None
    result = discover(
        args.dir, args.outcome, threshold, below, args.strategy, args.min_density, args.out
    )
    console = get_console()
    console.print(result.summary)
    console.print(f"wrote {len(result.written)} files to {result.out}")
    return 0
