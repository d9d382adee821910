"""Where runs execute: local worker processes or Dask, behind ``concurrent.futures.Executor``.

* :class:`LocalEngine`: ``--workers N`` processes on this machine
  (:class:`~sim.sweep.workers.ResilientProcessPool`: a process pool that replaces a
  worker that dies and retries its run; the workers end with the sweep process);
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
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from concurrent.futures import Executor
from typing import Any
from urllib.parse import urlsplit

from sim.resources import available_cores, check_workers
from sim.sweep.spec import SweepError
from sim.sweep.workers import ResilientProcessPool, WorkerDied

# Seconds to wait for a Dask scheduler to answer (the limit is 10 s).
CONNECT_TIMEOUT_S = 8
# Seconds a Dask cluster may have no worker (at the start, or during a sweep) before
# the sweep stops with one line saying so.
WORKER_WAIT_S = 60
_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")


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
