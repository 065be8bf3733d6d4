"""A second reference deployment, in its own process.

One process holds one sandbox: moto keeps its AWS state per process, so a test
that needs two deployments side by side runs the second as
`python -m fixtures.sandbox --write-target FILE`, exactly as a user would, and
stops it when done. Every wait here is bounded.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.audit_runner import PROJECT

START_BOUND_SECONDS = 90
STOP_BOUND_SECONDS = 20
READY_LINE = "reference deployment running"


@contextmanager
def sandbox_process(target_file: Path, fault: str | None = None) -> Iterator[Path]:
    """Start a reference deployment (with `fault`); yield its target file once it runs."""
    command = [sys.executable, "-m", "fixtures.sandbox", "--write-target", str(target_file)]
    if fault:
        command += ["--fault", fault]
    process = subprocess.Popen(command, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str | None] = queue.Queue()
    seen: list[str] = []

    def read() -> None:  # a thread, so that waiting for the ready line is bounded
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, name="sandbox-output", daemon=True).start()
    try:
        deadline = time.monotonic() + START_BOUND_SECONDS
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"the sandbox did not start within {START_BOUND_SECONDS}s:\n{''.join(seen)}")
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"the sandbox exited (code {process.wait(5)}) before it ran:\n{''.join(seen)}")
            seen.append(line)
            if READY_LINE in line:  # printed after the target file is written
                break
        yield target_file
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=STOP_BOUND_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_BOUND_SECONDS)
