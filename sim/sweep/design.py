"""Design points: a full factorial grid, or SALib's Latin hypercube, Sobol and Morris samples.

Each sampler draws in SALib's parameter space from a ``problem`` definition (names,
bounds, distributions); :meth:`Factor.from_salib` turns a coordinate into the
scenario value (rounded for whole-number parameters; discrete levels are equally
likely slices of [0, k)). The raw sample matrix is kept in the manifest, because
SALib's analyses need it (Morris) or its order (Sobol).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from SALib.sample import latin, morris, sobol

if TYPE_CHECKING:
    from sim.sweep.factors import Factor
    from sim.sweep.spec import DesignSection


@dataclass(frozen=True)
class Design:
    """Design points (parameter values in factor order) and, for samplers, SALib's matrix."""

    points: tuple[tuple[Any, ...], ...]
    sample: np.ndarray | None = None
    problem: dict[str, Any] | None = None
    second_order: bool = False
    morris_levels: int = 0


def salib_problem(factors: Sequence[Factor]) -> dict[str, Any]:
    """SALib's problem definition for the factors (names are the dotted paths)."""
    bounds, dists = zip(*(f.salib_bounds() for f in factors), strict=True)
    return {
        "num_vars": len(factors),
        "names": [f.path for f in factors],
        "bounds": [list(b) for b in bounds],
        "dists": list(dists),
    }


def full_factorial(factors: Sequence[Factor]) -> tuple[tuple[Any, ...], ...]:
    """Every combination of the factors' levels; the last factor varies fastest."""
    return tuple(itertools.product(*(f.values or () for f in factors)))


def points_from_sample(factors: Sequence[Factor], sample: np.ndarray) -> tuple[tuple, ...]:
    return tuple(
        tuple(f.from_salib(x) for f, x in zip(factors, row, strict=True)) for row in sample
    )


def build_design(
    factors: Sequence[Factor],
    section: DesignSection,
    rng: np.random.Generator,
    source: str,
    check_size: Callable[[int], None] | None = None,
) -> Design:
    """The design points of ``section.method``; refuses options the method does not use.

    ``check_size(n_points)`` is called once the options are checked and before any
    point is built (a grid of 10^9 points is refused, not allocated).
    """
    from sim.sweep.spec import SweepError

    method = section.method
    where = f"{source}: design"
    check = check_size or (lambda n: None)

    def refuse(option: str, used_by: str) -> None:
        if getattr(section, option) is not None:
            raise SweepError(f"{where}.{option}: not used by method '{method}' (only by {used_by})")

    if method == "grid":
        refuse("samples", "lhs, sobol, morris")
        refuse("second_order", "sobol")
        refuse("levels", "morris")
        check(math.prod(len(f.values or ()) for f in factors))
        return Design(full_factorial(factors))

    if section.samples is None:
        meaning = {"lhs": "points", "sobol": "base samples N", "morris": "trajectories"}[method]
        raise SweepError(f"{where}.samples: method '{method}' needs samples ({meaning})")
    problem = salib_problem(factors)
    n = section.samples
    if method == "lhs":
        refuse("second_order", "sobol")
        refuse("levels", "morris")
        check(n)
        sample = latin.sample(problem, n, seed=rng)
        return Design(points_from_sample(factors, sample), sample, problem)
    if method == "sobol":
        refuse("levels", "morris")
        if n & (n - 1):
            raise SweepError(
                f"{where}.samples: {n} for Saltelli's Sobol design must be a power of 2 "
                f"(e.g. {1 << max(n.bit_length() - 1, 0)} or {1 << n.bit_length()})"
            )
        second = True if section.second_order is None else section.second_order
        if second and len(factors) < 2:
            raise SweepError(f"{where}.second_order: needs at least 2 parameters; set false")
        check(n * (2 * len(factors) + 2 if second else len(factors) + 2))
        sample = sobol.sample(problem, n, calc_second_order=second, seed=rng)
        return Design(points_from_sample(factors, sample), sample, problem, second_order=second)
    # morris
    refuse("second_order", "sobol")
    levels = section.levels or 4
    if levels % 2:
        raise SweepError(f"{where}.levels: {levels} for Morris must be even (e.g. 4)")
    if n < 2:
        raise SweepError(f"{where}.samples: Morris needs at least 2 trajectories")
    check(n * (len(factors) + 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib notes on optimisation we do not use
        sample = morris.sample(problem, n, num_levels=levels, seed=rng)
    return Design(points_from_sample(factors, sample), sample, problem, morris_levels=levels)
