"""Record the Parquet outputs that the model must keep producing, bit for bit.

``python -m tests.golden.record`` runs every case of :data:`CASES` (each bundled
scenario, plus the fully mixed and guanxi-off variants of the baseline) with
:func:`sim.runner.run_model` and writes its Parquet files to
``tests/golden/<case>/``, with the pyarrow version in ``tests/golden/manifest.json``.
``tests/test_golden_outputs.py`` compares new runs against them. Record again only
when a change is meant to change the model's outputs, and say so in the commit.
"""

from __future__ import annotations

import json
import shutil
from importlib.metadata import version
from pathlib import Path

from sim.outputs import write_outputs
from sim.runner import run_model
from sim.scenario import load_scenario

HERE = Path(__file__).resolve().parent
PARQUET = (
    "model.parquet",
    "firms.parquet",
    "firm_market.parquet",
    "guanxi_edges.parquet",
    "guanxi_events.parquet",
)
# case -> (bundled scenario, overrides), small and short enough for the test suite.
SETTINGS = {"model.n_users": 2000, "model.steps": 120, "model.edge_snapshot_interval": 10}
CASES: dict[str, tuple[str, dict]] = {
    "baseline": ("baseline", {}),
    "china_entry": ("china_entry", {}),
    "guanxi_partnerships": ("guanxi_partnerships", {}),
    "social_commerce": ("social_commerce", {}),
    "baseline_fully_mixed": ("baseline", {"network.structure": "fully_mixed"}),
    "baseline_no_guanxi": ("baseline", {"guanxi.enabled": False}),
    # Enough users and days for ties to form, be evaluated and severed.
    "guanxi_partnerships_ties": (
        "guanxi_partnerships",
        {"model.n_users": 10_000, "model.steps": 200},
    ),
}


def run_case(case: str, out_dir: Path) -> list[Path]:
    """Run one case and write its outputs (Parquet and summary.json) to ``out_dir``."""
    name, overrides = CASES[case]
    spec = load_scenario(name, {**SETTINGS, **overrides})
    model = run_model(spec)
    written = write_outputs(model, out_dir, spec.model.seed)
    return [path for path in written if path.name in PARQUET]


def main() -> None:
    for case in CASES:
        target = HERE / case
        shutil.rmtree(target, ignore_errors=True)
        scratch = HERE / f".{case}.tmp"
        shutil.rmtree(scratch, ignore_errors=True)
        run_case(case, scratch)
        target.mkdir()
        for name in PARQUET:
            shutil.move(scratch / name, target / name)
        shutil.rmtree(scratch)
        print(f"recorded {case}")
    manifest = {"pyarrow": version("pyarrow"), "pandas": version("pandas")}
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
