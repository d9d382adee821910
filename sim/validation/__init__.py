"""Validation against the studies and published figures, ``guanxi validate``.

Each target is an experiment on the same :class:`sim.model.MarketModel` that every
other front end uses, measured as the study measured it, with a statistic, a
confidence interval or p-value and a verdict (see ``docs/model.md``):

* :mod:`sim.validation.users`: V1-V4, simulated users surveyed (Zhang 2025);
* :mod:`sim.validation.firms`: V5-V6, simulated firms surveyed (Luo 2024);
* :mod:`sim.validation.bass`: V7 Bass verification; :mod:`sim.validation.goldenberg`: V8 Goldenberg et al. 2001;
* :mod:`sim.validation.outputs` (when present): O1-O16, output validation against
  published figures;
* :mod:`sim.validation.robustness`: the targets under +/-20% parameter changes, at
  two user counts;
* :mod:`sim.validation.report`: console table, Markdown report, charts;
* :mod:`sim.validation.cli`: the ``guanxi validate`` command;
* :mod:`sim.validation.docs`: regenerates the tables of ``docs/model.md``.

Every target is one **kind of evidence** (:data:`KINDS`, :data:`TARGET_KINDS`; the
reasons in :data:`KIND_BASIS`), and the reports group the targets by kind:

* *input check*: the presets, the culture equation or a coefficient written into a
  behavioural equation reproduce a study's gap or direction; the check shows that the
  input survives the simulation and the survey, not that the model explains it;
* *verification*: the model reproduces a known analytical or published model (Bass
  docking, the Goldenberg et al. replication);
* *mechanism*: a study's direction that emerges where no equation writes it in;
* *output validation*: a simulated figure inside the band of published figures.

Importing this package is light (the ``guanxi`` command line registers
``guanxi validate`` from it before parsing arguments): :class:`Settings` and
:class:`TargetResult` are loaded from :mod:`sim.validation.common`, with the model,
on first use; optional experiment modules are looked up, not imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib.util import find_spec
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.validation.common import Settings, TargetResult

    Runner = Callable[[Settings, tuple[str, ...]], list[TargetResult]]

#: The kinds of evidence, in the order the reports show them.
KINDS = ("input check", "verification", "mechanism", "output validation")

#: The study targets, always present.
STUDY_TARGETS = ("V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8")
#: Output validation against published figures: ``sim.validation.outputs.run_outputs``.
OUTPUT_TARGETS = tuple(f"O{i}" for i in range(1, 17))
#: Optional experiment modules: module -> (its targets, the name of its runner, which
#: is called as ``runner(settings)``). A group whose module is missing is skipped.
OPTIONAL_GROUPS = {"sim.validation.outputs": (OUTPUT_TARGETS, "run_outputs")}

#: The kind of evidence of each study target (targets Ox are output validation).
TARGET_KINDS = {
    "V1": "input check",
    "V2": "input check",
    "V3": "input check",
    "V4": "input check",
    "V5": "mechanism",
    "V6": "input check",
    "V7": "verification",
    "V8": "verification",
}

#: Why each study target is the kind it is, read from the model's code.
KIND_BASIS = {
    "V1": "the market's SNS dependency mean is an input (preset or culture equation); "
    "the survey recovers it",
    "V2": "consuming, engaging and following rise with dependency and the relational motive "
    "through positive coefficients written into their probabilities "
    "(users.consume_per_dependency, engage_per_dependency, engage_per_relational_motive, "
    "follow_per_dependency); the markets' gaps in those inputs give the direction",
    "V3": "the direction is a balance of written-in coefficients: moving content share from "
    "relational to transactional (informational + promotional) raises the follow probability "
    "where users.follow_per_transactional x transactional motive exceeds follow_per_relational "
    "x relational motive, less the unfollowing that promotional posts add "
    "(users.unfollow_per_promotion) and the fit the mix gives each user's motives",
    "V4": "the relational-motive gap is an input (preset or culture equation); both indirect "
    "effects are those input gaps times the written-in coefficients engage_per_dependency "
    "and engage_per_relational_motive",
    "V5": "no equation writes performance as a function of CRM capability: capability acts on "
    "users (targeting, answering, conversion, retention) and the performance gain emerges "
    "from their behaviour in competition; the negative control (every CRM effect on users "
    "switched off) shows the gain depends on that feedback",
    "V6": "the moderation is written into the capability equation: learning from social "
    "media use is multiplied by 1 + guanxi.crm_acceleration x guanxi + partners' know-how; "
    "the check tests that it shows in capability levels, after the capability stock's "
    "decay and partners' know-how, as the interaction a survey measures, at two horizons",
    "V7": "docking: the fully mixed model against the Bass (1969) solution",
    "V8": "replication of Goldenberg, Libai & Muller (2001)'s cellular-automaton analysis",
}


def kind_of(target: str) -> str:
    """The kind of evidence of ``target`` (Ox targets: output validation)."""
    if target in TARGET_KINDS:
        return TARGET_KINDS[target]
    if target.startswith("O"):
        return "output validation"
    return "mechanism"


def _available(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _optional_targets() -> tuple[str, ...]:
    return tuple(
        target
        for module, (targets, _) in OPTIONAL_GROUPS.items()
        if _available(module)
        for target in targets
    )


#: Every target that can be run: the study targets, then the optional groups present.
TARGETS = STUDY_TARGETS + _optional_targets()

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


def _optional_runner(module: str, name: str) -> Runner:
    def run(settings: Settings, wanted: tuple[str, ...]) -> list[TargetResult]:
        import importlib

        return getattr(importlib.import_module(module), name)(settings)

    return run


def _groups() -> list[tuple[tuple[str, ...], Runner]]:
    from sim.validation.bass import run_bass
    from sim.validation.firms import run_firms
    from sim.validation.goldenberg import run_goldenberg
    from sim.validation.users import run_users

    groups: list[tuple[tuple[str, ...], Runner]] = [
        (("V1", "V2", "V3", "V4"), lambda settings, wanted: run_users(settings)),
        (("V5", "V6"), lambda settings, wanted: run_firms(settings, wanted)),
        (("V7",), lambda settings, wanted: run_bass(settings)),
        (("V8",), lambda settings, wanted: run_goldenberg(settings)),
    ]
    for module, (targets, name) in OPTIONAL_GROUPS.items():
        if _available(module):
            groups.append((targets, _optional_runner(module, name)))
    return groups


def validate(
    settings: Settings | None = None,
    targets: Iterable[str] = TARGETS,
    on_group: Callable[[list[TargetResult]], None] | None = None,
) -> list[TargetResult]:
    """Run the experiments behind ``targets`` and return their results in order.

    Targets that share an experiment (V1-V4, V5-V6, the output targets) are computed
    together. ``on_group`` is called with each experiment's results as soon as they
    exist. Every result carries its kind of evidence (:func:`kind_of`).
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
            for result in done:
                result.kind = result.kind or kind_of(result.target)
            results.extend(done)
            if on_group is not None:
                on_group(done)
    return results


__all__ = [
    "KINDS",
    "KIND_BASIS",
    "TARGETS",
    "TARGET_KINDS",
    "Settings",
    "TargetResult",
    "kind_of",
    "validate",
]
