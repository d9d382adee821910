"""Regenerate the generated sections of ``docs/model.md`` from their sources.

    python -m sim.validation.docs [--results docs/validation/results.json] [--check]

* ``parameters``: every scenario parameter with its default, bounds, unit, meaning
  and source, read from the schema (:mod:`sim.schema`), never copied by hand;
* ``presets``: the market presets (:data:`sim.schema.PRESETS`);
* ``validation``: the validation table, grouped by kind of evidence, from a
  ``results.json`` written by ``guanxi validate --out DIR`` (left as it is when the
  file does not exist; results written before targets had kinds get their kinds
  from :data:`sim.validation.TARGET_KINDS`).

A generated section sits between ``<!-- BEGIN GENERATED: name -->`` and
``<!-- END GENERATED: name -->``; everything else in the file is left alone.
``--check`` writes nothing and exits 1 if the file is out of date.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic_core import PydanticUndefined

from sim.parameters import field_bounds, field_unit, iter_parameters
from sim.scenario import ContentMix, FirmSection, MarketSection, Scenario, StrategySection
from sim.validation.common import Check, TargetResult

ROOT = Path(__file__).resolve().parent.parent.parent
DOC = ROOT / "docs" / "model.md"
RESULTS = ROOT / "docs" / "validation" / "results.json"
# "Zhang 2025", "Rival IQ 2022", "Sultan, Farley & Lehmann 1990": capitalised words, a year.
_CITATION = re.compile(r"(?:[A-Z][A-Za-z]+(?: et al\.)?(?:,| &| and)? )+(?:19|20)\d{2}")
_UNDATED = ("Hofstede",)


def parameter_rows() -> Iterable[tuple[str, Any]]:
    """(dotted name, FieldInfo) for the scalar parameters, lists shown with ``[]``."""
    for name, info in iter_parameters(Scenario):
        if name not in ("markets", "firms"):
            yield name, info
    tables = (
        (MarketSection, "markets[]."),
        (FirmSection, "firms[]."),
        (StrategySection, "firms[].strategies[]."),
    )
    for schema, prefix in tables:
        for name, info in iter_parameters(schema, prefix):
            if name.endswith(".strategies") or "content_mix." in name:
                continue
            yield name, info
    yield from iter_parameters(ContentMix, "firms[].strategies[].content_mix.")


def source_of(help_text: str) -> str:
    """Where a parameter's value comes from, as its help text says."""
    cited = _CITATION.findall(help_text) + [name for name in _UNDATED if name in help_text]
    parts = list(dict.fromkeys(cited))
    if "assumption" in help_text.lower():
        parts.append("assumption")
    return "; ".join(parts) if parts else "scenario input"


def _value(value: Any) -> str:
    if value is PydanticUndefined:
        return "required"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def _bound(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else f"{value:,}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def parameters_table() -> str:
    lines = [
        "| parameter | default | bounds | unit | meaning | source |",
        "|---|---|---|---|---|---|",
    ]
    for name, info in parameter_rows():
        default = info.default
        if default is PydanticUndefined and info.default_factory is not None:
            continue
        lower, upper = field_bounds(info)
        bounds = (
            f"{_bound(lower)} .. {_bound(upper)}" if lower is not None or upper is not None else ""
        )
        help_text = info.description or ""
        lines.append(
            f"| `{name}` | {_cell(_value(default))} | {bounds} | {field_unit(info)} | "
            f"{_cell(help_text)} | {_cell(source_of(help_text))} |"
        )
    return "\n".join(lines)


def presets_table() -> str:
    from sim.scenario import PRESETS

    keys = list(dict.fromkeys(key for preset in PRESETS.values() for key in preset))
    lines = [
        "| parameter | " + " | ".join(PRESETS) + " |",
        "|---|" + "---|" * len(PRESETS),
    ]
    for key in keys:
        values = [_value(preset.get(key, "")) for preset in PRESETS.values()]
        lines.append(f"| `{key}` | " + " | ".join(values) + " |")
    return "\n".join(lines)


def validation_table(results_path: Path) -> str | None:
    """The validation table from a results.json, or None if there is none."""
    if not results_path.exists():
        return None
    from sim.validation.report import markdown_table

    payload = json.loads(results_path.read_text())
    results = []
    for target in payload["targets"]:
        checks = [Check(**check) for check in target["checks"]]
        fields = {k: v for k, v in target.items() if k not in ("checks", "passed")}
        results.append(TargetResult(checks=checks, **fields))
    settings = payload["settings"]
    mode = "quick" if settings["quick"] else "full"
    passed = sum(result.passed for result in results)
    header = (
        f"Current results: `guanxi validate` ({mode} run, seed {settings['seed']}, "
        f"{payload['elapsed_seconds']:.0f} s): **{passed} of {len(results)} targets pass**. "
        f"Report and charts: `{_relative(results_path.parent)}/validation.md`.\n\n"
    )
    table = header + markdown_table(results)
    robustness = payload.get("robustness")
    if robustness:
        from sim.validation.report import robustness_rows

        k = robustness["k"]
        rows = robustness_rows(robustness)
        parts = []
        for target, by_size, ok in rows:
            counts = ", ".join(
                f"{n}/{k}" + (f" at {size}" if size else "") for size, n in by_size.items()
            )
            parts.append(f"{target} {counts}" + ("" if ok or len(by_size) < 2 else " (FAIL)"))
        rule = (
            f"; a target holds with >= {robustness['threshold']}/{k} at every user count"
            if "threshold" in robustness
            else ""
        )
        table += (
            f"\nRobustness (`--robustness {k}`, key parameters x U(0.8, 1.2){rule}): "
            + "; ".join(parts)
            + ".\n"
        )
    return table.rstrip("\n")


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def replace_section(text: str, name: str, body: str) -> str:
    """Replace the body between the BEGIN/END markers of section ``name``."""
    begin = f"<!-- BEGIN GENERATED: {name} -->"
    end = f"<!-- END GENERATED: {name} -->"
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        raise ValueError(f"docs: markers for section '{name}' not found")
    return text[: start + len(begin)] + "\n" + body + "\n" + text[stop:]


def render(text: str, results_path: Path = RESULTS) -> str:
    """``text`` with every generated section brought up to date."""
    text = replace_section(text, "parameters", parameters_table())
    text = replace_section(text, "presets", presets_table())
    table = validation_table(results_path)
    if table is not None:
        text = replace_section(text, "validation", table)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.validation.docs", description=__doc__)
    parser.add_argument("--doc", type=Path, default=DOC, help="Markdown file to update")
    parser.add_argument("--results", type=Path, default=RESULTS, help="results.json to tabulate")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    args = parser.parse_args(argv)
    current = args.doc.read_text()
    updated = render(current, args.results)
    if args.check:
        if updated != current:
            print(f"{args.doc}: out of date; run python -m sim.validation.docs", file=sys.stderr)
            return 1
        return 0
    if updated != current:
        args.doc.write_text(updated)
        print(f"updated {args.doc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
