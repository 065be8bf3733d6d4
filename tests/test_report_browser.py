"""The HTML report in a real browser (Chromium driven by Playwright), network denied.

Two audits of the reference deployment, compliant and non-compliant: each
report is one file under 2 MB that asks for nothing over the network, logs no
console error, shows its verdict above the fold, reads without JavaScript,
has working filters and expanders, and has no serious or critical axe-core
violation. The time Chromium takes to open each is recorded as a figure
(`record_property`), not asserted: on a shared machine it measures the machine.
"""

from __future__ import annotations

import pytest

from fixtures.report.browser import VIEWPORT, browser, open_report
from tests.report_pages import audited, axe_script, dump, findings_of, html_of, require_browser

MAX_REPORT_BYTES = 2 * 1024 * 1024
KINDS = ("compliant", "non-compliant")


@pytest.fixture(scope="module")
def chromium():
    require_browser()
    with browser() as instance:
        yield instance


@pytest.fixture(scope="module", params=KINDS)
def run(request):
    return audited(request.param)


def test_the_report_is_one_small_file_that_needs_no_network(chromium, run, record_property):
    report = html_of(run)
    size = report.stat().st_size
    record_property("report_bytes", size)
    assert size < MAX_REPORT_BYTES, f"{report.name} is {size} bytes"
    assert sorted(p.name for p in run.report_dir.iterdir() if p.is_dir()) == [], "a report with asset folders"
    page, log, seconds = open_report(chromium, report)
    record_property("open_seconds", round(seconds, 3))
    paint = page.evaluate(
        "() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null"
    )
    record_property("first_contentful_paint_ms", paint)
    assert log.refused == [], f"the report asked for the network: {log.refused}"
    assert log.console_errors == [] and log.page_errors == [], (log.console_errors, log.page_errors)
    # pytest-html's script ran: its table has one row per visible test phase.
    assert page.locator("#results-table tbody.results-table-row").count() >= len(run.checks)
    page.context.close()


def test_the_verdict_is_above_the_fold(chromium, run):
    page, _log, _seconds = open_report(chromium, html_of(run))
    banner = page.locator("#verdict")
    assert banner.is_visible()
    box = banner.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"], box
    verdict = run.report["summary"]["verdict"]
    assert f"Overall verdict: {verdict}" in banner.inner_text()
    for outcome in ("passed", "failed"):
        assert f"{run.report['summary'][outcome]} {outcome}" in " ".join(banner.inner_text().split())
    # The environment table comes after the checks, not before the verdict.
    environment = page.locator("#edgeproof-environment").bounding_box()
    table = page.locator("#results-table").bounding_box()
    assert environment["y"] > table["y"] > box["y"]
    page.context.close()


def test_the_summary_and_findings_read_without_javascript(chromium, run):
    page, log, _seconds = open_report(chromium, html_of(run), javascript=False)
    assert page.locator("#verdict").is_visible()
    assert page.locator("#requirements tbody tr").count() == len(run.report["summary"]["by_requirement"])
    cards = page.locator("#findings article.card")
    findings = findings_of(run)
    assert cards.count() == len(findings)
    for finding in findings:
        card = page.locator(f"#findings article.card[data-outcome='failed']:has-text('{finding['id']}')").first
        assert card.is_visible()
        text = " ".join(card.inner_text().split())
        assert finding["remediation"] in text
        assert " ".join(finding["message"].split())[:80] in text
    # One chain picture per public host, each hop with its verdict as text.
    hosts = run.report["target"]["public_hosts"]
    assert page.locator("#chain svg.chain").count() == len(hosts)
    assert page.locator("#chain svg.chain g.hop").count() == 8 * len(hosts)
    if findings:
        assert page.locator("#chain svg.chain g.hop-failed").count() >= 1
        assert "failed" in page.locator("#chain svg.chain g.hop-failed").first.inner_html()
    assert log.refused == []
    page.context.close()


def test_filters_and_expanders_work(chromium):
    run = audited("non-compliant")
    page, log, _seconds = open_report(chromium, html_of(run))
    rows = page.locator("#results-table tbody.results-table-row")
    results = lambda: [text.strip() for text in rows.locator("td.col-result").all_inner_texts()]  # noqa: E731
    assert "Passed" in results() and "Failed" in results()
    page.locator('input[data-test-result="passed"]').uncheck()
    remaining = results()
    assert "Passed" not in remaining and remaining.count("Failed") == len(findings_of(run)), remaining
    page.locator('input[data-test-result="passed"]').check()
    assert "Passed" in results()

    # A passed check is collapsed; opening it shows what was seen.
    passed = page.locator("#passed details.card-passed").first
    evidence = passed.locator(".evidence").first
    assert passed.get_attribute("open") is None and not evidence.is_visible()
    passed.locator("summary").first.click()
    assert evidence.is_visible()
    # The raw JSON is one click away.
    raw = passed.locator("details.raw").first
    assert not raw.locator("pre").is_visible()
    raw.locator("summary").click()
    assert raw.locator("pre").is_visible() and raw.locator("pre").inner_text().lstrip().startswith(("{", "[", '"'))

    # pytest-html's own expanders: "Show all details" opens every row's extra.
    page.locator("#show_all_details").click()
    extras = page.locator("#results-table tbody.results-table-row .extras-row")
    assert extras.count() > 0 and all("hidden" not in (c or "") for c in extras.evaluate_all("e => e.map(x => x.className)"))
    assert log.console_errors == [] and log.page_errors == []
    page.context.close()


def test_no_serious_accessibility_violations(chromium, run, record_property):
    script = axe_script()
    page, _log, _seconds = open_report(chromium, html_of(run))
    page.add_script_tag(content=script)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    violations = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]
    record_property("axe_violations", violations)
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], dump(serious)
    page.context.close()
