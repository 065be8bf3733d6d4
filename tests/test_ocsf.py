"""compliance.ocsf.json: OCSF Compliance Findings, validated by py-ocsf-models.

Every finding is built through the library's pydantic models (which validate
it) and the written file is parsed back through them: the round trip keeps
every field, so nothing written falls outside the models.
"""

from __future__ import annotations

import json
from pathlib import Path

import pydantic
import pytest
from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding

from fixtures.report.ocsf import CloudComplianceFinding, build_findings, findings_json, write_ocsf
from tests.test_sarif import RECORDS, document


def parse_findings(path: Path) -> list[CloudComplianceFinding]:
    """Parse the written file back through the models; the round trip must lose nothing."""
    written = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(written, list)
    findings = [CloudComplianceFinding.model_validate(item) for item in written]
    assert findings_json(findings) == written
    return findings


@pytest.fixture
def written(tmp_path):
    path = tmp_path / "compliance.ocsf.json"
    write_ocsf(path, document(RECORDS, source=str(tmp_path / "prod.toml")))
    return parse_findings(path)


def test_one_compliance_finding_per_check_record(written):
    assert len(written) == len(RECORDS)
    for finding in written:
        assert finding.class_uid == 2003 and finding.category_uid == 2
        assert int(finding.type_uid) == 200301  # class_uid * 100 + activity Create
        assert finding.metadata.product.name == "edgeproof"
        assert finding.metadata.version  # the OCSF schema version the models follow
    assert len({f.finding_info.uid for f in written}) == len(RECORDS)


def test_statuses_follow_the_outcome_and_what_was_observed(written):
    by_code = {f.status_code: f for f in written}
    assert set(by_code) == {"PASS", "WAIVED", "FAIL", "ERROR", "SKIPPED"}
    assert by_code["PASS"].compliance.status_id.name == "Pass"
    assert by_code["ERROR"].compliance.status_id.name == "Warning"  # could not verify: no result
    waived = by_code["WAIVED"]
    assert waived.status == "Suppressed" and waived.status_id.name == "Suppressed"
    assert waived.compliance.status_id.name == "Fail"  # the waiver does not change what was observed
    assert waived.comment == "302 until the CDN cut-over" and "platform" in waived.status_detail
    assert waived.resources[0].name == "api.example.com"
    assert by_code["FAIL"].status == "New"


def test_severity_control_and_remediation_are_carried(written):
    (critical,) = [f for f in written if f.compliance.control == "CRT-05"]
    assert critical.severity_id.name == "Critical" and critical.severity == "Critical"
    assert critical.remediation.desc == "Fix CRT-05."
    assert "AWS Security Hub ELB.1" in critical.compliance.standards
    assert critical.resources[0].type == "AWS::ElasticLoadBalancingV2::LoadBalancer"
    assert critical.time > 10**12  # epoch milliseconds


def test_the_models_reject_an_invalid_finding():
    # Validation is not vacuous: a finding without its compliance object is refused.
    item = findings_json(build_findings(document(RECORDS, source="prod.toml")))[0]
    del item["compliance"]
    with pytest.raises(pydantic.ValidationError):
        ComplianceFinding.model_validate(item)


WHO_LOOKED = {
    "edgeproof_version": "0.1.0",
    "edgeproof_commit": "5af7016" + "0" * 33,
    "waivers_file": None,
    "waivers_file_sha256": None,
    "targets": {
        "production": {
            "account_id": "123456789012", "principal_arn": "arn:aws:sts::123456789012:assumed-role/edgeproof-audit/ci",
            "region": "eu-west-1", "identity_source": "assume-role-with-web-identity",
            "identity_source_words": "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)", "profile": None,
            "target_file": "/infra/prod.toml", "target_file_sha256": "ab" * 32, "preflight_error": None,
        }
    },
}


def test_who_looked_is_in_every_finding_where_an_ocsf_consumer_reads_it(tmp_path):
    path = tmp_path / "compliance.ocsf.json"
    write_ocsf(path, {**document(RECORDS, source="/infra/prod.toml"), "who_looked": WHO_LOOKED})
    findings = parse_findings(path)
    assert findings
    for finding in findings:
        assert finding.metadata.profiles == ["cloud"]
        assert finding.cloud.provider == "AWS" and finding.cloud.region == "eu-west-1"
        assert finding.cloud.account.uid == "123456789012" and finding.cloud.account.type_id.name == "AWS_Account"
        who = finding.unmapped["edgeproof"]["who_looked"]
        assert who["principal_arn"].endswith("assumed-role/edgeproof-audit/ci")
        assert who["identity_source"] == "assume-role-with-web-identity" and who["target_file_sha256"] == "ab" * 32
        assert who["edgeproof_commit"].startswith("5af7016")
    # A failed preflight: no account to name, the cause carried instead.
    failed = {**WHO_LOOKED, "targets": {"production": {**WHO_LOOKED["targets"]["production"], "account_id": None,
              "principal_arn": None, "preflight_error": {"cause": "no AWS credentials found", "fix": "aws sso login"}}}}
    write_ocsf(path, {**document(RECORDS, source="/infra/prod.toml"), "who_looked": failed})
    for finding in parse_findings(path):
        assert finding.cloud.account is None and finding.cloud.region == "eu-west-1"
        assert finding.unmapped["edgeproof"]["who_looked"]["preflight_error"]["cause"] == "no AWS credentials found"
