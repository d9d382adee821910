"""Robust strategies: multi-objective optimisation under market uncertainty, and scenario discovery.

* :mod:`sim.optimise.spec`: the optimisation file (levers, limits, goals, uncertainty)
  and :func:`load_optimisation`;
* :mod:`sim.optimise.search`: NSGA-II (optuna, SQLite storage) over the levers, each
  candidate run in sampled market states with common random numbers on the sweeps'
  engines; resumable and reproducible by seed;
* :mod:`sim.optimise.robust`: robustness measures (mean, low percentile, regret),
  bootstrap confidence intervals, dominance within noise, hypervolume;
* :mod:`sim.optimise.report`: the re-evaluation of the Pareto set (winner's curse)
  and its tables and charts;
* :mod:`sim.optimise.discover`: PRIM and CART scenario discovery (EMA Workbench) on
  a sweep's or an optimisation's runs;
* :mod:`sim.optimise.cli`: the ``guanxi optimise`` and ``guanxi discover`` commands.

Importing this package is light: the ``guanxi`` parser registers the commands from
:mod:`sim.optimise.cli`, whose handlers import the rest when they run.
"""
