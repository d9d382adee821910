"""numba's cache of the kernels never makes a command fail (sim/model/_numba_cache.py).

With the package read-only, no writable home and no NUMBA_CACHE_DIR, numba alone
raises at import ("cannot cache function ...: no locator available"). The model then
caches in a private temp directory, or, with none, compiles uncached; the first
compilation in a process prints one line on stderr. The read-only cases run a
read-only copy of ``sim`` in a fresh interpreter; as root, whom file modes do not
stop, that interpreter runs in a user namespace (``unshare --user``), where they do.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from sim.model import _numba_cache

REPO = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- helpers
def unprivileged_prefix() -> list[str] | None:
    """The command prefix that runs a process for which file modes hold ([] unless
    root); None when root cannot give them up here."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return []
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    probe = subprocess.run([unshare, "--user", "true"], capture_output=True, timeout=30)
    return [unshare, "--user"] if probe.returncode == 0 else None


def require_unprivileged() -> list[str]:
    prefix = unprivileged_prefix()
    if prefix is None:
        pytest.skip("running as root without user namespaces: cannot make files read-only")
    return prefix


def make_read_only(path: Path) -> None:
    for item in [path, *path.rglob("*")]:
        if not item.is_symlink():
            item.chmod(item.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def make_writable(path: Path) -> None:
    """Undo :func:`make_read_only` (so the temp directory can be removed)."""
    for item in [path, *path.rglob("*")]:
        if not item.is_symlink():
            item.chmod(item.stat().st_mode | stat.S_IWUSR)


def no_cache_env(home: Path, tmpdir: Path) -> dict[str, str]:
    """The environment of a service account: a home it cannot write, no cache settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "XDG_"))}
    env.pop("PYTHONPATH", None)
    env.update(HOME=str(home), TMPDIR=str(tmpdir))
    return env


# --------------------------------------------------------------------------- choice
@pytest.fixture
def places(tmp_path, monkeypatch):
    """Writable-or-not stand-ins for each place, and a clean environment."""
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    paths = {name: tmp_path / name for name in ("given", "package", "user", "temp")}
    monkeypatch.setattr(_numba_cache, "PACKAGE_CACHE", paths["package"])
    monkeypatch.setattr(_numba_cache, "user_cache_dir", lambda: paths["user"])
    monkeypatch.setattr(_numba_cache, "private_temp_dir", lambda: paths["temp"])
    allowed: set[Path] = set()
    monkeypatch.setattr(_numba_cache, "writable", lambda path: path in allowed)
    return paths, allowed


def test_choice_order(places, monkeypatch):
    paths, allowed = places
    assert _numba_cache.choose() is None  # nothing writable: no cache
    for name in ("temp", "user", "package"):
        allowed.add(paths[name])
        assert _numba_cache.choose() == paths[name]
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(paths["given"]))
    assert _numba_cache.choose() == paths["package"]  # given but not writable: skipped
    allowed.add(paths["given"])
    assert _numba_cache.choose() == paths["given"]


def test_user_cache_dir(monkeypatch, tmp_path):
    if sys.platform in ("win32", "darwin"):
        pytest.skip("XDG layout")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _numba_cache.user_cache_dir() == tmp_path / "xdg" / "guanxi-sim" / "numba"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert _numba_cache.user_cache_dir() == tmp_path / "home" / ".cache" / "guanxi-sim" / "numba"


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX ownership")
def test_private_temp_dir_is_ours_alone(monkeypatch, tmp_path):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    path = _numba_cache.private_temp_dir()
    assert path == tmp_path / f"guanxi-sim-numba-{os.getuid()}"
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0
    path.chmod(0o777)  # others may plant cache files (pickles): refused
    assert _numba_cache.private_temp_dir() is None


def test_this_checkout_caches_beside_the_kernels():
    """A writable checkout keeps numba's default place, which bootstrap.sh fills."""
    if os.environ.get("NUMBA_CACHE_DIR") or not os.access(REPO / "sim" / "model", os.W_OK):
        pytest.skip("not the default set-up")
    assert _numba_cache.location == REPO / "sim" / "model" / "__pycache__"


# --------------------------------------------------------------------------- read-only
# Importing the model decorates every kernel (where numba alone raises); one small
# kernel is then called, so that it compiles (or loads), and the location printed.
USE_A_KERNEL = f"""
import sys, tempfile
if "--no-temp" in sys.argv:  # no usable temp directory either
    def no_temp():
        raise FileNotFoundError("no usable temporary directory")
    tempfile.gettempdir = no_temp
import numpy as np
from sim.model import MarketModel, _numba_cache, kernels
assert "{REPO}" not in sys.path and "{REPO}" not in _numba_cache.__file__
assert kernels.doubled(np.arange(3.0)).size == 6
print(_numba_cache.location)
"""


@pytest.fixture
def read_only_copy(tmp_path):
    """A read-only copy of ``sim`` (no compiled kernels), an unwritable home and an
    empty temp directory."""
    root = tmp_path / "install"
    shutil.copytree(REPO / "sim", root / "sim", ignore=shutil.ignore_patterns("__pycache__"))
    home = tmp_path / "home"
    home.mkdir()
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    make_read_only(root)
    make_read_only(home)
    yield root, home, tmpdir
    make_writable(root)
    make_writable(home)


def use_a_kernel(read_only_copy, *args: str) -> subprocess.CompletedProcess:
    root, home, tmpdir = read_only_copy
    env = no_cache_env(home, tmpdir)
    env["PYTHONPATH"] = str(root)
    command = [*require_unprivileged(), sys.executable, "-c", USE_A_KERNEL, *args]
    return subprocess.run(command, cwd=tmpdir, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_read_only_install_without_home_caches_in_temp(read_only_copy):
    root, home, tmpdir = read_only_copy
    first = use_a_kernel(read_only_copy)
    assert first.returncode == 0, first.stderr[-3000:]
    assert Path(first.stdout.strip()).parent == tmpdir  # $TMPDIR/guanxi-sim-numba-UID
    assert first.stderr.splitlines() == [_numba_cache.NOTICE]  # said once
    again = use_a_kernel(read_only_copy)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout == first.stdout and again.stderr == ""  # loaded, not compiled


@pytest.mark.slow
def test_nothing_writable_compiles_uncached(read_only_copy):
    done = use_a_kernel(read_only_copy, "--no-temp")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "None"
    assert done.stderr.splitlines() == [_numba_cache.NOTICE_UNCACHED]
