"""A results directory's manifest: what identifies a sweep, written as ``manifest.json``.

The manifest keeps the sweep file's text, the resolved design (every point's
parameters, every run's point, replication and seed), the base scenario and its
SHA-256 and the package version. Its ``fingerprint`` names each part that must be
the same for ``--resume`` to continue a sweep (:func:`check_same_sweep`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.runner import package_version
from sim.sweep.plan import sha256_json
from sim.sweep.spec import SweepError

if TYPE_CHECKING:
    from sim.sweep.plan import SweepPlan

FORMAT = "guanxi-sweep/1"
MANIFEST = "manifest.json"


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
    posterior = None
    if plan.posterior is not None:
        paths = list(plan.posterior.paths)
        posterior = plan.posterior.manifest_data() | {
            "option": plan.posterior_option,  # --posterior DIR, or None: sweep.posterior
            "draws": {  # replication r's parameter values (before the design point's)
                "columns": ["replication", *paths],
                "rows": [[r, *(d[p] for p in paths)] for r, d in enumerate(plan.posterior_draws)],
            },
        }
    parts["posterior"] = None if posterior is None else posterior["posterior_sha256"]
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
        "posterior": posterior,
        "outcomes": list(plan.outcomes),
        "base_scenario_sha256": plan.base_hash(),
        "base_scenario": plan.base_data(),
        "design": design,
        "runs": {"columns": ["run", "point", "replication", "seed"], "rows": runs},
        "fingerprint": parts,
    }


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


def check_same_sweep(old: Mapping[str, Any], new: Mapping[str, Any], where: str) -> None:
    """Refuse, in one line, to resume manifest ``old`` with another sweep ``new``."""
    old_parts, new_parts = old.get("fingerprint", {}), new["fingerprint"]
    for part, value in new_parts.items():
        if old_parts.get(part) != value:
            was, now = str(old_parts.get(part))[:12], str(value)[:12]
            same = "--posterior" if part == "posterior" else "--set"
            raise SweepError(
                f"{where}: resume refused: it holds a different sweep: the {part} differs "
                f"({was} there, {now} here); use the same sweep file and {same}, or another "
                "--out"
            )


def manifest_json(manifest: Mapping[str, Any]) -> str:
    """The manifest as JSON: indented, but each row of a table on one line.

    (``json.dumps(indent=1)`` puts every number of every row on a line of its own:
    a manifest of a million runs took 571 MB.)
    """

    def dump(value: Any, depth: int) -> str:
        pad, inner = " " * depth, " " * (depth + 1)
        if isinstance(value, dict) and value:
            items = (f"{inner}{json.dumps(k)}: {dump(v, depth + 1)}" for k, v in value.items())
            return "{\n" + ",\n".join(items) + f"\n{pad}}}"
        if isinstance(value, list) and value and not all(_is_scalar(v) for v in value):
            rows = (f"{inner}{dump(v, depth + 1)}" for v in value)
            return "[\n" + ",\n".join(rows) + f"\n{pad}]"
        return json.dumps(value, separators=(",", ":") if isinstance(value, list) else None)

    return dump(dict(manifest), 0) + "\n"


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)
