"""--max-run-seconds: after the deadline every check not yet judged is an error, the
reports are written (verdict incomplete, exit 7), and a check blocked in a fact
is ended at the deadline rather than at its own timeout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from fixtures.gate.exit_codes import ExitCode
from fixtures.runtime.deadline import GRACE_SECONDS
from tests.audit_runner import PROJECT, run_audit
from tests.hostile import SilentServer, set_target_key
from tests.sandbox_audit import running_sandbox

DEADLINE_MESSAGE = "RunDeadlineReached: run deadline reached after"


@pytest.fixture(scope="module")
def compliant_target(tmp_path_factory) -> Path:
    with running_sandbox(tmp_path_factory.mktemp("sandbox")) as running:
        yield running.target


def test_checks_set_up_after_the_deadline_end_as_errors_and_the_reports_are_written(tmp_path, compliant_target):
    # 10 ms: less than collecting the checks takes. With 0.5 s a quick machine judged some
    # checks before the deadline (the compliant audit is over in under 3 s on 2 quiet cores).
    run = run_audit(tmp_path, "--target", str(compliant_target), "--max-run-seconds", "0.01")
    assert run.exit_code == ExitCode.INCOMPLETE, run.output[-3000:]
    assert run.checks and {check["outcome"] for check in run.checks} == {"error"}
    assert all(check["message"].startswith(f"{DEADLINE_MESSAGE} 0.01 s") for check in run.checks), run.checks[0]
    assert run.report["summary"]["verdict"] == "incomplete"
    assert run.report["run"] == {
        "max_run_seconds": 0.01, "deadline_reached": True, "stopped_by_watchdog": False, "signals": [], "terminal_lost": False,
    }
    assert run.report["interrupted"] is False
    assert (tmp_path / "compliance.html").is_file() and (tmp_path / "junit.xml").is_file()


def test_a_check_blocked_on_a_silent_endpoint_ends_at_the_deadline_not_at_its_timeout(tmp_path, compliant_target):
    target = tmp_path / "target.toml"
    target.write_text(compliant_target.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "target-ca.pem").write_bytes(compliant_target.with_name("target-ca.pem").read_bytes())
    deadline, timeout = 20, 120
    with SilentServer() as silent:
        set_target_key(target, "https_port", str(silent.port))
        set_target_key(target, "timeout_seconds", str(timeout))
        run = run_audit(tmp_path / "reports", "--target", str(target), "-m", "wire", "--max-run-seconds", str(deadline))
    assert run.exit_code == ExitCode.INCOMPLETE, run.output[-3000:]
    # One probe alone would have waited `timeout`; the whole run ended soon after the deadline.
    assert run.seconds < timeout - 20, run.seconds
    assert run.report["run"]["deadline_reached"] is True
    assert not run.ids_with("failed")
    errors = [check["message"] for check in run.checks if check["outcome"] == "error"]
    assert errors and all(DEADLINE_MESSAGE in message for message in errors), errors


# A tiny project whose checks misbehave on purpose: no sandbox needed.
CONFTEST = """
pytest_plugins = ["fixtures.plugins.evidence", "fixtures.report.plugin", "fixtures.runtime.plugin", "fixtures.gate.plugin"]


def pytest_configure(config):
    from fixtures.catalogue.checkmeta import marker_lines

    for line in marker_lines():
        config.addinivalue_line("markers", line)
"""

CHECKS = """
import time

from fixtures.catalogue.checkmeta import check

COMMON = dict(requirement="routing", plane="wire", severity="high", remediation="none")


@check(id="RTE-01", title="swallows every exception", **COMMON)
def test_swallows_the_deadline():
    try:
        time.sleep(60)
    except Exception:
        pass  # a careless `except Exception` must not turn the deadline into a pass


@check(id="RTE-02", title="would pass", **COMMON)
def test_would_pass():
    pass


@check(id="RTE-03", title="never gives up", **COMMON)
def test_never_gives_up():
    while True:
        try:
            time.sleep(60)
        except Exception:
            pass
"""


def run_project(root: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict, float]:
    (root / "checks").mkdir(parents=True, exist_ok=True)
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (root / "conftest.py").write_text(textwrap.dedent(CONFTEST), encoding="utf-8")
    (root / "checks" / "test_misbehaving.py").write_text(textwrap.dedent(CHECKS), encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT), env.get("PYTHONPATH")]))
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "checks", "--report-dir", "out", *args],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )
    seconds = time.monotonic() - started
    document = json.loads((root / "out" / "compliance.json").read_text(encoding="utf-8"))
    return result, document, seconds


def test_a_check_that_swallows_the_deadline_still_ends_as_an_error(tmp_path):
    result, document, seconds = run_project(tmp_path, "-k", "not never_gives_up", "--max-run-seconds", "3")
    assert result.returncode == ExitCode.INCOMPLETE, result.stdout + result.stderr
    outcomes = {check["id"]: (check["outcome"], check["message"]) for check in document["checks"]}
    assert outcomes == {
        "RTE-01": ("error", "RunDeadlineReached: run deadline reached after 3 s (--max-run-seconds)"),
        "RTE-02": ("error", "RunDeadlineReached: run deadline reached after 3 s (--max-run-seconds)"),
    }
    assert seconds < 40, seconds


def test_a_check_that_never_ends_is_interrupted_by_the_watchdog_after_the_grace(tmp_path):
    result, document, seconds = run_project(tmp_path, "-k", "never_gives_up", "--max-run-seconds", "2")
    assert result.returncode == ExitCode.INTERRUPTED, result.stdout + result.stderr
    assert document["interrupted"] is True and document["summary"]["verdict"] == "incomplete"
    assert document["run"]["deadline_reached"] is True and document["run"]["stopped_by_watchdog"] is True
    assert [check["outcome"] for check in document["checks"]] == ["error"]
    assert seconds < 2 + GRACE_SECONDS + 30, seconds
