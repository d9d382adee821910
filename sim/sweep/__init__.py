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
"""

from sim.sweep.spec import SweepError, SweepPlan, load_sweep

__all__ = ["SweepError", "SweepPlan", "load_sweep"]
