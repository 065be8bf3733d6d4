"""The opt-in end-to-end access-log check (LOG-07): left out by default; with --run-slow or
-m slow it passes on the reference deployment and fails on `logs-disabled`, within its bound."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.audit_runner import PROJECT
from tests.hostile import set_target_key
from tests.sandbox_audit import running_sandbox

# Generous where the line lands (the poll returns as soon as it does), short where it never can.
LANDING_BOUND_SECONDS = 20
BOUND_SECONDS = 4


def with_delivery_bound(target: Path, seconds: int) -> Path:
    """The sandbox's target file with [thresholds] log_delivery_bound_seconds set."""
    set_target_key(target, "log_delivery_bound_seconds", str(seconds))
    return target


def delivery_check(run) -> dict:
    found = [check for check in run.checks if check["id"] == "LOG-07"]
    assert len(found) == 1, run.output[-3000:]
    return found[0]


def evidence_of(check: dict, label: str):
    return next(item["value"] for item in check["evidence"] if item["label"] == label)


def collected(target: Path, *options: str) -> list[str]:
    """The node ids an audit with these options would run (collection only: nothing is probed)."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "checks", "--collect-only", "-q", "--target", str(target), *options],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return [line for line in result.stdout.splitlines() if "::" in line]


def test_the_end_to_end_check_is_opt_in_and_passes_on_the_reference_deployment(tmp_path):
    with running_sandbox(tmp_path) as running:
        target = with_delivery_bound(running.target, LANDING_BOUND_SECONDS)
        by_default = collected(target, "-m", "access_logs")
        opted_in = running.audit("-m", "access_logs", "--run-slow", reports="slow")
    assert by_default and not any("test_access_log_delivery" in node for node in by_default)
    assert len(opted_in.checks) == len(by_default) + 1

    check = delivery_check(opted_in)
    assert check["outcome"] == "passed", check["message"]
    delivery = evidence_of(check, "end-to-end delivery")
    assert delivery["marker"] in delivery["found_line"]["request"]
    assert delivery["waited_seconds"] < LANDING_BOUND_SECONDS
    assert opted_in.ids_with("failed") == set() and opted_in.ids_with("error") == set()


def test_the_end_to_end_check_fails_on_logs_disabled_within_its_bound(tmp_path):
    with running_sandbox(tmp_path, fault="logs-disabled") as running:
        with_delivery_bound(running.target, BOUND_SECONDS)
        run = running.audit("-m", "slow")
    check = delivery_check(run)
    assert check["outcome"] == "failed", check["message"]
    assert f"within {BOUND_SECONDS} s" in check["message"]
    delivery = evidence_of(check, "end-to-end delivery")
    assert BOUND_SECONDS <= delivery["waited_seconds"] < BOUND_SECONDS + 5
    assert delivery["found_in"] is None and delivery["polls"] >= 2
    assert {c["id"] for c in run.checks} == {"LOG-07"}
