"""Writing a run's outputs (see :mod:`sim.runner` for what they are).

`guanxi run --out DIR` writes the set as one transaction (:class:`OutputDir`): into a
new directory beside DIR, renamed to DIR once every file is written, so DIR holds
one whole run or is left as it was. Each file is written to a temporary name and
renamed; a file that cannot be written raises :class:`OutputError` naming it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
from pathlib import Path

import pandas as pd

from sim.errors import GuanxiError, os_error_text
from sim.model import MarketModel
from sim.runner import (
    edges_frame,
    events_frame,
    firm_market_frame,
    firms_frame,
    focal_summary,
    model_frame,
    package_version,
)


# ---------------------------------------------------------------------- writing
class OutputError(GuanxiError):
    """A file of a run could not be written (disk full, no permission, ...).

    ``path`` is the file, ``reason`` the system's word for what went wrong.
    """

    def __init__(self, path: Path, exc: OSError) -> None:
        self.path, self.reason = path, os_error_text(exc)
        super().__init__(f"cannot write {path}: {self.reason}")


def write_outputs(model: MarketModel, out_dir: Path, seed: int, plot: bool = False) -> list[Path]:
    """Write the Parquet series, summary.json and (optionally) PNG charts to ``out_dir``.

    A file that cannot be written raises :class:`OutputError` naming it.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    tables = {
        "model.parquet": model_frame(model),
        "firms.parquet": firms_frame(model),
        "firm_market.parquet": firm_market_frame(model),
        "guanxi_edges.parquet": edges_frame(model),
        "guanxi_events.parquet": events_frame(model),
    }
    for name, frame in tables.items():
        written.append(_atomic_parquet(frame, out_dir / name))
    summary = {
        "package": "guanxi-sim",
        "version": package_version(),
        "seed": seed,
        "steps": model.steps,
        "focal": focal_summary(model),
        "scenario": model.spec.model_dump(mode="json"),
    }
    path = out_dir / "summary.json"
    _atomic_write_text(path, json.dumps(summary, indent=2, sort_keys=True) + "\n")
    written.append(path)
    if plot:
        import matplotlib

        from sim.plots import plot_run

        # Firm and market names are the user's: a '$' in one is text, not mathtext.
        try:
            with matplotlib.rc_context({"text.parse_math": False}):
                written.extend(plot_run(tables, model.spec, out_dir))
        except OSError as exc:
            raise OutputError(out_dir / "*.png", exc) from None
    return written


def _atomic_parquet(frame: pd.DataFrame, path: Path) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(path, exc) from None
    return path


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(path, exc) from None


# ---------------------------------------------------------------------- run directories
#: What `guanxi run --out` writes; a directory of these (and its summary.json) is a run.
RUN_FILES = (
    "model.parquet",
    "firms.parquet",
    "firm_market.parquet",
    "guanxi_edges.parquet",
    "guanxi_events.parquet",
    "summary.json",
)


def run_in(folder: Path) -> int | None:
    """The seed of the guanxi run whose outputs ``folder`` holds, else None."""
    try:
        summary = json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(summary, dict) or summary.get("package") != "guanxi-sim":
        return None
    seed = summary.get("seed")
    return seed if isinstance(seed, int) else -1


def _is_run_file(name: str) -> bool:
    return name in RUN_FILES or name.endswith(".png") or name.endswith(".tmp")


class OutputDir:
    """`guanxi run --out DIR` as a transaction: write a new directory, rename it to DIR.

    :meth:`prepare` checks DIR before the model runs: a new or empty directory, or,
    with ``overwrite``, one that holds a previous run and nothing else; anything else
    is refused. It creates the staging directory ``.DIR.<random>.tmp`` beside DIR (so
    an unwritable place fails at once). :meth:`write` writes the run there and renames
    it to DIR (a previous run is swapped out in one step where the system can, Linux's
    ``renameat2``, else moved aside to ``.DIR.<random>.old`` first: a kill between
    those two renames leaves both runs whole, beside DIR). DIR never holds files of
    two runs; a failed write removes the staging directory and leaves DIR as it was.
    """

    def __init__(
        self, out: Path, target: Path, overwrite: bool, staging: Path, made: list[Path]
    ) -> None:
        self.out, self.target, self.overwrite, self.staging = out, target, overwrite, staging
        self.shown = f"--out {out}"
        self.made = made  # parent directories created for DIR, deepest first

    @classmethod
    def prepare(cls, out: Path, overwrite: bool = False) -> OutputDir:
        shown = f"--out {out}"
        target = Path(out).expanduser().resolve()
        if str(out).strip() == "" or not target.name:
            raise GuanxiError(f"{shown}: name a directory to create, e.g. --out runs/baseline")
        if target.exists() and not target.is_dir():
            raise GuanxiError(f"{shown}: exists and is not a directory")
        if target == Path.cwd() or target in Path.cwd().parents:
            raise GuanxiError(
                f"{shown}: is the current directory (or holds it); name a directory to "
                "create, e.g. --out runs/baseline"
            )
        cls._check_target(target, shown, overwrite)
        made = [folder for folder in (target.parent, *target.parent.parents) if not folder.exists()]
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = _new_sibling(target, "tmp", shown)
        except (OSError, GuanxiError) as exc:
            _remove_empty(made)
            if isinstance(exc, GuanxiError):
                raise
            raise GuanxiError(
                f"{shown}: cannot create {target.parent}: {os_error_text(exc)}"
            ) from None
        return cls(Path(out), target, overwrite, staging, made)

    @staticmethod
    def _check_target(target: Path, shown: str, overwrite: bool) -> None:
        """Refuse a directory that holds other files, or a previous run without overwrite."""
        try:
            names = sorted(p.name for p in target.iterdir()) if target.is_dir() else []
        except OSError as exc:
            raise GuanxiError(f"{shown}: cannot read the directory: {os_error_text(exc)}") from None
        if not names:
            return
        seed = run_in(target)
        others = [name for name in names if not _is_run_file(name)]
        if seed is None or others:
            listed = ", ".join(others or names)
            listed = listed if len(listed) <= 80 else listed[:77] + "..."
            raise GuanxiError(
                f"{shown}: not empty and not a guanxi run ({listed}); choose a new or empty "
                "directory"
            )
        if not overwrite:
            raise GuanxiError(
                f"{shown}: holds a previous run (seed {seed}); add --overwrite to replace "
                "it, or choose another directory"
            )

    def write(self, model: MarketModel, seed: int, plot: bool = False) -> list[Path]:
        """Write the run to the staging directory and rename it to DIR; paths in DIR."""
        try:
            written = write_outputs(model, self.staging, seed, plot=plot)
        except OutputError as exc:
            self.discard()
            raise GuanxiError(
                f"{self.shown}: cannot write {exc.path.name}: {exc.reason}; nothing was "
                f"written to {self.out} (free some space or choose another --out, and run "
                "again: the same seed gives the same results)"
            ) from None
        except BaseException:
            self.discard()
            raise
        self._commit()
        return [self.target / path.name for path in written]

    def _commit(self) -> None:
        try:
            self._check_target(self.target, self.shown, self.overwrite)
        except GuanxiError as exc:  # DIR changed during the run: keep what was computed
            raise GuanxiError(f"{exc}; this run's files are in {self.staging}") from None
        old = None
        try:
            if self.target.is_dir() and any(self.target.iterdir()):
                if _exchange(self.staging, self.target):
                    shutil.rmtree(self.staging, ignore_errors=True)  # now the previous run
                    return
                old = _new_sibling(self.target, "old", self.shown, create=False)
                os.rename(self.target, old)
            os.rename(self.staging, self.target)  # DIR missing or empty: replaced at once
        except OSError as exc:
            if old is not None and not self.target.exists():
                os.rename(old, self.target)
            raise GuanxiError(
                f"{self.shown}: cannot move the run into place: {os_error_text(exc)}; this "
                f"run's files are in {self.staging}"
            ) from None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        """Remove the staging directory, and the parents made for DIR, after a failure."""
        shutil.rmtree(self.staging, ignore_errors=True)
        _remove_empty(self.made)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two directories in one step (Linux ``renameat2(RENAME_EXCHANGE)``).

    False where the system or the file system cannot; other failures raise OSError.
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    import errno

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    at_cwd, exchange = -100, 2  # AT_FDCWD, RENAME_EXCHANGE
    if renameat2(at_cwd, os.fsencode(first), at_cwd, os.fsencode(second), exchange) == 0:
        return True
    number = ctypes.get_errno()
    if number in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(number, os.strerror(number), str(second))


def _remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (deepest first) while they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _new_sibling(target: Path, kind: str, shown: str, create: bool = True) -> Path:
    """A new hidden path beside ``target``: ``.NAME.<random>.KIND`` (created if asked)."""
    for _ in range(100):
        path = target.with_name(f".{target.name}.{secrets.token_hex(4)}.{kind}")
        if not create:
            if not os.path.lexists(path):
                return path
            continue
        try:
            path.mkdir()  # mode 0o777 & ~umask, like any new directory
            return path
        except FileExistsError:
            continue
        except OSError as exc:
            raise GuanxiError(
                f"{shown}: cannot write in {target.parent}: {os_error_text(exc)}"
            ) from None
    raise GuanxiError(f"{shown}: cannot find a free temporary name in {target.parent}")
