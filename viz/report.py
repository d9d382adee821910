"""A self-contained HTML report of comparisons, to hand to a manager.

One file, no external asset (charts are PNGs in ``data:`` URIs, styles inline), so
it opens offline, can be mailed, and prints to PDF from any browser. It holds the
question, the scenario and its changes, each verdict with its intervals and
caveats, the end-of-run table, the key charts, the method in three sentences, the
assumptions, and what reproduces it (scenario TOML, seeds, version, the
``guanxi compare`` command).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence

from sim.compare import outcome_labels
from viz.comparison import VARIANTS, ComparisonRecord, ComparisonResult
from viz.labels import describe_changes
from viz.parameters import assignment
from viz.png import chart_png
from viz.stamp import stamp_text, version

# Charts embedded per comparison (keys of viz.comparison.SERIES_TITLES).
REPORT_CHARTS = ("attitude", "profit", "conversions_people")
METHOD = (
    "guanxi-sim is an agent-based model: simulated social media users, each standing "
    "for many real people in their market, see, read, share and answer the posts of our "
    "business and its competitors, and their attitudes, follows and purchases follow "
    "from what they see. "
    "Each comparison runs strategy A and strategy B several times with the same random "
    "numbers (the same people, network and chance events in replication r of A and of "
    "B), so that the difference B - A reflects the decision rather than luck. "
    "Ranges are 95% confidence intervals over the replications (t intervals of the "
    "paired differences); an effect is called detectable only when its range excludes 0."
)


def comparison_stamp_text(result: ComparisonResult) -> str:
    """The stamp of a comparison's exports: version, scenario, A's and B's changes, seed."""
    request = result.request
    a = "; ".join(assignment(k, v) for k, v in request.a_overrides.items()) or "none"
    b = "; ".join(assignment(k, v) for k, v in request.b_overrides.items()) or "none"
    return stamp_text(
        request.base.model.name,
        {},
        request.seed,
        f"A: {a} | B: {b} | {len(result.seeds)} reps x {request.steps} days"
        + (f" | posterior {request.posterior.name}" if request.posterior is not None else ""),
    )


def _png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _number(value: float) -> str:
    if value != value:
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.4g}"


def _table(record: ComparisonRecord) -> str:
    result = record.result
    outcomes = result.comparison().outcomes
    head = "".join(
        f"<th>{html.escape(text)}</th>"
        for text in ("our outcome at the end", f"A: {record.a_words}", f"B: {record.b_words}")
    )
    rows = []
    for key, label in outcome_labels(result.a.model.currency).items():
        cells = []
        for name in VARIANTS:
            estimate = outcomes[key][name]
            text = _number(estimate.mean)
            if estimate.low != estimate.high:
                text += f" [{_number(estimate.low)}, {_number(estimate.high)}]"
            bold = name == "B - A" and estimate.excludes_zero()
            cells.append(
                f"<td>{'<b>' if bold else ''}{html.escape(text)}{'</b>' if bold else ''}</td>"
            )
        rows.append(f"<tr><td>{html.escape(label)}</td>{''.join(cells)}</tr>")
    return (
        f"<table><thead><tr>{head}<th>B - A</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def command(record: ComparisonRecord) -> str:
    request = record.result.request
    parts = [f"guanxi compare {request.base.model.name}.toml"]
    if request.a_overrides:
        parts.append(
            "--a " + " ".join(f"'{assignment(k, v)}'" for k, v in request.a_overrides.items())
        )
    if request.b_overrides:
        parts.append(
            "--b " + " ".join(f"'{assignment(k, v)}'" for k, v in request.b_overrides.items())
        )
    parts.append(f"--reps {len(record.result.seeds)} --steps {request.steps} --seed {request.seed}")
    if request.posterior is not None:
        parts.append(
            f"--posterior {getattr(request.posterior, 'directory', request.posterior.name)}"
        )
    return " ".join(parts)


def _section(record: ComparisonRecord, charts: bool) -> str:
    result = record.result
    stamp = comparison_stamp_text(result)
    out = [
        f'<section class="comparison" id="comparison-{record.number}">',
        f"<h2>Comparison {record.number}: {html.escape(record.subject)}</h2>",
        f'<p class="verdict">{html.escape(record.verdict)}</p>',
        "<p><b>A</b>: "
        + html.escape(record.a_words)
        + "<br><b>B</b>: "
        + html.escape(record.b_words)
        + "<br>"
        + html.escape(record.design)
        + "</p>",
        (
            '<p class="uncertainty"><b>Results include parameter uncertainty</b> (parameters '
            "drawn from a calibration posterior).</p>"
            if result.parameter_uncertainty
            else ""
        ),
        "<h3>Caveats</h3><ul>"
        + "".join(f"<li>{html.escape(line)}</li>" for line in record.caveats)
        + "</ul>",
        "<h3>Our outcomes at the end of the run</h3>",
        _table(record),
        '<p class="small">Mean [95% confidence interval] over replications; B - A in bold '
        "where its interval excludes 0.</p>",
    ]
    if charts:
        out.append("<h3>Key charts</h3>")
        for key in REPORT_CHARTS:
            uri = _png_uri(chart_png(result.chart(key), stamp=stamp))
            out.append(f'<img alt="{html.escape(key)}" src="{uri}">')
    out.append(
        "<h3>To reproduce</h3><pre>"
        + html.escape(command(record))
        + '</pre><p class="small">Run on the scenario below (as set in the UI).</p>'
        + f'<p class="small stamp">{html.escape(stamp)}</p>'
    )
    out.append("</section>")
    return "\n".join(out)


def report_question(records: Sequence[ComparisonRecord], question: str = "") -> str:
    """The question a report answers: the one given, else one read from the comparisons."""
    if question:
        return question
    subject = records[0].subject
    if len(records) == 1:
        return f"What does {subject[:1].lower() + subject[1:]} do to our business?"
    return "Which of these decisions helps our business, and by how much?"


def uncertainty_note(records: Sequence[ComparisonRecord]) -> str:
    """Said in the method when any comparison drew parameters from a posterior."""
    drawn = [r.number for r in records if r.result.parameter_uncertainty]
    if not drawn:
        return ""
    which = (
        "All comparisons"
        if len(drawn) == len(records)
        else ("Comparison" + ("s " if len(drawn) > 1 else " ") + ", ".join(map(str, drawn)))
    )
    return (
        f" {which} drew the model's parameters from a calibration posterior (replication r "
        "of A and of B both use draw r): their results include parameter uncertainty."
    )


def comparison_report(
    records: Sequence[ComparisonRecord], question: str = "", charts: bool = True
) -> str:
    """The HTML report of ``records`` (one or more comparisons of one session)."""
    if not records:
        raise ValueError("no comparison to report")
    first = records[0].result.request.base
    question = report_question(records, question)
    model = first.model
    markets = ", ".join(market.name.replace("_", " ").title() for market in first.markets)
    scenario_toml = first.to_toml()
    body = [
        "<h1>guanxi-sim decision report</h1>",
        f'<p class="question"><b>Question.</b> {html.escape(question)}</p>',
        "<h2>Scenario</h2>",
        f"<p><b>{html.escape(model.name)}</b>: {html.escape(model.description or '')}<br>"
        f"Our business: {html.escape(first.focal_firm)}; markets: {html.escape(markets)}; "
        f"money in {html.escape(model.currency)}; {model.n_users:,} simulated users.</p>",
        "<p><b>Changes from the scenario file</b> (both A and B): "
        + html.escape(
            describe_changes(
                records[0].result.request.scenario_changes,
                first.focal_firm,
                model.currency,
                "none",
            )
        )
        + "</p>",
        "<h2>Verdicts</h2><ol>"
        + "".join(f"<li>{html.escape(r.verdict)}</li>" for r in records)
        + "</ol>",
        *[_section(record, charts) for record in records],
        "<h2>Method</h2>",
        f"<p>{html.escape(METHOD + uncertainty_note(records))}</p>",
        "<h2>Reproduce</h2>",
        f"<p>guanxi-sim {html.escape(version())}. The scenario as set when the comparisons "
        "ran (load it with <code>guanxi run FILE.toml</code> or the UI's upload):</p>",
        f"<details><summary>Scenario TOML</summary><pre>{html.escape(scenario_toml)}</pre>"
        "</details>",
    ]
    style = (
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;"
        "padding:0 1rem;color:#222}"
        "table{border-collapse:collapse;font-size:0.85rem}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}"
        ".verdict{font-size:1.1rem;font-weight:600}"
        ".small{font-size:0.8rem;color:#555}"
        "img{max-width:100%;display:block;margin:0.5rem 0}"
        "pre{white-space:pre-wrap;font-size:0.75rem;background:#f6f6f6;padding:0.5rem}"
        "@media print{details{display:block}section{break-inside:avoid-page}}"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>guanxi-sim report: {html.escape(model.name)}</title>"
        f"<style>{style}</style></head><body>" + "\n".join(body) + "</body></html>"
    )
