"""The `guanxi` command line: run, compare and list scenarios (and more, see COMMANDS).

Every user error (bad file, unknown key, value out of range, ...) is one line on
stderr and exit code 2; no traceback. Anything else that goes wrong is one line too
(the exception's type and message) with exit code 1; ``GUANXI_DEBUG=1`` shows the
traceback. Text from the user (names, paths, overrides) is printed as it is: the
console reads no markup.

Building the parser imports only the standard library and light modules, so that
``guanxi --help`` and usage errors answer at once: the model (Mesa, numba), pandas,
rich, Dask, the validation experiments and the UI are imported by the command
handlers that use them (``tests/test_cli_startup.py`` checks this).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sim.errors import GuanxiError, one_line, os_error_text

if TYPE_CHECKING:
    from rich.console import Console

# Modules that add subcommands: each has register(subparsers) setting func=handler.
# They must stay light to import (handlers import what they need when they run).
COMMANDS: tuple[str, ...] = (
    "sim.sweep.cli",
    "sim.optimise.cli",
    "sim.ui_cli",
    "sim.validation.cli",
    "sim.inference.cli",
)

# The console of every command, created on first use (``sim.cli.console`` or
# get_console()): importing rich costs more than parsing the arguments.
console: Console

#: Upper bounds of the command line's numbers: days as in the schema's model.steps
#: (tests/test_hardening_cli.py checks they agree), replications as a sweep's.
MAX_STEPS = 100_000
MAX_REPS = 100_000
#: Set to 1 to see the traceback of an unexpected error.
DEBUG_VARIABLE = "GUANXI_DEBUG"


def get_console() -> Console:
    """The shared console; wide enough for the tables when output is a file or a pipe.

    Markup and emoji codes are off: strings (scenario and firm names, paths, a
    user's overrides) print as they are, brackets and all; formatting is given as
    styles or :class:`rich.text.Text`, never inline.
    """
    current = globals().get("console")
    if current is None:
        from rich.console import Console

        current = Console(width=None if sys.stdout.isatty() else 160, markup=False, emoji=False)
        globals()["console"] = current
    return current


def __getattr__(name: str):
    if name == "console":
        return get_console()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except GuanxiError as exc:
        return fail(f"error: {one_line(exc, 2000)}", 2)
    except KeyboardInterrupt:
        return fail("interrupted", 130)
    except BrokenPipeError:
        # The reader went away (`guanxi scenarios | head -1`): stop quietly; point
        # stdout at nothing so that flushing it at exit does not fail again.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return fail(f"error: {where}{os_error_text(exc)}", 2)
    except MemoryError as exc:
        detail = f" ({one_line(exc)})" if str(exc) else ""
        return fail(
            f"error: out of memory{detail}; use fewer users (model.n_users), firms, ties, "
            "days, replications or workers",
            2,
        )
    except Exception as exc:  # a bug, or a library's failure: still one line
        if os.environ.get(DEBUG_VARIABLE):
            raise
        return fail(
            f"internal error: {type(exc).__name__}: {one_line(exc)} (set "
            f"{DEBUG_VARIABLE}=1 to see the traceback)",
            1,
        )


def fail(message: str, code: int) -> int:
    """Print ``guanxi: MESSAGE`` on stderr (one line) and return ``code``."""
    # If stderr is closed, the exit code still says it.
    with contextlib.suppress(OSError, ValueError):
        print(f"guanxi: {message}", file=sys.stderr, flush=True)
    return code


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line (and exit code 2), like every other user error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="guanxi",
        description="Social-media marketing strategy simulator: users, firms, social CRM "
        "capability and guanxi, at home and in China.",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    run = sub.add_parser("run", help="run one scenario and report what happened to our business")
    run.add_argument("scenario", help="bundled scenario name or path to a TOML file")
    run.add_argument(
        "--steps", type=steps_int, help="days to simulate, up to 100000 (default: [model] steps)"
    )
    run.add_argument("--seed", type=seed_int, help="random seed (default: [model] seed)")
    add_set_option(run)
    run.add_argument(
        "--out",
        type=out_dir,
        metavar="DIR",
        help="new or empty directory for Parquet series, summary.json, charts; written "
        "whole, once the run is done",
    )
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the previous run in --out DIR (only a directory holding a run)",
    )
    run.add_argument("--plot", action="store_true", help="also write PNG charts to --out")
    run.set_defaults(func=cmd_run)

    scenarios = sub.add_parser("scenarios", help="list the bundled scenarios")
    scenarios.set_defaults(func=cmd_scenarios)

    comp = sub.add_parser(
        "compare", help="compare two variants of a scenario with common random numbers"
    )
    comp.add_argument("scenario", help="bundled scenario name or path to a TOML file")
    comp.add_argument("--a", nargs="*", default=[], metavar="K=V", help="overrides for variant A")
    comp.add_argument("--b", nargs="*", default=[], metavar="K=V", help="overrides for variant B")
    comp.add_argument(
        "--reps", type=reps_int, default=10, help="replications, up to 100000 (default 10)"
    )
    comp.add_argument(
        "--steps", type=steps_int, help="days per run, up to 100000 (default: [model] steps)"
    )
    comp.add_argument("--seed", type=seed_int, help="base seed (default: [model] seed)")
    add_set_option(comp, help_text="overrides applied to both variants")
    comp.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="local worker processes, or LocalCluster workers (default 1: in this process)",
    )
    comp.add_argument(
        "--scheduler",
        metavar="ADDRESS|local",
        help="run on Dask, as sweeps do: 'local' starts a LocalCluster; tcp://HOST:8786 "
        "uses a running scheduler",
    )
    comp.add_argument(
        "--posterior",
        type=out_dir,
        metavar="DIR",
        help="a `guanxi calibrate` output: each replication draws its parameters from this "
        "posterior (seeded), so B - A includes parameter uncertainty",
    )
    comp.set_defaults(func=cmd_compare)

    for module in COMMANDS:
        importlib.import_module(module).register(sub)
    return parser


def add_set_option(parser: argparse.ArgumentParser, help_text: str | None = None) -> None:
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help=help_text
        or "override a parameter by dotted path, e.g. guanxi.enabled=false or "
        "firms.ours.strategies.china.shop=true (repeatable)",
    )


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def bounded_int(text: str, upper: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number 1..{upper}, got {text!r}"
        ) from None
    if not 1 <= value <= upper:
        raise argparse.ArgumentTypeError(f"expected a whole number 1..{upper}, got {value}")
    return value


def steps_int(text: str) -> int:
    return bounded_int(text, MAX_STEPS)


def reps_int(text: str) -> int:
    return bounded_int(text, MAX_REPS)


def out_dir(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "expected a directory, got an empty path (it would be the current directory)"
        )
    return Path(text)


def seed_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a seed 0..2^63-1, got {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"expected a seed 0..2^63-1, got {value}")
    return value


# ---------------------------------------------------------------------- run
def cmd_run(args: argparse.Namespace) -> int:
    from sim.outputs import OutputDir
    from sim.resources import check_memory
    from sim.runner import firm_summary_rows, run_with_progress
    from sim.scenario import load_scenario

    spec = load_scenario(args.scenario, args.overrides)
    if args.plot and args.out is None:
        raise GuanxiError("--plot needs --out DIR to write the charts to")
    if args.overwrite and args.out is None:
        raise GuanxiError("--overwrite: only with --out DIR (it replaces the run in DIR)")
    steps = args.steps or spec.model.steps
    seed = spec.model.seed if args.seed is None else args.seed
    check_memory(spec, steps, "--steps" if args.steps else "model.steps")
    # DIR is checked and its staging directory made before the run, filled after it.
    output = None if args.out is None else OutputDir.prepare(args.out, args.overwrite)
    try:
        model = run_with_progress(spec, steps, seed)
        print_summary(spec, model, firm_summary_rows(model), steps, seed)
    except BaseException:
        if output is not None:
            output.discard()
        raise
    if output is not None:
        written = output.write(model, seed, plot=args.plot)
        get_console().print(f"wrote {len(written)} files to {args.out}")
    return 0


def print_summary(spec, model, rows, steps: int, seed: int) -> None:
    from rich.table import Table

    console = get_console()
    table = Table(
        title=f"{spec.model.name}: {steps} days, {spec.model.n_users:,} users, seed {seed}",
        title_justify="left",
    )
    from sim.runner import summary_columns

    columns = summary_columns(spec.model.currency)
    for _, header, _ in columns:
        table.add_column(header, justify="left" if header in ("firm", "market") else "right")
    for row in rows:
        table.add_row(*(fmt.format(row[key]) for key, _, fmt in columns))
    console.print(table)
    events = model.guanxi.events
    if events:
        formed = sum(e.event == "formed" for e in events)
        severed = [e for e in events if e.event == "severed"]
        console.print(f"guanxi: {formed} ties formed, {len(severed)} severed")


# ---------------------------------------------------------------------- scenarios
def cmd_scenarios(args: argparse.Namespace) -> int:
    from rich.table import Table

    from sim.scenario import bundled_scenarios, load_scenario

    table = Table(title="Bundled scenarios", title_justify="left")
    table.add_column("name")
    table.add_column("description")
    for name in bundled_scenarios():
        spec = load_scenario(name)
        table.add_row(name, spec.model.description)
    get_console().print(table)
    return 0


# ---------------------------------------------------------------------- compare
def cmd_compare(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from rich.progress import Progress
    from rich.table import Table

    from sim.compare import compare, variant
    from sim.resources import check_memory
    from sim.scenario import load_scenario
    from sim.sweep.engines import make_engine, scheduler_address

    base = load_scenario(args.scenario, args.overrides)
    a = variant(base, args.a, "A (--a)")
    b = variant(base, args.b, "B (--b)")
    check_same_design(base, a, b)
    steps = args.steps or base.model.steps
    seed = base.model.seed if args.seed is None else args.seed
    posterior = pairs = None
    if getattr(args, "posterior", None) is not None:
        from sim.inference.posterior import load_posterior, posterior_pairs

        posterior = load_posterior(args.posterior)
        pairs = posterior_pairs(base, posterior, args.a, args.b, seed, args.reps)
    scheduler = args.scheduler
    if scheduler is not None and scheduler != "local":
        scheduler = scheduler_address(scheduler)
    if scheduler in (None, "local"):  # a remote cluster's memory is not this machine's
        for spec in (a, b):
            check_memory(spec, steps, "--steps" if args.steps else "model.steps", args.workers)
    # The engines of sweeps (local worker processes or Dask); one worker runs in-process.
    in_process = args.workers == 1 and scheduler is None
    with (
        nullcontext() if in_process else make_engine(args.workers, scheduler) as engine,
        Progress(transient=True, disable=not sys.stderr.isatty()) as progress,
    ):
        task = progress.add_task("replications", total=2 * args.reps)
        executor = None if engine is None else engine.executor
        result = compare(
            a, b, args.reps, steps, seed, executor, lambda: progress.advance(task), pairs
        )
    uncertainty = "" if posterior is None else ", parameters from the posterior"
    table = Table(
        title=f"{base.model.name}: focal firm '{a.focal_firm}', {args.reps} replications "
        f"x {steps} days, common random numbers{uncertainty}; mean [95% CI]",
        title_justify="left",
    )
    for header in ("outcome", "A", "B", "B - A"):
        table.add_column(header, justify="left" if header == "outcome" else "right")
    from sim.compare import outcome_labels

    for key, label in outcome_labels(base.model.currency).items():
        cells = [format_estimate(result.outcomes[key][v]) for v in ("A", "B", "B - A")]
        table.add_row(label, *cells)
    console = get_console()
    console.print(f"A: {' '.join(args.a) or '(base scenario)'}")
    console.print(f"B: {' '.join(args.b) or '(base scenario)'}")
    if posterior is not None:
        console.print(posterior.describe())
        if posterior.scenario != base.model.name:
            console.print(
                f"note: the posterior was calibrated on scenario '{posterior.scenario}', "
                f"compared here on '{base.model.name}'"
            )
    console.print(table)
    return 0


def check_same_design(base, a, b) -> None:
    """Refuse variants that differ where a paired comparison needs them alike.

    The outcomes are the focal firm's, so both variants need the same one; every
    replication runs --steps days with the seeds of --seed, so model.steps and
    model.seed in --a or --b would be ignored.
    """
    if a.focal_firm != b.focal_firm:
        raise GuanxiError(
            f"--a/--b: the focal firm differs ('{a.focal_firm}' in A, '{b.focal_firm}' in "
            "B); B - A would subtract two firms' results: set model.focal_firm with --set "
            "for both"
        )
    same = {
        "steps": "both variants run the same days; use --steps",
        "seed": "both variants use the same seeds (common random numbers); use --seed",
    }
    for key, why in same.items():
        if len({getattr(spec.model, key) for spec in (base, a, b)}) > 1:
            raise GuanxiError(f"--a/--b: model.{key} cannot be set per variant: {why}")


def format_estimate(estimate) -> str:
    scale = max(abs(estimate.mean), abs(estimate.low), abs(estimate.high))
    fmt = "{:,.0f}" if scale >= 100 else "{:.3f}"
    mean = fmt.format(estimate.mean)
    if estimate.low == estimate.high:
        return mean
    return f"{mean} [{fmt.format(estimate.low)}, {fmt.format(estimate.high)}]"


if __name__ == "__main__":
    raise SystemExit(main())
