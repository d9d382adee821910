"""Validation against the studies: targets V1-V8, ``guanxi validate``.

Each target is an experiment on the same :class:`sim.model.MarketModel` that every
other front end uses, measured as the study measured it, with a statistic, a
confidence interval or p-value and a verdict (see ``docs/model.md``):

* :mod:`sim.validation.users`: V1-V4, simulated users surveyed (Zhang 2025);
* :mod:`sim.validation.firms`: V5-V6, simulated firms surveyed (Luo 2024);
* :mod:`sim.validation.bass`: V7 Bass verification; :mod:`sim.validation.goldenberg`: V8 Goldenberg et al. 2001;
* :mod:`sim.validation.robustness`: the targets under +/-20% parameter changes;
* :mod:`sim.validation.report`: console table, Markdown report, charts;
* :mod:`sim.validation.cli`: the ``guanxi validate`` command;
* :mod:`sim.validation.docs`: regenerates the tables of ``docs/model.md``.

Importing this package is light (the ``guanxi`` command line registers
``guanxi validate`` from it before parsing arguments): :class:`Settings` and
:class:`TargetResult` are loaded from :mod:`sim.validation.common`, with the model,
on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.validation.common import Settings, TargetResult

    Runner = Callable[[Settings, tuple[str, ...]], list[TargetResult]]

TARGETS = ("V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8")

# Re-exported from sim.validation.common, imported when first asked for.
_LAZY = {"Settings": "sim.validation.common", "TargetResult": "sim.validation.common"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


def _groups() -> list[tuple[tuple[str, ...], Runner]]:
    from sim.validation.bass import run_bass
    from sim.validation.firms import run_firms
    from sim.validation.goldenberg import run_goldenberg
    from sim.validation.users import run_users

    return [
        (("V1", "V2", "V3", "V4"), lambda settings, wanted: run_users(settings)),
        (("V5", "V6"), lambda settings, wanted: run_firms(settings, wanted)),
        (("V7",), lambda settings, wanted: run_bass(settings)),
        (("V8",), lambda settings, wanted: run_goldenberg(settings)),
    ]


def validate(
    settings: Settings | None = None,
    targets: Iterable[str] = TARGETS,
    on_group: Callable[[list[TargetResult]], None] | None = None,
) -> list[TargetResult]:
    """Run the experiments behind ``targets`` (V1-V8) and return their results in order.

    Targets that share an experiment (V1-V4, V5-V6) are computed together.
    ``on_group`` is called with each experiment's results as soon as they exist.
    """
    from sim.validation.common import Settings

    settings = settings or Settings()
    wanted = set(targets)
    unknown = wanted - set(TARGETS)
    if unknown:
        from sim.errors import GuanxiError

        raise GuanxiError(
            f"unknown target(s) {', '.join(sorted(unknown))}; allowed: {', '.join(TARGETS)}"
        )
    results: list[TargetResult] = []
    for group, runner in _groups():
        if wanted & set(group):
            asked = tuple(target for target in group if target in wanted)
            done = [result for result in runner(settings, asked) if result.target in wanted]
            results.extend(done)
            if on_group is not None:
                on_group(done)
    return results


__all__ = ["TARGETS", "Settings", "TargetResult", "validate"]
