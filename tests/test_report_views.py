"""The report's pure views: evidence by shape, the observed chain, the HTML sections."""

from __future__ import annotations

from fixtures.report import html_report
from fixtures.report.chain import HOPS, build_chains
from fixtures.report.evidence_view import node


def test_evidence_is_shaped_as_what_it_is():
    matrix = node([{"origin": "https://evil.test", "status": 200, "cors_headers_received": {}}] * 2)
    assert matrix["kind"] == "table" and matrix["columns"] == ["origin", "status", "cors_headers_received"]
    assert matrix["rows"][0][2] == {"kind": "text", "text": "none", "muted": True}
    protocols = node({"TLSv1_accepted": False, "negotiated": "TLSv1.3"})
    assert protocols["kind"] == "kv" and protocols["rows"][0][1]["text"] == "no"
    exchange = node({"request": {"method": "GET", "url": "http://x/", "headers": {"Host": "x"}},
                     "response": {"status": "301 Moved Permanently", "headers": {"Location": ["https://x/", "https://y/"]},
                                  "body_excerpt": "<b>moved</b>"}})
    assert exchange["kind"] == "exchange" and exchange["request_line"] == "GET http://x/"
    assert exchange["status"] == "301 Moved Permanently" and exchange["body"] == "<b>moved</b>"
    # Both header sets are one table each; a header sent twice reads as its values joined.
    assert exchange["response_headers"]["rows"] == [("Location", {"kind": "text", "text": "https://x/, https://y/", "muted": False})]
    dns = node([{"resolver": "r1", "host": [{"query": "x A", "status": "NOERROR", "answer": ["1.2.3.4"]}]}])
    assert dns["kind"] == "table" and dns["columns"][0] == "resolver" and dns["rows"][0][4]["text"] == "1.2.3.4"
    assert node("a\nb")["kind"] == "pre" and node([1, 2])["kind"] == "list"
    # Tables of one level: a mapping inside a mapping is spelled out as rows, nothing reads null.
    deep = node({"a": {"b": {"c": 1}, "d": None}, "e": [{"f": 1}]})
    assert [(key, cell["text"]) for key, cell in deep["rows"]] == [("a › b › c", "1"), ("a › d", "none"), ("e", "f: 1")]


def test_a_cors_survey_is_one_row_per_origin_failing_rows_first():
    def asked(origin, method, allow=None, credentials=False, kind="a look-alike"):
        received = {"Access-Control-Allow-Origin": allow} if allow else {}
        return {"origin": origin, "kind": kind, "request": f"{method} https://api.x.test/api/h", "headers_sent": {"Origin": origin},
                "status": 200, "cors_headers_received": received, "cookies_allowed": credentials}
    survey = [asked("https://a.test", "GET"), asked("https://a.test", "OPTIONS"),
              asked("null", "GET", "null", True), asked("null", "OPTIONS", "*")]
    table = node(survey)
    assert table["groups"] == [("", 2), ("preflight (OPTIONS)", 4), ("simple request", 4)]
    assert table["columns"][:2] == ["origin", "why hostile"] and len(table["columns"]) == 10
    texts = [[cell["text"] for cell in row] for row in table["rows"]]
    assert texts == [
        ["null", "a look-alike", "200", "*", "absent", "✗ admitted", "200", "null", "true", "✗ admitted with credentials"],
        ["https://a.test", "a look-alike", "200", "absent", "absent", "✓ refused", "200", "absent", "absent", "✓ refused"],
    ]
    # Several paths: still one row per origin; a column the paths answered differently names its paths.
    other = [{**row, "request": row["request"].replace("/api/h", "/api/b"), "status": 404} for row in survey[:2]]
    texts = [[cell["text"] for cell in row] for row in node(survey + other)["rows"]]
    assert len(texts) == 2 and texts[1][2] == "200 on /api/h; 404 on /api/b" and texts[1][5] == "✓ refused"
    # The site's own origins (no "why hostile"): refused is the failure there.
    own = node([{k: v for k, v in asked("https://x.test", "GET").items() if k != "kind"}])
    assert own["columns"][0] == "origin" and own["rows"][0][-1]["text"] == "✗ refused"
    assert own["rows"][0][1]["text"] == "not asked"


def record(check_id, outcome, parameter=None, evidence=(), severity="high"):
    return {"id": check_id, "title": f"title {check_id}", "requirement": "routing", "plane": "control",
            "severity": severity, "controls": [], "frameworks": {}, "parameter": parameter, "outcome": outcome,
            "message": f"message {check_id}" if outcome != "passed" else "", "evidence": list(evidence),
            "remediation": f"fix {check_id}", "nodeid": f"checks/x.py::{check_id}", "duration_seconds": 0.1}


def document(records):
    return {
        "tool": "edgeproof", "version": "0", "started": "2026-12-01T10:00:00+00:00",
        "finished": "2026-12-01T10:00:30+00:00", "duration_seconds": 30.0,
        "target": {"name": "prod", "domain": "example.test", "public_hosts": ["example.test"],
                   "alb_name": "alb", "services": ["api", "web"]},
        "stats": {}, "collection_errors": [], "interrupted": False, "checks": records,
        "summary": {"passed": 1, "failed": 1, "error": 1, "skipped": 0, "verdict": "non-compliant",
                    "by_requirement": {"routing": {"passed": 1, "failed": 1, "error": 1, "skipped": 0,
                                                   "verdict": "non-compliant"}},
                    "requirements_not_checked": []},
    }


def test_the_chain_marks_each_hop_with_the_worst_verdict_of_its_checks():
    listeners = [{"port": 80, "protocol": "HTTP"}, {"port": 443, "protocol": "HTTPS"}]
    web = "arn:aws:elasticloadbalancing:r:1:targetgroup/web/1"
    doc = document([
        record("RTE-01", "passed", evidence=[{"label": "listeners", "value": listeners}]),
        record("RTE-02", "passed", evidence=[{"label": "443 rules", "value": []},
                                             {"label": "backend service target groups", "value": []}]),
        record("RTE-03", "passed", evidence=[{"label": "443 default action", "value": {"type": "forward", "target_groups": [web]}},
                                             {"label": "frontend service target groups", "value": [web]}]),
        record("ING-07", "failed"),
        {**record("ING-06", "failed"), "message": "service api assigns its tasks public IPs"},
        record("DNS-03", "error", parameter="example.test"),
        record("DNS-03", "passed", parameter="other.test"),
    ])
    (chain,) = build_chains(doc)
    hops = {hop["name"]: hop for hop in chain["hops"]}
    assert list(hops) == list(HOPS)
    assert hops["listeners"]["verdict"] == "passed" and hops["listeners"]["lines"] == ["serves: HTTPS 443", "HTTP 80"]
    # ING-06's finding names the api service; this host is served by web (the default rule)
    assert hops["tasks"]["verdict"] == "failed" and hops["tasks"]["checks"] == ["ING-07"]
    doc["checks"] = [r for r in doc["checks"] if r["id"] != "ING-07"]
    tasks = next(h for h in build_chains(doc)[0]["hops"] if h["name"] == "tasks")
    assert tasks["verdict"] == "passed" and tasks["checks"] == ["ING-06"]
    assert hops["DNS answers"]["verdict"] == "error"  # the other host's pass does not count here
    assert hops["rules"]["verdict"] == "passed" and hops["rules"]["lines"][0] == "default action (no rule matches)"
    assert chain["routing"] == {"listener": "HTTPS 443", "rule": "default", "target_groups": ["web"], "services": ["web"], "tasks": []}
    doc["checks"] = [r for r in doc["checks"] if r["id"] not in ("RTE-02", "RTE-03")]
    rules = next(h for h in build_chains(doc)[0]["hops"] if h["name"] == "rules")
    assert rules["verdict"] == "not-checked" and rules["lines"] == ["not observed"]
    assert len(chain["boxes"]) == 8 and len(chain["arrows"]) == 7


def test_a_host_with_a_rule_of_its_own_is_drawn_to_the_service_the_rule_reaches():
    # www. has its own 443 rule, to the frontend's target group: a rule of its own is not "the API".
    api, web = (f"arn:aws:elasticloadbalancing:r:1:targetgroup/{name}/1" for name in ("api-tg", "web-tg"))
    rules = [{"priority": "1", "host_header": ["api.example.test"], "path_pattern": [],
              "actions": [{"type": "forward", "target_groups": [api]}]},
             {"priority": "2", "host_header": ["WWW.example.test"], "path_pattern": [],
              "actions": [{"type": "forward", "target_groups": [web]}]}]
    doc = document([
        record("RTE-02", "passed", evidence=[{"label": "443 rules", "value": rules},
                                             {"label": "backend service target groups", "value": [api]}]),
        record("RTE-03", "passed", evidence=[{"label": "443 default action", "value": {"type": "forward", "target_groups": [web]}},
                                             {"label": "frontend service target groups", "value": [web]}]),
        {**record("COR-02", "failed"), "message": "api answers any origin"},
    ])
    doc["target"].update(public_hosts=["example.test", "api.example.test", "www.example.test"],
                         host_services={"example.test": "frontend", "api.example.test": "api", "www.example.test": "frontend"})
    chains = {chain["host"]: chain for chain in build_chains(doc)}
    assert chains["www.example.test"]["routing"]["rule"] == "priority 2"
    assert chains["www.example.test"]["routing"]["services"] == ["web"]
    assert chains["api.example.test"]["routing"]["services"] == ["api"]
    assert chains["example.test"]["routing"]["rule"] == "default"
    services = {host: next(h for h in chain["hops"] if h["name"] == "services") for host, chain in chains.items()}
    assert services["www.example.test"]["verdict"] != "failed" and services["api.example.test"]["verdict"] == "failed"


def test_the_page_orders_findings_by_severity_and_renders_drift_and_waivers_when_present():
    doc = document([record("RTE-01", "passed"), record("ING-07", "failed", severity="low"),
                    record("ING-01", "failed", severity="critical"), record("DEP-01", "waived")])
    doc["checks"][3]["waiver"] = {"reason": "accepted <risk>", "owner": "ops", "expires": "2027-01-01"}
    doc["summary"]["waived"] = 1
    page = html_report.render_summary_html(doc)
    assert "Changes since the last run" not in page
    findings = page.index('id="findings"')
    assert findings < page.index("ING-01", findings) < page.index("ING-07", findings) < page.index('id="passed"')
    # The banner's statement lists the findings most severe first, too.
    assert "Verdict: non-compliant. 2 findings: ING-01 (critical), ING-07 (low)." in page
    assert "Waived findings (1)" in page and "accepted &lt;risk&gt;" in page
    doc["drift"] = {"new": [{"fingerprint": "f1", "id": "ING-07", "parameter": None, "first_seen": "2026-12-01",
                             "runs": 1}], "resolved": [], "persisting": []}
    doc["history"] = {"by_requirement": {"routing": ["compliant", "non-compliant"]}}
    page = html_report.render_summary_html(doc)
    assert "Changes since the last run" in page and "New findings (1)" in page and "Resolved findings (0)" in page
    assert "trend-cell verdict-non-compliant" in page


def test_compared_with_is_a_sentence_and_several_targets_name_their_target():
    doc = document([record("ING-07", "failed", severity="low")])
    doc["drift"] = {"target": "prod", "baseline": {"source": "history", "run_id": 4, "started": "2026-12-01T09:00:00+00:00",
                                                   "verdict": "compliant"},
                    "counts": {"new": 1, "resolved": 0, "persisting": 0, "unconfirmed": 0}, "unconfirmed": [],
                    "new": [{"id": "ING-07", "parameter": None, "first_seen": "2026-12-01T10:00:00+00:00", "runs": 1,
                             "target": "staging"}], "resolved": [], "persisting": []}
    doc["history"] = {"store": "sqlite:///h.sqlite", "written": True, "run_id": 5, "error": None, "by_requirement": {}}
    page = html_report.render_summary_html(doc)
    assert ("Compared with run 4 of the history (started 2026-12-01 09:00:00 UTC, verdict compliant): "
            "1 new, 0 resolved, 0 persisting, 0 unconfirmed.") in page
    assert "This run was stored as run 5 in sqlite:///h.sqlite." in page
    assert '<th scope="col">Target</th>' in page and "<td>staging</td>" in page
    assert "null" not in page.split('id="changes"')[1].split("</section>")[0]
