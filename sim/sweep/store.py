"""A sweep's results directory: manifest, design table and one Parquet file per run.

Layout of DIR::

    manifest.json          the sweep file's text, the resolved design (every point's
                           parameters, every run's point, replication and seed), the
                           base scenario and its SHA-256, the package version
    design.parquet         one row per run: run, point, replication, seed, parameters
    runs/run-00000042.parquet
                           one file per finished run (ok or failed), written to a
                           hidden temporary name, flushed to disk (fsync) and
                           renamed, so a file is complete or absent whatever
                           happens to the process or the machine
    unreadable/            run files found damaged by ``--resume`` (truncated,
                           not Parquet, other columns), set aside; they run again

Every result row carries its run, point, replication, seed and parameter values, so
the directory ``runs/`` reads as one table in pandas, polars or DuckDB. A run that is
recorded is never run again by ``--resume``, unless it failed and
``--retry-failed`` asks for it (its file is then replaced); a run that is absent, or
whose file cannot be read, is.

:class:`SweepStore` opens, writes, checks and reads DIR; the manifest is made and
compared in :mod:`sim.sweep.manifest`, files are written by :mod:`sim.sweep.durable`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from sim.errors import ensure_writable_dir
from sim.sweep.durable import atomic_write, fsync_dir, one_line, parquet_bytes
from sim.sweep.manifest import (
    MANIFEST,
    check_same_sweep,
    manifest_data,
    manifest_json,
    read_manifest,
)
from sim.sweep.plan import Run, SweepPlan
from sim.sweep.spec import SweepError

DESIGN = "design.parquet"
RUNS = "runs"
UNREADABLE = "unreadable"
RUN_FILE = re.compile(r"^run-(\d{8})\.parquet$")
META_COLUMNS = ("run", "point", "replication", "seed", "step", "status", "error", "elapsed_s")
_ARROW_KIND = {"float": pa.float64(), "int": pa.int64(), "bool": pa.bool_(), "choice": pa.string()}


@dataclass(frozen=True)
class RunResult:
    """What a worker returns for one run: the outcomes by day, or the error it raised."""

    run: int
    status: str  # "ok" or "error"
    error: str | None
    elapsed_s: float  # wall-clock seconds in the worker
    steps: np.ndarray  # the recorded days
    values: dict[str, np.ndarray]  # outcome -> one value per recorded day


@dataclass
class RunFiles:
    """The run files of a results directory, checked by reading them."""

    ok: set[int] = field(default_factory=set)
    failed: set[int] = field(default_factory=set)
    unreadable: dict[Path, str] = field(default_factory=dict)  # file -> why

    @property
    def done(self) -> set[int]:
        return self.ok | self.failed


def result_schema(plan_or_manifest: SweepPlan | Mapping[str, Any]) -> pa.Schema:
    """Columns of every result file: run metadata, parameters, outcomes."""
    if isinstance(plan_or_manifest, SweepPlan):
        factors = [(f.path, f.kind) for f in plan_or_manifest.factors]
        outcomes = plan_or_manifest.outcomes
    else:
        factors = [(f["path"], f["kind"]) for f in plan_or_manifest["design"]["factors"]]
        outcomes = plan_or_manifest["outcomes"]
    return pa.schema(
        [
            ("run", pa.int64()),
            ("point", pa.int64()),
            ("replication", pa.int64()),
            ("seed", pa.int64()),
            *((path, _ARROW_KIND[kind]) for path, kind in factors),
            ("step", pa.int64()),
            *((name, pa.float64()) for name in outcomes),
            ("status", pa.string()),
            ("error", pa.string()),
            ("elapsed_s", pa.float64()),
        ]
    )


class SweepStore:
    """Reads and writes one results directory."""

    def __init__(self, root: Path, manifest: Mapping[str, Any]) -> None:
        self.root = Path(root)
        self.manifest = dict(manifest)
        self.runs_dir = self.root / RUNS
        self.schema = result_schema(self.manifest)
        self.parameters = [f["path"] for f in self.manifest["design"]["factors"]]
        self.points = self.manifest["design"]["points"]

    # ------------------------------------------------------------------ opening
    @classmethod
    def create(
        cls, root: Path, plan: SweepPlan, resume: bool = False, check_only: bool = False
    ) -> SweepStore:
        """Open DIR for ``plan``: new, or (with ``resume``) one that holds the same sweep.

        Refuses, with the reason and without touching DIR, a directory that holds
        another sweep, other files, or cannot be written. ``check_only`` makes the
        checks and writes nothing (DIR may be created, empty).
        """
        root = Path(root)
        manifest = manifest_data(plan)
        where = f"--out {root}"
        if root.exists() and not root.is_dir():
            raise SweepError(f"{where}: exists and is not a directory")
        existing = root / MANIFEST
        if existing.is_file():
            old = read_manifest(root)
            if not resume:
                done = len(list_done(root / RUNS))
                raise SweepError(
                    f"{where}: already holds sweep '{old.get('name')}' ({done} of "
                    f"{len(old['runs']['rows'])} runs done); add --resume to continue it, "
                    "or choose another --out"
                )
            check_same_sweep(old, manifest, where)
            store = cls(root, old)
            check_writable(store.runs_dir, where)
            if not check_only:
                store.remove_partial_files()
            return store
        if root.is_dir() and not _only_own_leftovers(root):
            raise SweepError(
                f"{where}: is not empty and holds no sweep ({MANIFEST} missing); "
                "choose an empty or new directory"
            )
        check_writable(root, where)
        from sim.resources import check_disk, design_disk

        sampled = plan.sample is not None
        need = design_disk(plan.n_runs, len(plan.points), len(plan.factors), sampled)
        check_disk(root, where, need)
        store = cls(root, manifest)
        if check_only:
            return store
        # Left by a sweep killed before its manifest was written: nothing ran yet.
        for name in (DESIGN, f".{DESIGN}.tmp", f".{MANIFEST}.tmp"):
            (root / name).unlink(missing_ok=True)
        store.runs_dir.mkdir(exist_ok=True)
        hint = "nothing has run yet: free some space or choose another --out, and run again"
        store._write_design(plan, hint)
        text = manifest_json(manifest)
        atomic_write(root / MANIFEST, text.encode(), hint)
        return store

    @classmethod
    def open(cls, root: Path) -> SweepStore:
        """Open an existing results directory for reading."""
        return cls(Path(root), read_manifest(Path(root)))

    # ------------------------------------------------------------------ runs
    def done_runs(self) -> set[int]:
        """Runs with a result file (finished, ok or failed; not checked: see :meth:`scan`)."""
        return list_done(self.runs_dir)

    def failed_runs(self) -> set[int]:
        """Runs recorded as failed (an error, or a worker that died after its retries)."""
        return self.scan().failed

    def scan(self) -> RunFiles:
        """Read every run file's run and status columns: ok, failed, or unreadable (why).

        A file is unreadable if it is not Parquet (truncated, zeros after a crash),
        has other columns than this sweep's, no rows, or rows of another run.
        """
        found = RunFiles()
        paths = (
            [
                (Path(entry.path), int(m.group(1)))
                for entry in os.scandir(self.runs_dir)
                if (m := RUN_FILE.match(entry.name))
            ]
            if self.runs_dir.is_dir()
            else []
        )
        if len(paths) > 64:  # pyarrow reads outside the GIL
            with ThreadPoolExecutor(4) as pool:
                checked = list(pool.map(lambda item: self._check_file(*item), paths))
        else:
            checked = [self._check_file(*item) for item in paths]
        for (path, run), (status, why) in zip(paths, checked, strict=True):
            if why is not None:
                found.unreadable[path] = why
            elif status == "ok":
                found.ok.add(run)
            else:
                found.failed.add(run)
        return found

    def _check_file(self, path: Path, run: int) -> tuple[str | None, str | None]:
        try:
            parquet = pq.ParquetFile(path)
            schema = parquet.schema_arrow.remove_metadata()
            if not schema.equals(self.schema):
                return None, "its columns are not this sweep's"
            if parquet.metadata.num_rows < 1:
                return None, "it has no rows"
            table = parquet.read(columns=["run", "status"])
        except (OSError, ValueError, pa.ArrowException) as exc:
            return None, one_line(exc)
        if set(table.column("run").to_pylist()) != {run}:
            return None, "its rows belong to another run"
        statuses = set(table.column("status").to_pylist())
        if not statuses <= {"ok", "error"}:
            return None, f"unknown status {sorted(map(str, statuses))}"
        return ("ok" if statuses == {"ok"} else "error"), None

    def set_aside(self, unreadable: Iterable[Path]) -> list[Path]:
        """Move unreadable run files to DIR/unreadable/ (kept to look at; they run again)."""
        moved = []
        for path in unreadable:
            target = self.root / UNREADABLE / Path(path).name
            target.parent.mkdir(exist_ok=True)
            os.replace(path, target)
            moved.append(target)
        if moved:
            fsync_dir(self.runs_dir)
        return moved

    def remove_partial_files(self) -> None:
        """Delete temporary files left by a sweep that was killed while writing."""
        for path in self.runs_dir.glob(".run-*.tmp"):
            path.unlink(missing_ok=True)

    def write_result(self, run: Run, result: RunResult) -> Path:
        """Write one run's rows atomically and durably (temporary name, fsync, rename).

        Raises :class:`~sim.sweep.durable.StoreWriteError` naming the file if it cannot
        be written (disk full): the files written before stay complete.
        """
        n = len(result.steps) if result.status == "ok" else 1
        columns: dict[str, Any] = {
            "run": np.full(n, run.run, np.int64),
            "point": np.full(n, run.point, np.int64),
            "replication": np.full(n, run.replication, np.int64),
            "seed": np.full(n, run.seed, np.int64),
        }
        for path, value in zip(self.parameters, self.points[run.point], strict=True):
            columns[path] = [value] * n
        if result.status == "ok":
            columns["step"] = np.asarray(result.steps, np.int64)
            for name in self.manifest["outcomes"]:
                columns[name] = np.asarray(result.values[name], np.float64)
        else:
            columns["step"] = pa.nulls(1, pa.int64())
            for name in self.manifest["outcomes"]:
                columns[name] = pa.nulls(1, pa.float64())
        columns["status"] = [result.status] * n
        columns["error"] = [result.error] * n
        columns["elapsed_s"] = np.full(n, result.elapsed_s, np.float64)
        table = pa.table(columns, schema=self.schema)
        path = self.runs_dir / f"run-{run.run:08d}.parquet"
        atomic_write(path, parquet_bytes(table))
        return path

    # ------------------------------------------------------------------ reading
    def dataset(self) -> ds.Dataset:
        """All result files as one pyarrow dataset (read lazily, file by file)."""
        files = sorted(str(p) for p in self.runs_dir.glob("run-*.parquet"))
        return ds.dataset(files, schema=self.schema, format="parquet")

    def final_rows(
        self,
        columns: Iterable[str] | None = None,
        unreadable: dict[Path, str] | None = None,
    ) -> pa.Table:
        """One row per recorded run: its last day (ok) or its error (failed).

        Run files that cannot be read are left out and named in ``unreadable`` (file
        -> why) if it is given; otherwise the first one raises :class:`SweepError`.
        """
        steps = int(self.manifest["steps"])
        wanted = list(columns) if columns is not None else self.schema.names
        condition = (ds.field("step") == steps) | (ds.field("status") == "error")
        try:
            return self.dataset().to_table(columns=wanted, filter=condition)
        except (OSError, ValueError, pa.ArrowException):
            pass  # a damaged file: read them one by one to find it
        bad: dict[Path, str] = {} if unreadable is None else unreadable
        tables = []
        for path in sorted(self.runs_dir.glob("run-*.parquet")):
            try:
                table = pq.ParquetFile(path).read(columns=sorted({*wanted, "step", "status"}))
                table = table.cast(pa.schema([self.schema.field(n) for n in table.column_names]))
            except (OSError, ValueError, pa.ArrowException) as exc:
                bad[path] = one_line(exc)
                if unreadable is None:
                    raise SweepError(unreadable_message(path, bad[path], self)) from None
                continue
            keep = pc.or_kleene(pc.equal(table["step"], steps), pc.equal(table["status"], "error"))
            tables.append(table.filter(keep).select(wanted))
        if not tables:
            return self.schema.empty_table().select(wanted)
        return pa.concat_tables(tables)

    def _write_design(self, plan: SweepPlan, hint: str) -> None:
        runs = list(plan.runs())
        columns: dict[str, Any] = {
            "run": [r.run for r in runs],
            "point": [r.point for r in runs],
            "replication": [r.replication for r in runs],
            "seed": [r.seed for r in runs],
        }
        for i, factor in enumerate(plan.factors):
            columns[factor.path] = [plan.points[r.point][i] for r in runs]
        schema = pa.schema([f for f in result_schema(plan) if f.name in columns])
        table = pa.table(columns, schema=schema)
        atomic_write(self.root / DESIGN, parquet_bytes(table), hint)


def list_done(runs_dir: Path) -> set[int]:
    if not runs_dir.is_dir():
        return set()
    return {int(m.group(1)) for p in os.scandir(runs_dir) if (m := RUN_FILE.match(p.name))}


def check_writable(folder: Path, where: str) -> None:
    ensure_writable_dir(folder, where, SweepError)


def _only_own_leftovers(root: Path) -> bool:
    """True if ``root`` holds nothing, or only what a sweep killed before its manifest left."""
    own = {RUNS, DESIGN, f".{DESIGN}.tmp", f".{MANIFEST}.tmp"}
    for entry in root.iterdir():
        if entry.name not in own:
            return False
        if entry.name == RUNS and (not entry.is_dir() or any(entry.iterdir())):
            return False
    return True


def unreadable_message(path: Path, why: str, store: SweepStore) -> str:
    """One line: the damaged run file, why, and the command that runs it again."""
    return (
        f"{path}: unreadable run file ({why}); `{resume_command(store)}` sets it aside "
        "and runs it again"
    )


def resume_command(store: SweepStore) -> str:
    """The ``guanxi sweep ... --resume`` command that continues the sweep in ``store``."""
    source = store.manifest.get("sweep_file") or "SWEEP"
    sets = "".join(f" --set {item}" for item in store.manifest.get("overrides", []))
    option = (store.manifest.get("posterior") or {}).get("option")
    sets += f" --posterior {option}" if option else ""
    return f"guanxi sweep {source} --out {store.root}{sets} --resume"
