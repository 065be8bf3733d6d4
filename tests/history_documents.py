"""Synthetic compliance.json documents, shaped as the report writes them, for the store's tests
(and for the writer processes those tests start, which import only this)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

T0 = datetime(2026, 1, 1, 2, 0, tzinfo=timezone.utc)
CHECKS = [("RDR-02", "api.example.com", "https-redirect"), ("RDR-02", "example.com", "https-redirect"), ("LOG-01", None, "access-logs")]


def document(target: str, night: int, outcomes: dict[str, str] | None = None, waiver: dict | None = None) -> dict:
    """A compliance.json as the report writes it: night N of a nightly schedule."""
    outcomes = outcomes or {}
    records = []
    for check_id, parameter, requirement in CHECKS:
        key = f"{check_id}[{parameter}]" if parameter else check_id
        outcome = outcomes.get(key, "passed")
        record = {
            "id": check_id, "title": "t", "requirement": requirement, "plane": "wire", "severity": "high",
            "controls": [], "parameter": parameter, "outcome": outcome,
            "message": "expected 301, got 302" if outcome == "failed" else "", "evidence": [], "remediation": "r",
            "nodeid": f"checks/x.py::{key}", "duration_seconds": 0.1,
        }
        if waiver and outcome == "failed":
            record["waiver"] = waiver
        records.append(record)
    counts = {o: sum(r["outcome"] == o for r in records) for o in ("passed", "failed", "error", "skipped")}
    by_requirement = {}
    for record in records:
        row = by_requirement.setdefault(record["requirement"], {o: 0 for o in counts})
        row[record["outcome"]] += 1
    for row in by_requirement.values():
        row["verdict"] = "non-compliant" if row["failed"] else "incomplete" if row["error"] else "compliant"
    verdict = "non-compliant" if counts["failed"] else "incomplete" if counts["error"] else "compliant"
    started = T0 + timedelta(days=night)
    return {
        "tool": "edgeproof", "version": "0.1.0",
        "started": started.isoformat(timespec="seconds"),
        "finished": (started + timedelta(seconds=9)).isoformat(timespec="seconds"),
        "duration_seconds": 9.0, "target": {"name": target, "domain": "example.com"}, "stats": {},
        "summary": {**counts, "verdict": verdict, "by_requirement": by_requirement, "requirements_not_checked": []},
        "collection_errors": [], "interrupted": False, "checks": records,
    }
