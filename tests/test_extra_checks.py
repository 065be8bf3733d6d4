"""A team's own checks: run from a folder named on the command line or in the target,
validated like the built-in ones, reported beside them under their own requirement.

The example under examples/checks/ (XHD-01, X-Content-Type-Options: nosniff)
passes on the reference deployment and fails on a variant whose 443 listener
no longer adds the header.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from fixtures.sandbox.spec import compliant_spec
from tests.audit_runner import PROJECT, run_audit
from tests.test_target import MINIMAL
from tests.sandbox_audit import running_sandbox

EXAMPLE = PROJECT / "examples" / "checks"
HOSTS = {"cloudproject.test", "api.cloudproject.test", "www.cloudproject.test"}

def _xhd(run) -> dict[str, str]:
    return {check["parameter"]: check["outcome"] for check in run.checks if check["id"] == "XHD-01"}


@pytest.fixture(scope="class")
def target_file(tmp_path_factory):
    """One reference deployment for the class (torn down before the variant below starts its own)."""
    with running_sandbox(tmp_path_factory.mktemp("sandbox")) as running:
        yield running.target


class TestOnTheReferenceDeployment:
    def test_named_on_the_command_line_it_runs_with_every_built_in_check_and_passes(self, target_file, tmp_path):
        run = run_audit(tmp_path / "reports", "--target", str(target_file), "--extra-checks", str(EXAMPLE))
        assert run.exit_code == 0, run.output[-3000:]
        assert _xhd(run) == {host: "passed" for host in HOSTS}
        assert {check["outcome"] for check in run.checks} == {"passed"}
        assert len({check["requirement"] for check in run.checks}) == 11  # the ten built-in ones and the team's
        summary = run.report["summary"]["by_requirement"]["security-headers"]
        assert (summary["passed"], summary["verdict"]) == (3, "compliant")
        html = (run.report_dir / "compliance.html").read_text(encoding="utf-8")
        assert "HTTPS answers carry the response headers our security team requires" in html

    def test_named_in_the_target_relative_to_it_and_selected_by_its_requirement(self, target_file, tmp_path):
        target = tmp_path / "with-checks.toml"
        relative = Path(os.path.relpath(EXAMPLE, tmp_path)).as_posix()
        target.write_text(target_file.read_text(encoding="utf-8") + f'\n[checks]\nextra = ["{relative}"]\n', encoding="utf-8")
        (tmp_path / f"{target_file.stem}-ca.pem").write_bytes(target_file.with_name(f"{target_file.stem}-ca.pem").read_bytes())
        run = run_audit(tmp_path / "reports", "--target", str(target), "-m", "security_headers")
        assert run.exit_code == 0, run.output[-3000:]
        assert {check["id"] for check in run.checks} == {"XHD-01"}
        assert _xhd(run) == {host: "passed" for host in HOSTS}


def test_on_a_deployment_without_the_header_the_team_check_fails(sandbox_audit):
    spec = compliant_spec()
    spec = replace(spec, edge_headers=replace(spec.edge_headers, x_content_type_options=None))
    run = sandbox_audit("--extra-checks", str(EXAMPLE), "-m", "security_headers", spec=spec)
    assert run.exit_code == pytest.ExitCode.TESTS_FAILED, run.output[-3000:]
    assert _xhd(run) == {host: "failed" for host in HOSTS}
    failed = next(check for check in run.checks if check["outcome"] == "failed")
    assert "without X-Content-Type-Options" in failed["message"]


# --- validation: a bad team check is a clear error, never a silent pass -------------


def _collect(tmp_path: Path, *options: str) -> subprocess.CompletedProcess:
    """Collection only, against a target file (no deployment is needed to collect)."""
    target = tmp_path / "target.toml"
    target.write_text(MINIMAL, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "checks", "--co", "-q", "--target", str(target), "--report-dir", str(tmp_path / "r"), *options],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _team_folder(tmp_path: Path, check_arguments: str, requirements: str | None = None) -> Path:
    folder = tmp_path / "team"
    folder.mkdir()
    (folder / "test_team.py").write_text(
        "from fixtures.checkmeta import check\n\n"
        f"@check({check_arguments}, plane='wire', severity='low', title='t', remediation='r')\n"
        "def test_rule(target):\n    assert target.domain\n",
        encoding="utf-8",
    )
    if requirements is not None:
        (folder / "requirements.toml").write_text(requirements, encoding="utf-8")
    return folder


def test_a_team_check_is_collected_beside_the_built_in_ones(tmp_path):
    folder = _team_folder(tmp_path, "id='TEAM-01', requirement='certificate'")
    result = _collect(tmp_path, "--extra-checks", str(folder))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test_team.py::test_rule" in result.stdout and "test_https_redirect.py" in result.stdout


@pytest.mark.parametrize(
    "arguments, why",
    [
        ("id='team-1', requirement='certificate'", "is not of the form ABC-01"),
        ("id='TEAM-01', requirement='security-headers'", "unknown requirement 'security-headers'"),
    ],
)
def test_a_bad_id_or_requirement_fails_collection_with_the_reason(tmp_path, arguments, why):
    result = _collect(tmp_path, "--extra-checks", str(_team_folder(tmp_path, arguments)))
    assert result.returncode == pytest.ExitCode.INTERRUPTED, result.stdout + result.stderr
    assert why in result.stdout + result.stderr


def test_an_id_another_check_has_is_a_usage_error(tmp_path):
    result = _collect(tmp_path, "--extra-checks", str(_team_folder(tmp_path, "id='RDR-01', requirement='https-redirect'")))
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert "check ID RDR-01 is used by two checks" in result.stderr


@pytest.mark.parametrize(
    "requirements, why",
    [
        ('[requirements]\n"Security Headers" = "x"\n', "requirements.Security Headers: requirement 'Security Headers' is not lower-case"),
        ('[requirements]\ncertificate = "ours"\n', "is built in"),
        ('[requirements]\nsecurity-headers = ""\n', "needs a description"),
        ("[requirement]\n", "requirement: is not a known key"),
    ],
)
def test_a_bad_requirements_file_is_a_usage_error_naming_file_and_key(tmp_path, requirements, why):
    folder = _team_folder(tmp_path, "id='TEAM-01', requirement='certificate'", requirements)
    result = _collect(tmp_path, "--extra-checks", str(folder))
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert str(folder / "requirements.toml") in result.stderr and why in result.stderr


def test_a_missing_folder_is_a_usage_error(tmp_path):
    result = _collect(tmp_path, "--extra-checks", str(tmp_path / "nowhere"))
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "nowhere" in result.stderr and "is not a folder" in result.stderr
