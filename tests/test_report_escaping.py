"""Everything a server sent reaches the HTML report as text, never as markup.

An audit of the reference deployment with the real Werkzeug debugger on (the
`debug-on` fault: its pages carry `<script>` tags) and, on top, an HTTPS
listener that adds a response header whose value is a `<script>` element. The
HTML report must show both as text; the JSON report keeps them verbatim.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace

from fixtures.sandbox.deployment import Sandbox
from fixtures.sandbox.faults import FAULTS
from fixtures.sandbox.spec import compliant_spec
from tests.audit_runner import run_audit

HEADER_SCRIPT = "<script>edgeproofHeaderMarker()</script>"
# The first tag of the Werkzeug debugger's own pages (werkzeug/debug/tbtools.py).
DEBUGGER_SCRIPT = '<script src="?__debugger__=yes&amp;cmd=resource&amp;f=debugger.js"></script>'


def html_test_data(page: str) -> dict:
    """The JSON blob pytest-html renders its rows from (attribute-escaped once)."""
    blob = re.search(r'data-jsonblob="([^"]*)"', page)
    assert blob, "pytest-html data blob not found"
    return json.loads(html.unescape(blob[1]))


def test_a_servers_script_header_and_body_are_shown_as_text(tmp_path):
    spec = FAULTS["debug-on"].apply(compliant_spec())
    spec = replace(
        spec,
        backend=replace(
            spec.backend,
            alb_response_header_attributes=(("routing.http.response.access_control_expose_headers.header_value", HEADER_SCRIPT),),
        ),
    )
    with Sandbox(spec) as sandbox:
        target = sandbox.write_target(tmp_path / "target.toml")
        run = run_audit(tmp_path / "reports", "--target", str(target), "-k", "cors or debug_pages")

    # The servers really sent them: the machine-readable report keeps them verbatim.
    document = json.dumps(run.report)
    assert json.dumps(HEADER_SCRIPT)[1:-1] in document
    assert json.dumps(DEBUGGER_SCRIPT)[1:-1] in document

    page = (run.report_dir / "compliance.html").read_text(encoding="utf-8")
    rows = html_test_data(page)["tests"]
    extras = "".join(extra["content"] for results in rows.values() for row in results for extra in row["extras"])
    rendered = "".join(cell for results in rows.values() for row in results for cell in row["resultsTableRow"])
    for markup in (HEADER_SCRIPT, DEBUGGER_SCRIPT):
        # Evidence is shown as indented JSON, escaped for HTML.
        assert html.escape(json.dumps(markup)[1:-1]) in extras, f"{markup} is not shown as text in the evidence"
    for text in (page, extras, rendered):
        assert "<script>edgeproofHeaderMarker" not in text
        assert '<script src="?__debugger__' not in text
