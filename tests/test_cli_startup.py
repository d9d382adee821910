"""`guanxi --help`, usage errors and `guanxi scenarios` do not import the heavy modules.

The command line builds its parser from light modules only; the model (Mesa, numba),
pandas, Dask, the validation experiments, the sweep engines and the UI are imported
by the command handlers that use them. Each case runs ``python -m sim`` in a fresh
interpreter with ``-X importtime`` and reads which modules it imported, so re-adding
an eager import anywhere on the way to the parser fails here. The start-up time
itself is measured by ``benchmarks/bench_cli_startup.py``, not tested.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Never imported before a command handler runs that needs them.
HEAVY = (
    "mesa",
    "numba",
    "sim.model",
    "sim.kernels",
    "sim.runner",
    "sim.compare",
    "sim.plots",
    "pandas",
    "pyarrow",
    "scipy",
    "networkx",
    "matplotlib",
    "statsmodels",
    "SALib",
    "pyabc",
    "dask",
    "distributed",
    "solara",
    "viz",
)
# Not needed to print help or a usage error either.
NOT_FOR_HELP = ("numpy", "pydantic", "rich", "sim.scenario")
# `guanxi validate` and the sweep commands are registered from their packages' cli
# modules, so the packages themselves are imported: as light namespaces, nothing else.
ALLOWED_IN_PACKAGES = {"sim.validation", "sim.validation.cli", "sim.sweep", "sim.sweep.cli"}


def run_sim(*args: str) -> tuple[set[str], int, str, str]:
    """Run ``python -m sim ARGS``: modules imported (from ``-X importtime``), exit code,
    stdout and stderr without the import lines."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sim", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = done.stderr.splitlines()
    timings = [line for line in lines if line.startswith("import time:")]
    stderr = "\n".join(line for line in lines if not line.startswith("import time:"))
    modules = {line.rsplit("|", 1)[1].strip() for line in timings[1:]}  # [0]: the header
    assert "sim.cli" in modules, done.stderr[-2000:]
    return modules, done.returncode, done.stdout, stderr


def offending(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(
        module
        for module in modules
        if any(module == name or module.startswith(name + ".") for name in names)
    )


def unexpected_package_modules(modules: set[str]) -> list[str]:
    return sorted(
        module
        for module in modules
        if module.startswith(("sim.validation", "sim.sweep")) and module not in ALLOWED_IN_PACKAGES
    )


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("--help",), 0),
        ((), 2),  # no command: the help, exit 2
        (("run", "--help"), 0),
        (("compare", "--help"), 0),
        (("validate", "--help"), 0),
        (("sweep", "--help"), 0),
        (("ui", "--help"), 0),
        (("run",), 2),  # usage error: one line, exit 2
        (("validate", "--only", "V9"), 2),
        (("frobnicate",), 2),
    ],
)
def test_help_and_usage_errors_import_nothing_heavy(args, code):
    modules, returncode, stdout, stderr = run_sim(*args)
    assert returncode == code, stderr
    if not args or args[-1] == "--help":
        assert stdout.startswith("usage: guanxi") and stderr == ""
    else:  # a usage error: one line on stderr
        assert stdout == "" and stderr.startswith("guanxi") and len(stderr.splitlines()) == 1
    assert offending(modules, HEAVY + NOT_FOR_HELP) == []
    assert unexpected_package_modules(modules) == []


def test_scenarios_lists_without_the_model():
    modules, returncode, stdout, stderr = run_sim("scenarios")
    assert returncode == 0, stderr
    assert "Bundled scenarios" in stdout and "baseline" in stdout
    assert offending(modules, HEAVY) == []
    assert unexpected_package_modules(modules) == []


def test_lazy_exports_still_resolve():
    import sim.cli
    import sim.sweep
    import sim.validation
    from sim.sweep import spec
    from sim.validation import common

    assert sim.sweep.SweepPlan is spec.SweepPlan
    assert sim.sweep.SweepError is spec.SweepError
    assert sim.sweep.load_sweep is spec.load_sweep
    assert sim.validation.Settings is common.Settings
    assert sim.validation.TargetResult is common.TargetResult
    assert sim.cli.console is sim.cli.get_console()
    with pytest.raises(AttributeError):
        sim.sweep.no_such_name  # noqa: B018
    with pytest.raises(AttributeError):
        sim.validation.no_such_name  # noqa: B018
    with pytest.raises(AttributeError):
        sim.cli.no_such_name  # noqa: B018
