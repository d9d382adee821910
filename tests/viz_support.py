"""Helpers for the UI tests: small sessions and widget lookups in rendered pages."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from ipywidgets import Widget

from sim.scenario import bundled_scenarios, read_scenario_file
from viz.state import ExploreSession

SMALL_USERS = 500


def small_session(
    name: str = "baseline", n_users: int = SMALL_USERS, **overrides: Any
) -> ExploreSession:
    """A session on a bundled scenario with few users (the file as loaded, no changes)."""
    raw = read_scenario_file(bundled_scenarios()[name])
    dotted = {"model.n_users": n_users, **{k.replace("__", "."): v for k, v in overrides.items()}}
    return ExploreSession.from_data(raw, name, dotted)


def iter_widgets(root: Widget) -> Iterator[Widget]:
    """Every widget under ``root`` (reacton's finder stops at a match; this does not)."""
    seen: set[int] = set()
    queue: list[Any] = [root]
    while queue:
        value = queue.pop(0)
        if isinstance(value, Widget):
            if id(value) in seen:
                continue
            seen.add(id(value))
            yield value
            queue.extend(getattr(value, name) for name in value.keys)
        elif isinstance(value, list | tuple):
            queue.extend(value)
        elif isinstance(value, dict):
            queue.extend(value.values())


def all_by_test_id(rc, widget_class, test_id: str) -> list:
    """Widgets of ``widget_class`` whose ``data-testid`` attribute is ``test_id``."""
    return [
        widget
        for widget in iter_widgets(rc.container)
        if isinstance(widget, widget_class)
        and (getattr(widget, "attributes", None) or {}).get("data-testid") == test_id
    ]


def by_test_id(rc, widget_class, test_id: str):
    """The one widget of ``widget_class`` with ``data-testid`` = ``test_id``."""
    found = all_by_test_id(rc, widget_class, test_id)
    if len(found) != 1:
        raise AssertionError(
            f"expected one {widget_class.__name__} {test_id!r}, found {len(found)}"
        )
    return found[0]


def wait_for(condition: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    """Poll ``condition`` until true (background threads update the page)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.02)


def open_tab(rc, label: str) -> None:
    """Select the tab whose text is ``label`` (top-level or a page of the Explore tab)."""
    import ipyvuetify as v

    for tabs in iter_widgets(rc.container):
        if not isinstance(tabs, v.Tabs):
            continue
        labels = [
            " ".join(str(child) for child in tab.children if isinstance(child, str))
            for tab in tabs.children
            if isinstance(tab, v.Tab)
        ]
        if label in labels:
            tabs.v_model = labels.index(label)
            return
    raise AssertionError(f"no tab {label!r}")
