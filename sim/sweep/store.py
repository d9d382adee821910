"""A sweep's results directory: manifest, design table and one Parquet file per run.

Layout of DIR::

    manifest.json          the sweep file's text, the resolved design (every point's
                           parameters, every run's point, replication and seed), the
                           base scenario and its SHA-256, the package version
    design.parquet         one row per run: run, point, replication, seed, parameters
    runs/run-00000042.parquet
                           one file per finished run (ok or failed), written to a
                           hidden temporary name and renamed, so a file is complete
                           or absent whatever happens to the process

Every result row carries its run, point, replication, seed and parameter values, so
the directory ``runs/`` reads as one table in pandas, polars or DuckDB. A run that is
recorded is never run again by ``--resume``, unless it failed and
``--retry-failed`` asks for it (its file is then replaced); a run that is absent is.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from sim.errors import ensure_writable_dir
from sim.runner import package_version
from sim.sweep.spec import Run, SweepError, SweepPlan, sha256_json

FORMAT = "guanxi-sweep/1"
MANIFEST = "manifest.json"
DESIGN = "design.parquet"
RUNS = "runs"
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


def manifest_data(plan: SweepPlan) -> dict[str, Any]:
    """The manifest of a plan (JSON-ready); ``fingerprint`` identifies the sweep."""
    runs = [[r.run, r.point, r.replication, r.seed] for r in plan.runs()]
    design = {
        "method": plan.method,
        "factors": [f.describe() for f in plan.factors],
        "problem": plan.problem,
        "sample": plan.sample.tolist() if plan.sample is not None else None,
        "second_order": plan.second_order,
        "morris_levels": plan.morris_levels,
        "points": [list(p) for p in plan.points],
    }
    parts = {
        "base scenario": plan.base_hash(),
        "design": sha256_json(design),
        "runs and seeds": sha256_json(runs),
        "steps, record and outcomes": sha256_json([plan.steps, plan.record, list(plan.outcomes)]),
        "package version": package_version(),
    }
    return {
        "format": FORMAT,
        "package": "guanxi-sim",
        "version": package_version(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "name": plan.name,
        "sweep_file": plan.source,
        "sweep_text": plan.text,
        "overrides": list(plan.overrides),
        "sweep": plan.spec.model_dump(mode="json"),
        "steps": plan.steps,
        "replications": plan.replications,
        "seed": plan.seed,
        "record": plan.record,
        "common_random_numbers": plan.common_random_numbers,
        "outcomes": list(plan.outcomes),
        "base_scenario_sha256": plan.base_hash(),
        "base_scenario": plan.base_data(),
        "design": design,
        "runs": {"columns": ["run", "point", "replication", "seed"], "rows": runs},
        "fingerprint": parts,
    }


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
            _check_same_sweep(old, manifest, where)
            store = cls(root, old)
            check_writable(store.runs_dir, where)
            if not check_only:
                store.remove_partial_files()
            return store
        if root.is_dir() and any(root.iterdir()):
            raise SweepError(
                f"{where}: is not empty and holds no sweep ({MANIFEST} missing); "
                "choose an empty or new directory"
            )
        check_writable(root, where)
        store = cls(root, manifest)
        if check_only:
            return store
        store.runs_dir.mkdir(exist_ok=True)
        store._write_design(plan)
        _atomic_write_text(root / MANIFEST, json.dumps(manifest, indent=1) + "\n")
        return store

    @classmethod
    def open(cls, root: Path) -> SweepStore:
        """Open an existing results directory for reading."""
        return cls(Path(root), read_manifest(Path(root)))

    # ------------------------------------------------------------------ runs
    def done_runs(self) -> set[int]:
        """Runs with a result file (finished, ok or failed)."""
        return list_done(self.runs_dir)

    def failed_runs(self) -> set[int]:
        """Runs recorded as failed (an error, or a worker that died after its retries)."""
        if not self.done_runs():
            return set()
        table = self.dataset().to_table(columns=["run"], filter=ds.field("status") != "ok")
        return set(table.column("run").to_pylist())

    def remove_partial_files(self) -> None:
        """Delete temporary files left by a sweep that was killed while writing."""
        for path in self.runs_dir.glob(".run-*.tmp"):
            path.unlink(missing_ok=True)

    def write_result(self, run: Run, result: RunResult) -> Path:
        """Write one run's rows atomically (temporary name, then rename)."""
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
        tmp = self.runs_dir / f".run-{run.run:08d}.parquet.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, path)
        return path

    # ------------------------------------------------------------------ reading
    def dataset(self) -> ds.Dataset:
        """All result files as one pyarrow dataset (read lazily, file by file)."""
        files = sorted(str(p) for p in self.runs_dir.glob("run-*.parquet"))
        return ds.dataset(files, schema=self.schema, format="parquet")

    def final_rows(self, columns: Iterable[str] | None = None) -> pa.Table:
        """One row per recorded run: its last day (ok) or its error (failed)."""
        steps = int(self.manifest["steps"])
        wanted = list(columns) if columns is not None else self.schema.names
        condition = (ds.field("step") == steps) | (ds.field("status") == "error")
        return self.dataset().to_table(columns=wanted, filter=condition)

    def _write_design(self, plan: SweepPlan) -> None:
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
        tmp = self.root / f".{DESIGN}.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, self.root / DESIGN)


def list_done(runs_dir: Path) -> set[int]:
    if not runs_dir.is_dir():
        return set()
    return {int(m.group(1)) for p in os.scandir(runs_dir) if (m := RUN_FILE.match(p.name))}


def read_manifest(root: Path) -> dict[str, Any]:
    """The manifest of a results directory; one-line errors if it is not one."""
    path = Path(root) / MANIFEST
    if not Path(root).is_dir():
        raise SweepError(f"{root}: no such directory; give the --out DIR of a sweep")
    if not path.is_file():
        raise SweepError(f"{root}: holds no sweep results ({MANIFEST} missing)")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SweepError(f"{path}: unreadable manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise SweepError(f"{path}: not a guanxi sweep manifest (expected format {FORMAT})")
    return manifest


def _check_same_sweep(old: Mapping[str, Any], new: Mapping[str, Any], where: str) -> None:
    old_parts, new_parts = old.get("fingerprint", {}), new["fingerprint"]
    for part, value in new_parts.items():
        if old_parts.get(part) != value:
            was, now = str(old_parts.get(part))[:12], str(value)[:12]
            raise SweepError(
                f"{where}: resume refused: it holds a different sweep: the {part} differs "
                f"({was} there, {now} here); use the same sweep file and --set, or another --out"
            )


def check_writable(folder: Path, where: str) -> None:
    ensure_writable_dir(folder, where, SweepError)


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
