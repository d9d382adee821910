"""The stamp every export carries: what was run, with which seed, by which version.

A PNG, a CSV or a report handed to a manager must say where it came from, so that
anyone can reproduce it: the scenario, the changes (as ``guanxi run --set``
assignments), the seed and the package version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import cache
from importlib import metadata
from typing import Any

from viz.parameters import assignment


@cache
def version() -> str:
    """The installed guanxi-sim version (or 'unknown' when run from a bare checkout)."""
    try:
        return metadata.version("guanxi-sim")
    except metadata.PackageNotFoundError:
        return "unknown"


def stamp_text(
    scenario: str, changes: Mapping[str, Any], seed: int, extra: str = "", when: str | None = None
) -> str:
    """One line: 'guanxi-sim 0.1.0 | scenario baseline | seed 42 | set: a = 1; b = 2 | 2026-12-01'."""
    parts = [f"guanxi-sim {version()}", f"scenario {scenario}", f"seed {seed}"]
    if changes:
        parts.append("set: " + "; ".join(assignment(k, v) for k, v in changes.items()))
    if extra:
        parts.append(extra)
    parts.append(when or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))
    return " | ".join(parts)
