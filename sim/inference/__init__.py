"""Calibration to a brand's own analytics: ABC-SMC over scenario parameters (`guanxi calibrate`).

* :mod:`sim.inference.spec`: the calibration file (TOML, pydantic) and its checks;
* :mod:`sim.inference.priors`: priors by dotted path, truncated to the schema's bounds;
* :mod:`sim.inference.observed`: the analytics export, the model's metrics in real
  units, and both as summary statistics per market, metric and period;
* :mod:`sim.inference.abc`: the ABC-SMC run (pyabc) on the engines of sweeps, with
  particle seeds from :mod:`sim.seeds`; its history in SQLite;
* :mod:`sim.inference.outputs`: posterior samples, diagnostics, charts and report;
* :mod:`sim.inference.posterior`: a finished calibration read back, for what-ifs
  (``guanxi compare --posterior DIR``);
* :mod:`sim.inference.cli`: the ``calibrate`` command.

Not to be confused with :mod:`sim.calibration`, which fixes the defaults to
published figures once, by hand.
"""
