"""Durable writes of a results directory's files: each is complete or absent.

:func:`atomic_write` writes a file to a hidden temporary name, flushes it to disk
(fsync), renames it and flushes the folder, whatever then happens to the process or
the machine; a write that fails removes its temporary file and raises
:class:`StoreWriteError` naming the file and why (:func:`describe_os_error`: a full
disk, a quota).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sim.sweep.spec import SweepError


class StoreWriteError(SweepError):
    """A file of the results directory could not be written (disk full, I/O error)."""


def one_line(exc: BaseException) -> str:
    """An exception's message on one line, at most 300 characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


def describe_os_error(exc: OSError) -> str:
    """Why a write failed, in words (pyarrow's errors carry ``[errno N]`` in their text)."""
    code = exc.errno
    if code is None:
        found = re.search(r"\[errno (\d+)\]", str(exc), re.IGNORECASE)
        code = int(found.group(1)) if found else None
    if code == errno.ENOSPC:
        return "no space left on the device (disk full)"
    if code == errno.EDQUOT:
        return "disk quota exceeded"
    if code is not None:
        return os.strerror(code)
    return one_line(exc)


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a new or renamed file) to disk, where the system can."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory
    finally:
        os.close(fd)


def parquet_bytes(table: pa.Table) -> pa.Buffer:
    """A table as the bytes of a Parquet file (written in memory: a run file is small)."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue()


def atomic_write(path: Path, data: bytes | pa.Buffer, hint: str = "") -> None:
    """Write ``path`` through a hidden temporary file, fsync it, rename it, fsync the folder.

    The bytes are written with ``os.write``, whose errors are raised (pyarrow's file
    writer drops an error that comes when it closes a small file: a full disk would
    leave a truncated file). On failure the temporary file is removed and
    :class:`StoreWriteError` says which file and why (``hint`` is added).
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        message = f"{path}: cannot write it: {describe_os_error(exc)}"
        raise StoreWriteError(f"{message}; {hint}" if hint else message) from None
    fsync_dir(path.parent)
