"""Everything a server sent reaches the HTML report as text, never as markup.

An audit of the reference deployment with the real Werkzeug debugger on (the
`debug-on` fault: its pages carry `<script>` tags) and, on top, an HTTPS
listener that adds a response header whose value is a `<script>` element. The
HTML report must show both as text, and in a real browser neither runs (the
header's script would set a page flag, the debugger's inline script defines
EVALEX, its external script would be a request); the JSON report keeps them
verbatim.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace

import pytest
from markupsafe import escape

from fixtures.sandbox.faults import FAULTS
from fixtures.sandbox.spec import compliant_spec
from tests.sandbox_audit import audit_sandbox

HEADER_SCRIPT = "<script>window.__edgeproof_pwned=1</script>"
# The first tag of the Werkzeug debugger's own pages (werkzeug/debug/tbtools.py).
DEBUGGER_SCRIPT = '<script src="?__debugger__=yes&amp;cmd=resource&amp;f=debugger.js"></script>'


def html_test_data(page: str) -> dict:
    """The JSON blob pytest-html renders its rows from (attribute-escaped once)."""
    blob = re.search(r'data-jsonblob="([^"]*)"', page)
    assert blob, "pytest-html data blob not found"
    return json.loads(html.unescape(blob[1]))


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("hostile")
    spec = FAULTS["debug-on"].apply(compliant_spec())
    spec = replace(
        spec,
        backend=replace(
            spec.backend,
            alb_response_header_attributes=(("routing.http.response.access_control_expose_headers.header_value", HEADER_SCRIPT),),
        ),
    )
    return audit_sandbox(tmp_path, "-k", "cors or debug_pages", spec=spec)


def test_a_servers_script_header_and_body_are_shown_as_text(hostile_run):
    run = hostile_run
    # The servers really sent them: the machine-readable report keeps them verbatim.
    document = json.dumps(run.report)
    assert json.dumps(HEADER_SCRIPT)[1:-1] in document
    assert json.dumps(DEBUGGER_SCRIPT)[1:-1] in document

    page = (run.report_dir / "compliance.html").read_text(encoding="utf-8")
    rows = html_test_data(page)["tests"]
    extras = "".join(extra["content"] for results in rows.values() for row in results for extra in row["extras"])
    rendered = "".join(cell for results in rows.values() for row in results for cell in row["resultsTableRow"])
    # The evidence (in the static report) shows each as text: escaped once, and
    # read back by an HTML parser it is the markup itself.
    static = page.split('data-jsonblob="', 1)[0]
    for markup in (HEADER_SCRIPT, DEBUGGER_SCRIPT):
        assert str(escape(markup)) in static, f"{markup} is not shown as text in the evidence"
        assert html.unescape(str(escape(markup))) == markup
    for text in (page, extras, rendered):
        assert "<script>window.__edgeproof_pwned" not in text
        assert '<script src="?__debugger__' not in text


def test_in_a_browser_nothing_a_server_sent_runs(hostile_run):
    from tests.report_pages import require_browser

    require_browser()
    from fixtures.report.browser import browser, open_report

    with browser() as instance:
        page, log, _seconds = open_report(instance, hostile_run.report_dir / "compliance.html")
        # Render everything: pytest-html's extras and every collapsed card.
        page.locator("#show_all_details").click()
        page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
        page.wait_for_timeout(200)
        text = page.evaluate("() => document.body.textContent")
        assert HEADER_SCRIPT in text, "the header's script is not in the page as text"
        assert DEBUGGER_SCRIPT in text, "the debugger's page is not in the report as text"
        assert page.evaluate("() => typeof window.__edgeproof_pwned") == "undefined"
        assert page.evaluate("() => typeof window.EVALEX") == "undefined", "the debugger's inline script ran"
        assert page.locator("script[src]").count() == 0
        assert log.refused == [], f"the page asked for {log.refused}"
        assert log.page_errors == [] and log.console_errors == [], (log.page_errors, log.console_errors)
        page.context.close()
