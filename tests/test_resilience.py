""""Could not verify" is an error verdict, bounded in time, and the rest of the run goes on."""

from __future__ import annotations

import pytest

from fixtures.gate.exit_codes import ExitCode
from tests.audit_runner import run_audit
from tests.hostile import SilentServer, closed_port, names_the_one_second_bound, set_target_key
from tests.sandbox_audit import running_sandbox


def test_an_unreachable_aws_endpoint_errors_the_control_plane_checks_and_the_wire_checks_still_run(tmp_path):
    with running_sandbox(tmp_path) as running:
        set_target_key(running.target, "endpoint_url", f'"http://127.0.0.1:{closed_port()}"')
        run = running.audit()
    by_plane: dict[str, set[str]] = {}
    for check in run.checks:
        by_plane.setdefault(check["plane"], set()).add(check["outcome"])
    assert by_plane["control"] == {"error"}
    assert by_plane["wire"] == {"passed"}
    control_messages = [c["message"] for c in run.checks if c["plane"] == "control"]
    assert all("could not verify" in m and "unreachable" in m for m in control_messages), control_messages
    assert run.exit_code == ExitCode.INCOMPLETE


def test_a_port_that_accepts_and_never_answers_errors_within_the_timeout(tmp_path):
    with running_sandbox(tmp_path) as running, SilentServer() as silent:
        set_target_key(running.target, "http_port", str(silent.port))
        set_target_key(running.target, "https_port", str(silent.port))
        set_target_key(running.target, "timeout_seconds", "1")
        run = running.audit()
    wire = [check for check in run.checks if check["plane"] == "wire"]
    assert wire and {check["outcome"] for check in wire} == {"error"}
    assert not [c["message"] for c in wire if not names_the_one_second_bound(c["message"])]
    assert {c["outcome"] for c in run.checks if c["plane"] == "control"} == {"passed"}
    # Each distinct request waits at most one timeout; they are few and memoised.
    assert run.seconds < 60, run.seconds


@pytest.mark.parametrize("fault", [None, "redirect-drops-path"])
def test_the_readme_audit_command_runs_the_embedded_deployment(tmp_path, fault):
    options = ["--sandbox-fault", fault] if fault else []
    run = run_audit(tmp_path, *options)
    for name in ("compliance.html", "compliance.json", "junit.xml"):
        assert (tmp_path / name).is_file(), name
    if fault is None:
        assert run.exit_code == 0, run.output[-3000:]
        assert run.ids_with("passed") and not (run.ids_with("failed") | run.ids_with("error"))
    else:
        assert run.exit_code == pytest.ExitCode.TESTS_FAILED
        assert run.requirements_with("failed") == {"https-redirect"}
        assert not run.ids_with("error")
    assert run.report["stats"]["aws_api_calls"] > 0
    assert run.report["target"]["sandbox_fault"] == (fault or "none")
