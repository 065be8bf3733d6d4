"""compliance.sarif against the published OASIS SARIF 2.1.0 schema (shipped beside this file).

tests/sarif-schema-2.1.0.json is the OASIS errata01 schema, verbatim (its `id`
names where OASIS publishes it). The end-to-end run's file is validated in
tests/test_waivers.py; here documents shaped like the real one are.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from fixtures.report.sarif import SECURITY_SEVERITY, build_sarif, write_sarif

SCHEMA_PATH = Path(__file__).with_name("sarif-schema-2.1.0.json")


def validate_sarif(log: dict) -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator_class(schema, format_checker=validator_class.FORMAT_CHECKER).validate(log)


def record(check, outcome, *, severity="high", parameter=None, waiver=None, message="observed something else"):
    return {
        "id": check,
        "title": f"{check} holds",
        "requirement": "https-redirect",
        "plane": "wire",
        "severity": severity,
        "controls": ["ELB.1"],
        "parameter": parameter,
        "outcome": outcome,
        "observed_outcome": "failed" if outcome == "waived" else outcome,
        "waiver": waiver,
        "message": message if outcome != "passed" else "",
        "evidence": [{"label": "answer", "value": {"status": 302}}],
        "remediation": f"Fix {check}.",
        "nodeid": f"checks/test_x.py::test_{check}" + (f"[{parameter}]" if parameter else ""),
        "duration_seconds": 0.01,
    }


WAIVER = {
    "check": "RDR-02",
    "parameter": "api.example.com",
    "reason": "302 until the CDN cut-over",
    "owner": "platform",
    "expires": "2025-04-01",
    "status": "applied",
    "source": "waivers.toml#1",
}


def document(records, *, source):
    return {
        "tool": "edgeproof",
        "version": "0.1.0",
        "started": "2025-03-10T10:00:00+00:00",
        "finished": "2025-03-10T10:00:30+00:00",
        "target": {"name": "production", "source": source, "alb_name": "web-alb", "region": "eu-west-1"},
        "summary": {"verdict": "non-compliant"},
        "collection_errors": [],
        "interrupted": False,
        "checks": records,
    }


RECORDS = [
    record("RDR-01", "passed"),
    record("RDR-02", "waived", severity="medium", parameter="api.example.com", waiver=WAIVER),
    record("RDR-02", "failed", severity="medium", parameter="example.com"),
    record("CRT-05", "failed", severity="critical"),
    record("ING-06", "error", severity="low"),
    record("LOG-07", "skipped", severity="info"),
]


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "infra").mkdir()
    target = tmp_path / "infra" / "prod.toml"
    target.write_text("# target\n", encoding="utf-8")
    return tmp_path, target


def test_the_log_validates_and_has_one_rule_per_check(repo):
    root, target = repo
    log = build_sarif(document(RECORDS, source=str(target)), base_dir=root)
    validate_sarif(log)
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["CRT-05", "ING-06", "LOG-07", "RDR-01", "RDR-02"]
    by_id = {r["id"]: r for r in rules}
    assert by_id["CRT-05"]["properties"]["security-severity"] == "9.5"
    assert by_id["RDR-02"]["properties"]["security-severity"] == "5.5"
    assert by_id["LOG-07"]["properties"]["security-severity"] == "0.0"
    assert by_id["RDR-02"]["help"]["text"] == "Fix RDR-02."
    assert {"https-redirect", "wire", "ELB.1"} <= set(by_id["RDR-02"]["properties"]["tags"])
    assert set(SECURITY_SEVERITY) == {"critical", "high", "medium", "low", "info"}


def test_results_are_the_failed_and_waived_checks_with_a_code_scanning_location(repo):
    root, target = repo
    run = build_sarif(document(RECORDS, source=str(target)), base_dir=root)["runs"][0]
    results = run["results"]
    assert sorted((r["ruleId"], r["properties"]["outcome"]) for r in results) == [
        ("CRT-05", "failed"),
        ("RDR-02", "failed"),
        ("RDR-02", "waived"),
    ]
    rules = run["tool"]["driver"]["rules"]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        (location,) = result["locations"]
        assert location["physicalLocation"] == {
            "artifactLocation": {"uri": "infra/prod.toml", "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": 1},
        }
    names = sorted(r["locations"][0]["logicalLocations"][0]["name"] for r in results)
    assert names == ["api.example.com", "example.com", "web-alb"]
    assert len({r["partialFingerprints"]["edgeproofFinding/v1"] for r in results}) == 3


def test_a_waived_result_is_suppressed_with_the_waivers_reason(repo):
    root, target = repo
    results = build_sarif(document(RECORDS, source=str(target)), base_dir=root)["runs"][0]["results"]
    (waived,) = [r for r in results if r["properties"]["outcome"] == "waived"]
    assert waived["suppressions"][0]["kind"] == "external"
    assert waived["suppressions"][0]["justification"] == "302 until the CDN cut-over"
    assert waived["suppressions"][0]["properties"]["owner"] == "platform"
    assert all("suppressions" not in r for r in results if r is not waived)


def test_a_target_outside_the_repository_is_an_absolute_file_uri(tmp_path, repo):
    _, target = repo
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    log = build_sarif(document(RECORDS, source=str(target)), base_dir=elsewhere)
    validate_sarif(log)
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == target.resolve().as_uri()


def test_the_written_file_is_the_same_log(repo, tmp_path):
    root, target = repo
    out = tmp_path / "compliance.sarif"
    write_sarif(out, document(RECORDS, source=str(target)), base_dir=root)
    assert json.loads(out.read_text(encoding="utf-8")) == build_sarif(
        document(RECORDS, source=str(target)), base_dir=root
    )


def test_the_schema_rejects_what_code_scanning_would(repo):
    # The validation is not vacuous: a result without a message, or a bad level, fails it.
    root, target = repo
    log = build_sarif(document(RECORDS, source=str(target)), base_dir=root)
    del log["runs"][0]["results"][0]["message"]
    with pytest.raises(jsonschema.ValidationError):
        validate_sarif(log)
    log = build_sarif(document(RECORDS, source=str(target)), base_dir=root)
    log["runs"][0]["results"][0]["level"] = "critical"
    with pytest.raises(jsonschema.ValidationError):
        validate_sarif(log)
