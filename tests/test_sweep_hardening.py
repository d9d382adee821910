"""Sweeps under bad conditions: damaged run files, a full disk, a killed sweep process,
designs too large for the machine, Dask clusters that lose their scheduler or have no
worker, every run failing, and who can reach a `--scheduler local` cluster.

Each failure must end in one line naming what and how to go on, a non-zero exit, no
traceback, and nothing already computed lost.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim import resources
from sim.cli import main
from sim.sweep import durable
from sim.sweep.spec import MAX_RUNS
from sim.sweep.store import SweepStore
from tests.sweep_support import TINY_SWEEP, results, tiny_sweep_once, write_sweep

ROOT = Path(__file__).resolve().parent.parent
DASK = str(Path(sys.executable).with_name("dask"))


@pytest.fixture
def tiny(tmp_path_factory):
    """The tiny sweep file and its results with one local worker."""
    return tiny_sweep_once(tmp_path_factory)


def copy_results(out: Path, where: Path) -> Path:
    shutil.copytree(out, where)
    return where


def one_line(err: str) -> str:
    """The only line of ``err``; fails on a traceback or several lines."""
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# ---------------------------------------------------------------------- 3. damaged files
def test_report_and_retry_failed_read_past_a_truncated_run_file(tiny, tmp_path, capsys):
    _, one = tiny
    out = copy_results(one, tmp_path / "out")
    damaged = out / "runs" / "run-00000003.parquet"
    damaged.write_bytes(damaged.read_bytes()[:100])  # truncated: no Parquet footer
    # sweep-report writes the report of the readable runs, then says what it left out.
    assert main(["sweep-report", str(out), "--out", str(tmp_path / "report")]) == 2
    line = one_line(capsys.readouterr().err)
    assert f"{damaged}: unreadable run file" in line
    assert "--resume` sets it aside and runs it again" in line
    summary = pd.read_csv(tmp_path / "report" / "summary.csv")
    assert summary.runs.sum() == 7
    # What --resume --retry-failed asks first: which runs failed.
    assert SweepStore.open(out).failed_runs() == set()
    files = SweepStore.open(out).scan()
    assert files.ok == {0, 1, 2, 4, 5, 6, 7} and files.failed == set()
    assert list(files.unreadable) == [damaged]


def test_resume_sets_damaged_run_files_aside_and_runs_them_again(tiny, tmp_path, capsys):
    path, one = tiny
    out = copy_results(one, tmp_path / "out")
    truncated = out / "runs" / "run-00000002.parquet"
    truncated.write_bytes(truncated.read_bytes()[:-20])
    zeros = out / "runs" / "run-00000006.parquet"  # what a crash before fsync can leave
    zeros.write_bytes(bytes(zeros.stat().st_size))
    args = ["sweep", str(path), "--out", str(out), "--resume", "--workers", "1"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "2 unreadable run files set aside in" in printed
    assert "resuming: 6 of 8 runs already done" in printed
    assert "(2 run now, 0 failed" in printed
    assert sorted(p.name for p in (out / "unreadable").iterdir()) == [
        "run-00000002.parquet",
        "run-00000006.parquet",
    ]
    pd.testing.assert_frame_equal(results(one), results(out))


def test_run_files_are_flushed_to_disk_before_the_rename(tiny, tmp_path, monkeypatch):
    path, one = tiny
    out = copy_results(one, tmp_path / "out")
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(durable.os, "fsync", lambda fd: events.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(
        durable.os,
        "replace",
        lambda a, b: events.append(f"rename {Path(b).name}") or real_replace(a, b),
    )
    sweep_store = SweepStore.open(out)
    run = next(r for r in _plan(path).runs() if r.run == 0)
    result = _result_of(one, 0)
    sweep_store.write_result(run, result)
    # The file, then the rename, then the folder holding the new name.
    assert events == ["fsync", "rename run-00000000.parquet", "fsync"]
    pd.testing.assert_frame_equal(results(one), results(out))


def _plan(path: Path):
    from sim.sweep.spec import load_sweep

    return load_sweep(path)


def _result_of(out: Path, run: int):
    import numpy as np

    from sim.sweep.store import RunResult

    frame = results(out)
    row = frame[frame.run == run]
    outcomes = ["attitude", "followers", "profit", "china.attitude", "western_europe.followers"]
    values = {name: row[name].to_numpy() for name in outcomes}
    return RunResult(run, "ok", None, 0.0, row.step.to_numpy(np.int64), values)


# ---------------------------------------------------------------------- 4. disk full
def _dev_full() -> bool:
    import stat

    with contextlib.suppress(OSError):
        return stat.S_ISCHR(os.stat("/dev/full").st_mode)
    return False


@pytest.mark.skipif(not _dev_full(), reason="needs the /dev/full device (Linux)")
def test_a_full_disk_names_the_file_and_how_to_finish(tiny, tmp_path, monkeypatch, capsys):
    path, _ = tiny
    out = tmp_path / "out"
    real_write = SweepStore.write_result

    def write_then_fill_the_disk(self, run, result):
        written = real_write(self, run, result)
        # From now on every run file's temporary name leads to a full device.
        for n in range(8):
            tmp = self.runs_dir / f".run-{n:08d}.parquet.tmp"
            if not (self.runs_dir / f"run-{n:08d}.parquet").exists() and not tmp.exists():
                tmp.symlink_to("/dev/full")
        return written

    monkeypatch.setattr(SweepStore, "write_result", write_then_fill_the_disk)
    code = main(["sweep", str(path), "--out", str(out), "--workers", "1"])
    line = one_line(capsys.readouterr().err)
    assert code == 2
    assert "no space left on the device (disk full)" in line
    assert f"{out / 'runs'}/run-0000000" in line  # the file it could not write
    assert "1 of 8 runs are saved in" in line
    assert f"--out {out} --resume` finishes it" in line
    kept = SweepStore.open(out).scan()
    assert len(kept.ok) == 1 and not kept.unreadable


# ---------------------------------------------------------------------- 5. orphaned workers
def _children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")  # zombies are gone


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "kill-TERM"])
def test_workers_exit_when_only_the_sweep_process_is_killed(tmp_path, how):
    path = write_sweep(tmp_path, steps=30)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "sim", "sweep", str(path), "--out", str(out), "--workers", "2"]
    sweep = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        while not list((out / "runs").glob("run-*.parquet")):  # workers are up and running
            assert sweep.poll() is None, sweep.stderr.read().decode()
            assert time.monotonic() < deadline, "sweep made no progress"
            time.sleep(0.1)
        family = _children(sweep.pid)
        assert len(family) >= 3  # fork server, two workers (and the resource tracker)
        sweep.send_signal(how)  # the sweep process only, not its process group
        code = sweep.wait(timeout=60)
        deadline = time.monotonic() + 60
        while any(_running(p) for p in family) and time.monotonic() < deadline:
            time.sleep(0.2)
        survivors = [p for p in family if _running(p)]
        assert not survivors, f"still running after the sweep died: {survivors}"
        if how == signal.SIGTERM:
            assert code == 130
            assert "sweep stopped;" in sweep.stderr.read().decode()
        else:
            assert code == -signal.SIGKILL
    finally:
        if sweep.poll() is None:
            sweep.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(sweep.pid, signal.SIGKILL)  # clean up whatever the test found
        sweep.stderr.close()


# ---------------------------------------------------------------------- 6. sizes
GRID_10_9 = "\n".join(
    ['[sweep]\nscenario = "baseline"\n\n[design]\nmethod = "grid"\n']
    + [
        f'[[parameters]]\npath = "{p}"\nlow = 0.1\nhigh = 0.9\nlevels = 10\n'
        for p in (
            "firms.ours.strategies.china.responsiveness",
            "firms.ours.strategies.china.localisation",
            "firms.ours.strategies.china.posts_per_day",
            "firms.ours.strategies.western_europe.responsiveness",
            "firms.ours.strategies.western_europe.localisation",
            "firms.ours.strategies.western_europe.posts_per_day",
            "markets.china.dependency_mean",
            "markets.china.organic_reach",
            "markets.western_europe.organic_reach",
        )
    ]
)
SOBOL_2_19 = (
    GRID_10_9.replace('method = "grid"', 'method = "sobol"\nsamples = 524288').replace(
        "levels = 10\n", ""
    )
    + '[[parameters]]\npath = "markets.china.dependency_sd"\nlow = 0.05\nhigh = 0.2\n'
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GRID_10_9, "design: 1,000,000,000 points x 1 replications = 1,000,000,000 runs"),
        (SOBOL_2_19, "design: 11,534,336 points x 1 replications = 11,534,336 runs"),
    ],
    ids=["grid-10^9", "sobol-2^19-x-10"],
)
def test_oversized_designs_are_refused_before_they_are_built(tmp_path, capsys, text, expected):
    path = write_sweep(tmp_path, text, name="big.toml")
    assert main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    line = one_line(capsys.readouterr().err)
    assert f"{path}: {expected}; at most {MAX_RUNS:,}" in line
    assert not (tmp_path / "out").exists()


def test_a_design_too_large_for_this_machines_memory_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(resources, "available_memory", lambda: 64 * 2**20)
    text = GRID_10_9.replace("levels = 10", "levels = 4")  # 4^9 = 262,144 runs
    path = write_sweep(tmp_path, text, name="big.toml")
    assert main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    line = one_line(capsys.readouterr().err)
    assert "design: 262,144 points x 1 replications = 262,144 runs would need about" in line
    assert "MB of memory to plan, 64 MB is available; at most about" in line


@pytest.mark.parametrize("command", ["sweep", "sweep-local-cluster", "compare"])
def test_more_workers_than_the_machine_runs_are_refused(tiny, tmp_path, capsys, command):
    path, _ = tiny
    limit, _ = resources.worker_limit()
    many = str(limit + 98)
    args = {
        "sweep": ["sweep", str(path), "--out", str(tmp_path / "o"), "--workers", many],
        "sweep-local-cluster": ["sweep", str(path), "--out", str(tmp_path / "o")]
        + ["--workers", many, "--scheduler", "local"],
        "compare": ["compare", "baseline", "--reps", "2", "--steps", "1", "--workers", many],
    }[command]
    assert main(args) == 2
    line = one_line(capsys.readouterr().err)
    assert (
        f"--workers {many}: at most {limit} on this machine ({resources.available_cores()} core"
        in line
    )
    assert not (tmp_path / "o" / "manifest.json").exists()


# ---------------------------------------------------------------------- 8. Dask and failures
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def dask_processes(*commands: list[str]):
    """Start each command in its own process group; kill the groups after."""
    started = [
        subprocess.Popen(
            c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        for c in commands
    ]
    try:
        yield started
    finally:
        for process in started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def scheduler_command(port: int) -> list[str]:
    return [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]


def wait_for_scheduler(address: str) -> None:
    host, port = address.removeprefix("tcp://").split(":")
    deadline = time.monotonic() + 60
    while True:
        with contextlib.suppress(OSError), socket.create_connection((host, int(port)), 1):
            return
        assert time.monotonic() < deadline, "the scheduler did not start"
        time.sleep(0.2)


@pytest.mark.slow
def test_a_scheduler_without_workers_is_reported_not_waited_on(tiny, tmp_path):
    path, _ = tiny
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    with dask_processes(scheduler_command(port)):
        wait_for_scheduler(address)
        command = [sys.executable, "-m", "sim", "sweep", str(path), "--out", str(tmp_path / "o")]
        command += ["--scheduler", address, "--worker-timeout", "3"]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    waiting, error = done.stderr.strip().splitlines()
    assert f"the Dask scheduler {address} has no worker; waiting up to 3 s" in waiting
    assert f"--scheduler {address}: no Dask worker joined within 3 s" in error
    assert f"`dask worker {address}`" in error


@pytest.mark.slow
def test_a_lost_scheduler_is_one_line_that_says_so(tmp_path):
    path = write_sweep(
        tmp_path, TINY_SWEEP.replace("replications = 2", "replications = 6"), steps=30
    )
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    worker = [DASK, "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard"]
    worker += ["--local-directory", str(tmp_path / "w")]
    out = tmp_path / "out"
    with dask_processes(scheduler_command(port), worker) as (scheduler, _):
        wait_for_scheduler(address)
        command = [sys.executable, "-m", "sim", "sweep", str(path), "--out", str(out)]
        command += ["--scheduler", address]
        sweep = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 120
            while len(list((out / "runs").glob("run-*.parquet"))) < 2:
                assert sweep.poll() is None, sweep.stderr.read()
                assert time.monotonic() < deadline, "sweep made no progress"
                time.sleep(0.1)
            os.killpg(scheduler.pid, signal.SIGKILL)
            code = sweep.wait(timeout=120)
            err = sweep.stderr.read()
        finally:
            if sweep.poll() is None:
                sweep.kill()
            sweep.stderr.close()
    assert code == 2
    line = one_line(err)
    assert f"--scheduler {address}: the Dask scheduler was lost during the sweep" in line
    assert f"runs are saved in {out}" in line and "--resume` finishes it" in line
    saved = SweepStore.open(out).scan()
    assert len(saved.ok) >= 2 and not saved.unreadable


def test_a_sweep_where_every_run_failed_exits_non_zero(tmp_path, capsys):
    text = TINY_SWEEP.replace(
        '[[parameters]]\npath = "guanxi.enabled"',
        '[[parameters]]\npath = "firms.ours.strategies.china.initial_followers"\n'
        "values = [0.5]",  # above initial_awareness 0.03: every run is invalid
    )
    path = write_sweep(tmp_path, text, steps=2)
    code = main(["sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "1"])
    captured = capsys.readouterr()
    assert code == 2
    assert "done: 4 of 4 runs" in captured.out
    line = one_line(captured.err)
    assert "every run failed (4 of 4); first: run 0: " in line
    assert "initial_followers (0.5) must be at most" in line


# ---------------------------------------------------------------------- 9. who can connect
@pytest.mark.slow
def test_the_local_cluster_admits_only_this_sweep(tmp_path):
    from distributed import Client
    from distributed.security import Security

    from sim.sweep.engines import DaskEngine

    with DaskEngine(None, workers=1, dashboard_address="127.0.0.1:0") as engine:
        address = engine.cluster.scheduler_address
        assert engine.client.submit(sum, [1, 2]).result(timeout=60) == 3
        # Another local user: no certificate (plain TCP or TLS), or one of their own.
        plain = address.replace("tls://", "tcp://")
        for where, security in ((plain, None), (address, Security.temporary())):
            with pytest.raises(Exception):  # noqa: B017 - refused, whatever the comm error
                Client(where, timeout=5, security=security, set_as_default=False)
        assert address.startswith("tls://127.0.0.1:")


def _listening(pids: set[int]) -> list[tuple[str, int]]:
    """(address, port) of every listening TCP socket of the processes ``pids``."""
    inodes = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                continue
            address, port = fields[1].split(":")
            raw = bytes.fromhex(address)
            if len(raw) == 4:
                host = socket.inet_ntop(socket.AF_INET, raw[::-1])
            else:
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                host = socket.inet_ntop(socket.AF_INET6, words)
            found.append((host, int(port, 16)))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_documented_loopback_cluster_opens_no_public_port(tmp_path):
    """docs/sweeps.md's one-machine commands, run as written: every port on 127.0.0.1."""
    import shlex

    text = (ROOT / "docs" / "sweeps.md").read_text()
    block = next(
        b for b in text.split("```bash")[1:] if "dask scheduler --host 127.0.0.1" in b
    ).split("```")[0]
    lines = block.replace("\\\n", " ").splitlines()
    commands = [shlex.split(line) for line in lines if line.strip()]
    commands = [[DASK, *c[1:]] for c in commands]  # ".venv/bin/dask" -> this venv's
    scheduler, worker = commands
    port, dashboard = free_port(), free_port()
    scheduler = [a.replace("8786", str(port)).replace("8787", str(dashboard)) for a in scheduler]
    worker = [a.replace("8786", str(port)) for a in worker]
    worker[worker.index("auto")] = "1"  # one worker process is enough to look at
    worker += ["--local-directory", str(tmp_path / "w")]
    with dask_processes(scheduler, worker) as started:
        from distributed import Client

        with Client(f"tcp://127.0.0.1:{port}", timeout=60) as client:
            client.wait_for_workers(1, timeout=60)
        family = set()
        for process in started:
            family |= {process.pid} | _children(process.pid)
        ports = _listening(family)
    assert len(ports) >= 5  # scheduler, its dashboard, nanny, worker, worker dashboard
    assert {host for host, _ in ports} == {"127.0.0.1"}, ports
