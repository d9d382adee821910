"""The comparison report as a PDF file, drawn offline with matplotlib's PDF backend.

The same content as the HTML report (:mod:`viz.report`): the question, the scenario
and its changes, each verdict with its caveats and its end-of-run table with
intervals, the key charts, the method, how to reproduce it (command, seed, version,
the scenario as TOML) and the stamp. matplotlib is already a dependency (the PNG
downloads), needs no system library and no network, and ``PdfPages`` writes
multi-page files; pages are plain A4 figures with text and the charts' PNGs.
Figures are made without ``pyplot`` (not safe across browser sessions).
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence

import matplotlib.image as mpimg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from sim.compare import outcome_labels
from viz.comparison import VARIANTS, ComparisonRecord
from viz.labels import describe_changes
from viz.png import chart_png
from viz.report import (
    METHOD,
    REPORT_CHARTS,
    command,
    comparison_stamp_text,
    report_question,
    uncertainty_note,
)
from viz.stamp import version

A4 = (8.27, 11.69)  # inches
MARGIN = 0.7  # inches
POINTS = 72.0


def _number(value: float) -> str:
    if value != value:
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.4g}"


class PdfWriter:
    """Text and images flowed down A4 pages, a new page when one is full."""

    def __init__(self, pages: PdfPages, footer: str) -> None:
        self.pages = pages
        self.footer = footer
        self.figure: Figure | None = None
        self.y = 0.0  # inches from the top of the page
        self.page_number = 0

    @property
    def width(self) -> float:
        return A4[0] - 2 * MARGIN

    def _new_page(self) -> None:
        self._finish_page()
        self.figure = Figure(figsize=A4)
        self.page_number += 1
        self.y = MARGIN

    def _finish_page(self) -> None:
        if self.figure is None:
            return
        columns = int(self.width / (0.5 * 6.5 / POINTS))
        lines = textwrap.wrap(f"{self.footer}   page {self.page_number}", columns)
        for index, line in enumerate(lines):
            self.figure.text(
                MARGIN / A4[0],
                (0.45 - 0.11 * index) / A4[1],
                line,
                fontsize=6.5,
                color="#666",
            )
        self.pages.savefig(self.figure)
        self.figure = None

    def keep_together(self, height: float) -> None:
        """Start a new page unless ``height`` inches fit on this one."""
        self._room(height)

    def _room(self, height: float) -> None:
        if self.figure is None or self.y + height > A4[1] - MARGIN:
            self._new_page()

    def text(
        self,
        text: str,
        size: float = 9.5,
        weight: str = "normal",
        family: str = "sans-serif",
        color: str = "#222",
        space_after: float = 0.06,
        indent: float = 0.0,
    ) -> None:
        """A paragraph, wrapped to the page's width (monospace keeps its lines)."""
        char_width = (0.6 if family == "monospace" else 0.52) * size / POINTS
        columns = max(20, int((self.width - indent) / char_width))
        lines: list[str] = []
        for paragraph in text.splitlines() or [""]:
            lines.extend(textwrap.wrap(paragraph, columns) or [""])
        line_height = 1.3 * size / POINTS
        for line in lines:
            self._room(line_height)
            self.figure.text(
                (MARGIN + indent) / A4[0],
                1 - (self.y + size / POINTS) / A4[1],
                line,
                fontsize=size,
                fontweight=weight,
                family=family,
                color=color,
            )
            self.y += line_height
        self.y += space_after

    def heading(self, text: str, level: int = 1) -> None:
        size = {0: 17, 1: 13.5, 2: 11}[level]
        self._room(3 * size / POINTS)  # not alone at the foot of a page
        self.y += 0.08
        self.text(text, size=size, weight="bold", space_after=0.08)

    def image(self, png: bytes) -> None:
        """A PNG at the page's width."""
        picture = mpimg.imread(io.BytesIO(png), format="png")
        height = self.width * picture.shape[0] / picture.shape[1]
        self._room(height + 0.1)
        axes = self.figure.add_axes(
            (MARGIN / A4[0], 1 - (self.y + height) / A4[1], self.width / A4[0], height / A4[1])
        )
        axes.imshow(picture, interpolation="antialiased")
        axes.set_axis_off()
        self.y += height + 0.1

    def close(self) -> None:
        self._finish_page()


def _table_lines(record: ComparisonRecord) -> list[tuple[str, bool]]:
    """One line per outcome: A, B and B - A with intervals; True where B - A excludes 0."""
    result = record.result
    outcomes = result.comparison().outcomes
    out = []
    for key, label in outcome_labels(result.a.model.currency).items():
        parts = []
        for name in VARIANTS:
            estimate = outcomes[key][name]
            text = _number(estimate.mean)
            if estimate.low != estimate.high:
                text += f" [{_number(estimate.low)}, {_number(estimate.high)}]"
            parts.append(f"{name}: {text}")
        clear = outcomes[key]["B - A"].excludes_zero()
        out.append((f"{label}. " + "; ".join(parts), clear))
    return out


def comparison_report_pdf(
    records: Sequence[ComparisonRecord], question: str = "", charts: bool = True
) -> bytes:
    """The PDF report of ``records`` (one or more comparisons of one session)."""
    if not records:
        raise ValueError("no comparison to report")
    first = records[0].result.request.base
    model = first.model
    question = report_question(records, question)
    footer = comparison_stamp_text(records[-1].result)
    buffer = io.BytesIO()
    metadata = {
        "Title": f"guanxi-sim decision report: {model.name}",
        "Subject": question,
        "Creator": f"guanxi-sim {version()}",
        "Keywords": footer,
    }
    with PdfPages(buffer, metadata=metadata) as pages:
        pdf = PdfWriter(pages, footer)
        pdf.heading("guanxi-sim decision report", 0)
        pdf.text(f"Question. {question}", size=11, weight="bold", space_after=0.12)
        pdf.heading("Scenario")
        markets = ", ".join(market.name.replace("_", " ").title() for market in first.markets)
        pdf.text(
            f"{model.name}: {model.description or ''} Our business: {first.focal_firm}; "
            f"markets: {markets}; money in {model.currency}; {model.n_users:,} simulated users."
        )
        changes = describe_changes(
            records[0].result.request.scenario_changes, first.focal_firm, model.currency, "none"
        )
        pdf.text(f"Changes from the scenario file (both A and B): {changes}")
        pdf.heading("Verdicts")
        for index, record in enumerate(records, 1):
            pdf.text(f"{index}. {record.verdict}", indent=0.1)
        for record in records:
            result = record.result
            pdf.heading(f"Comparison {record.number}: {record.subject}")
            pdf.text(record.verdict, size=11, weight="bold")
            pdf.text(f"A: {record.a_words}")
            pdf.text(f"B: {record.b_words}")
            pdf.text(record.design, color="#555")
            if result.parameter_uncertainty:
                pdf.text(
                    "Results include parameter uncertainty (parameters drawn from a "
                    "calibration posterior).",
                    weight="bold",
                    color="#6a1b9a",
                )
            pdf.heading("Caveats", 2)
            for line in record.caveats:
                pdf.text(f"- {line}", size=8.5, indent=0.1)
            pdf.heading("Our outcomes at the end of the run", 2)
            for line, clear in _table_lines(record):
                pdf.text(line, size=8.5, weight="bold" if clear else "normal", indent=0.1)
            pdf.text(
                "Mean [95% confidence interval] over replications; a line in bold: the "
                "interval of B - A excludes 0.",
                size=8,
                color="#555",
            )
            if charts:
                pdf.keep_together(3.0)  # the heading with its first chart
                pdf.heading("Key charts", 2)
                stamp = comparison_stamp_text(result)
                for key in REPORT_CHARTS:
                    pdf.image(chart_png(result.chart(key), stamp=stamp))
            pdf.heading("To reproduce", 2)
            pdf.text(command(record), size=8, family="monospace")
            pdf.text(comparison_stamp_text(result), size=7.5, color="#555")
        pdf.heading("Method")
        pdf.text(METHOD + uncertainty_note(records))
        pdf.heading("Reproduce")
        pdf.text(
            f"guanxi-sim {version()}. The scenario as set when the comparisons ran (load it "
            "with `guanxi run FILE.toml` or the UI's upload):"
        )
        pdf.text(first.to_toml(), size=6.5, family="monospace")
        pdf.close()
    return buffer.getvalue()
