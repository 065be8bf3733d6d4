"""Done-when of the run history, end to end on SQLite and on a real PostgreSQL server:
three audits of the reference deployment (compliant, then with a fault, then compliant
again) show the fault's findings as new with their first-seen time, then as resolved;
the notifications carry them to a receiver on 127.0.0.1; `./run history` reads the
verdicts back. On SQLite, a fourth run shows that a store that cannot be reached
changes nothing but says so, and that --baseline compares with a previous report.

Each audit is `pytest checks [--sandbox-fault NAME]` in a child process, as an
operator runs it; `-m https_redirect` keeps each one short.
"""

from __future__ import annotations

from datetime import datetime, timezone

import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.history.findings import fingerprint
from fixtures.history.store import open_store
from tests.audit_runner import PROJECT, run_audit
from tests.hostile import closed_port
from tests.postgres import postgres_server  # noqa: F401 (a fixture)
from tests.receiver import Receiver

FAULT = "redirect-temporary"  # fails RDR-02 (on every public host: the apex, api. and www.) and RDR-06
SELECT = ("-m", "https_redirect")
TARGET = "reference deployment"


def _audit(directory: Path, *options: str):
    return run_audit(directory, *SELECT, *options)


def _keys(entries: list[dict]) -> set[tuple[str, str | None]]:
    return {(entry["id"], entry["parameter"]) for entry in entries}


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.sqlite'}"
    return request.getfixturevalue("postgres_server").create_database("nightly")


def test_a_fault_shows_as_new_then_as_resolved_and_each_change_is_notified(store_url, tmp_path):
    with Receiver() as receiver:
        history = ("--history", store_url, "--notify", receiver.url("/nightly"))
        first = _audit(tmp_path / "run1", *history)
        second = _audit(tmp_path / "run2", "--sandbox-fault", FAULT, *history)
        third = _audit(tmp_path / "run3", *history)
        fourth = None
        if store_url.startswith("sqlite"):
            unreachable = f"postgresql://edgeproof:hunter2@127.0.0.1:{closed_port()}/edgeproof"
            fourth = _audit(
                tmp_path / "run4", "--history", unreachable,
                "--baseline", str(second.report_dir / "compliance.json"),
            )
        messages = list(receiver.messages)

    # Run 1: written, nothing to compare with, nothing failed: nothing sent.
    assert first.exit_code == 0, first.output[-3000:]
    assert first.report["history"]["written"] is True and first.report["history"]["error"] is None
    assert first.report["drift"]["baseline"] is None and first.report["drift"]["counts"]["new"] == 0

    # Run 2: the fault's findings are new, first seen at this run's start, against run 1.
    drift = second.report["drift"]
    expected = {
        ("RDR-02", "api.cloudproject.test"),
        ("RDR-02", "cloudproject.test"),
        ("RDR-02", "www.cloudproject.test"),
        ("RDR-06", None),
    }
    assert second.exit_code == 1, second.output[-3000:]
    assert drift["baseline"]["run_id"] == first.report["history"]["run_id"]
    assert _keys(drift["new"]) == expected, drift
    assert {(e["first_seen"], e["runs"]) for e in drift["new"]} == {(second.report["started"], 1)}
    assert {e["fingerprint"] for e in drift["new"]} == {fingerprint(i, TARGET, p) for i, p in expected}
    assert drift["resolved"] == [] and drift["persisting"] == []
    assert drift["requirements_changed"] == [
        {"requirement": "https-redirect", "before": "compliant", "after": "non-compliant"}
    ]
    assert "NEW RDR-06 first seen" in second.output
    html = (second.report_dir / "compliance.html").read_text(encoding="utf-8")
    # First seen, as a reader reads a date (UTC, to the second).
    first_seen = datetime.fromisoformat(second.report["started"]).astimezone(timezone.utc)
    assert "New findings" in html and "RDR-06" in html and f"{first_seen:%Y-%m-%d %H:%M:%S} UTC" in html

    # Run 3: compliant again: the same findings resolved, with when they were first seen.
    drift = third.report["drift"]
    assert third.exit_code == 0, third.output[-3000:]
    assert drift["baseline"]["run_id"] == second.report["history"]["run_id"]
    assert _keys(drift["resolved"]) == expected and drift["new"] == []
    assert {(e["first_seen"], e["runs"], e["outcome"]) for e in drift["resolved"]} == {
        (second.report["started"], 1, "passed")
    }
    assert drift["requirements_changed"] == [
        {"requirement": "https-redirect", "before": "non-compliant", "after": "compliant"}
    ]
    assert "Resolved findings" in (third.report_dir / "compliance.html").read_text(encoding="utf-8")

    # The receiver got two messages: the new findings, then their resolution.
    assert [m["path"] for m in messages] == ["/nightly", "/nightly"], messages
    assert "4 new findings" in messages[0]["title"] and "RDR-06" in messages[0]["message"]
    assert f"first seen {second.report['started']}" in messages[0]["message"]
    assert "4 resolved" in messages[1]["title"] and "RDR-02 [api.cloudproject.test]" in messages[1]["message"]
    assert [r["sent"] for r in second.report["notifications"]["results"]] == [True]
    assert third.report["notifications"]["title"] == messages[1]["title"]

    # The store holds the three runs with every check record; `./run history` reads them back.
    store = open_store(store_url)
    try:
        runs = store.runs(TARGET, 10, with_checks=True)
    finally:
        store.dispose()
    assert [r.verdict for r in runs] == ["compliant", "non-compliant", "compliant"]
    assert [len(r.checks) for r in runs] == [len(run.checks) for run in (first, second, third)]
    listing = subprocess.run(
        [sys.executable, "-m", "fixtures.history", "--history", store_url, "--target", TARGET, "--last", "3"],
        cwd=PROJECT, capture_output=True, text=True, timeout=120,
    )
    assert listing.returncode == 0, listing.stderr
    row = next(line for line in listing.stdout.splitlines() if line.strip().startswith("https-redirect"))
    assert row.split()[1:] == ["compliant", "non-compliant", "compliant"], listing.stdout

    if fourth is not None:
        _unreachable_store_changes_nothing_and_baseline_file_compares(fourth, first, second, expected)


def _unreachable_store_changes_nothing_and_baseline_file_compares(fourth, first, second, expected) -> None:
    history = fourth.report["history"]
    assert fourth.exit_code == first.exit_code == 0, fourth.output[-3000:]
    assert fourth.report["summary"]["verdict"] == "compliant"
    assert history["written"] is False and history["error"], history
    assert "hunter2" not in fourth.output and "hunter2" not in str(fourth.report)
    assert "edgeproof history NOT WRITTEN" in fourth.output
    assert "History NOT written" in (fourth.report_dir / "compliance.html").read_text(encoding="utf-8")
    # --baseline: compared with run 2's report, not the (unreachable) store.
    drift = fourth.report["drift"]
    assert drift["baseline"]["source"] == "file" and drift["baseline"]["started"] == second.report["started"]
    assert _keys(drift["resolved"]) == expected
    assert {e["first_seen"] for e in drift["resolved"]} == {second.report["started"]}
