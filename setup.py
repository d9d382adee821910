"""Build hook: the wheel carries the bundled scenarios and sweep files as package data.

They (and the calibration example's observed CSV, ``scenarios/calibration/``) live
in the top-level ``scenarios/`` folder (their one source; a source checkout
and an editable install read them there). Building a wheel copies that folder's
``*.toml`` files into the package as ``sim/scenarios/`` (``sim/scenarios/sweeps/``
for the sweep files), where :func:`sim.scenario._scenario_dir` finds them in an
installed copy. Everything else is configured in pyproject.toml; MANIFEST.in puts
the folder in the sdist.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SOURCE = Path(__file__).resolve().parent / "scenarios"
TARGET = ("sim", "scenarios")


class BuildPyWithScenarios(build_py):
    """``build_py`` that also copies ``scenarios/**/*.toml`` (and the calibration
    example's ``*.csv``) into ``sim/scenarios/``."""

    def _scenario_files(self) -> list[tuple[Path, Path]]:
        if getattr(self, "editable_mode", False):  # an editable install reads scenarios/
            return []
        return [
            (source, Path(self.build_lib, *TARGET, source.relative_to(SOURCE)))
            for source in sorted(SOURCE.rglob("*"))
            if source.suffix in (".toml", ".csv")
        ]

    def run(self) -> None:
        super().run()
        for source, target in self._scenario_files():
            self.mkpath(str(target.parent))
            self.copy_file(str(source), str(target), preserve_mode=False)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        scenarios = [str(target) for _, target in self._scenario_files()]
        return super().get_outputs(include_bytecode) + scenarios


setup(cmdclass={"build_py": BuildPyWithScenarios})
