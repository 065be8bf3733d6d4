"""An audit whose output reader is gone (a cancelled CI runner, a killed wrapper,
`| head`) still audits every check, writes its reports and exits with the gate's code."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

from fixtures.gate.exit_codes import ExitCode
from tests.audit_runner import PROJECT
from tests.sandbox_audit import running_sandbox

BOUND_SECONDS = 120  # a whole audit on a busy machine; a hang is killed and fails the test


def test_an_audit_whose_terminal_pipe_is_closed_finishes_with_its_reports(tmp_path):
    report_dir = tmp_path / "reports"
    with running_sandbox(tmp_path, fault="redirect-temporary") as running:
        target = running.target
        child = subprocess.Popen(
            [sys.executable, "-m", "pytest", "checks", "-q", "--target", str(target), "--report-dir", str(report_dir)],
            cwd=PROJECT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        # The reader dies before the audit writes a byte: every write to the terminal is EPIPE.
        child.stdout.close()
        child.stderr.close()
        started = time.monotonic()
        try:
            exit_code = child.wait(BOUND_SECONDS)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(10)
    assert time.monotonic() - started < BOUND_SECONDS
    report = json.loads((report_dir / "compliance.json").read_text(encoding="utf-8"))
    outcomes = {check["outcome"] for check in report["checks"]}
    assert outcomes == {"passed", "failed"}, outcomes  # every check judged, none "not judged"
    assert report["run"]["terminal_lost"] is True
    assert exit_code == report["gate"]["exit_code"] == ExitCode.NON_COMPLIANT
    assert (report_dir / "compliance.html").read_text(encoding="utf-8").rstrip().endswith("</html>")
    ET.parse(report_dir / "junit.xml")
