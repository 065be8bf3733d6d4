"""The report as an auditor hands it over: on paper (A4 and Letter) and on a 1280 px screen.

A CORS fault (cors-wildcard: the longest evidence, the survey of hostile
origins) and a certificate fault (cert-expired) are audited and printed with
Chromium (Playwright's page.pdf, the print stylesheet): every evidence value of
their failed checks is in the PDF's text (pypdf), nothing is wider than the
printable page, the findings start on page 1 or 2, and the run fits in 8 pages.
On screen nothing is wider than a 1280 px window, reading order is visual order
(the verdict first in the document), and each host's chain names the service
the ALB routes it to.
"""

from __future__ import annotations

import unicodedata
from functools import cache

import pytest

from fixtures.report.browser import browser, open_report
from fixtures.report.evidence_view import evidence_views
from tests.report_pages import audited_fault, html_of, require_browser

FAULTS = ("cors-wildcard", "cert-expired")
FORMATS = ("A4", "Letter")
MAX_PAGES = 8
# A4's printable width with the stylesheet's 12 mm side margins (the narrower of the two papers), in CSS px.
PRINTABLE_WIDTH_PX = int((210 - 2 * 12) / 25.4 * 96)


@pytest.fixture(scope="module")
def chromium():
    require_browser()
    with browser() as instance:
        yield instance


@cache
def _printed(fault: str, paper: str, directory) -> list[str]:
    pypdf = pytest.importorskip("pypdf")
    run = audited_fault(fault)
    with browser() as instance:
        page, _log, _seconds = open_report(instance, html_of(run))
        pdf = directory / f"{fault}-{paper}.pdf"
        page.pdf(path=str(pdf), format=paper, print_background=True)
        page.context.close()
    reader = pypdf.PdfReader(str(pdf))
    return [" ".join(unicodedata.normalize("NFKC", p.extract_text() or "").split()) for p in reader.pages]


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    require_browser()
    directory = tmp_path_factory.mktemp("paper")
    return lambda fault, paper: _printed(fault, paper, directory)


def _texts(view) -> list[str]:
    """Every text a view tree shows (cells, rows, the exchange's parts)."""
    if isinstance(view, dict):
        found = [view["text"]] if isinstance(view.get("text"), str) and view.get("kind") != "json" else []
        for key in ("request_line", "status", "body"):
            if isinstance(view.get(key), str):
                found.append(view[key])
        for key, item in view.items():
            if key not in ("text", "request_line", "status", "body"):
                found += _texts(item)
        return found
    if isinstance(view, (list, tuple)):
        return [text for item in view for text in _texts(item)]
    return []


def _found(word: str, tokens: list[str], joined: str) -> bool:
    """The word is in the PDF's text whole, or as the fragments a wrapped table cell leaves
    (pieces in reading order, within the same few lines)."""
    if word in joined:
        return True
    for start, token in enumerate(tokens):
        if not token or not word.startswith(token):
            continue
        rest, position = word[len(token):], start + 1
        while rest and position < min(len(tokens), start + 80):
            piece = tokens[position]
            if piece and rest.startswith(piece):
                rest = rest[len(piece):]
            position += 1
        if not rest:
            return True
    return False


@pytest.mark.parametrize("paper", FORMATS)
@pytest.mark.parametrize("fault", FAULTS)
def test_every_evidence_value_of_a_failed_check_is_on_paper(printed, fault, paper):
    pages = printed(fault, paper)
    joined = " ".join(pages)
    tokens = joined.split()
    run = audited_fault(fault)
    failed = [r for r in run.checks if r["outcome"] == "failed"]
    assert failed, f"{fault} failed nothing"
    missing = set()
    for record in failed:
        for entry in evidence_views(record.get("evidence") or []):
            for text in [entry["label"], *_texts(entry["view"])]:
                for word in unicodedata.normalize("NFKC", text).split():
                    if not _found(word, tokens, joined):
                        missing.add((record["id"], entry["label"], word))
    assert not missing, sorted(missing)[:30]
    assert len(pages) <= MAX_PAGES, f"{fault} on {paper}: {len(pages)} pages"
    first = next(i for i, text in enumerate(pages, 1) if f"{failed[0]['id']} {failed[0]['title']}"[:40] in text)
    assert first <= 2, f"the first finding starts on page {first}"


@pytest.mark.parametrize("fault", FAULTS)
def test_nothing_is_wider_than_the_page_or_the_window(chromium, fault):
    report = html_of(audited_fault(fault))
    for media, width in (("screen", 1280), ("print", PRINTABLE_WIDTH_PX)):
        page, _log, _seconds = open_report(chromium, report, viewport={"width": width, "height": 900})
        page.emulate_media(media=media)
        wider = page.evaluate(
            """(limit) => [...document.querySelectorAll('body *')]
                 .filter(e => { const r = e.getBoundingClientRect();
                   return e.checkVisibility({contentVisibilityAuto: true}) && r.width > 0 && r.right > limit + 1; })
                 .slice(0, 10).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""",
            width,
        )
        assert wider == [], f"{media} at {width} px: {wider}"
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.context.close()


def test_the_verdict_comes_first_in_the_document_and_headings_are_not_left_alone(chromium):
    run = audited_fault("cors-wildcard")
    page, _log, _seconds = open_report(chromium, html_of(run))
    # The file as written: what text extraction reads, pytest-html's <template>s included.
    text = html_of(run).read_text(encoding="utf-8")
    verdict = text.index("Overall verdict: non-compliant")
    for later in ("No results found. Check the filters.", "<h2>Environment</h2>", "Summary by requirement", "Findings ("):
        assert text.index(later) > verdict, f"{later!r} comes before the verdict"
    headings = page.evaluate("[...document.querySelectorAll('h1, h2, h3')].map(h => h.textContent.trim())")
    assert headings[0] == "edgeproof compliance report" and headings[1].startswith("Overall verdict"), headings[:3]
    # The banner states the gate, its threshold and the verdict in the words the JSON carries.
    banner = " ".join(page.locator("#verdict").inner_text().split())
    for sentence in run.report["statement"]:
        assert sentence in banner
    page.emulate_media(media="print")
    avoid = page.evaluate("getComputedStyle(document.querySelector('#findings-heading')).breakAfter")
    assert avoid == "avoid"
    page.context.close()


def test_each_hosts_chain_names_the_service_the_alb_routes_it_to(chromium):
    run = audited_fault("cors-wildcard")
    page, _log, _seconds = open_report(chromium, html_of(run))
    target = run.report["target"]
    backend, frontend = target["services"]
    for index, host in enumerate(target["public_hosts"], 1):
        figure = page.locator("#chain figure.chain-figure").nth(index - 1)
        assert figure.locator("figcaption").inner_text() == host
        services = figure.locator("g.hop").nth(6).text_content()
        expected = backend if target["host_services"][host] == "api" else frontend
        other = frontend if expected == backend else backend
        assert expected in services and other not in services, (host, services)
    # www. has a rule of its own, to the frontend: its services box is not the failing API's.
    www = page.locator("#chain figure.chain-figure", has_text="www.").locator("g.hop").nth(6)
    assert "hop-failed" not in (www.get_attribute("class") or "")
    page.context.close()
