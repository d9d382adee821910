"""Batch parameter sweeps: many runs of one scenario, on one machine or a Dask cluster.

* :mod:`sim.sweep.spec`: the sweep-file schema and :func:`load_sweep`, which resolves a
  sweep file into a :class:`SweepPlan`; :mod:`sim.sweep.factors`: each varied
  parameter checked against the scenario schema; :mod:`sim.sweep.plan`: the
  resolved plan (base scenario, factors, design, runs and seeds);
* :mod:`sim.sweep.design`: full factorial grids and the SALib samplers (Latin
  hypercube, Sobol/Saltelli, Morris);
* :mod:`sim.sweep.outcomes`: what a run records (the focal firm's outcomes);
* :mod:`sim.sweep.engines`: local worker processes or Dask, behind
  :class:`concurrent.futures.Executor`; :mod:`sim.sweep.workers`: the local process
  pool that replaces dead workers, and the workers' watch on the sweep process;
* :mod:`sim.sweep.store` and :mod:`sim.sweep.run`: the results directory (one
  Parquet file per run; its manifest in :mod:`sim.sweep.manifest`, every file
  written atomically by :mod:`sim.sweep.durable`) and the sweep loop with resume;
* :mod:`sim.sweep.report` and :mod:`sim.sweep.sensitivity`: tables, charts and
  SALib indices from a results directory;
* :mod:`sim.sweep.cli`: the ``guanxi sweep``, ``sweep-report`` and ``sensitivity``
  commands.

Importing this package is light (the ``guanxi`` command line registers the sweep
commands from it before parsing arguments): the names below are loaded from
:mod:`sim.sweep.spec` and :mod:`sim.sweep.plan` (numpy, pydantic, the scenario
schema) on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.sweep.plan import SweepPlan
    from sim.sweep.spec import SweepError, load_sweep

__all__ = ["SweepError", "SweepPlan", "load_sweep"]
#: The module that defines each name.
_MODULES = {
    "SweepError": "sim.sweep.spec",
    "SweepPlan": "sim.sweep.plan",
    "load_sweep": "sim.sweep.spec",
}


def __getattr__(name: str):
    if name in _MODULES:
        import importlib

        value = getattr(importlib.import_module(_MODULES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
