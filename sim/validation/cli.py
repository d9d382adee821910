"""``guanxi validate``: run the validation targets and report PASS or FAIL.

Targets are V1-V8 (the studies) and, when :mod:`sim.validation.outputs` exists,
O1-O16 (published figures), grouped by kind of evidence. Exit code 0 only if every
target run passes (and, with ``--robustness K``, every target holds in at least
0.9 K settings at both user counts), 1 otherwise, 2 on a user error.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sim.errors import GuanxiError

DEFAULT_SEED = 20250116


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``validate`` subcommand."""
    from sim.cli import positive_int, seed_int

    parser = subparsers.add_parser(
        "validate",
        help="check the model against the studies (targets V1-V8) and published figures; "
        "exit 0 only if all pass",
        description="Run one experiment per validation target (V1-V8, and O1-O16 when the "
        "output validation is installed; see docs/model.md) on the same model as `guanxi "
        "run`, and print per target its kind of evidence (input check, verification, "
        "mechanism, output validation), the finding, its source, the expected direction or "
        "figure, the measured statistic with its 95% CI or p-value, and PASS or FAIL. Exit "
        "code 0 only if every target passes (with --robustness: and holds in at least 0.9 K "
        "of the K settings at both user counts).",
    )
    parser.add_argument(
        "--reps",
        type=positive_int,
        help="replications per experiment (default: each experiment's own, see docs)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="reduced sizes (about a minute; for tests)"
    )
    parser.add_argument(
        "--out", type=Path, help="directory for validation.md, results.json and PNG charts"
    )
    parser.add_argument(
        "--robustness",
        type=positive_int,
        metavar="K",
        help="also re-run the targets in K settings with key parameters x U(0.8, 1.2), "
        "each at two user counts (see --robustness-users); a target holds with >= 0.9 K "
        "passing at both",
    )
    parser.add_argument(
        "--robustness-users",
        type=user_factor,
        default=2.0,
        metavar="F",
        help="second user count of --robustness, as a multiple of each experiment's "
        "n_users (default 2; the first is x1)",
    )
    parser.add_argument(
        "--seed", type=seed_int, default=DEFAULT_SEED, help=f"base seed (default {DEFAULT_SEED})"
    )
    parser.add_argument(
        "--only",
        type=target_list,
        metavar="V1,V7",
        help="run only these targets (comma-separated)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a parameter in every experiment that has it, e.g. "
        "guanxi.crm_acceleration=0 (shows a target failing when its mechanism is off)",
    )
    parser.add_argument(
        "--workers", type=positive_int, default=1, help="worker processes (default 1)"
    )
    parser.set_defaults(func=cmd_validate)


def user_factor(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not value > 0 or value == float("inf") or value == 1.0:
        raise argparse.ArgumentTypeError(f"expected a number > 0 other than 1, got {text!r}")
    return value


def target_list(text: str) -> tuple[str, ...]:
    from sim.validation import TARGETS

    names = tuple(part.strip().upper() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in TARGETS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"expected targets among {', '.join(TARGETS)}, got {text!r}"
        )
    return names


def cmd_validate(args: argparse.Namespace) -> int:
    from concurrent.futures import ProcessPoolExecutor

    from rich.console import Console

    from sim.errors import ensure_writable_dir
    from sim.validation import TARGETS, validate
    from sim.validation.common import Settings, parse_overrides
    from sim.validation.report import print_robustness, print_table, verdict, write_report

    console = Console(width=None if sys.stdout.isatty() else 160)
    if args.out is not None:
        ensure_writable_dir(args.out, f"--out {args.out}")
    overrides = parse_overrides(args.overrides)
    targets = args.only or TARGETS
    executor = ProcessPoolExecutor(args.workers) if args.workers > 1 else None
    settings = Settings(
        quick=args.quick, reps=args.reps, seed=args.seed, overrides=overrides, executor=executor
    )
    started = time.perf_counter()

    def progress(results) -> None:
        for result in results:
            print(
                f"{result.target}: {verdict(result.passed)} ({time.perf_counter() - started:.0f} s)",
                file=sys.stderr,
            )

    try:
        results = validate(settings, targets, on_group=progress)
        elapsed = time.perf_counter() - started
        mode = "quick" if args.quick else "full"
        print_table(
            results,
            console,
            f"Validation against the studies ({mode}, seed {args.seed}, {elapsed:.0f} s)",
        )
        robustness = None
        if args.robustness:
            from sim.validation.robustness import run_robustness

            def setting_done(i: int, _results) -> None:
                print(f"robustness setting {i + 1}/{args.robustness} done", file=sys.stderr)

            robustness = run_robustness(
                settings,
                args.robustness,
                targets,
                setting_done,
                user_factors=(1.0, args.robustness_users),
            )
            print_robustness(robustness, console, args.robustness, robustness["parameters"])
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    passed = sum(result.passed for result in results)
    console.print(f"{passed}/{len(results)} targets pass")
    robust = robustness is None or robustness["all_passed"]
    if robustness is not None:
        held = sum(robustness["verdict"].values())
        console.print(
            f"robustness: {held}/{len(robustness['verdict'])} targets hold in >= "
            f"{robustness['threshold']}/{args.robustness} settings at both user counts"
        )
    if args.out is not None:
        written = write_report(results, args.out, settings, elapsed, robustness)
        console.print(f"wrote {len(written)} files to {args.out}", markup=False, emoji=False)
    if not results:
        raise GuanxiError("no targets were run")
    return 0 if passed == len(results) and robust else 1
