"""Local worker processes: a process pool that survives its workers, and their watch.

:class:`ResilientProcessPool` is the ``concurrent.futures.Executor`` behind
``--workers N`` (:class:`sim.sweep.engines.LocalEngine`): a process pool that
replaces a worker that dies and retries its run, up to :class:`WorkerDied`.
:func:`start_worker_server` starts the fork server the workers come from, with the
model imported once.

Local workers exit when the sweep process dies, however it dies (``kill -9``
included): each watches the sweep process (a pidfd) from a thread. Their parent is
the fork server, which lives as long as a worker does, so watching the parent would
not do; once the workers are gone the fork server and the resource tracker end too.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import select
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any


class WorkerDied(RuntimeError):
    """A run's worker process died on every attempt (killed, out of memory, crashed)."""


def _init_worker(sweep_pid: int | None = None) -> None:
    """In each worker: leave Ctrl-C to the sweep, and exit when the sweep process dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pid = os.getppid() if sweep_pid is None else sweep_pid
    threading.Thread(target=_exit_with, args=(pid,), name="sweep-watch", daemon=True).start()


def _exit_with(pid: int) -> None:
    """Wait for process ``pid`` to end, then end this process at once.

    Orphaned workers would wait for work forever: the pool's queues stay open because
    every worker holds both ends, and their parent, the fork server, stays up as long
    as a worker holds its "alive" pipe. A pidfd becomes readable when the process
    ends (no polling, no confusion with a new process given the same pid).
    """
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(0)
    except (AttributeError, OSError):  # not Linux 5.3+: poll the pid
        while _alive(pid):
            time.sleep(0.5)
        os._exit(0)
    while True:
        readable, _, _ = select.select([fd], [], [])
        if readable:
            os._exit(0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


WORKER_PRELOAD = ("sim.sweep.run",)


def start_worker_server() -> None:
    """Start the fork server that local workers come from; it imports the model now.

    Called early (before the sweep file is read), its imports overlap with the sweep
    process's own work instead of delaying the first run.
    """
    from multiprocessing import forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload(list(WORKER_PRELOAD))
    forkserver.ensure_running()


@dataclass(eq=False)
class _Job:
    outer: Future
    fn: Callable[..., Any]
    args: tuple
    kwargs: dict
    attempts: int = 0
    started: bool = False
    pool: ProcessPoolExecutor | None = field(default=None, repr=False)


class ResilientProcessPool(Executor):
    """A process pool whose dead workers are replaced and whose interrupted runs are retried.

    When a worker dies, ``ProcessPoolExecutor`` fails every task in flight with
    ``BrokenProcessPool``. This executor starts a new pool and retries those tasks one
    at a time, so that a second death is pinned on the task that caused it; a task
    whose worker died ``max_attempts`` times fails with :class:`WorkerDied`.
    Other tasks wait meanwhile, then the pool runs at full width again.

    One dispatcher thread owns the pools and the queues; submissions and completions
    reach it as events, so no lock is held while a pool runs its callbacks.
    """

    def __init__(
        self,
        max_workers: int,
        *,
        max_attempts: int = 3,
        preload: tuple[str, ...] = WORKER_PRELOAD,
    ) -> None:
        self.max_workers = max_workers
        self.max_attempts = max_attempts
        # Worker processes fork from a server that has imported the model once.
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(list(preload))
        self._events: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._backlog: deque[_Job] = deque()
        self._suspects: deque[_Job] = deque()
        self._running: dict[Future, _Job] = {}
        self._closing = False
        self._submit_lock = threading.Lock()
        self._shut = False
        self.restarts = 0
        self._pool = self._new_pool()
        self._dispatcher = threading.Thread(target=self._loop, name="sweep-dispatch", daemon=True)
        self._dispatcher.start()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.max_workers,
            mp_context=self._context,
            initializer=_init_worker,
            initargs=(os.getpid(),),  # the sweep process, not the fork server
        )

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        outer: Future = Future()
        with self._submit_lock:
            if self._shut:
                raise RuntimeError("cannot submit after shutdown")
            self._events.put(("submit", _Job(outer, fn, args, kwargs)))
        return outer

    # ------------------------------------------------------------------ dispatcher
    def _loop(self) -> None:
        while True:
            kind, item = self._events.get()
            if kind == "submit":
                if self._closing:
                    item.outer.cancel()
                else:
                    self._backlog.append(item)
            elif kind == "done":
                self._finished(item)
            elif kind == "close":
                self._close(cancel=item)
            if self._closing and not self._running:
                return
            if not self._closing:
                self._dispatch()

    def _dispatch(self) -> None:
        if self._suspects:
            if not self._running:
                self._start(self._suspects.popleft())
            return
        while self._backlog:
            self._start(self._backlog.popleft())

    def _start(self, job: _Job) -> None:
        if not job.started:
            if not job.outer.set_running_or_notify_cancel():
                return  # cancelled before it started
            job.started = True
        try:
            try:
                inner = self._pool.submit(job.fn, *job.args, **job.kwargs)
            except BrokenProcessPool:
                self._replace(self._pool)
                inner = self._pool.submit(job.fn, *job.args, **job.kwargs)
        except Exception as error:  # e.g. no worker process could start: the run fails,
            job.outer.set_exception(error)  # and the dispatcher lives on (no silent hang)
            return
        job.pool = self._pool
        self._running[inner] = job
        inner.add_done_callback(lambda done: self._events.put(("done", done)))

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        if broken is self._pool:
            # The broken pool's own thread stops its processes; do not wait for it.
            self.restarts += 1
            self._pool = self._new_pool()

    def _finished(self, inner: Future) -> None:
        job = self._running.pop(inner, None)
        if job is None:
            return
        if inner.cancelled():
            job.outer.cancel()
            return
        error = inner.exception()
        if isinstance(error, BrokenProcessPool) and not self._closing:
            job.attempts += 1
            if job.pool is not None:
                self._replace(job.pool)
            if job.attempts >= self.max_attempts:
                job.outer.set_exception(
                    WorkerDied(f"worker process died {job.attempts} times while running it")
                )
            else:
                self._suspects.append(job)
        elif error is not None:
            job.outer.set_exception(error)
        else:
            job.outer.set_result(inner.result())

    def _close(self, cancel: bool) -> None:
        self._closing = True
        for job in (*self._backlog, *self._suspects):
            if not job.started or cancel:
                job.outer.cancel() or job.outer.set_exception(RuntimeError("sweep stopped"))
        self._backlog.clear()
        self._suspects.clear()
        self._pool.shutdown(wait=False, cancel_futures=cancel)

    # ------------------------------------------------------------------ stopping
    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._submit_lock:
            if not self._shut:
                self._shut = True
                self._events.put(("close", cancel_futures))
        if wait:
            self._dispatcher.join()
            self._pool.shutdown(wait=True)

    def terminate(self) -> None:
        """Stop at once: cancel what waits and kill the worker processes (Ctrl-C)."""
        self.shutdown(wait=False, cancel_futures=True)
        # ProcessPoolExecutor has no public way to stop running workers before 3.14.
        for process in list((getattr(self._pool, "_processes", None) or {}).values()):
            process.kill()
