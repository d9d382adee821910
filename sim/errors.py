"""Errors a user can cause and fix: the CLI prints their one-line message and exits 2."""


class GuanxiError(ValueError):
    """Bad input (file, key, value, address): message is one line naming what and what is allowed."""
