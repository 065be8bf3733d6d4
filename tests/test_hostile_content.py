"""A server that sends bytes no report can carry as they are: every report stays valid.

The site is answered by a server whose headers and body hold NUL bytes,
invalid UTF-8, a terminal escape sequence and a 60 kB header value. After a
real audit of its wire: compliance.json parses strictly (UTF-8, JSON),
junit.xml parses as XML 1.0, the HTML and the terminal carry none of those
bytes raw, the evidence shows them as visible escapes, and the long value is
capped with a marker that says how much was left out.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from fixtures.redaction.caps import MAX_STRING_CHARS
from tests.audit_runner import AuditRun
from tests.hostile import set_target_key
from tests.hostile_content import RawAnswerServer, raw_response, sandbox_certificate
from tests.sandbox_audit import running_sandbox

LONG_VALUE = b"v" * 60000  # http.client reads header lines up to 64 KiB
ESCAPE_SEQUENCE = b"\x1b[2J\x1b]0;pwned\x07"  # clear the screen, set the window title
HOSTILE_HEADERS = [
    (b"Content-Type", b"text/html; charset=utf-8"),
    (b"X-Hostile", b"nul\x00byte invalid\xff\xfe\xc3( utf8 " + ESCAPE_SEQUENCE),
    (b"X-Long", LONG_VALUE),
]
HOSTILE_BODY = b"<html>nul\x00 invalid\xff\xc3\x28 escape" + ESCAPE_SEQUENCE + b" end\x00</html>"
AUDIT_BOUND_SECONDS = 240


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> AuditRun:
    directory = tmp_path_factory.mktemp("hostile-content")
    with running_sandbox(directory) as running:
        chain, key = sandbox_certificate(running.sandbox.ca_bundle)
        answer = raw_response(b"200 OK", HOSTILE_HEADERS, HOSTILE_BODY)
        with RawAnswerServer(answer, cert_chain=chain, key=key) as server:
            set_target_key(running.target, "http_port", str(server.http_port))
            set_target_key(running.target, "https_port", str(server.https_port))
            return running.audit("-m", "wire", "-rA", timeout=AUDIT_BOUND_SECONDS)


def _strict_json(data: bytes) -> dict:
    def no_constants(name: str):
        raise ValueError(f"{name} is not JSON")

    return json.loads(data.decode("utf-8"), parse_constant=no_constants)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_the_server_was_audited(hostile_run):
    assert hostile_run.seconds < AUDIT_BOUND_SECONDS
    judged = [c for c in hostile_run.checks if c["outcome"] in ("passed", "failed")]
    assert judged, "no wire check read the hostile server's answers"
    assert hostile_run.report["summary"]["verdict"] != "compliant"


def test_the_json_report_is_valid_and_shows_the_bytes_escaped(hostile_run):
    document = _strict_json((hostile_run.report_dir / "compliance.json").read_bytes())
    strings = list(_strings(document["checks"]))
    assert not [s for s in strings if re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]", s)], "a raw control character reached the JSON"
    hostile = [s for s in strings if s.startswith("nul\\x00byte")]
    assert hostile, "the X-Hostile header is not in the evidence"
    # NUL and ESC become \\xNN; the invalid UTF-8 bytes arrive as latin-1 (how HTTP
    # header bytes are read), their C1 range escaped, and nothing is lost silently.
    assert all("\\x1b[2J" in s and "\\x07" in s for s in hostile), hostile[0]


def test_a_long_header_value_is_capped_with_a_marker(hostile_run):
    strings = list(_strings(hostile_run.report["checks"]))
    long_values = [s for s in strings if s.startswith("vvvv")]
    assert long_values, "the X-Long header is not in the evidence"
    left_out = len(LONG_VALUE) - MAX_STRING_CHARS
    for value in long_values:
        assert value == "v" * MAX_STRING_CHARS + f" [truncated: {left_out} bytes]"
    assert "v" * (MAX_STRING_CHARS + 1) not in (hostile_run.report_dir / "compliance.json").read_text(encoding="utf-8")


def test_junit_is_valid_xml(hostile_run):
    tree = ET.parse(hostile_run.report_dir / "junit.xml")
    assert tree.getroot().iter("testcase"), "junit.xml has no test cases"


def test_html_and_terminal_carry_no_raw_control_bytes(hostile_run):
    page = (hostile_run.report_dir / "compliance.html").read_bytes()
    page.decode("utf-8")  # strict
    for raw in (b"\x00", b"\x1b", b"\x07"):
        assert raw not in page, f"{raw!r} reached the HTML raw"
    # Shown as its escape (\x00), itself escaped once per layer of JSON around it.
    assert re.search(rb"nul(\\\\)+x00byte", page), "the hostile header is not shown escaped in the HTML"
    assert "\x1b[2J" not in hostile_run.output and "\x00" not in hostile_run.output
