"""Work the page runs in a background thread: a comparison, an optimisation, a ZIP.

:class:`BackgroundJob` holds what they share: a daemon thread, a state (``running``,
``done``, ``cancelled``, ``error``), a cancel flag and a one-line error, and the
``on_update`` callback, called from the thread whenever progress or state changes so
that the page re-renders while staying responsive. A subclass names itself
(:attr:`BackgroundJob.what`) and does its work in :meth:`BackgroundJob.work`; the
exception it raises when cancelled is :attr:`BackgroundJob.cancelled`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sim.errors import GuanxiError

logger = logging.getLogger(__name__)


class _NeverRaised(Exception):
    """For jobs that cannot be cancelled."""


class BackgroundJob:
    """A job in a daemon thread with state, cancel flag and error line."""

    what = "job"  # "comparison", "optimisation", "ZIP export": in thread names and errors
    cancelled: type[BaseException] = _NeverRaised

    def __init__(self, on_update: Callable[[], None]) -> None:
        self.state = "running"  # running, done, cancelled, error
        self.error: str | None = None
        self._on_update = on_update
        self._cancel = threading.Event()
        name = f"guanxi-{self.what.split()[0].lower()}"
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def running(self) -> bool:
        return self.state == "running"

    def start(self):
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Ask the work to stop (it looks at the flag at its next simulated day)."""
        self._cancel.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def work(self) -> None:
        raise NotImplementedError

    def cleanup(self) -> None:
        """Called when the work ends, however it ends (before the last update)."""

    def _run(self) -> None:
        try:
            self.work()
            self.state = "done"
        except self.cancelled:
            self.state = "cancelled"
        except GuanxiError as exc:
            self.error, self.state = str(exc), "error"
        except Exception as exc:  # keep the app running; show what went wrong
            logger.exception("%s failed", self.what)
            self.error, self.state = f"{self.what} failed: {exc}", "error"
        finally:
            self.cleanup()
            self._on_update()
