"""The wheel carries everything a command needs and runs from a read-only install.

Builds a wheel from a copy of this source tree (``pip wheel``, with the build
requirements from pyproject.toml), installs it with ``--no-deps`` in a new venv
(no system site-packages) and runs ``guanxi`` there from a temp directory: the
bundled scenarios and sweep files come from the wheel, ``sim`` is imported from the
venv only. The dependencies, not under test, come from this interpreter's
site-packages through a ``.pth`` file added after the install (installing them from
PyPI would take minutes). Then the venv is made read-only and ``HOME`` unwritable,
with no ``NUMBA_CACHE_DIR``: the commands still work (as root, in a user namespace,
where file modes hold; see tests/test_numba_cache.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from sim.model import _numba_cache
from tests.test_numba_cache import make_read_only, make_writable, no_cache_env, unprivileged_prefix

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
BUILD_JUNK = (
    ".git",
    ".venv",
    "build",
    "dist",
    "runs",
    "out",
    "test-artifacts",
    "__pycache__",
    "*.egg-info",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
)


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=900, **kwargs)


def build_wheel(tmp: Path) -> Path:
    source = tmp / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*BUILD_JUNK))
    shutil.rmtree(source / "sim" / "scenarios", ignore_errors=True)  # only a build makes it
    built = run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(source),
            "--no-deps",
            "-q",
            "-w",
            str(tmp / "wheel"),
        ]
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (tmp / "wheel").glob("guanxi_sim-*.whl")
    return wheel


def install(wheel: Path, venv: Path) -> Path:
    """Install ``wheel`` alone in a new venv; return the venv's python."""
    made = run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    assert made.returncode == 0, made.stderr
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    installed = run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            str(wheel),
        ]
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    ours = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    Path(purelib.stdout.strip(), "_test_dependencies.pth").write_text("\n".join(sorted(ours)))
    return python


def test_wheel_installs_and_runs_read_only(tmp_path):
    wheel = build_wheel(tmp_path)
    bundled = sorted(
        p.relative_to(REPO / "scenarios")
        for p in (REPO / "scenarios").rglob("*")
        if p.suffix in (".toml", ".csv")  # the calibration example's export too
    )
    with zipfile.ZipFile(wheel) as archive:
        for relative in bundled:
            packed = archive.read(f"sim/scenarios/{relative.as_posix()}")
            assert packed == (REPO / "scenarios" / relative).read_bytes(), relative

    venv = tmp_path / "venv"
    python = install(wheel, venv)
    guanxi = str(python.with_name("guanxi.exe" if os.name == "nt" else "guanxi"))
    work = tmp_path / "work"  # the commands' cwd: no source tree there
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}

    where = run(
        [str(python), "-c", "import json, sim, sys; print(json.dumps([sim.__file__, sys.path]))"],
        cwd=work,
        env=env,
    )
    assert where.returncode == 0, where.stderr
    sim_file, sys_path = json.loads(where.stdout)
    assert Path(sim_file).is_relative_to(venv)  # the project comes from the wheel alone
    assert REPO not in {Path(entry).resolve() for entry in sys_path if entry}

    listed = run([guanxi, "scenarios"], cwd=work, env=env)
    assert listed.returncode == 0, listed.stderr
    for relative in bundled:
        if relative.parent == Path():
            assert relative.stem in listed.stdout
    sweeps = run(
        [
            str(python),
            "-c",
            "from sim.sweep.spec import bundled_sweeps, load_sweep\n"
            "for name in bundled_sweeps(): load_sweep(name)\nprint(*bundled_sweeps())",
        ],
        cwd=work,
        env=env,
    )
    assert sweeps.returncode == 0, sweeps.stderr[-3000:]
    assert sweeps.stdout.split() == [p.stem for p in bundled if p.parent == Path("sweeps")]
    optimisations = run(
        [
            str(python),
            "-c",
            "from sim.optimise.spec import bundled_optimisations, load_optimisation\n"
            "for name in bundled_optimisations(): load_optimisation(name)\n"
            "print(*bundled_optimisations())",
        ],
        cwd=work,
        env=env,
    )
    assert optimisations.returncode == 0, optimisations.stderr[-3000:]
    expected = [p.stem for p in bundled if p.parent == Path("optimisations")]
    assert optimisations.stdout.split() == expected

    command = [guanxi, "run", "baseline", "--set", "model.n_users=500", "--steps", "3"]
    done = run([*command, "--out", str(tmp_path / "out")], cwd=work, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())

    # A read-only install, run by an account with no writable home, no numba settings.
    prefix = unprivileged_prefix()
    if prefix is None:
        pytest.skip("running as root without user namespaces: cannot make files read-only")
    home, tmpdir = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmpdir.mkdir()
    make_read_only(venv)
    make_read_only(home)
    try:
        service = no_cache_env(home, tmpdir)
        service.pop("PYTHONHOME", None)
        helped = run([*prefix, guanxi, "--help"], cwd=work, env=service)
        assert helped.returncode == 0 and helped.stdout.startswith("usage: guanxi"), helped.stderr
        listed_again = run([*prefix, guanxi, "scenarios"], cwd=work, env=service)
        assert listed_again.stdout == listed.stdout, listed_again.stderr
        for attempt in ("first", "again"):
            out = tmp_path / f"out-read-only-{attempt}"
            done = run([*prefix, *command, "--out", str(out)], cwd=work, env=service)
            assert done.returncode == 0, done.stderr[-3000:]
            assert json.loads((out / "summary.json").read_text()) == summary
            # Compiled once, into the private temp cache; the next run loads them.
            notices = done.stderr.count(_numba_cache.NOTICE)
            assert notices == (1 if attempt == "first" else 0), done.stderr[-3000:]
    finally:
        make_writable(venv)
        make_writable(home)
