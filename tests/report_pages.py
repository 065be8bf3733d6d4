"""Audits of the reference deployment for the report's browser tests, run once per process.

The browser and PDF tests read the same two reports (compliant, and the
`sg-open-cidr` fault: findings on the services and the tasks); an audit costs
tens of seconds on a loaded machine, so each runs once per test process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import pytest

from fixtures.report.browser import chromium_path
from tests.audit_runner import AuditRun, run_audit

NON_COMPLIANT_FAULT = "sg-open-cidr"
AUDIT_TIMEOUT = 600
AXE_VERSION = "4"


def require_browser() -> None:
    pytest.importorskip("playwright.sync_api", reason="playwright is in the test profile (./run tests installs locks/test.txt)")
    if chromium_path() is None:
        pytest.skip("no Chromium: install the Debian `chromium` package (.ci/run does) or set EDGEPROOF_CHROMIUM")


@cache
def _scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="edgeproof-report-pages-"))


@cache
def audited(kind: str) -> AuditRun:
    """kind: "compliant" or "non-compliant"."""
    options = () if kind == "compliant" else ("--sandbox-fault", NON_COMPLIANT_FAULT)
    run = run_audit(_scratch() / kind, *options, timeout=AUDIT_TIMEOUT)
    expected = "compliant" if kind == "compliant" else "non-compliant"
    assert run.report["summary"]["verdict"] == expected, run.output[-3000:]
    return run


@cache
def audited_fault(fault: str) -> AuditRun:
    """The reference deployment with one fault, audited once per process."""
    run = run_audit(_scratch() / fault, "--sandbox-fault", fault, timeout=AUDIT_TIMEOUT)
    assert run.report["summary"]["verdict"] == "non-compliant", run.output[-3000:]
    return run


def html_of(run: AuditRun) -> Path:
    return run.report_dir / "compliance.html"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edgeproof"


@cache
def axe_script() -> str:
    """axe-core from the npm registry, installed once into a cache directory outside the project."""
    target = cache_dir() / f"axe-core-{AXE_VERSION}"
    script = target / "node_modules" / "axe-core" / "axe.min.js"
    if not script.is_file():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is needed to fetch axe-core (Debian package `npm`; .ci/run installs it)")
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--prefix", str(target), "--no-audit", "--no-fund", "--no-save", f"axe-core@{AXE_VERSION}"],
            check=True, capture_output=True, timeout=300,
        )
    return script.read_text(encoding="utf-8")


def findings_of(run: AuditRun) -> list[dict]:
    return [c for c in run.checks if c["outcome"] == "failed"]


def dump(value) -> str:
    return json.dumps(value, indent=1)[:3000]
