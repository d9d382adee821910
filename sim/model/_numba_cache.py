"""Where numba keeps the model's compiled kernels: chosen before numba is imported, never fails.

The kernels (:mod:`sim.model.kernels`, :mod:`~sim.model.attitude`,
:mod:`~sim.model.following`) are compiled with ``cache=True``: a machine's first run
compiles them (10-20 s) and later runs load them. numba writes them beside their
source, in ``sim/model/__pycache__``, or else in the user's cache directory; with
neither writable (a read-only install run by a service account with no home) it
raises at import, ``cannot cache function ...: no locator available``. So
``sim.model`` imports this module before any kernel module, which runs
:func:`configure`; it picks, in order:

1. ``NUMBA_CACHE_DIR`` when set and writable (the user's choice, as numba reads it);
2. ``sim/model/__pycache__`` when writable (numba's own default; bootstrap.sh fills it);
3. the user's cache directory: ``$XDG_CACHE_HOME`` or ``~/.cache`` (macOS
   ``~/Library/Caches``, Windows ``%LOCALAPPDATA%``), then ``guanxi-sim/numba``;
4. a directory of this user's own in the temp directory (created mode 0700, and
   refused when someone else owns it or can write to it: numba's cache files are
   pickles, loaded as code);
5. none: the kernels are not cached and compile in every process.

It sets ``NUMBA_CACHE_DIR`` for 3 and 4 (worker processes inherit it) and, the first
time this process compiles one of the kernels, prints one line on stderr saying so
(only in the main process, not in a sweep's workers).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

APP = "guanxi-sim"
#: numba's in-tree cache of the kernels (they all live in sim/model).
PACKAGE_CACHE = Path(__file__).resolve().parent / "__pycache__"
NOTICE = "guanxi: compiling the model's kernels, once (10-20 s)..."
NOTICE_UNCACHED = (
    "guanxi: compiling the model's kernels (10-20 s; no writable cache directory, so "
    "every run compiles them: set NUMBA_CACHE_DIR to keep them)..."
)

#: Where the kernels are cached (set by :func:`configure`); None: not cached.
location: Path | None = None
_configured = False
_noticed = False


def writable(path: Path) -> bool:
    """Whether ``path`` is (or can be made) a directory this process can write to;
    the test numba applies to its cache directories."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError:
        return False
    return True


def user_cache_dir() -> Path | None:
    """``guanxi-sim/numba`` in the platform's per-user cache directory; None when the
    user has no home."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
        return Path(base, APP, "numba") if base else None
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if xdg and os.path.isabs(xdg) and sys.platform != "darwin":
        return Path(xdg, APP, "numba")
    try:
        home = Path.home()
    except (RuntimeError, KeyError):  # no HOME and no password entry
        return None
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / APP / "numba"
    return home / ".cache" / APP / "numba"


def private_temp_dir() -> Path | None:
    """This user's own cache directory in the temp directory; None when there is no
    usable temp directory, or when the directory exists but is not safely ours."""
    try:
        base = Path(tempfile.gettempdir())
    except OSError:  # no usable temp directory at all
        return None
    uid = os.getuid() if hasattr(os, "getuid") else None
    path = base / f"{APP}-numba-{uid if uid is not None else 'user'}"
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        info = path.lstat()
    except OSError:
        return None
    if uid is not None and (info.st_uid != uid or info.st_mode & 0o022 or path.is_symlink()):
        return None
    return path


def choose() -> Path | None:
    """The cache directory to use (see the module's docstring); None: no cache."""
    given = os.environ.get("NUMBA_CACHE_DIR")
    if given and writable(Path(given)):
        return Path(given)
    if writable(PACKAGE_CACHE):
        return PACKAGE_CACHE
    for candidate in (user_cache_dir(), private_temp_dir()):
        if candidate is not None and writable(candidate):
            return candidate
    return None


def configure() -> Path | None:
    """Point numba at a writable cache directory, or turn caching of the kernels off;
    watch for their first compilation. Runs once per process; returns the location."""
    global location, _configured
    if _configured:
        return location
    location = choose()
    given = os.environ.get("NUMBA_CACHE_DIR")
    if location is not None and location != PACKAGE_CACHE and str(location) != given:
        os.environ["NUMBA_CACHE_DIR"] = str(location)
        if "numba" in sys.modules:  # imported before us: numba read its config already
            sys.modules["numba"].core.config.CACHE_DIR = str(location)
    if location is None:
        _compile_uncached()
    _watch_compilation()
    _configured = True
    return location


def _ours(function: object) -> bool:
    return str(getattr(function, "__module__", None) or "").startswith("sim.")


def _compile_uncached() -> None:
    """Nowhere to write: the kernels' ``cache=True`` is ignored (numba would raise)."""
    from numba.core.dispatcher import Dispatcher

    enable_caching = Dispatcher.enable_caching

    def enable_caching_unless_ours(self) -> None:
        if not _ours(self.py_func):
            enable_caching(self)

    Dispatcher.enable_caching = enable_caching_unless_ours


def _watch_compilation() -> None:
    """Print the notice when numba first compiles (not loads) one of the kernels."""
    import multiprocessing

    if multiprocessing.parent_process() is not None:  # a worker: the main process says so
        return
    from numba.core import event

    class FirstCompile(event.Listener):
        def on_start(self, ev: event.Event) -> None:
            global _noticed
            dispatcher = (ev.data or {}).get("dispatcher")
            if not _noticed and _ours(getattr(dispatcher, "py_func", None)):
                _noticed = True
                print(NOTICE if location is not None else NOTICE_UNCACHED, file=sys.stderr)
                sys.stderr.flush()

        def on_end(self, ev: event.Event) -> None:
            pass

    event.register("numba:compile", FirstCompile())


configure()
