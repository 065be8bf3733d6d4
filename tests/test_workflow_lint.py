"""The ready-made schedule: the GitHub Actions example passes actionlint and has what the README
promises; the container definition runs an audit of a mounted target with options that exist.

Docker itself cannot run here, so the Dockerfile is read, not built: its COPY sources must
exist and its entry point must be an audit command this checkout accepts.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.audit_runner import PROJECT

WORKFLOW = PROJECT / "examples" / "github-actions" / "edgeproof-nightly.yml"
DOCKERFILE = PROJECT / "examples" / "container" / "Dockerfile"


def _actionlint() -> str:
    beside_python = Path(sys.executable).parent / "actionlint"
    found = str(beside_python) if beside_python.exists() else shutil.which("actionlint")
    assert found, "actionlint is not installed (pyproject's test extra brings it)"
    return found


def _lint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_actionlint(), "-no-color", str(path)], capture_output=True, text=True, timeout=120, cwd=PROJECT
    )


def test_the_example_workflow_passes_actionlint():
    result = _lint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_fails_a_workflow_with_a_real_mistake(tmp_path):
    # The mistake the example's `plan` job avoids: matrix is not known in a job's `if`.
    broken = WORKFLOW.read_text(encoding="utf-8").replace(
        "    needs: plan\n", "    needs: plan\n    if: ${{ matrix.target != '' }}\n", 1
    )
    path = tmp_path / "broken.yml"
    path.write_text(broken, encoding="utf-8")
    result = _lint(path)
    assert result.returncode == 1 and 'context "matrix" is not allowed here' in result.stdout, result.stdout


def _steps_using(workflow: dict, action: str) -> list[dict]:
    return [
        step
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        if str(step.get("uses", "")).startswith(action + "@")
    ]


def test_the_workflow_has_the_schedule_credentials_reports_sarif_history_and_matrix():
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["schedule"][0]["cron"] and "workflow_dispatch" in triggers
    assert workflow["permissions"]["id-token"] == "write"
    (credentials,) = _steps_using(workflow, "aws-actions/configure-aws-credentials")
    assert "role-to-assume" in credentials["with"] and "aws-access-key-id" not in credentials["with"]
    (artifact,) = _steps_using(workflow, "actions/upload-artifact")
    assert artifact["with"]["path"] == "reports/"
    (sarif,) = _steps_using(workflow, "github/codeql-action/upload-sarif")
    assert sarif["with"]["sarif_file"] == "reports/compliance.sarif"
    assert _steps_using(workflow, "actions/cache")
    audit = workflow["jobs"]["audit"]
    assert audit["strategy"]["matrix"]["target"] and audit["strategy"]["fail-fast"] is False
    assert audit["env"]["EDGEPROOF_HISTORY_URL"] == "${{ secrets.EDGEPROOF_HISTORY_URL }}"
    script = next(step["run"] for step in audit["steps"] if step.get("id") == "audit")
    assert "./run audit --target" in script and '--history "${history}"' in script


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            logical.append(current.strip())
            current = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1]) for text in logical]


def test_the_container_audits_a_mounted_target_with_options_this_checkout_knows():
    instructions = _instructions(DOCKERFILE)
    assert instructions[0][0] == "FROM" and instructions[0][1].startswith("python:3.11")
    for name, arguments in instructions:
        if name == "COPY":
            *sources, _destination = shlex.split(arguments)
            for source in sources:
                assert (PROJECT / source).exists(), f"COPY {source}: not in the repository"
    users = [arguments for name, arguments in instructions if name == "USER"]
    assert users and users[-1] not in ("root", "0")
    (entrypoint,) = [json.loads(arguments) for name, arguments in instructions if name == "ENTRYPOINT"]
    assert entrypoint[:4] == ["python", "-m", "pytest", "checks"]
    assert entrypoint[entrypoint.index("--target") + 1] == "/target/target.toml"
    # Every option the image passes, and the history ones its README names, exist here.
    help_text = subprocess.run(
        [sys.executable, "-m", "pytest", "checks", "--help"], cwd=PROJECT, capture_output=True, text=True, timeout=120
    ).stdout
    for option in [a for a in entrypoint if a.startswith("--")] + ["--history", "--notify", "--no-history", "--baseline"]:
        assert option in help_text, option
