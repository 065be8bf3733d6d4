"""`python -m fixtures.sandbox --write-target FILE` runs a deployment an audit can target,
and Ctrl-C stops it cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from tests.audit_runner import PROJECT, run_audit

START_BOUND_SECONDS = 60


def test_a_standalone_sandbox_is_audited_through_its_target_file_and_stops_on_ctrl_c(tmp_path):
    target = tmp_path / "targets" / "sandbox.toml"
    process = subprocess.Popen(
        [sys.executable, "-m", "fixtures.sandbox", "--fault", "redirect-temporary", "--write-target", str(target)],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + START_BOUND_SECONDS
        while not target.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert target.exists(), "the sandbox wrote no target file"
        assert (target.parent / "sandbox-ca.pem").exists(), "the CA bundle the target names is missing"

        run = run_audit(tmp_path / "reports", "--target", str(target))
        assert run.requirements_with("failed") == {"https-redirect"}
        assert run.report["target"]["source"] == str(target)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert "reference deployment stopped" in output
