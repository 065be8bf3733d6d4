"""Waivers: the file's validation, matching and application, then end to end on the reference deployment.

The end-to-end run audits the `redirect-temporary` fault (RDR-02 fails on both
hosts, RDR-06 on the control plane) with one waiver in force for RDR-02 on the
api. host only, one expired waiver for RDR-06 and one that matches nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from fixtures.catalogue.readme import declared_checks
from fixtures.gate import waiver_plugin
from fixtures.gate.waivers import WaiverError, apply_waivers, load_waivers, waiver_summary
from fixtures.report import html_report
from fixtures.report import plugin as report_plugin
from fixtures.report.records import summarise, verdict_of
from tests.audit_runner import PROJECT, run_audit

TODAY = date(2025, 3, 10)
KNOWN = ("RDR-02", "RDR-06", "CRT-03", "DNS-03")
API = "api.cloudproject.test"
APEX = "cloudproject.test"


def waiver_file(tmp_path, text: str, name: str = "waivers.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def entry(check="RDR-02", *, parameter=None, reason="302 until the CDN cut-over", owner="platform", expires="2025-04-01"):
    lines = ["[[waiver]]", f'check = "{check}"']
    if parameter is not None:
        lines.append(f'parameter = "{parameter}"')
    if reason is not None:
        lines.append(f'reason = "{reason}"')
    if owner is not None:
        lines.append(f'owner = "{owner}"')
    if expires is not None:
        lines.append(f"expires = {expires}")
    return "\n".join(lines) + "\n"


def record(check="RDR-02", outcome="failed", parameter=None, message="answered 302; expected 301"):
    return {
        "id": check,
        "title": "The redirect is permanent",
        "requirement": "https-redirect",
        "plane": "wire",
        "severity": "medium",
        "controls": ["ELB.1"],
        "parameter": parameter,
        "outcome": outcome,
        "observed_outcome": outcome,
        "waiver": None,
        "message": message,
        "evidence": [],
        "remediation": "Use HTTP_301.",
        "nodeid": f"checks/test_x.py::test_{check}" + (f"[{parameter}]" if parameter else ""),
        "duration_seconds": 0.1,
    }


# --------------------------------------------------------------------------
# the file


def test_a_valid_file_loads_with_toml_and_text_dates(tmp_path):
    path = waiver_file(
        tmp_path,
        entry(parameter=API) + entry("RDR-06", expires='"2025-03-01"', owner="sec team"),
    )
    first, second = load_waivers(path, KNOWN, today=TODAY)
    assert (first.check, first.parameter, first.owner, first.expires) == ("RDR-02", API, "platform", date(2025, 4, 1))
    assert (second.check, second.parameter, second.expires) == ("RDR-06", None, date(2025, 3, 1))
    assert second.expired(TODAY) and not first.expired(TODAY)
    assert first.as_dict(TODAY)["source"] == "waivers.toml#1"


def test_a_waiver_is_in_force_through_its_expiry_day():
    (waiver,) = _load_text(entry(expires="2025-03-10"))
    assert not waiver.expired(TODAY) and waiver.expired(TODAY + timedelta(days=1))


def _load_text(text):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        return load_waivers(waiver_file(Path(folder), text), KNOWN, today=TODAY)


@pytest.mark.parametrize(
    "text, entry_name, problem",
    [
        (entry("XYZ-99"), "waiver 1 (XYZ-99): check", "unknown check ID 'XYZ-99'"),
        (entry(reason=None), "waiver 1 (RDR-02): reason", "is required but missing"),
        (entry(reason=" "), "waiver 1 (RDR-02): reason", "must not be empty"),
        (entry(owner=None), "waiver 1 (RDR-02): owner", "is required but missing"),
        (entry(expires=None), "waiver 1 (RDR-02): expires", "is required but missing"),
        (entry(expires="2026-03-12"), "waiver 1 (RDR-02): expires", "more than a year away"),
        (entry(expires='"next week"'), "waiver 1 (RDR-02): expires", "must be a date"),
        (entry(expires="2025-04-01T10:00:00"), "waiver 1 (RDR-02): expires", "must be a date"),
        (entry() + entry("RDR-06") + entry(), "waiver 3 (RDR-02)", "same check and parameter as waiver 1"),
        (entry() + 'ticket = "OPS-1"\n', "waiver 1 (RDR-02): ticket", "unknown key"),
        ('[[waiver]]\nreason = "r"\n', "waiver 1: check", "is required but missing"),
        (entry() + '[settings]\nx = 1\n', "settings", "unknown key"),
        ("[[waiver]\n", "file", "is not valid TOML"),
    ],
)
def test_a_bad_waiver_names_the_file_the_entry_and_the_problem(tmp_path, text, entry_name, problem):
    path = waiver_file(tmp_path, text)
    with pytest.raises(WaiverError) as raised:
        load_waivers(path, KNOWN, today=TODAY)
    message = str(raised.value)
    assert message.startswith(f"{path}: {entry_name}"), message
    assert problem in message


def test_the_expiry_may_be_a_year_away_but_not_more(tmp_path):
    assert load_waivers(waiver_file(tmp_path, entry(expires="2026-03-10")), KNOWN, today=TODAY)
    with pytest.raises(WaiverError, match="more than a year away"):
        load_waivers(waiver_file(tmp_path, entry(expires="2026-03-12")), KNOWN, today=TODAY)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(WaiverError, match="does not exist"):
        load_waivers(tmp_path / "nope.toml", KNOWN, today=TODAY)


def test_every_catalogue_id_is_known_to_the_plugin():
    # The plugin validates against the catalogue, opt-in checks included.
    ids = {meta.id for meta in declared_checks(include_opt_in=True)}
    assert {"RDR-02", "LOG-07"} <= ids


# --------------------------------------------------------------------------
# applying


def test_a_waiver_in_force_waives_a_failure_and_keeps_what_was_observed():
    waivers = _load_text(entry())
    shown = apply_waivers(record(), waivers, today=TODAY)
    assert shown["outcome"] == "waived" and shown["observed_outcome"] == "failed"
    assert shown["waiver"] == {
        "check": "RDR-02",
        "parameter": None,
        "reason": "302 until the CDN cut-over",
        "owner": "platform",
        "expires": "2025-04-01",
        "status": "applied",
        "source": "waivers.toml#1",
    }
    assert shown["message"] == record()["message"]


@pytest.mark.parametrize("outcome", ["error", "passed", "skipped"])
def test_a_waiver_never_turns_anything_but_a_failure_into_waived(outcome):
    waivers = _load_text(entry())
    original = record(outcome=outcome)
    assert apply_waivers(original, waivers, today=TODAY) == original


def test_an_expired_waiver_waives_nothing_and_says_when_it_expired():
    waivers = _load_text(entry(expires="2025-03-09"))
    shown = apply_waivers(record(), waivers, today=TODAY)
    assert shown["outcome"] == "failed"
    assert shown["waiver"]["status"] == "expired"
    assert "waiver expired on 2025-03-09" in shown["message"]


def test_a_parameter_waiver_covers_only_its_parameter_and_wins_over_a_check_wide_one():
    waivers = _load_text(entry(parameter=API, reason="api only") + entry(reason="everywhere", expires="2025-03-09"))
    api = apply_waivers(record(parameter=API), waivers, today=TODAY)
    apex = apply_waivers(record(parameter=APEX), waivers, today=TODAY)
    assert api["outcome"] == "waived" and api["waiver"]["reason"] == "api only"
    assert apex["outcome"] == "failed" and apex["waiver"]["status"] == "expired"
    assert apply_waivers(record("DNS-03"), waivers, today=TODAY)["outcome"] == "failed"


def test_a_waiver_in_force_covers_a_record_whose_specific_waiver_expired():
    waivers = _load_text(entry(parameter=API, reason="api only", expires="2025-03-09") + entry(reason="everywhere"))
    api = apply_waivers(record(parameter=API), waivers, today=TODAY)
    assert api["outcome"] == "waived" and api["waiver"]["reason"] == "everywhere"
    section = waiver_summary(waivers, [api], source="waivers.toml", today=TODAY)
    assert [w["reason"] for w in section["applied"]] == ["everywhere"]
    assert [(w["reason"], w["checks"]) for w in section["expired"]] == [("api only", [])]


def test_the_summary_sorts_waivers_into_applied_expired_and_stale():
    waivers = _load_text(entry(parameter=API) + entry("RDR-06", expires="2025-03-01") + entry("CRT-03"))
    records = [
        apply_waivers(r, waivers, today=TODAY)
        for r in (record(parameter=API), record(parameter=APEX), record("RDR-06"), record("CRT-03", outcome="passed"))
    ]
    section = waiver_summary(waivers, records, source="waivers.toml", today=TODAY)
    assert [w["check"] for w in section["applied"]] == ["RDR-02"]
    assert section["applied"][0]["checks"] == [f"checks/test_x.py::test_RDR-02[{API}]"]
    assert [(w["check"], w["expires"]) for w in section["expired"]] == [("RDR-06", "2025-03-01")]
    assert section["expired"][0]["checks"] == ["checks/test_x.py::test_RDR-06"]
    assert [w["check"] for w in section["stale"]] == ["CRT-03"]
    assert "passed" in section["stale"][0]["why"]


def test_a_waived_failure_alone_leaves_the_run_compliant_and_an_unwaived_one_does_not():
    waived = {**record(), "outcome": "waived"}
    assert verdict_of(summarise([waived, record(outcome="passed")])) == "compliant"
    assert summarise([waived])["waived"] == 1
    assert verdict_of(summarise([waived, record()])) == "non-compliant"
    assert verdict_of(summarise([waived, record(outcome="error")])) == "incomplete"


def test_the_waiver_plugin_reads_the_attribute_the_report_plugin_writes():
    assert waiver_plugin.RECORD_ATTR == report_plugin.RECORD_ATTR


def test_the_html_shows_the_waiver_escaped():
    waivers = _load_text(entry(reason="<script>alert(1)</script>"))
    shown = apply_waivers(record(), waivers, today=TODAY)
    page = html_report.render_check_html(shown)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    assert "in force until 2025-04-01" in page and "observed outcome: failed" in page


# --------------------------------------------------------------------------
# end to end on the reference deployment


def test_a_bad_waiver_file_is_a_usage_error_and_runs_no_check(tmp_path):
    path = waiver_file(tmp_path, entry("NOPE-01", expires=(date.today() + timedelta(days=5)).isoformat()))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "checks", "--waivers", str(path), "--report-dir", str(tmp_path / "reports")],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert f"{path}: waiver 1 (NOPE-01): check: unknown check ID 'NOPE-01'" in result.stderr
    assert not (tmp_path / "reports" / "compliance.json").exists()


@pytest.fixture(scope="module")
def waived_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("waived")
    today = date.today()  # the audit reads the clock; so must the file
    path = waiver_file(
        folder,
        entry(parameter=API, expires=(today + timedelta(days=30)).isoformat())
        + entry("RDR-06", reason="listener change queued", expires=(today - timedelta(days=2)).isoformat())
        + entry("CRT-03", reason="left over", expires=(today + timedelta(days=3)).isoformat()),
    )
    run = run_audit(folder / "reports", "--sandbox-fault", "redirect-temporary", "--waivers", str(path))
    return run, today


def _by_node(run) -> dict[str, dict]:
    return {c["nodeid"]: c for c in run.checks}


def test_the_waived_failure_is_waived_in_the_json_and_the_others_still_fail(waived_run):
    run, today = waived_run
    api = [c for c in run.checks if c["id"] == "RDR-02" and c["parameter"] == API]
    apex = [c for c in run.checks if c["id"] == "RDR-02" and c["parameter"] == APEX]
    (rdr06,) = [c for c in run.checks if c["id"] == "RDR-06"]
    assert [c["outcome"] for c in api] == ["waived"] and api[0]["observed_outcome"] == "failed"
    assert api[0]["waiver"]["reason"] == "302 until the CDN cut-over" and api[0]["waiver"]["owner"] == "platform"
    assert [c["outcome"] for c in apex] == ["failed"] and apex[0]["waiver"] is None
    assert rdr06["outcome"] == "failed" and rdr06["waiver"]["status"] == "expired"
    expired_on = (today - timedelta(days=2)).isoformat()
    assert f"waiver expired on {expired_on}" in rdr06["message"]
    assert run.ids_with("failed") == {"RDR-02", "RDR-06"}
    assert run.report["summary"]["waived"] == 1 and run.report["summary"]["verdict"] == "non-compliant"
    section = run.report["waivers"]
    assert [w["check"] for w in section["applied"]] == ["RDR-02"]
    assert [(w["check"], w["expires"]) for w in section["expired"]] == [("RDR-06", expired_on)]
    assert [w["check"] for w in section["stale"]] == ["CRT-03"]
    assert run.exit_code != 0
    assert "edgeproof waivers" in run.output and "1 waived" in run.output


def test_the_html_shows_the_waiver_and_the_stale_one(waived_run):
    run, _ = waived_run
    page = (run.report_dir / "compliance.html").read_text(encoding="utf-8")
    assert "302 until the CDN cut-over" in page and "observed outcome: failed" in page
    assert "Waivers (" in page and "left over" in page and "stale" in page
    assert "expired on" in page


def test_junit_has_a_skipped_case_carrying_the_waiver(waived_run):
    run, _ = waived_run
    tree = ET.parse(run.report_dir / "junit.xml")
    cases = {f"{c.get('classname')}::{c.get('name')}": c for c in tree.iter("testcase")}
    (api_case,) = [c for key, c in cases.items() if "test_http_redirect_is_permanent" in key and API in key]
    (apex_case,) = [c for key, c in cases.items() if "test_http_redirect_is_permanent" in key and f"[{APEX}]" in key]
    skipped = api_case.find("skipped")
    assert skipped is not None and "302 until the CDN cut-over" in skipped.get("message")
    assert api_case.find("failure") is None
    properties = {p.get("name"): p.get("value") for p in api_case.iter("property")}
    assert properties["outcome"] == "waived" and "platform" in properties["waiver"]
    assert apex_case.find("failure") is not None


def test_sarif_suppresses_the_waived_result_and_validates(waived_run):
    from tests.test_sarif import validate_sarif

    run, _ = waived_run
    sarif = json.loads((run.report_dir / "compliance.sarif").read_text(encoding="utf-8"))
    validate_sarif(sarif)
    results = sarif["runs"][0]["results"]
    suppressed = [r for r in results if r.get("suppressions")]
    assert [(r["ruleId"], r["locations"][0]["logicalLocations"][0]["name"]) for r in suppressed] == [("RDR-02", API)]
    assert suppressed[0]["suppressions"][0] == {
        "kind": "external",
        "status": "accepted",
        "justification": "302 until the CDN cut-over",
        "properties": suppressed[0]["suppressions"][0]["properties"],
    }
    # RDR-02 fails on the apex, api. (waived) and www.; RDR-06 once.
    assert sorted(r["ruleId"] for r in results) == ["RDR-02", "RDR-02", "RDR-02", "RDR-06"]


def test_ocsf_marks_the_waived_finding_suppressed_and_validates(waived_run):
    from tests.test_ocsf import parse_findings

    run, _ = waived_run
    findings = parse_findings(run.report_dir / "compliance.ocsf.json")
    assert len(findings) == len(run.checks)
    by_status = {}
    for finding in findings:
        by_status.setdefault(finding.status_code, []).append(finding)
    (waived,) = by_status["WAIVED"]
    assert waived.status == "Suppressed" and waived.comment == "302 until the CDN cut-over"
    assert waived.compliance.status_id.name == "Fail"  # what the check observed
    assert sorted(f.compliance.control for f in by_status["FAIL"]) == ["RDR-02", "RDR-02", "RDR-06"]  # the apex and www.


def test_waiving_every_failure_passes_the_run(tmp_path):
    today = date.today()
    path = waiver_file(
        tmp_path,
        entry(expires=(today + timedelta(days=7)).isoformat())
        + entry("RDR-06", expires=(today + timedelta(days=7)).isoformat()),
    )
    run = run_audit(
        tmp_path / "reports", "--sandbox-fault", "redirect-temporary", "--waivers", str(path), "-m", "https_redirect"
    )
    assert run.ids_with("waived") == {"RDR-02", "RDR-06"} and not run.ids_with("failed")
    assert run.report["summary"]["verdict"] == "compliant"
    assert run.exit_code == 0, run.output[-3000:]


def test_the_readme_example_file_loads(tmp_path):
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    example = readme.split("# infra/waivers.toml\n", 1)[1].split("```", 1)[0]
    waivers = load_waivers(waiver_file(tmp_path, example), {m.id for m in declared_checks()}, today=TODAY)
    assert [(w.check, w.parameter, w.target) for w in waivers] == [
        ("RDR-02", "api.cloudproject.online", None),
        ("RDR-06", None, "staging"),
        ("ING-06", None, None),
    ]


def test_a_waiver_naming_a_target_covers_that_targets_record_only_and_wins_over_one_for_every_target(tmp_path):
    text = entry().replace("[[waiver]]\n", '[[waiver]]\ntarget = "staging"\n') + entry(reason="every target")
    waivers = load_waivers(waiver_file(tmp_path, text), {"RDR-02"}, today=TODAY)
    staging = apply_waivers({**record(), "target": "staging"}, waivers, today=TODAY)
    production = apply_waivers({**record(), "target": "production"}, waivers, today=TODAY)
    assert staging["outcome"] == production["outcome"] == "waived"
    assert staging["waiver"]["target"] == "staging" and staging["waiver"]["reason"] == "302 until the CDN cut-over"
    assert "target" not in production["waiver"] and production["waiver"]["reason"] == "every target"
    only_staging = load_waivers(waiver_file(tmp_path, entry().replace("[[waiver]]\n", '[[waiver]]\ntarget = "staging"\n')), {"RDR-02"}, today=TODAY)
    assert apply_waivers({**record(), "target": "production"}, only_staging, today=TODAY)["outcome"] == "failed"
    assert waiver_plugin.waiver_text(staging["waiver"]).startswith("waived by ")
    assert "RDR-02 on staging" in waiver_plugin._scope(staging["waiver"])
