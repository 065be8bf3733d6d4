"""A run's first and last instants, and the JUnit of an interrupted run.

- From the first instant (fixtures.runtime.early, loaded by `-p`): an earlier
  run's compliant reports are gone before anything else happens, and SIGTERM
  or SIGINT ends the run with 2, never 143 or 130.
- After pytest's unconfigure (every report written, the handlers of the run
  removed), a signal still ends it with 2.
- A signal at every moment of the start, swept: exit 2 (or, before Python runs
  a line of the project, killed by the signal itself), and never an earlier
  run's report left to read as this run's.
- junit.xml of a run interrupted mid-run has every check compliance.json has,
  the same counts of tests and errors, the interruption; it replaces the
  earlier file by a rename, never by writing into it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fixtures.gate.exit_codes import ExitCode
from fixtures.sandbox.deployment import Sandbox
from tests.audit_runner import PROJECT
from tests.interrupted_run import HAS_PROC, interrupt_audit

pytestmark = pytest.mark.skipif(not HAS_PROC, reason="counts leftover processes through /proc (Linux)")

EARLY = ("-p", "fixtures.runtime.early")
EXIT_BOUND_SECONDS = 20
STALE = {"summary": {"verdict": "compliant"}, "gate": {"exit_code": 0}, "note": "an earlier run's report"}


@pytest.fixture(scope="module")
def compliant_target(tmp_path_factory) -> Path:
    with Sandbox() as sandbox:
        yield sandbox.write_target(tmp_path_factory.mktemp("sandbox") / "target.toml")


def plant_stale_reports(report_dir: Path) -> None:
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "compliance.json").write_text(json.dumps(STALE), encoding="utf-8")
    (report_dir / "junit.xml").write_text('<testsuites><testsuite name="pytest" tests="1" errors="0"/></testsuites>', encoding="utf-8")
    (report_dir / "compliance.html").write_text("<html>Overall verdict: compliant</html>", encoding="utf-8")


def stale_left(report_dir: Path) -> list[str]:
    """Reports of the earlier run still in the folder."""
    left = []
    for name in ("compliance.json", "junit.xml", "compliance.html"):
        path = report_dir / name
        if path.exists() and ("an earlier run" in path.read_text(encoding="utf-8") or "compliant</html>" in path.read_text(encoding="utf-8") or 'tests="1" errors="0"/>' in path.read_text(encoding="utf-8")):
            left.append(name)
    return left


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_at_the_first_instant_exits_2_and_leaves_no_earlier_report(tmp_path, compliant_target, signum):
    plant_stale_reports(tmp_path / "reports")
    run = interrupt_audit(tmp_path, "process-start", (signum,), *EARLY, "--target", str(compliant_target))
    print(f"| {signum.name} at the first instant | exit {run.exit_code} | {run.seconds_after_signal:.2f} s after the signal |")
    assert run.exit_code == ExitCode.INTERRUPTED, run.output[-3000:]
    assert run.seconds_after_signal < EXIT_BOUND_SECONDS
    assert stale_left(run.report_dir) == []
    assert run.processes_left == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_after_unconfigure_exits_2(tmp_path, compliant_target, signum):
    run = interrupt_audit(tmp_path, "after-unconfigure", (signum,), *EARLY, "--target", str(compliant_target), "-m", "https_redirect")
    print(f"| {signum.name} after unconfigure | exit {run.exit_code} | {run.seconds_after_signal:.2f} s after the signal |")
    assert run.exit_code == ExitCode.INTERRUPTED, run.output[-3000:]
    assert run.seconds_after_signal < EXIT_BOUND_SECONDS
    report = run.report  # written whole before the signal
    assert report["checks"] and {check["outcome"] for check in report["checks"]} == {"passed"}


SWEEP_SECONDS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.3, 1.6, 2.0, 3.0, 5.0]


def test_sigterm_swept_over_the_start_never_leaves_an_earlier_report_as_this_runs(tmp_path, compliant_target):
    """SIGTERM at each moment of the first five seconds. Before Python runs the project's first
    line the process dies of the signal (-15); from then on exit 2, the earlier report gone."""
    outcomes, finished_first = [], []
    for delay in SWEEP_SECONDS:
        report_dir = tmp_path / f"reports-{delay:g}"
        plant_stale_reports(report_dir)
        child = subprocess.Popen(
            [sys.executable, "-m", "pytest", *EARLY, "checks", "-q", "--target", str(compliant_target), "--report-dir", str(report_dir)],
            cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")},
        )  # fmt: skip
        time.sleep(delay)
        if child.poll() is not None:
            # On a quick machine the whole audit ends within the sweep (2.5 s on 2 quiet
            # cores): a run over before its signal says nothing of the signal.
            finished_first.append((delay, child.returncode))
            continue
        child.send_signal(signal.SIGTERM)
        try:
            code = child.wait(EXIT_BOUND_SECONDS)
        finally:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait(10)
        outcomes.append((delay, code, stale_left(report_dir)))
    print("| SIGTERM after | exit | earlier reports left |")
    for delay, code, left in outcomes:
        print(f"| {delay:.1f} s | {code} | {', '.join(left) or 'none'} |")
    for delay, code in finished_first:
        print(f"| {delay:.1f} s | {code}, the run over before the signal | |")
    assert all(code in (ExitCode.INTERRUPTED, -signal.SIGTERM) for _delay, code, _left in outcomes), outcomes
    assert all(code == ExitCode.COMPLIANT for _delay, code in finished_first), finished_first  # the compliant deployment
    # Exit 2 means the run had taken over: its folder held no earlier report from then on.
    assert all(not left for _delay, code, left in outcomes if code == ExitCode.INTERRUPTED), outcomes
    # When the run takes over depends on the machine (0.6 s in on 2 quiet cores, 1.6 to 2 s
    # at a load of 20): the moment itself is proven by the first-instant test above.
    assert any(code == ExitCode.INTERRUPTED for _delay, code, _left in outcomes), outcomes


def test_junit_of_an_interrupted_run_agrees_with_compliance_json_and_replaces_the_old_file(tmp_path, compliant_target):
    report_dir = tmp_path / "reports"
    report_dir.mkdir()
    old = report_dir / "junit.xml"
    old.write_text("<testsuites/>", encoding="utf-8")
    held = tmp_path / "old-junit-link.xml"
    os.link(old, held)  # the old file's inode: written in place, it would change
    run = interrupt_audit(tmp_path, "check", (signal.SIGTERM,), "--target", str(compliant_target))
    assert run.exit_code == ExitCode.INTERRUPTED, run.output[-3000:]
    report = run.report
    suite = ET.parse(report_dir / "junit.xml").getroot().find("testsuite")
    cases = suite.findall("testcase")
    errors = [case for case in cases if case.find("error") is not None]
    passed = [case for case in cases if not any(case.find(tag) is not None for tag in ("error", "failure", "skipped"))]
    outcomes = [check["outcome"] for check in report["checks"]]
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    print(f"| interrupted mid-run | compliance.json: {outcomes.count('passed')} passed, {outcomes.count('error')} errors | junit.xml: tests={suite.get('tests')} errors={suite.get('errors')} |")
    assert int(suite.get("tests")) == len(cases) == len(report["checks"]) + len(report.get("collection_errors") or [])
    assert int(suite.get("errors")) == len(errors) == outcomes.count("error")
    assert len(passed) == outcomes.count("passed") == 2
    assert properties.get("edgeproof_interrupted") == "true" and properties.get("edgeproof_verdict") == "incomplete"
    assert all("interrupted" in case.find("error").get("message") for case in errors)
    assert held.read_text(encoding="utf-8") == "<testsuites/>"  # replaced by a rename, not rewritten
    assert not list(report_dir.glob(".*.partial*"))
