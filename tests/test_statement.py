"""Verdict, gate and scope agree everywhere: one set of sentences (fixtures.report.sentences)
in the terminal, compliance.json, junit.xml, the HTML banner and the notification."""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET

from fixtures.history import notify
from fixtures.report.sentences import run_statement


def _document(**changes):
    checks = [
        {"id": "COR-02", "title": "Foreign origins are refused", "parameter": None, "severity": "medium", "outcome": "failed",
         "requirement": "cors", "message": "the API admits https://attacker.example"},
        {"id": "DNS-01", "title": "alias", "parameter": "api.x.test", "severity": "high", "outcome": "skipped",
         "requirement": "dns-alias", "message": "pre-cutover"},
    ]
    document = {
        "summary": {"verdict": "non-compliant", "requirements_not_checked": []},
        "checks": checks,
        "gate": {"fail_on": "high", "incomplete_fails": True, "decision": "pass", "exit_code": 0, "failing_checks": []},
    }
    document.update(changes)
    return document


def test_a_finding_below_the_threshold_is_a_finding_the_gate_tolerates():
    sentences = run_statement(_document())
    assert sentences[0] == "Verdict: non-compliant. 1 finding: COR-02 (medium)."
    assert sentences[1] == "Gate: passes (exit 0) with --fail-on high: 0 findings at or above high."
    assert sentences[2].startswith("1 finding below high the gate tolerates: COR-02 (medium)")


def test_the_mode_says_what_it_left_unchecked():
    pinned = run_statement(_document(stats={"pinned_to_alb": "alb-1.elb.test"}))
    assert "Mode: pre-cutover, pinned to the ALB alb-1.elb.test (--pin-to-alb): public DNS was not checked (DNS-01 skipped)." in pinned
    several = run_statement(_document(targets={"production": {}, "staging": {}}))
    assert "Mode: 2 targets in one run (production, staging); the verdict and the gate cover them all." in several
    waived = run_statement(_document(checks=[{"id": "RTE-01", "severity": "low", "outcome": "waived"}]))
    assert any(s.startswith("Waivers applied: 1 finding waived (RTE-01 (low))") for s in waived)


def test_every_report_of_a_run_states_the_same_gate(sandbox_audit):
    run = sandbox_audit("--fail-on", "high", fault="cors-wildcard")
    statement = run.report["statement"]
    assert run.exit_code == 0 and run.report["summary"]["verdict"] == "non-compliant"
    assert run.report["gate"]["exit_meaning"] == "findings-tolerated"  # never "compliant" beside non-compliant
    assert any("the gate tolerates: COR-02 (medium)" in s for s in statement), statement
    for sentence in statement:
        assert f"edgeproof: {sentence}" in run.output
    page = (run.report_dir / "compliance.html").read_text(encoding="utf-8")
    assert all(html.escape(s, quote=False) in page for s in statement)
    suite = ET.parse(run.report_dir / "junit.xml").getroot()
    told = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert told["edgeproof_statement"] == " ".join(statement)
    run.report.setdefault("drift", {"new": [], "resolved": []})["baseline"] = None
    run.report["drift"]["new"] = [{**c, "first_seen": run.report["started"], "runs": 1}
                                  for c in run.report["checks"] if c["outcome"] == "failed"]
    message = notify.message_for(run.report)
    assert all(s in message.body for s in statement)
