"""A finished calibration read back: parameter draws for what-ifs over the posterior.

``guanxi compare SCENARIO --posterior DIR``: replication r draws one particle of
``DIR/posterior.parquet`` by weight, with the generator of key ``("posterior", r)``
under the comparison's seed (:mod:`sim.seeds`), and runs A and B with those
parameter values (then each variant's own overrides, which win). A and B share the
draw and the model seed, so B - A is paired; across replications it varies with
the parameters as well as with chance, so its interval includes what the data left
uncertain.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.inference.spec import CalibrationError
from sim.seeds import derive_rng

POSTERIOR_FILE = "posterior.parquet"
NOT_PARAMETERS = ("weight", "distance", "generation")


@dataclass(frozen=True)
class Posterior:
    directory: Path
    samples: pd.DataFrame  # one column per parameter path, and weight
    paths: tuple[str, ...]
    info: dict[str, Any]

    @property
    def scenario(self) -> str:
        return str(self.info.get("scenario", "?"))

    def draw(self, base_seed: int, replication: int) -> dict[str, float]:
        """The parameter values of replication ``replication`` (a particle drawn by weight)."""
        rng = derive_rng(base_seed, "posterior", replication)
        weights = self.samples.weight.to_numpy(float)
        row = int(rng.choice(len(self.samples), p=weights / weights.sum()))
        return {path: float(self.samples[path].iloc[row]) for path in self.paths}

    def draws(self, base_seed: int, reps: int) -> list[dict[str, float]]:
        return [self.draw(base_seed, r) for r in range(reps)]

    def manifest_data(self) -> dict[str, Any]:
        """What a sweep's or an optimisation's manifest records of the posterior.

        ``posterior_sha256`` (of ``posterior.parquet``) identifies it on ``--resume``.
        """
        import hashlib

        digest = hashlib.sha256((self.directory / POSTERIOR_FILE).read_bytes()).hexdigest()
        return {
            "directory": str(self.directory),
            "posterior_sha256": digest,
            "scenario": self.scenario,
            "calibration": str(self.info.get("name", "?")),
            "particles": len(self.samples),
            "paths": list(self.paths),
        }

    def describe(self) -> str:
        return (
            f"parameters drawn from the posterior in {self.directory} ({len(self.samples)} "
            f"particles of calibration '{self.info.get('name', '?')}' on scenario "
            f"'{self.scenario}'): {', '.join(self.paths)}"
        )


def load_posterior(directory: str | Path, where: str = "--posterior") -> Posterior:
    """Read ``DIR/posterior.parquet`` (and ``run.json``); one CalibrationError line if unusable."""
    folder = Path(directory)
    if not folder.is_dir():
        raise CalibrationError(
            f"{where} {folder}: not a directory (a `guanxi calibrate --out` DIR)"
        )
    path = folder / POSTERIOR_FILE
    if not path.is_file():
        raise CalibrationError(
            f"{where} {folder}: no {POSTERIOR_FILE}; finish the calibration first "
            "(guanxi calibrate ... --resume --out DIR)"
        )
    try:
        samples = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise CalibrationError(
            f"{where} {path}: not readable ({' '.join(str(exc).split())[:200]})"
        ) from None
    paths = tuple(c for c in samples.columns if c not in NOT_PARAMETERS)
    if "weight" not in samples.columns or not paths or samples.empty:
        raise CalibrationError(f"{where} {path}: no particles with weights")
    weights = samples.weight.to_numpy(float)
    if not np.all(np.isfinite(weights)) or (weights < 0).any() or weights.sum() <= 0:
        raise CalibrationError(f"{where} {path}: weights are not a distribution")
    try:
        info = json.loads((folder / "run.json").read_text())
    except (OSError, ValueError):
        info = {}
    return Posterior(folder, samples, paths, info)


def check_paths(posterior: Posterior, scenario_data: Mapping[str, Any], where: str) -> None:
    """Refuse a posterior whose parameters the scenario does not have."""
    from sim.parameters import PathError, check_path

    for dotted in posterior.paths:
        try:
            check_path(scenario_data, dotted, 0.0)
        except PathError as exc:
            raise CalibrationError(f"{where}: parameter {dotted}: {exc.reason}") from None


def resolve_posterior(
    in_file: str | None,
    option: str | Path | None,
    folder: Path,
    source: str,
    key: str,
    base,
    error: type[Exception],
) -> Posterior | None:
    """The posterior of a file's ``key`` (relative to ``folder``) or of ``--posterior``.

    For sweeps and optimisations: ``None`` without either; else the posterior, checked
    against the base scenario ``base`` (its parameters are paths of it; calibrated on
    it, by name). Any problem is one ``error`` line.
    """
    if in_file is None and option is None:
        return None
    if in_file is not None and option is not None:
        raise error(f"{source}: {key} and --posterior both given; keep one")
    if in_file is not None:
        directory, where = folder / in_file, f"{source}: {key}"
    else:
        directory, where = Path(option), "--posterior"  # type: ignore[arg-type]
    try:
        posterior = load_posterior(directory, where)
        check_paths(posterior, base.model_dump(mode="json"), f"{where} {directory}")
    except CalibrationError as exc:
        raise error(str(exc)) from None
    if posterior.scenario != base.model.name:
        raise error(
            f"{where} {directory}: calibrated on scenario '{posterior.scenario}', but this "
            f"{key.split('.')[0]} is on '{base.model.name}'; use a posterior of its scenario"
        )
    return posterior


def posterior_pairs(
    base,
    posterior: Posterior,
    a_overrides: Iterable[str],
    b_overrides: Iterable[str],
    base_seed: int,
    reps: int,
) -> list[tuple[Any, Any]]:
    """(A, B) scenarios of each replication: the base at a posterior draw, then --a / --b."""
    from sim.compare import variant

    data = base.model_dump(mode="json")
    check_paths(posterior, data, f"--posterior {posterior.directory}")
    a_overrides, b_overrides = list(a_overrides), list(b_overrides)
    pairs = []
    for r, values in enumerate(posterior.draws(base_seed, reps)):
        drawn = variant(base, values, f"posterior draw {r}")
        pairs.append(
            (variant(drawn, a_overrides, "A (--a)"), variant(drawn, b_overrides, "B (--b)"))
        )
    return pairs
