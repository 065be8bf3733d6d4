"""`./run` installs the smallest profile its command needs, from the lock, and nothing else.

The real script runs in a copy of the project's `run` and `locks/`, with a
Python that records what it is asked (`-m venv`, `-m pip install ...`,
`-m pytest ...`) instead of installing: what is installed, from which lock,
and when the venv is rebuilt is the script's logic, which is what this proves.
The installs themselves (sizes, times) are measured in the README, *Installs*.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.audit_runner import PROJECT

RECORDING_PYTHON = """#!/bin/sh
echo "$*" >> "$RUN_LOG"
case "$1" in
    -c) exec "$REAL_PYTHON" "$@" ;;
    -m)
        case "$2" in
            venv) mkdir -p "$3/bin" && cp "$RECORDING_PYTHON" "$3/bin/python" ;;
        esac ;;
esac
exit 0
"""


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    shutil.copy(PROJECT / "run", tmp_path / "run")
    shutil.copy(PROJECT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(PROJECT / "locks", tmp_path / "locks", ignore=shutil.ignore_patterns("__pycache__"))
    recorder = tmp_path / "python"
    recorder.write_text(RECORDING_PYTHON, encoding="utf-8")
    recorder.chmod(0o755)
    environment = {
        **os.environ,
        "PYTHON": str(recorder),
        "REAL_PYTHON": sys.executable,
        "RECORDING_PYTHON": str(recorder),
        "RUN_LOG": str(tmp_path / "log"),
    }
    return tmp_path, environment


def run(project: tuple[Path, dict[str, str]], *arguments: str) -> list[str]:
    """`./run ARGUMENTS`; the lines the recording Python was asked, other than hashing."""
    root, environment = project
    log = root / "log"
    log.write_text("", encoding="utf-8")
    result = subprocess.run(["sh", str(root / "run"), *arguments], env=environment, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [line for line in log.read_text(encoding="utf-8").splitlines() if not line.startswith("-c ")]


def installs(lines: list[str]) -> list[str]:
    return [line.split(" -r ", 1)[1] for line in lines if line.startswith("-m pip install") and " -r " in line]


def project_installs(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("-m pip install") and "--editable" in line]


def test_auditing_a_real_target_installs_only_the_runtime_with_hashes(project):
    lines = run(project, "audit", "--target", "prod.toml")
    assert installs(lines) == ["locks/runtime.txt"]
    (pip,) = [line for line in lines if line.startswith("-m pip install") and " -r " in line]
    assert "--require-hashes" in pip and "--no-deps" in pip
    assert lines[-1] == "-m pytest checks --target prod.toml"
    assert installs(run(project, "audit", "--target=staging.toml")) == []  # installed already
    assert installs(run(project, "history", "--limit", "3")) == []  # the history needs the runtime only


def test_the_reference_deployment_adds_the_sandbox_and_the_tests_add_theirs(project):
    assert installs(run(project, "audit")) == ["locks/sandbox.txt"]
    assert installs(run(project, "audit", "--sandbox-fault", "cors-wildcard")) == []
    assert installs(run(project, "audit", "--target", "prod.toml")) == []  # a larger profile serves a smaller one
    assert installs(run(project, "tests", "-x")) == ["locks/test.txt"]
    assert installs(run(project, "audit")) == []


def test_a_changed_lock_rebuilds_the_venv_from_nothing(project):
    root, _environment = project
    run(project, "tests")
    (root / ".venv" / "leftover").write_text("a package of an earlier install", encoding="utf-8")
    with (root / "locks" / "test.txt").open("a", encoding="utf-8") as lock:
        lock.write("# refreshed\n")
    lines = run(project, "audit", "--target", "prod.toml")
    assert any(line.startswith("-m venv .venv") for line in lines)
    assert installs(lines) == ["locks/runtime.txt"]
    assert not (root / ".venv" / "leftover").exists()


def test_discover_installs_only_the_runtime_and_runs_the_discover_module(project):
    lines = run(project, "discover", "example.com", "--region", "eu-west-1")
    assert installs(lines) == ["locks/runtime.txt"]
    assert lines[-1] == "-m fixtures.discover example.com --region eu-west-1"


def test_the_checkout_is_installed_editable_offline_and_again_only_when_pyproject_changes(project):
    # The editable install registers the pytest11 entry point (fixtures/runtime/rooting.py)
    # that makes `python -m pytest --target PATH` root the run at the checkout.
    root, _environment = project
    (first,) = project_installs(run(project, "audit", "--target", "prod.toml"))
    for flag in ("--no-index", "--no-build-isolation", "--no-deps", "--editable ."):
        assert flag in first, first
    assert project_installs(run(project, "history")) == []
    assert project_installs(run(project, "tests")) == [], "a larger profile goes into the same venv: the checkout stays"
    assert project_installs(run(project, "audit")) == []
    with (root / "pyproject.toml").open("a", encoding="utf-8") as pyproject:
        pyproject.write("# an entry point changed\n")
    lines = run(project, "audit")
    assert installs(lines) == [] and len(project_installs(lines)) == 1
