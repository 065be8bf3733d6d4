"""Start the reference deployment, write its target file, audit it: what most of the suite's audits do.

    def test_x(sandbox_audit):                       # tests/conftest.py
        run = sandbox_audit("-m", "routing", fault="redirect-temporary")

    with running_sandbox(directory, spec) as running:  # to change the target, or audit twice
        run = running.audit("--pin-to-alb")

The deployment runs in this process (fixtures.sandbox.deployment); each audit is
`pytest checks --target FILE` in a child process (tests.audit_runner), as an
operator audits a real deployment.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fixtures.sandbox.deployment import Sandbox
from tests.audit_runner import AuditRun, run_audit

DEFAULT_TIMEOUT = 180


@dataclass(frozen=True)
class RunningSandbox:
    sandbox: Sandbox
    target: Path  # its target file
    directory: Path  # where the target file and the reports go

    def audit(self, *options: str, reports: str = "reports", target: Path | None = None, timeout: float = DEFAULT_TIMEOUT) -> AuditRun:
        """`pytest checks --target FILE OPTIONS --report-dir DIRECTORY/REPORTS`."""
        return run_audit(self.directory / reports, "--target", str(target or self.target), *options, timeout=timeout)


@contextmanager
def running_sandbox(directory: Path, spec: Any = None, **sandbox_options: Any) -> Iterator[RunningSandbox]:
    """The reference deployment (a spec; fault=, enforce_iam=, latency_ms=) with its target file written in `directory`."""
    with Sandbox(spec, **sandbox_options) as sandbox:
        yield RunningSandbox(sandbox, sandbox.write_target(directory / "target.toml"), directory)


def audit_sandbox(directory: Path, *options: str, spec: Any = None, timeout: float = DEFAULT_TIMEOUT, **sandbox_options: Any) -> AuditRun:
    """Start the deployment, audit it once with `options`, stop it."""
    with running_sandbox(directory, spec, **sandbox_options) as running:
        return running.audit(*options, timeout=timeout)
