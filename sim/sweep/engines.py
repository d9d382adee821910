"""Where runs execute: local worker processes or Dask, behind ``concurrent.futures.Executor``.

* :class:`LocalEngine`: ``--workers N`` processes on this machine
  (:class:`ResilientProcessPool`: a process pool that replaces a worker that dies
  and retries its run);
* :class:`DaskEngine`: ``--scheduler local`` starts a Dask ``LocalCluster``;
  ``--scheduler tcp://HOST:8786`` connects to a cluster started with ``dask
  scheduler`` and ``dask worker``. Dask's nannies restart dead workers and its
  scheduler retries their tasks (``distributed.scheduler.allowed-failures``).

The sweep loop sees only an ``Executor``, the number of runs that execute at once
(:meth:`Engine.slots`) and whether an exception means "the worker died"
(:meth:`Engine.is_worker_death`): the sweep description never depends on the engine.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sim.sweep.spec import SweepError

# Seconds to wait for a Dask scheduler to answer (the limit is 10 s).
CONNECT_TIMEOUT_S = 8
_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")


class WorkerDied(RuntimeError):
    """A run's worker process died on every attempt (killed, out of memory, crashed)."""


def available_cores() -> int:
    """Cores this process may use (CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


# ---------------------------------------------------------------------- local processes
def _init_worker() -> None:
    """In each worker: leave Ctrl-C to the sweep, and exit if the sweep process dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch() -> None:
        # Orphaned workers would wait for work forever: the pool's queues stay open
        # because every worker holds both ends.
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


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
            self.max_workers, mp_context=self._context, initializer=_init_worker
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
            inner = self._pool.submit(job.fn, *job.args, **job.kwargs)
        except BrokenProcessPool:
            self._replace(self._pool)
            inner = self._pool.submit(job.fn, *job.args, **job.kwargs)
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


# ---------------------------------------------------------------------- engines
class Engine:
    """Runs sweep tasks; subclasses hold an Executor."""

    description = ""
    executor: Executor

    def slots(self) -> int:
        """Runs that execute at the same time."""
        raise NotImplementedError

    def is_worker_death(self, error: BaseException) -> bool:
        """True if a run failed because its worker died after the retries."""
        return isinstance(error, WorkerDied)

    def close(self, *, interrupted: bool = False) -> None:
        self.executor.shutdown(wait=not interrupted, cancel_futures=True)

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        self.close(interrupted=kind is not None)


class LocalEngine(Engine):
    """``workers`` processes on this machine."""

    def __init__(self, workers: int | None = None, max_attempts: int = 3) -> None:
        self.workers = workers or available_cores()
        # One model per core: keep each worker's BLAS to one thread (read when the
        # worker's numpy loads, so set before the first worker starts).
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")
        self.executor = ResilientProcessPool(self.workers, max_attempts=max_attempts)
        plural = "es" if self.workers > 1 else ""
        self.description = f"{self.workers} local worker process{plural}"

    def slots(self) -> int:
        return self.workers

    def close(self, *, interrupted: bool = False) -> None:
        if interrupted:
            self.executor.terminate()
        else:
            self.executor.shutdown(wait=True)


class DaskEngine(Engine):
    """A Dask cluster: a new ``LocalCluster`` (``address=None``) or an existing scheduler."""

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        dashboard_address: str = "127.0.0.1:8787",
    ) -> None:
        import logging
        import warnings

        from distributed import Client, LocalCluster

        self.cluster = None
        self._slots, self._slots_checked = 0, -math.inf
        if address is None:
            with warnings.catch_warnings():
                # A busy dashboard port moves to a free one; the link printed says which.
                warnings.filterwarnings("ignore", message="Port .* is already in use")
                self.cluster = LocalCluster(
                    n_workers=workers or available_cores(),
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=dashboard_address,
                    silence_logs=logging.ERROR,
                )
            self.client = Client(self.cluster, set_as_default=False)
            n = len(self.cluster.workers)
            self.description = (
                f"Dask LocalCluster, {n} worker{'s' if n != 1 else ''}; dashboard "
                f"{self.cluster.dashboard_link}"
            )
        else:
            address = scheduler_address(address)
            try:
                self.client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise SweepError(
                    f"--scheduler {address}: no Dask scheduler answered within "
                    f"{CONNECT_TIMEOUT_S} s ({type(exc).__name__}); start one with "
                    "`dask scheduler` or use --scheduler local"
                ) from None
            self._check_workers(address)
            threads = self.slots()
            dashboard = self.client.dashboard_link or "none"
            self.description = (
                f"Dask scheduler {address}, {len(self.client.nthreads())} workers, "
                f"{threads} threads; dashboard {dashboard}"
            )
        self.executor = self.client.get_executor(pure=False)

    def _check_workers(self, address: str) -> None:
        from sim.runner import package_version

        try:
            versions = self.client.run(package_version)
        except Exception as exc:
            self.client.close()
            raise SweepError(
                f"--scheduler {address}: its workers cannot run guanxi-sim "
                f"({type(exc).__name__}: {exc}); install it on every worker machine"
            ) from None
        mine = package_version()
        other = {v for v in versions.values() if v != mine}
        if other:
            self.client.close()
            raise SweepError(
                f"--scheduler {address}: workers run guanxi-sim {', '.join(sorted(other))}, "
                f"this is {mine}; install the same version everywhere"
            )

    def slots(self) -> int:
        now = time.monotonic()
        if now - self._slots_checked > 5:  # workers may join or leave during a sweep
            self._slots = sum(self.client.nthreads().values())
            self._slots_checked = now
        return max(1, self._slots)

    def is_worker_death(self, error: BaseException) -> bool:
        from distributed import KilledWorker

        return isinstance(error, KilledWorker | WorkerDied)

    def close(self, *, interrupted: bool = False) -> None:
        try:
            # Dask's executor cancels what is pending when not waiting.
            self.executor.shutdown(wait=not interrupted)
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()


def scheduler_address(text: str) -> str:
    """A Dask scheduler address: ``tcp://HOST:PORT`` (``HOST:PORT`` means tcp)."""
    address = text if "://" in text else f"tcp://{text}"
    parts = urlsplit(address)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in _SCHEMES or not parts.hostname or port is None:
        raise SweepError(
            f"--scheduler {text}: expected 'local' or a scheduler address like tcp://HOST:8786"
        )
    return address


def make_engine(workers: int | None = None, scheduler: str | None = None) -> Engine:
    """The engine for ``--workers`` and ``--scheduler`` (None: local processes)."""
    if scheduler is None:
        return LocalEngine(workers)
    if scheduler == "local":
        return DaskEngine(None, workers)
    return DaskEngine(scheduler, workers)
