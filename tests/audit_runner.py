"""Run the audit the way a user does, in a child pytest process, and read its JSON report."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class AuditRun:
    exit_code: int
    output: str
    report: dict[str, Any]
    report_dir: Path
    seconds: float

    @property
    def checks(self) -> list[dict[str, Any]]:
        return self.report["checks"]

    def ids_with(self, outcome: str) -> set[str]:
        return {check["id"] for check in self.checks if check["outcome"] == outcome}

    def requirements_with(self, outcome: str) -> set[str]:
        return {check["requirement"] for check in self.checks if check["outcome"] == outcome}

    def outcomes(self) -> dict[str, str]:
        return {check["nodeid"]: check["outcome"] for check in self.checks}


def run_audit(report_dir: Path, *options: str, timeout: float = 180) -> AuditRun:
    """`python -m pytest checks OPTIONS --report-dir DIR` from the project root."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "checks", "-q", "--report-dir", str(report_dir), *options],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    seconds = time.monotonic() - started
    output = result.stdout + result.stderr
    report_file = report_dir / "compliance.json"
    assert report_file.is_file(), f"the audit wrote no compliance.json (exit {result.returncode}):\n{output[-4000:]}"
    report = json.loads(report_file.read_text(encoding="utf-8"))
    return AuditRun(result.returncode, output, report, report_dir, seconds)
