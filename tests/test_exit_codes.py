"""Every row of the exit-code table (README, fixtures/gate/exit_codes.py), end to end.

One reference deployment with the `redirect-temporary` fault serves the
audits: its findings (RDR-02 on both hosts, RDR-06) are all medium, so
`--fail-on high` passes the gate with them still in every report. Each audit
runs a subset of the checks (`-m https_redirect`) to stay cheap.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fixtures.catalogue.readme import declared_checks
from fixtures.gate.exit_codes import ExitCode
from fixtures.gate.threshold import decide
from fixtures.sandbox.faults import FAULTS
from tests.audit_runner import PROJECT, run_audit
from tests.hostile import closed_port, set_target_key
from tests.interrupted_run import HAS_PROC, interrupt_audit
from tests.sandbox_audit import running_sandbox

FAULT = "redirect-temporary"
REDIRECT = ("-m", "https_redirect")


@pytest.fixture(scope="module")
def faulty_target(tmp_path_factory) -> Path:
    with running_sandbox(tmp_path_factory.mktemp("sandbox"), fault=FAULT) as running:
        yield running.target


@pytest.fixture(scope="module")
def unreachable_aws_target(faulty_target, tmp_path_factory) -> Path:
    """The same deployment with its AWS endpoint gone: the control-plane checks cannot verify."""
    folder = tmp_path_factory.mktemp("no-aws")
    target = folder / "target.toml"
    target.write_text(faulty_target.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "target-ca.pem").write_bytes(faulty_target.with_name("target-ca.pem").read_bytes())
    set_target_key(target, "endpoint_url", f'"http://127.0.0.1:{closed_port()}"')
    return target


def test_the_fault_used_here_has_only_medium_findings():
    severities = {meta.id: meta.severity for meta in declared_checks()}
    assert {severities[check_id] for check_id in FAULTS[FAULT].detected_by} == {"medium"}


def test_0_compliant_when_only_findings_below_the_threshold_remain(tmp_path, faulty_target):
    run = run_audit(tmp_path, "--target", str(faulty_target), *REDIRECT, "--fail-on", "high")
    assert run.exit_code == ExitCode.COMPLIANT, run.output[-3000:]
    # The findings below the threshold stay in the report; only the gate lets them through.
    assert run.ids_with("failed") == {"RDR-02", "RDR-06"}
    assert run.report["summary"]["verdict"] == "non-compliant"
    gate = run.report["gate"]
    assert gate["fail_on"] == "high" and gate["decision"] == "pass" and gate["exit_code"] == 0
    assert gate["failing_checks"] == []
    assert "RDR-02" in (tmp_path / "compliance.html").read_text(encoding="utf-8")
    assert 'name="outcome" value="failed"' in (tmp_path / "junit.xml").read_text(encoding="utf-8")


def test_1_non_compliant_when_a_finding_at_or_above_the_threshold_remains(tmp_path, faulty_target):
    run = run_audit(tmp_path, "--target", str(faulty_target), *REDIRECT, "--fail-on", "medium")
    assert run.exit_code == ExitCode.NON_COMPLIANT, run.output[-3000:]
    gate = run.report["gate"]
    assert gate["fail_on"] == "medium" and gate["decision"] == "fail" and gate["exit_code"] == 1
    assert sorted((c["id"], c["parameter"]) for c in gate["failing_checks"]) == [
        ("RDR-02", "api.cloudproject.test"), ("RDR-02", "cloudproject.test"), ("RDR-02", "www.cloudproject.test"),
        ("RDR-06", None),
    ]


@pytest.mark.skipif(not HAS_PROC, reason="tests/interrupted_run.py reads /proc")
def test_2_interrupted(tmp_path, faulty_target):
    run = interrupt_audit(tmp_path, "check", (signal.SIGINT,), "--target", str(faulty_target), *REDIRECT)
    assert run.exit_code == ExitCode.INTERRUPTED, run.output[-3000:]
    assert run.report["gate"]["exit_code"] == ExitCode.INTERRUPTED and run.report["interrupted"] is True


BROKEN_PLUGIN = """
def pytest_runtest_logfinish(nodeid, location):
    raise RuntimeError("a plugin fails after the first check")
"""


def test_3_internal_error_is_pytests(tmp_path, faulty_target):
    (tmp_path / "broken_plugin.py").write_text(textwrap.dedent(BROKEN_PLUGIN), encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "checks", "-q", "-p", "broken_plugin", "--target", str(faulty_target),
         "--report-dir", str(tmp_path / "reports"), "--fail-on", "critical", *REDIRECT],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == ExitCode.INTERNAL_ERROR, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.parametrize(
    "options",
    [
        pytest.param(["--fail-on", "severe"], id="unknown-severity"),
        pytest.param(["--max-run-seconds", "0"], id="zero-deadline"),
    ],
)
def test_4_usage_error_is_pytests(tmp_path, options):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "checks", "-q", "--report-dir", str(tmp_path), *options],
        cwd=PROJECT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == ExitCode.USAGE_ERROR, result.stdout[-2000:] + result.stderr[-2000:]


def test_5_no_checks_collected_is_pytests(tmp_path, faulty_target):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "checks", "-q", "--target", str(faulty_target),
         "--report-dir", str(tmp_path), "-k", "no_check_is_called_this"],
        cwd=PROJECT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == ExitCode.NO_CHECKS, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        pytest.param([], ExitCode.NON_COMPLIANT, id="1-non-compliant-wins-over-incomplete"),
        pytest.param(["--fail-on", "high"], ExitCode.INCOMPLETE, id="7-incomplete-finding-below-threshold"),
        pytest.param(["--fail-on", "high", "--allow-incomplete"], ExitCode.COMPLIANT, id="0-incomplete-allowed"),
    ],
)
def test_incomplete_runs(tmp_path, unreachable_aws_target, options, expected):
    # The wire checks find the 302 (medium); the control-plane checks (RDR-10: where HSTS is set) cannot verify.
    run = run_audit(tmp_path, "--target", str(unreachable_aws_target), *REDIRECT, *options)
    assert run.ids_with("failed") == {"RDR-02"} and run.ids_with("error") == {"RDR-05", "RDR-06", "RDR-07", "RDR-10"}
    assert run.exit_code == expected, run.output[-3000:]
    assert run.report["summary"]["verdict"] == "non-compliant"  # the report says what was seen, whatever the gate
    gate = run.report["gate"]
    assert gate["exit_code"] == expected and gate["incomplete_fails"] is ("--allow-incomplete" not in options)


# The decision itself, row by row (fixtures/gate/threshold.py is pure).
def record(outcome: str, severity: str = "high", check_id: str = "RDR-01") -> dict:
    return {"id": check_id, "parameter": None, "severity": severity, "nodeid": check_id, "message": "", "outcome": outcome}


@pytest.mark.parametrize(
    ("records", "options", "expected"),
    [
        ([record("passed")], {}, ExitCode.COMPLIANT),
        ([record("passed"), record("failed", "info")], {}, ExitCode.NON_COMPLIANT),
        ([record("failed", "medium")], {"fail_on": "medium"}, ExitCode.NON_COMPLIANT),
        ([record("failed", "medium")], {"fail_on": "high"}, ExitCode.COMPLIANT),
        ([record("failed", "critical")], {"fail_on": "critical"}, ExitCode.NON_COMPLIANT),
        ([record("passed"), record("waived")], {}, ExitCode.COMPLIANT),
        ([record("passed"), record("error")], {}, ExitCode.INCOMPLETE),
        ([record("passed"), record("error")], {"incomplete_fails": False}, ExitCode.COMPLIANT),
        ([record("failed"), record("error")], {}, ExitCode.NON_COMPLIANT),
        ([record("skipped")], {}, ExitCode.INCOMPLETE),
        ([record("passed")], {"collection_errors": 1}, ExitCode.INCOMPLETE),
        ([record("failed")], {"interrupted": True}, ExitCode.INTERRUPTED),
    ],
)
def test_the_decision(records, options, expected):
    assert decide(records, **options).exit_code == expected


def test_an_unknown_severity_is_refused():
    with pytest.raises(ValueError, match="unknown severity"):
        decide([], fail_on="severe")
