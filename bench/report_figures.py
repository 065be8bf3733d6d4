"""The report's figures as a reader meets them: size, pages, where the findings start, nesting.

    .venv/bin/python bench/report_figures.py REPORT_DIR [REPORT_DIR ...]

For each report directory (an audit's --report-dir: compliance.html and
compliance.json) it prints the HTML's size, the pages Chromium prints it on
(headless --print-to-pdf, its default paper), the page the first finding's
card starts on, the number of tables inside tables, visible raw `null` values
(the CORS survey's `null` origin aside), and the page's width in a 1280 px
window. Used for issue 21's before/after figures, e.g.:

    .venv/bin/python -m pytest checks -q -p no:cacheprovider --report-dir /tmp/r/cors-wildcard \\
        --sandbox-fault cors-wildcard --history sqlite:////tmp/r/h.sqlite
    .venv/bin/python bench/report_figures.py /tmp/r/cors-wildcard
"""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fixtures.report.browser import browser, open_report, print_to_pdf  # noqa: E402

# Text nodes that read `null` on screen, but not the CORS survey's null origin.
VISIBLE_NULLS = """() => { let n = 0; const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (w.nextNode()) { const t = w.currentNode; const el = t.parentElement;
    if (!el || !el.offsetParent || t.textContent.trim() !== 'null') continue;
    const row = el.closest('tr'); if (row && /null origin/.test(row.textContent)) continue;
    n++; } return n; }"""


def figures(report_dir: Path) -> dict:
    import pypdf

    html = report_dir / "compliance.html"
    document = json.loads((report_dir / "compliance.json").read_text(encoding="utf-8"))
    failed = [c for c in document["checks"] if c["outcome"] == "failed"]
    pdf = report_dir / "compliance.pdf"
    print_to_pdf(html, pdf)
    pages = [" ".join(unicodedata.normalize("NFKC", p.extract_text() or "").split()) for p in pypdf.PdfReader(str(pdf)).pages]
    first = None
    if failed:
        head = f"{failed[0]['id']} {failed[0]['title']}"[:40]
        first = next((number for number, text in enumerate(pages, 1) if head in text), None)
    with browser() as instance:
        page, _log, _seconds = open_report(instance, html)
        nested = page.evaluate("document.querySelectorAll('table table').length")
        nulls = page.evaluate(VISIBLE_NULLS)
        width = page.evaluate("document.documentElement.scrollWidth")
        page.context.close()
    return {"verdict": document["summary"]["verdict"], "html_bytes": html.stat().st_size, "pdf_pages": len(pages),
            "first_finding_page": first, "nested_tables": nested, "visible_null_values": nulls, "page_width_at_1280": width}


if __name__ == "__main__":
    for directory in sys.argv[1:]:
        print(directory, json.dumps(figures(Path(directory))))
