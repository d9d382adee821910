"""The one seed scheme: every derived seed comes from numpy's SeedSequence.

A run's model seed is derived from a base seed (``--seed``, a sweep's ``seed``, the
validation seed) and a *key*: the run's stream and indices (replication, design
point). It is the first 63 bits of ``SeedSequence(base_seed, spawn_key=key)``, so
each key gives a statistically independent seed, the same for a given base seed
wherever and in whatever order the runs are done (one worker or many), and more
replications only add seeds. Common random numbers come from giving two variants
the same key (A and B of a comparison; a sweep's replication r at every point).

Key elements are whole numbers or names; a name stands for its CRC-32. In use:

=======================  =========================================================
key                      what
=======================  =========================================================
``(r,)``                 replication r of A and of B (``guanxi compare`` and the UI)
``(0, point, r)``        a sweep's run (:data:`SWEEP_RUNS`)
``(1, r)``               a sweep's run with common random numbers (:data:`SWEEP_COMMON`)
``(2,)``                 a sweep's design sampler: LHS, Sobol, Morris (:data:`SWEEP_DESIGN`)
``(3,)``                 a sweep's sensitivity bootstrap (:data:`SWEEP_ANALYSIS`)
``("<experiment>", r)``  replication r of a validation experiment (V1-V8, robustness)
``("calibrate", g, i)``  model seed of proposal i of generation g - 1 of ``guanxi
                         calibrate``; ``"calibrate-proposal"``: its parameter draw;
                         ``("calibrate-predictive", k)``: posterior-predictive run k
``("posterior", r)``     replication r's posterior draw (``guanxi compare --posterior``;
                         ``guanxi sweep --posterior``: replication r of every point)
=======================  =========================================================

These are the keys each use had before they shared this module, so comparisons,
validation results and sweep directories (which record their seeds and are checked
on ``--resume``) are unchanged. A comparison's ``(2,)`` and ``(3,)`` are also the
keys of a sweep's sampler and bootstrap; the two are never mixed in one analysis.

An optimisation (:mod:`sim.optimise`) names its keys: ``("optimise-search", s, r)``
is replication r in market state s for every candidate of the search (common random
numbers), ``("optimise-robustness", s, r)`` the same in the re-evaluation of its
Pareto set; ``("optimise-search-states",)`` and ``("optimise-robustness-states",)``
draw the market states (with a calibration posterior, ``("optimise-search-posterior",)``
and ``("optimise-robustness-posterior",)`` derive the base seed of its draws, state s
being the posterior's draw s), ``("optimise-sampler", g)`` seeds NSGA-II in generation g
(mod 2^32, numpy's RandomState) and ``("optimise-bootstrap",)`` the bootstrap.
"""

from __future__ import annotations

import zlib

import numpy as np

#: First key element of each use of a sweep seed (see the table above).
SWEEP_RUNS, SWEEP_COMMON, SWEEP_DESIGN, SWEEP_ANALYSIS = 0, 1, 2, 3


def seed_sequence(base_seed: int, *key: int | str) -> np.random.SeedSequence:
    """The SeedSequence of ``key`` under ``base_seed`` (names by their CRC-32)."""
    spawn_key = tuple(zlib.crc32(k.encode()) if isinstance(k, str) else int(k) for k in key)
    return np.random.SeedSequence(base_seed, spawn_key=spawn_key)


def derive_seed(base_seed: int, *key: int | str) -> int:
    """A model seed, 0..2^63-1, for ``key`` under ``base_seed``."""
    state = seed_sequence(base_seed, *key).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))


def derive_seeds(base_seed: int, count: int, *stream: int | str) -> list[int]:
    """The seeds of replications 0..count-1 of ``stream`` (replication r: key (*stream, r))."""
    return [derive_seed(base_seed, *stream, r) for r in range(count)]


def derive_rng(base_seed: int, *key: int | str) -> np.random.Generator:
    """A random generator for ``key`` (samplers, bootstraps)."""
    return np.random.default_rng(seed_sequence(base_seed, *key))
