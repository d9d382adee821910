"""Sweeps on Dask: a real `dask scheduler` with two `dask worker`s on 127.0.0.1, and a LocalCluster."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.sweep.engines import DaskEngine
from sim.sweep.run import run_sweep
from sim.sweep.spec import load_sweep
from tests.sweep_support import results, tiny_sweep_once

pytestmark = pytest.mark.slow
DASK = str(Path(sys.executable).with_name("dask"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A scheduler and two single-thread workers, all bound to loopback; torn down after."""
    from distributed import Client

    folder = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    port = address.rsplit(":", 1)[1]
    processes = [
        subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    for name in ("w1", "w2"):
        processes.append(
            subprocess.Popen(
                [DASK, "worker", address, "--host", "127.0.0.1", "--nthreads", "1"]
                + ["--no-dashboard", "--name", name, "--local-directory", str(folder / name)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
    try:
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        # Each worker is a nanny and its worker process, in the group started here.
        for process in processes[1:]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        processes[0].terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def tiny_one_worker(tmp_path_factory):
    """The tiny sweep file and its results with one local worker."""
    return tiny_sweep_once(tmp_path_factory)


def test_sweep_on_a_dask_cluster_equals_one_local_worker(
    dask_cluster, tiny_one_worker, tmp_path, capsys
):
    path, one = tiny_one_worker
    out = tmp_path / "dask"
    assert main(["sweep", str(path), "--out", str(out), "--scheduler", dask_cluster]) == 0
    printed = capsys.readouterr().out
    assert f"engine: Dask scheduler {dask_cluster}, 2 workers, 2 threads" in printed
    assert "done: 8 of 8 runs" in printed
    pd.testing.assert_frame_equal(results(one), results(out))


def test_sweep_on_a_local_cluster_equals_one_local_worker(tiny_one_worker, tmp_path):
    path, one = tiny_one_worker
    with DaskEngine(None, workers=1, dashboard_address="127.0.0.1:0") as engine:
        assert engine.description.startswith(
            "Dask LocalCluster, 1 worker (TLS, this sweep only); dashboard http://127.0.0.1:"
        )
        run_sweep(load_sweep(path), tmp_path / "local", engine)
    pd.testing.assert_frame_equal(results(one), results(tmp_path / "local"))


def test_unreachable_scheduler_fails_with_a_clear_message(tiny_one_worker, tmp_path, capsys):
    path, _ = tiny_one_worker
    address = f"tcp://127.0.0.1:{free_port()}"  # nobody listens there
    started = time.monotonic()
    code = main(["sweep", str(path), "--out", str(tmp_path / "o"), "--scheduler", address])
    waited = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 2
    assert f"--scheduler {address}: no Dask scheduler answered within 8 s" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "o" / "manifest.json").exists()  # nothing written
    print(f"unreachable scheduler reported after {waited:.1f} s")
