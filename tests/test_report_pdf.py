"""The report on paper: Chromium's "Print to PDF" of a non-compliant run.

Page one carries the verdict banner (verdict, target, counts); the
interactive parts (pytest-html's table and filters, the raw JSON) stay off the
paper, and the findings with their remediation are printed.
"""

from __future__ import annotations

import unicodedata

import pytest

from fixtures.report.browser import print_to_pdf
from tests.report_pages import audited, findings_of, html_of, require_browser


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    require_browser()
    pypdf = pytest.importorskip("pypdf")
    run = audited("non-compliant")
    pdf = tmp_path_factory.mktemp("pdf") / "compliance.pdf"
    print_to_pdf(html_of(run), pdf)
    reader = pypdf.PdfReader(str(pdf))
    # NFKC: the PDF's text comes back with typographic ligatures ("ﬁ") folded to letters.
    pages = [" ".join(unicodedata.normalize("NFKC", page.extract_text() or "").split()) for page in reader.pages]
    return run, pages


def test_page_one_is_the_summary(printed):
    run, pages = printed
    first = pages[0]
    summary = run.report["summary"]
    assert "Overall verdict: non-compliant" in first
    assert run.report["target"]["name"] in first
    assert f"{summary['failed']} failed" in first and f"{summary['passed']} passed" in first
    assert "Summary by requirement" in first


def test_the_findings_are_printed_and_the_interactive_parts_are_not(printed):
    run, pages = printed
    text = " ".join(pages)
    for finding in findings_of(run):
        assert finding["id"] in text
        assert " ".join(finding["remediation"].split())[:60] in text
    assert "Show all details" not in text  # pytest-html's controls
    assert "(Un)check the boxes" not in text
    assert "Raw JSON" not in text
    assert len(pages) < 60, f"{len(pages)} pages"
