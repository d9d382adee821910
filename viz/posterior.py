"""A calibration posterior chosen in the UI, as a :class:`viz.hooks.PosteriorSource`.

``guanxi calibrate --out DIR`` writes ``DIR/posterior.parquet``; this module only
finds such folders and opens them with :func:`sim.inference.posterior.load_posterior`
(the one reader of posteriors), so the UI reads data only (a Parquet table and a
JSON file), never code. Every refusal is one line naming the folder and what is
wrong. Draws are those of ``guanxi compare --posterior``: replication r draws one
particle by weight with the generator of key ``("posterior", r)`` under the
comparison's base seed, so the UI and the CLI give the same numbers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.errors import GuanxiError
from sim.inference.posterior import POSTERIOR_FILE, Posterior, check_paths, load_posterior
from sim.inference.spec import CalibrationError
from viz.labels import subject

#: Where the UI looks for calibration and optimisation results (``guanxi ui --data``).
DATA_ENV = "GUANXI_UI_DATA"
DEFAULT_DATA = "runs"
MAX_PATH_CHARS = 1000
MAX_LISTED = 50


def data_folder() -> Path:
    """The folder of results the UI lists (``$GUANXI_UI_DATA``, else ``runs``)."""
    return Path(os.environ.get(DATA_ENV) or DEFAULT_DATA)


def result_folders(folder: Path, marker: str, depth: int = 2) -> list[Path]:
    """Folders under ``folder`` (itself and ``depth`` levels down) holding ``marker``,
    newest first, at most :data:`MAX_LISTED`."""
    found: list[Path] = []
    if not folder.is_dir():
        return found
    level = [folder]
    for _ in range(depth + 1):
        following = []
        for directory in level:
            try:
                if (directory / marker).is_file():
                    found.append(directory)
                following.extend(
                    sorted(p for p in directory.iterdir() if p.is_dir() and not p.is_symlink())
                )
            except OSError:
                continue
        level = following
    found.sort(key=lambda p: (p / marker).stat().st_mtime, reverse=True)
    return found[:MAX_LISTED]


def checked_folder(text: str, what: str) -> Path:
    """A typed folder path, or one GuanxiError line (empty, too long, not a folder)."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise GuanxiError(f"{what}: type a folder, or choose one from the list")
    if len(cleaned) > MAX_PATH_CHARS or "\x00" in cleaned:
        raise GuanxiError(f"{what}: not a folder path ({len(cleaned):,} characters)")
    folder = Path(cleaned).expanduser()
    if not folder.is_dir():
        raise GuanxiError(f"{what} {folder}: not a folder")
    return folder


class CalibrationPosterior:
    """A loaded ``posterior.parquet``: :class:`viz.hooks.PosteriorSource`'s shape."""

    def __init__(self, posterior: Posterior) -> None:
        self.posterior = posterior
        self.name = str(posterior.info.get("name") or posterior.directory.name)

    @property
    def directory(self) -> Path:
        return self.posterior.directory

    @property
    def paths(self) -> tuple[str, ...]:
        return self.posterior.paths

    @property
    def scenario(self) -> str:
        """The scenario it was calibrated on (by name)."""
        return self.posterior.scenario

    @property
    def particles(self) -> int:
        return len(self.posterior.samples)

    def draws(self, count: int, seed: int) -> list[dict[str, float]]:
        """``count`` draws for base seed ``seed`` (``guanxi compare --posterior``'s)."""
        return self.posterior.draws(seed, count)

    def describe(self, focal: str) -> str:
        """In business words: which calibration, how many particles, which parameters."""
        names = ", ".join(subject(path, focal) for path in self.paths)
        return (
            f"Calibration '{self.name}' ({self.particles:,} particles, scenario "
            f"{self.posterior.scenario}): {names}"
        )

    # A comparison's settings hold the posterior: the same folder and particles are
    # the same posterior (a result is shown only under its own settings).
    def _identity(self) -> tuple[str, int, tuple[str, ...]]:
        return (str(self.directory.resolve()), self.particles, self.paths)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CalibrationPosterior) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def __repr__(self) -> str:
        return f"CalibrationPosterior({str(self.directory)!r}, {self.particles} particles)"


def open_posterior(text: str, scenario_data: Mapping[str, Any]) -> CalibrationPosterior:
    """Open the posterior in folder ``text`` for a scenario (its data as a dict);
    one GuanxiError line if the folder is not a finished calibration or names a
    parameter the scenario does not have."""
    folder = checked_folder(text, "Posterior folder")
    if not (folder / POSTERIOR_FILE).is_file():
        raise GuanxiError(
            f"Posterior folder {folder}: no {POSTERIOR_FILE} (a finished `guanxi calibrate "
            "--out` folder holds one)"
        )
    try:
        posterior = load_posterior(folder, where="Posterior folder")
        check_paths(posterior, scenario_data, f"Posterior folder {folder}")
    except CalibrationError as exc:
        raise GuanxiError(" ".join(str(exc).split())) from None
    return CalibrationPosterior(posterior)
