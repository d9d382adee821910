"""Errors a user can cause and fix: the CLI prints their one-line message and exits 2."""

from __future__ import annotations

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
