"""The report plugin, end to end: real pytest runs over a tiny checks directory.

Each run is a subprocess (`python -m pytest`) in a temporary project whose
conftest loads fixtures.report.plugin, so options, hook ordering with pytest-html
and junitxml, and the written files are exercised as in a real audit.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fixtures.report.records import _assertion_message
from fixtures.redaction.secrets import redact, redact_text

PROJECT_ROOT = Path(__file__).resolve().parents[1]

CONFTEST = '''
import pytest

pytest_plugins = ["fixtures.report.plugin", "fixtures.plugins.evidence"]


def report_context(config):
    from fixtures.report.context import report_context  # imported late: no rewrite warning

    return report_context(config)


def pytest_configure(config):
    from fixtures.catalogue.checkmeta import marker_lines

    for line in marker_lines():
        config.addinivalue_line("markers", line)
    report_context(config).target = {
        "domain": "cloudproject.test",
        "region": "eu-west-1",
        "aws_secret_access_key": "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
    }


@pytest.fixture(scope="session", autouse=True)
def count_api_calls(pytestconfig):
    stats = report_context(pytestconfig).stats
    stats["aws_api_calls"] = stats.get("aws_api_calls", 0) + 1
    stats.setdefault("aws_api_calls_by_operation", {})["DescribeLoadBalancers"] = 1
'''

CHECKS = '''
import pytest

from fixtures.catalogue.checkmeta import check
from fixtures.probes.errors import ProbeError

COMMON = dict(severity="high", remediation="Fix the listener: see the runbook.")


@pytest.fixture
def unreachable_api(evidence):
    evidence.add("tried", {"url": "https://api.cloudproject.test/", "resolver": "127.0.0.1:5353"})
    raise ProbeError("GET https://api.cloudproject.test/", "connection refused")


@pytest.fixture
def failing_cleanup():
    yield
    raise RuntimeError("cleanup failed")


@check(id="HTTPS-01", title="HTTP redirects to HTTPS", requirement="https-redirect",
       plane="wire", controls=("ELB.1",), **COMMON)
def test_http_redirects_to_https(evidence):
    evidence.add("response", {
        "status": 301,
        "headers": {"Location": "https://cloudproject.test/a?b=1", "Server": "awselb/2.0"},
        "body": "<script>alert(1)</script>",
    })
    assert 301 in (301, 308), "never shown"


@check(id="CORS-01", title="CORS rejects foreign origins", requirement="cors", plane="wire", **COMMON)
def test_cors_rejects_foreign_origin(evidence):
    evidence.add("request", {"url": "https://api.cloudproject.test/", "headers": {
        "Origin": "https://evil.test",
        "Authorization": "Bearer abc123",
        "Cookie": "sessionid=s3cr3tcookie",
    }})
    evidence.add("response headers", [
        ["Access-Control-Allow-Origin", "https://evil.test"],
        ["Set-Cookie", "sessionid=s3cr3tcookie; Secure"],
    ])
    print("sent Authorization: Bearer abc123 with Cookie: sessionid=s3cr3tcookie")
    allowed = "https://evil.test"
    assert allowed is None, (
        "CORS on https://api.cloudproject.test/ admits the foreign origin https://evil.test: "
        f"expected no Access-Control-Allow-Origin, observed {allowed!r}"
    )


@check(id="DEBUG-01", title="No Werkzeug debugger", requirement="debug-pages", plane="wire", **COMMON)
def test_debug_pages_absent(unreachable_api):
    pass


@check(id="LOGS-01", title="ALB access logs land in S3", requirement="access-logs",
       plane="control", **COMMON)
def test_access_logs_land_in_s3():
    pytest.skip("not applicable: the target declares access_logs = false")


@check(id="ROUTE-01", title="Each host has a rule", requirement="routing", plane="control", **COMMON)
@pytest.mark.parametrize("host", ["api.cloudproject.test", "www.cloudproject.test"])
def test_host_has_rule(host, evidence):
    evidence.add("host", host)
    assert host.startswith("api"), f"host {host} has no listener rule: expected one, observed none"


@check(id="DEPLOY-01", title="Latest task definition", requirement="deployment",
       plane="control", **COMMON)
def test_services_run_latest_task_definition(evidence):
    evidence.add("services", ["api", "frontend"])
    raise KeyError("taskDefinition")


@check(id="CERT-01", title="Wildcard certificate", requirement="certificate", plane="across", **COMMON)
def test_certificate_is_wildcard(failing_cleanup, evidence):
    evidence.add("certificate", {"subject": "*.cloudproject.test"})


@check(id="DNS-01", title="Aliases resolve to the ALB", requirement="dns-alias", plane="across", **COMMON)
def test_aliases_resolve_to_alb():
    assert False, "the resolver was queried with AKIAABCDEFGHIJKLMNOP and Authorization: Bearer abc123"


def test_not_a_check():
    pass
'''

SECRETS = ("abc123", "s3cr3tcookie", "AKIAABCDEFGHIJKLMNOP", "wJalrXUtnFEMI")


def make_project(root: Path) -> Path:
    (root / "checks").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (root / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (root / "checks" / "test_demo.py").write_text(CHECKS, encoding="utf-8")
    (root / "tests" / "test_selftest.py").write_text("def test_ok():\n    pass\n", encoding="utf-8")
    return root


def run_pytest(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def html_test_data(page: str) -> dict:
    """The JSON blob pytest-html renders its rows from (attribute-escaped once)."""
    blob = re.search(r'data-jsonblob="([^"]*)"', page)
    assert blob, "pytest-html data blob not found"
    return json.loads(html.unescape(blob[1]))


def static_card(page: str, anchor: str) -> str:
    """A check's card in the static part of the report (before pytest-html's data blob)."""
    static = page.split('data-jsonblob="', 1)[0]
    start = static.rindex("<", 0, static.index(f'id="{anchor}"'))
    tag = static[start + 1 :].split(" ", 1)[0]  # article (a finding) or details (a passed check)
    return static[start : static.index(f"</{tag}>", start)]


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    project = make_project(tmp_path_factory.mktemp("audit"))
    result = run_pytest(project, "checks", "--report-dir", "out")
    out = project / "out"
    assert (out / "compliance.json").exists(), result.stdout + result.stderr
    return {
        "project": project,
        "result": result,
        "out": out,
        "json": json.loads((out / "compliance.json").read_text(encoding="utf-8")),
        "html": (out / "compliance.html").read_text(encoding="utf-8"),
        "junit": (out / "junit.xml").read_text(encoding="utf-8"),
    }


def records_by_nodeid(document: dict) -> dict[str, dict]:
    return {record["nodeid"].split("::", 1)[1]: record for record in document["checks"]}


def test_verdicts_and_messages(audit):
    checks = records_by_nodeid(audit["json"])
    assert audit["result"].returncode == 1
    assert "test_not_a_check" not in checks
    expected = {
        "test_http_redirects_to_https": ("passed", ""),
        "test_cors_rejects_foreign_origin": (
            "failed",
            "CORS on https://api.cloudproject.test/ admits the foreign origin https://evil.test: "
            "expected no Access-Control-Allow-Origin, observed 'https://evil.test'",
        ),
        "test_debug_pages_absent": (
            "error",
            "ProbeError: could not verify: GET https://api.cloudproject.test/: connection refused",
        ),
        "test_access_logs_land_in_s3": ("skipped", "not applicable: the target declares access_logs = false"),
        "test_host_has_rule[api.cloudproject.test]": ("passed", ""),
        "test_host_has_rule[www.cloudproject.test]": (
            "failed",
            "host www.cloudproject.test has no listener rule: expected one, observed none",
        ),
        "test_services_run_latest_task_definition": ("error", "KeyError: 'taskDefinition'"),
        "test_certificate_is_wildcard": ("error", "teardown: RuntimeError: cleanup failed"),
        "test_aliases_resolve_to_alb": (
            "failed",
            "the resolver was queried with [redacted] and Authorization: [redacted]",
        ),
    }
    assert {name: (r["outcome"], r["message"]) for name, r in checks.items()} == expected


def test_json_document_shape(audit):
    document = audit["json"]
    assert document["tool"] == "edgeproof"
    assert {"version", "started", "finished", "duration_seconds"} <= document.keys()
    assert document["finished"] >= document["started"]
    assert document["target"] == {
        "domain": "cloudproject.test",
        "region": "eu-west-1",
        "aws_secret_access_key": "[redacted]",
    }
    assert document["stats"] == {"aws_api_calls": 1, "aws_api_calls_by_operation": {"DescribeLoadBalancers": 1}}
    summary = document["summary"]
    assert (summary["passed"], summary["failed"], summary["error"], summary["skipped"]) == (2, 3, 3, 1)
    assert summary["verdict"] == "non-compliant"
    assert summary["by_requirement"]["routing"] == {
        "passed": 1, "failed": 1, "error": 0, "skipped": 0, "waived": 0, "verdict": "non-compliant",
    }
    assert summary["by_requirement"]["debug-pages"]["verdict"] == "incomplete"
    assert summary["by_requirement"]["https-redirect"]["verdict"] == "compliant"
    assert summary["requirements_not_checked"] == ["ecs-ingress", "frontend-config"]

    checks = records_by_nodeid(document)
    redirect = checks["test_http_redirects_to_https"]
    assert redirect["id"] == "HTTPS-01" and redirect["controls"] == ["ELB.1"]
    assert redirect["plane"] == "wire" and redirect["severity"] == "high"
    assert redirect["parameter"] is None
    assert redirect["remediation"] == "Fix the listener: see the runbook."
    assert redirect["evidence"][0]["label"] == "response"
    assert redirect["evidence"][0]["value"]["body"] == "<script>alert(1)</script>"
    assert redirect["duration_seconds"] >= 0
    routed = [r for r in document["checks"] if r["id"] == "ROUTE-01"]
    assert [r["parameter"] for r in routed] == ["api.cloudproject.test", "www.cloudproject.test"]
    # the evidence gathered by a fixture before its ProbeError is kept
    assert checks["test_debug_pages_absent"]["evidence"] == [
        {"label": "tried", "value": {"url": "https://api.cloudproject.test/", "resolver": "127.0.0.1:5353"}}
    ]


def test_secrets_appear_in_no_report(audit):
    blob = json.dumps(html_test_data(audit["html"]))
    for text in (json.dumps(audit["json"]), audit["html"], blob, audit["junit"]):
        for secret in SECRETS:
            assert secret not in text
    cors = records_by_nodeid(audit["json"])["test_cors_rejects_foreign_origin"]
    assert cors["evidence"][0]["value"]["headers"]["Authorization"] == "[redacted]"
    assert cors["evidence"][0]["value"]["headers"]["Cookie"] == "[redacted]"
    assert cors["evidence"][1]["value"][1] == ["Set-Cookie", "[redacted]"]


def test_html_is_self_contained_with_summary_and_columns(audit):
    page = audit["html"]
    assert "<title" in page and "edgeproof compliance report" in page
    assert "<style" in page and 'rel="stylesheet"' not in page
    assert not (audit["out"] / "assets").exists()
    assert "Summary by requirement" in page
    assert "Overall verdict: non-compliant" in page
    assert "<strong>https-redirect</strong>" in page and "cloudproject.test" in page
    for column in ("ID", "Requirement", "Plane", "Severity"):
        assert f">{column}</th>" in page
    rows = html_test_data(page)["tests"]
    cors_row = rows["checks/test_demo.py::test_cors_rejects_foreign_origin"][0]
    assert '<td class="col-checkId">CORS-01</td>' in cors_row["resultsTableRow"]
    assert '<td class="col-plane">wire</td>' in cors_row["resultsTableRow"]


def test_html_evidence_is_escaped_and_kept_for_setup_errors(audit):
    rows = html_test_data(audit["html"])["tests"]
    redirect = rows["checks/test_demo.py::test_http_redirects_to_https"]
    extras = [extra["content"] for row in redirect for extra in row["extras"]]
    assert len(extras) == 1
    assert "Fix the listener: see the runbook." in extras[0]
    # The row's extra is the check in brief; its evidence is in the static report,
    # escaped, in the check's card (the extra links to it).
    card = static_card(audit["html"], "check-HTTPS-01")
    assert 'href="#check-HTTPS-01"' in extras[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in card
    assert "<script>alert(1)" not in audit["html"]
    # the ProbeError happened in setup: the setup row carries the check, its card the evidence
    (debug_row,) = rows["checks/test_demo.py::test_debug_pages_absent"]
    assert debug_row["result"] == "Error"
    (debug_extra,) = [extra["content"] for extra in debug_row["extras"]]
    assert "could not verify" in debug_extra
    assert "127.0.0.1:5353" in static_card(audit["html"], "check-DEBUG-01")
    # a passed call then a teardown error: two rows, the evidence once
    cert_rows = rows["checks/test_demo.py::test_certificate_is_wildcard"]
    assert len(cert_rows) == 2
    assert all(len(row["extras"]) == 1 for row in cert_rows)


def test_junit_has_check_properties(audit):
    suite = ET.fromstring(audit["junit"])
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    cors = cases["test_cors_rejects_foreign_origin"]
    properties = {p.get("name"): p.get("value") for p in cors.iter("property")}
    assert properties == {
        "id": "CORS-01", "requirement": "cors", "plane": "wire", "severity": "high", "outcome": "failed",
    }
    assert cors.find("failure") is not None
    assert cases["test_debug_pages_absent"].find("error") is not None
    # pytest calls a KeyError in the call a failure; the verdict property says error
    deploy = cases["test_services_run_latest_task_definition"]
    assert {p.get("name"): p.get("value") for p in deploy.iter("property")}["outcome"] == "error"


def test_default_report_dir_and_an_explicit_junitxml(tmp_path):
    project = make_project(tmp_path)
    result = run_pytest(project, "checks", "-k", "redirects", "--junitxml", "mine.xml")
    assert result.returncode == 0, result.stdout + result.stderr
    reports = project / "reports"
    assert sorted(p.name for p in reports.iterdir()) == ["compliance.html", "compliance.json"]
    assert "HTTPS-01" in (project / "mine.xml").read_text(encoding="utf-8")
    document = json.loads((reports / "compliance.json").read_text(encoding="utf-8"))
    assert [r["id"] for r in document["checks"]] == ["HTTPS-01"]
    assert document["summary"]["verdict"] == "compliant"


def test_a_run_of_only_the_self_tests_writes_no_reports(tmp_path):
    project = make_project(tmp_path)
    result = run_pytest(project, "tests", "tests/test_selftest.py::test_ok", "--report-dir", "out")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (project / "out").exists() and not (project / "reports").exists()


def test_a_check_module_that_fails_to_load_makes_the_run_incomplete(tmp_path):
    project = make_project(tmp_path)
    (project / "checks" / "test_broken.py").write_text("import no_such_module\n", encoding="utf-8")
    result = run_pytest(project, "checks", "--continue-on-collection-errors", "-k", "redirects")
    assert result.returncode == 1, result.stdout + result.stderr
    document = json.loads((project / "reports" / "compliance.json").read_text(encoding="utf-8"))
    assert document["summary"]["passed"] == 1
    assert document["summary"]["verdict"] == "incomplete"
    assert [e["nodeid"] for e in document["collection_errors"]] == ["checks/test_broken.py"]


def test_under_xdist_the_controller_writes_the_same_records(tmp_path, audit):
    pytest.importorskip("xdist")
    project = make_project(tmp_path)
    result = run_pytest(project, "checks", "-n", "2", "--report-dir", "out")
    assert result.returncode == 1, result.stdout + result.stderr
    document = json.loads((project / "out" / "compliance.json").read_text(encoding="utf-8"))

    def verdicts(doc):
        return [(r["nodeid"], r["outcome"], r["message"], r["evidence"]) for r in doc["checks"]]

    assert verdicts(document) == verdicts(audit["json"])
    assert document["stats"]["aws_api_calls"] == 2  # one per worker, added up


def test_redaction_unit():
    value = {
        "headers": {"Proxy-Authorization": "Basic eDp5", "X-Amz-Security-Token": "t", "Accept": "*/*"},
        "db_password": "hunter2",
        "nested": [{"client_secret": "s"}, ("set-cookie", "a=b"), b"ASIAABCDEFGHIJKLMNOP"],
    }
    assert redact(value) == {
        "headers": {"Proxy-Authorization": "[redacted]", "X-Amz-Security-Token": "[redacted]", "Accept": "*/*"},
        "db_password": "[redacted]",
        "nested": [{"client_secret": "[redacted]"}, ["set-cookie", "[redacted]"], "[redacted]"],
    }
    text = "GET /?token=abc HTTP/1.1\nCookie: a=b\n{'x-api-key': 'k1'}"
    assert redact_text(text) == "GET /?token=[redacted] HTTP/1.1\nCookie: [redacted]\n{'x-api-key': '[redacted]'}"


def test_assertion_message_keeps_the_sentence_only():
    message = "listener 80 drops the path:\n  expected /a, observed /\nassert '/' == '/a'\n  - /a\n  + /"
    assert _assertion_message(AssertionError(message)) == "listener 80 drops the path:\nexpected /a, observed /"
    assert _assertion_message(AssertionError("assert 1 == 2\n +  where 1 = f()")) == "assert 1 == 2"
    assert _assertion_message(AssertionError(textwrap.dedent("plain message"))) == "plain message"


def test_cors_credential_headers_are_evidence_not_secrets():
    from fixtures.redaction.secrets import redact, redact_text

    headers = {"Access-Control-Allow-Credentials": "true", "Authorization": "Bearer abc123"}
    assert redact(headers) == {"Access-Control-Allow-Credentials": "true", "Authorization": "[redacted]"}
    assert redact_text("Access-Control-Allow-Credentials: true") == "Access-Control-Allow-Credentials: true"


def test_the_terminal_names_junit_xml_never_the_temporary_file_it_was_written_to(audit):
    # junitxml prints its line at the default verbosity (the fixture's run is -q): -v cancels -q.
    result = run_pytest(audit["project"], "checks", "--report-dir", "out-verbose", "-v")
    output = result.stdout + result.stderr
    (line,) = [line for line in output.splitlines() if "generated xml file:" in line]
    assert line.split("generated xml file: ", 1)[1].split(" ")[0] == str((audit["project"] / "out-verbose" / "junit.xml").resolve()), line
    assert ".partial" not in output
