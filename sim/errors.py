"""Errors a user can cause and fix: the CLI prints their one-line message and exits 2."""

from __future__ import annotations

import os
import re
from pathlib import Path


class GuanxiError(ValueError):
    """Bad input (file, key, value, address): message is one line naming what and what is allowed."""


def ensure_writable_dir(folder: Path, where: str, error: type[GuanxiError] = GuanxiError) -> None:
    """Create ``folder`` if needed and check that a file can be written in it.

    Raises ``error`` with "{where}: ..." when it is a file or cannot be written.
    """
    if folder.exists() and not folder.is_dir():
        raise error(f"{where}: exists and is not a directory")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise error(f"{where}: not writable ({exc.strerror or exc})") from None


def one_line(text: object, limit: int = 400) -> str:
    """``text`` on one line (line breaks and the spaces around them folded), cut to ``limit``."""
    flat = re.sub(r"\s*[\r\n\v\f]+\s*", " ", str(text)).strip()
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def os_error_text(exc: OSError) -> str:
    """What went wrong, e.g. "No space left on device [errno 28]", without a library's wording.

    pyarrow's errors ("Error writing bytes to file. Detail: [errno 28] ...") carry the
    errno in the text only; this finds it there too.
    """
    number = exc.errno
    if number is None:
        found = re.search(r"\[errno (\d+)\]", str(exc))
        number = int(found.group(1)) if found else None
    if number is not None:
        return f"{os.strerror(number)} [errno {number}]"
    return one_line(exc.strerror or exc) or type(exc).__name__
