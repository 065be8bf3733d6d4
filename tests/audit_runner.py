"""Run the audit the way a user does, in a child pytest process, and read its JSON report."""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
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

    def why(self, outcome: str) -> str:
        """Each check with this outcome and its message: what a failed assertion should show."""
        lines = [f"{check['nodeid']}: {(check.get('message') or '')[:300]}" for check in self.checks if check["outcome"] == outcome]
        return "\n".join(lines)

    def outcomes(self) -> dict[str, str]:
        return {check["nodeid"]: check["outcome"] for check in self.checks}


def run_audit(report_dir: Path, *options: str, timeout: float = 180) -> AuditRun:
    """`python -m pytest checks OPTIONS --report-dir DIR` from the project root."""
    started = time.monotonic()
    arguments = ["checks", "-q", "--report-dir", str(report_dir), *options]
    returncode, output = _WARM.run(arguments, timeout) if _WARM.usable() else _run_cold(arguments, timeout)
    seconds = time.monotonic() - started
    report_file = report_dir / "compliance.json"
    assert report_file.is_file(), f"the audit wrote no compliance.json (exit {returncode}):\n{output[-4000:]}"
    report = json.loads(report_file.read_text(encoding="utf-8"))
    return AuditRun(returncode, output, report, report_dir, seconds)


def _run_cold(arguments: list[str], timeout: float) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *arguments], cwd=PROJECT, capture_output=True, text=True, timeout=timeout
    )
    return result.returncode, result.stdout + result.stderr


class _WarmAudits:
    """The client of tests.audit_server: one server per test process, started on first use.

    EDGEPROOF_COLD_AUDITS=1 runs every audit as a fresh `python -m pytest` instead
    (what the server saves is start-up time only; the audits are the same).
    """

    def __init__(self) -> None:
        self._server: subprocess.Popen | None = None
        self._pending = b""
        self._lock = threading.Lock()
        self._broken = os.environ.get("EDGEPROOF_COLD_AUDITS") == "1" or not hasattr(os, "fork")

    def usable(self) -> bool:
        return not self._broken

    def run(self, arguments: list[str], timeout: float) -> tuple[int, str]:
        if not self._lock.acquire(blocking=False):
            return _run_cold(arguments, timeout)  # another thread's audit is running: do not wait for it
        try:
            server = self._started()
            with tempfile.TemporaryDirectory(prefix="edgeproof-audit-") as scratch:
                output = Path(scratch) / "output.txt"
                request = {"args": arguments, "cwd": str(PROJECT), "env": dict(os.environ), "output": str(output)}
                server.stdin.write(json.dumps(request) + "\n")
                server.stdin.flush()
                deadline = time.monotonic() + timeout
                pid = self._answer(server, deadline)["pid"]
                try:
                    code = self._answer(server, deadline)["exit"]
                except subprocess.TimeoutExpired:
                    os.killpg(pid, signal.SIGKILL)
                    self._answer(server, time.monotonic() + 30)
                    raise subprocess.TimeoutExpired(["pytest", *arguments], timeout) from None
                return code, output.read_text(encoding="utf-8", errors="replace")
        except (OSError, ValueError, KeyError) as error:
            self._stop()
            raise AssertionError(f"the warm audit server failed: {error!r}") from error
        finally:
            self._lock.release()

    def _started(self) -> subprocess.Popen:
        if self._server is None or self._server.poll() is not None:
            self._server = subprocess.Popen(
                [sys.executable, "-m", "tests.audit_server"],
                cwd=PROJECT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            self._pending = b""
            atexit.register(self._stop)
        return self._server

    def _answer(self, server: subprocess.Popen, deadline: float) -> dict:
        # Read the pipe's descriptor directly: a buffered readline could swallow both
        # answers at once, and select() would then wait for one already read.
        descriptor = server.stdout.fileno()
        while b"\n" not in self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([descriptor], [], [], remaining)[0]:
                raise subprocess.TimeoutExpired("tests.audit_server", max(remaining, 0))
            chunk = os.read(descriptor, 65536)
            if not chunk:
                raise OSError(f"the audit server exited ({server.poll()})")
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return json.loads(line)

    def _stop(self) -> None:
        server, self._server = self._server, None
        if server is not None and server.poll() is None:
            server.stdin.close()  # the server ends when its requests end
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()


_WARM = _WarmAudits()
