"""The PDF report: the HTML report's content, drawn offline by matplotlib's PDF backend."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.viz_support import small_session
from viz.comparison import ComparisonRecord, ComparisonRequest, run_comparison
from viz.report_pdf import comparison_report_pdf


@pytest.fixture(scope="module")
def record() -> ComparisonRecord:
    session = small_session(n_users=300)
    result = run_comparison(
        ComparisonRequest(session.spec, {}, {"guanxi.enabled": False}, reps=3, steps=5, seed=3)
    )
    return ComparisonRecord.of(1, result)


def pdf_text(data: bytes, tmp_path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not found: apt-get install poppler-utils")
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def test_the_pdf_holds_what_the_html_report_holds(record, tmp_path):
    data = comparison_report_pdf([record])
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert b"/Type /XObject" in data and b"/Subtype /Image" in data  # the key charts
    text = " ".join(pdf_text(data, tmp_path).split())
    for heading in (
        "guanxi-sim decision report",
        "Question. What does turning guanxi ties off do to our business?",
        "Scenario",
        "Verdicts",
        "Caveats",
        "Our outcomes at the end of the run",
        "Key charts",
        "To reproduce",
        "Method",
        "Reproduce",
    ):
        assert heading in text, heading
    assert " ".join(record.verdict.split()) in text
    assert "Changes from the scenario file (both A and B): none" in text
    assert "guanxi compare baseline.toml --b 'guanxi.enabled = false'" in text
    assert "--reps 3 --steps 5 --seed 3" in text
    assert "seed 3" in text and "guanxi-sim " in text  # the stamp, on every page
    assert "[model]" in text  # the scenario TOML
    for line in record.caveats[:2]:
        assert " ".join(line.split())[:60] in text


def test_several_comparisons_fill_several_pages(record):
    data = comparison_report_pdf([record, record])
    assert data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") >= 3 or (
        data.count(b"/Type /Page") >= 4
    )
