"""Where runs execute: local worker processes or Dask, behind ``concurrent.futures.Executor``.

* :class:`LocalEngine`: ``--workers N`` processes on this machine
  (:class:`ResilientProcessPool`: a process pool that replaces a worker that dies
  and retries its run);
* :class:`DaskEngine`: ``--scheduler local`` starts a Dask ``LocalCluster`` (TLS
  with a temporary certificate: no other local user can connect to it);
  ``--scheduler tcp://HOST:8786`` connects to a cluster started with ``dask
  scheduler`` and ``dask worker``. Dask's nannies restart dead workers and its
  scheduler retries their tasks (``distributed.scheduler.allowed-failures``).

The sweep loop sees only an ``Executor``, the number of runs that execute at once
(:meth:`Engine.slots`), whether an exception means "the worker died"
(:meth:`Engine.is_worker_death`) and whether the engine can still run anything
(:meth:`Engine.problem`: a lost scheduler, no workers): the sweep description never
depends on the engine.

Local workers exit when the sweep process dies, however it dies (``kill -9``
included): each watches the sweep process (a pidfd) from a thread. Their parent is
the fork server, which lives as long as a worker does, so watching the parent would
not do; once the workers are gone the fork server and the resource tracker end too.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import queue
import select
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sim.resources import available_cores, check_workers
from sim.sweep.spec import SweepError

# Seconds to wait for a Dask scheduler to answer (the limit is 10 s).
CONNECT_TIMEOUT_S = 8
# Seconds a Dask cluster may have no worker (at the start, or during a sweep) before
# the sweep stops with one line saying so.
WORKER_WAIT_S = 60
_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")


class WorkerDied(RuntimeError):
    """A run's worker process died on every attempt (killed, out of memory, crashed)."""


# ---------------------------------------------------------------------- local processes
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

    def problem(self) -> str | None:
        """Why no run can complete any more (one line), or None if the engine is fine."""
        return None

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
    """A Dask cluster: a new ``LocalCluster`` (``address=None``) or an existing scheduler.

    ``distributed``'s own log lines (reconnection attempts and their tracebacks) are
    silenced while the engine is open: the sweep reports what went wrong in one line.
    """

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        dashboard_address: str = "127.0.0.1:8787",
        worker_wait_s: float | None = None,
    ) -> None:
        import warnings

        from distributed import Client, LocalCluster

        self.cluster = None
        self.address = address
        self.worker_wait_s = WORKER_WAIT_S if worker_wait_s is None else worker_wait_s
        self._slots, self._slots_checked = 0, -math.inf
        self._no_workers_since: float | None = None
        self._lost: str | None = None
        self._log_levels = _silence_distributed_logs()
        try:
            if address is None:
                security = _temporary_security()
                with warnings.catch_warnings():
                    # A busy dashboard port moves to a free one; the link printed says which.
                    warnings.filterwarnings("ignore", message="Port .* is already in use")
                    self.cluster = LocalCluster(
                        n_workers=workers or available_cores(),
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        protocol="tls",
                        security=security,
                        dashboard_address=dashboard_address,
                        silence_logs=logging.ERROR,
                    )
                self.address = self.cluster.scheduler_address
                self.client = Client(self.cluster, set_as_default=False)
                n = len(self.cluster.workers)
                self.description = (
                    f"Dask LocalCluster, {n} worker{'s' if n != 1 else ''} (TLS, this "
                    f"sweep only); dashboard {self.cluster.dashboard_link}"
                )
            else:
                address = self.address = scheduler_address(address)
                try:
                    self.client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
                except (OSError, TimeoutError) as exc:
                    raise SweepError(
                        f"--scheduler {address}: no Dask scheduler answered within "
                        f"{CONNECT_TIMEOUT_S} s ({type(exc).__name__}); start one with "
                        "`dask scheduler` or use --scheduler local"
                    ) from None
                self._wait_for_a_worker(address)
                self._check_workers(address)
                threads = self.slots()
                dashboard = self.client.dashboard_link or "none"
                self.description = (
                    f"Dask scheduler {address}, {len(self.client.nthreads())} workers, "
                    f"{threads} threads; dashboard {dashboard}"
                )
            self.executor = self.client.get_executor(pure=False)
        except BaseException:
            self._close_quietly()
            raise

    def _wait_for_a_worker(self, address: str) -> None:
        if self.client.nthreads():
            return
        print(
            f"guanxi: the Dask scheduler {address} has no worker; waiting up to "
            f"{self.worker_wait_s:g} s for one (`dask worker {address}` starts one)",
            file=sys.stderr,
            flush=True,
        )
        try:
            self.client.wait_for_workers(1, timeout=self.worker_wait_s)
        except (TimeoutError, OSError):
            raise SweepError(
                f"--scheduler {address}: no Dask worker joined within {self.worker_wait_s:g} s; "
                f"start workers with `dask worker {address}`"
            ) from None

    def _check_workers(self, address: str) -> None:
        from sim.runner import package_version

        try:
            versions = self.client.run(package_version)
        except Exception as exc:
            raise SweepError(
                f"--scheduler {address}: its workers cannot run guanxi-sim "
                f"({type(exc).__name__}: {exc}); install it on every worker machine"
            ) from None
        mine = package_version()
        other = {v for v in versions.values() if v != mine}
        if other:
            raise SweepError(
                f"--scheduler {address}: workers run guanxi-sim {', '.join(sorted(other))}, "
                f"this is {mine}; install the same version everywhere"
            )

    def slots(self) -> int:
        now = time.monotonic()
        if now - self._slots_checked > 5 and self._lost is None:
            # Workers may join or leave during a sweep.
            try:
                self._slots = sum(self.client.nthreads().values())
            except Exception:  # the scheduler is gone: problem() says so
                self._slots = 0
            self._slots_checked = now
        return max(1, self._slots)

    def is_worker_death(self, error: BaseException) -> bool:
        from distributed import KilledWorker

        return isinstance(error, KilledWorker | WorkerDied)

    def problem(self) -> str | None:
        """A lost scheduler, or no worker for ``worker_wait_s`` seconds."""
        if self._lost is not None:
            return self._lost
        where = "--scheduler local" if self.cluster is not None else f"--scheduler {self.address}"
        if self.client.status not in ("running", "newly-created"):
            self._lost = (
                f"{where}: the Dask scheduler was lost during the sweep (connection closed)"
            )
            return self._lost
        try:
            workers = len(self.client.nthreads())
        except Exception as exc:
            self._lost = (
                f"{where}: the Dask scheduler was lost during the sweep ({type(exc).__name__})"
            )
            return self._lost
        now = time.monotonic()
        if workers:
            self._no_workers_since = None
            return None
        if self._no_workers_since is None:
            self._no_workers_since = now
        if now - self._no_workers_since >= self.worker_wait_s:
            return (
                f"{where}: the Dask cluster has had no worker for "
                f"{self.worker_wait_s:g} s; start workers with `dask worker {self.address}`"
            )
        return None

    def close(self, *, interrupted: bool = False) -> None:
        try:
            # Dask's executor cancels what is pending when not waiting.
            if self._lost is None:
                self.executor.shutdown(wait=not interrupted)
        finally:
            self._close_quietly()

    def _close_quietly(self) -> None:
        try:
            client = getattr(self, "client", None)
            if client is not None:
                client.close(timeout=5)
            if self.cluster is not None:
                self.cluster.close(timeout=20)
        except Exception:
            pass  # a lost scheduler cannot be closed politely
        finally:
            _restore_logs(self._log_levels)


def _temporary_security():
    """TLS with a certificate made for this cluster only (needs ``cryptography``)."""
    from distributed.security import Security

    try:
        return Security.temporary()
    except ImportError:
        raise SweepError(
            "--scheduler local: needs the 'cryptography' package for its TLS certificate; "
            "install guanxi-sim's dependencies (pip install -e .)"
        ) from None


_QUIET_LOGGERS = ("distributed", "tornado", "asyncio")


def _silence_distributed_logs() -> dict[str, int]:
    """Raise distributed's loggers above CRITICAL; returns their levels to restore."""
    manager = logging.Logger.manager
    names = [
        name
        for name in list(manager.loggerDict)
        if name.split(".")[0] in _QUIET_LOGGERS
        and isinstance(manager.loggerDict[name], logging.Logger)
    ]
    names += [n for n in _QUIET_LOGGERS if n not in names]
    levels = {}
    for name in names:
        logger = logging.getLogger(name)
        levels[name] = logger.level
        logger.setLevel(logging.CRITICAL + 1)
    return levels


def _restore_logs(levels: dict[str, int]) -> None:
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


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


def make_engine(
    workers: int | None = None, scheduler: str | None = None, worker_wait_s: float | None = None
) -> Engine:
    """The engine for ``--workers`` and ``--scheduler`` (None: local processes).

    Local workers (processes or a LocalCluster) are capped by cores and memory
    (:func:`sim.resources.check_workers`): more are refused in one line.
    ``worker_wait_s``: how long a Dask cluster may have no worker (default
    :data:`WORKER_WAIT_S`).
    """
    if scheduler is None:
        return LocalEngine(check_workers(workers))
    if scheduler == "local":
        return DaskEngine(None, check_workers(workers), worker_wait_s=worker_wait_s)
    return DaskEngine(scheduler, workers, worker_wait_s=worker_wait_s)
