"""The example workflow's own steps, run as GitHub runs them, against the reference deployment.

actionlint proves the workflow is well formed (tests/test_workflow_lint.py); this
proves it does what it says: the `plan` step lists the target files of a
`targets/` folder that also holds a waivers file, a CA bundle and a README (one
matrix job per target file, and only those); the `audit` step runs `./run audit`
on one of them, keeps its exit code and leaves the reports; the `Verdict` step
ends the job with that code. Each step's `run:` text is taken from the YAML and
run with the shell GitHub uses (`bash --noprofile --norc -eo pipefail`), in a
copy of the repository's layout whose `.venv` is this checkout's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from fixtures.sandbox.deployment import Sandbox
from tests.audit_runner import PROJECT

WORKFLOW = PROJECT / "examples" / "github-actions" / "edgeproof-nightly.yml"
STEP_BOUND_SECONDS = 240


def _step(job: str, predicate) -> dict:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return next(step for step in workflow["jobs"][job]["steps"] if predicate(step))


def _run_step(step: dict, repository: Path, **env: str) -> tuple[int, str, dict[str, str]]:
    """Run one step's script as a GitHub runner does; return (exit code, output, what it wrote to GITHUB_OUTPUT)."""
    assert "${{" not in step["run"], "a script that interpolates expressions cannot run outside GitHub"
    script = repository / "step.sh"
    script.write_text(step["run"], encoding="utf-8")
    outputs = repository / "github_output"
    outputs.write_text("", encoding="utf-8")
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # setup-python's python first
        "GITHUB_OUTPUT": str(outputs),
        "EDGEPROOF_HISTORY_URL": "",
        "EDGEPROOF_NOTIFY_URL": "",
        **env,
    }
    environment.pop("EDGEPROOF_HISTORY", None)  # the step passes --history itself
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=repository, env=environment, capture_output=True, text=True, timeout=STEP_BOUND_SECONDS,
    )
    written = dict(line.split("=", 1) for line in outputs.read_text(encoding="utf-8").splitlines() if "=" in line)
    return result.returncode, result.stdout + result.stderr, written


@pytest.fixture(scope="module")
def repository(tmp_path_factory) -> Path:
    """A team's repository: edgeproof's files, and targets/ with a waivers file and a README."""
    root = tmp_path_factory.mktemp("team-repository")
    for name in ("checks", "fixtures", "conftest.py", "pyproject.toml", "run", "locks", ".venv"):
        (root / name).symlink_to(PROJECT / name)
    targets = root / "targets"
    targets.mkdir()
    (targets / "README.md").write_text("One target file per deployment.\n", encoding="utf-8")
    expires = (date.today() + timedelta(days=30)).isoformat()
    (targets / "waivers.toml").write_text(
        f'[[waiver]]\ncheck = "LOG-07"\nreason = "the newest log file may lag"\nowner = "platform"\nexpires = {expires}\n',
        encoding="utf-8",
    )
    return root


def test_the_plan_step_lists_the_target_files_and_nothing_else(repository):
    root = repository
    with Sandbox() as sandbox:  # one deployment, two target files naming it (each with its CA bundle)
        sandbox.write_target(root / "targets" / "production.toml", name="production")
        sandbox.write_target(root / "targets" / "staging.toml", name="staging")
    plan = _step("plan", lambda step: step.get("id") == "list")
    code, output, written = _run_step(plan, root, ONLY="")
    assert code == 0, output
    assert json.loads(written["targets"]) == ["production", "staging"]  # not waivers, not the README, not the CA bundles

    code, output, written = _run_step(plan, root, ONLY="staging")
    assert code == 0 and json.loads(written["targets"]) == ["staging"], output
    code, output, _written = _run_step(plan, root, ONLY="waivers")
    assert code != 0 and "no target file targets/waivers.toml" in output


def _audit(root: Path, name: str, fault: str | None) -> tuple[int, str, dict[str, str]]:
    shutil.rmtree(root / "reports", ignore_errors=True)
    audit = _step("audit", lambda step: step.get("id") == "audit")
    with Sandbox(fault=fault) as sandbox:
        sandbox.write_target(root / "targets" / f"{name}.toml", name=name)
        return _run_step(audit, root, TARGET=name)


def test_the_audit_and_verdict_steps_pass_a_compliant_deployment(repository):
    root = repository
    code, output, written = _audit(root, "production", None)
    assert code == 0, output  # the step itself never fails: the verdict step does
    assert written["status"] == "0", output[-3000:]
    report = json.loads((root / "reports" / "compliance.json").read_text(encoding="utf-8"))
    assert report["summary"]["verdict"] == "compliant"
    assert (root / "reports" / "compliance.sarif").is_file()
    # targets/waivers.toml was read as the waivers file (its one waiver is stale: LOG-07 passed).
    assert report["waivers"]["file"].endswith("waivers.toml")
    assert [w["check"] for w in report["waivers"]["stale"]] == ["LOG-07"]
    assert list((root / ".edgeproof-history").glob("*.sqlite"))  # the SQLite history the cache keeps

    verdict = _step("audit", lambda step: step.get("name") == "Verdict")
    code, output, _written = _run_step(verdict, root, STATUS=written["status"])
    assert code == 0 and "compliant" in output


def test_a_finding_fails_the_job_with_the_audits_code_after_the_reports_are_written(repository):
    root = repository
    code, output, written = _audit(root, "staging", "redirect-temporary")  # RDR-02, RDR-06: a finding
    assert code == 0 and written["status"] == "1", output[-3000:]
    assert (root / "reports" / "compliance.html").is_file()  # uploaded whatever the code
    verdict = _step("audit", lambda step: step.get("name") == "Verdict")
    code, output, _written = _run_step(verdict, root, STATUS=written["status"])
    assert code == 1 and "::error::findings" in output
    for status, words in (("7", "could not verify"), ("4", "exit 4")):
        code, output, _written = _run_step(verdict, root, STATUS=status)
        assert code == int(status) and words in output
