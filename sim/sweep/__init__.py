"""Batch parameter sweeps: many runs of one scenario, on one machine or a Dask cluster.

* :mod:`sim.sweep.spec`: the sweep-file schema and :func:`load_sweep`, which resolves a
  sweep file into a :class:`SweepPlan` (base scenario, factors, design, runs and seeds);
* :mod:`sim.sweep.design`: full factorial grids and the SALib samplers (Latin
  hypercube, Sobol/Saltelli, Morris);
* :mod:`sim.sweep.outcomes`: what a run records (the focal firm's outcomes);
* :mod:`sim.sweep.engines`: local worker processes or Dask, behind
  :class:`concurrent.futures.Executor`;
* :mod:`sim.sweep.store` and :mod:`sim.sweep.run`: the results directory (manifest,
  one Parquet file per run, written atomically) and the sweep loop with resume;
* :mod:`sim.sweep.report` and :mod:`sim.sweep.sensitivity`: tables, charts and
  SALib indices from a results directory;
* :mod:`sim.sweep.cli`: the ``guanxi sweep``, ``sweep-report`` and ``sensitivity``
  commands.

Importing this package is light (the ``guanxi`` command line registers the sweep
commands from it before parsing arguments): the names below are loaded from
:mod:`sim.sweep.spec` (numpy, pydantic, the scenario schema) on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.sweep.spec import SweepError, SweepPlan, load_sweep

__all__ = ["SweepError", "SweepPlan", "load_sweep"]


def __getattr__(name: str):
    if name in __all__:
        import importlib

        value = getattr(importlib.import_module("sim.sweep.spec"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
