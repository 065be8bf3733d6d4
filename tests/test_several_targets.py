"""Several targets in one run: `--target A --target B` (or a folder) gives one set of reports with both.

Two reference deployments side by side: the compliant one in this process
(`Sandbox`), and one with a fault in a child process (fixtures.sandbox.process:
one process holds one sandbox, as moto keeps its state per process).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from fixtures.history.store import open_store
from fixtures.sandbox.deployment import Sandbox
from fixtures.sandbox.faults import FAULTS
from tests.audit_runner import PROJECT, run_audit
from fixtures.sandbox.process import sandbox_process

FAULT = "redirect-temporary"  # RDR-02 (each host) and RDR-06: the port-80 redirect is a 302
AUDIT_BOUND_SECONDS = 240


@pytest.fixture(scope="module")
def targets(tmp_path_factory):
    """{"production": compliant, "staging": with FAULT}: both target files in one folder."""
    folder = tmp_path_factory.mktemp("targets")
    with Sandbox() as sandbox, sandbox_process(folder / "staging.toml", fault=FAULT, name="staging") as staging:
        production = sandbox.write_target(folder / "production.toml", name="production")
        yield {"production": production, "staging": staging}


@pytest.fixture(scope="module")
def both(targets, tmp_path_factory):
    """One audit of both targets, with a history store."""
    directory = tmp_path_factory.mktemp("both")
    store = f"sqlite:///{directory / 'history.sqlite'}"
    options = ["--target", str(targets["production"]), "--target", str(targets["staging"]), "--history", store]
    return run_audit(directory / "reports", *options, timeout=AUDIT_BOUND_SECONDS), store


def test_two_targets_give_one_report_with_every_check_once_per_target(both):
    run, _store = both
    assert run.exit_code == 1, run.output[-3000:]  # any target's finding fails the gate
    by_target = Counter(check["target"] for check in run.checks)
    assert set(by_target) == {"production", "staging"} and by_target["production"] == by_target["staging"] > 50
    scopes = {name: Counter((c["id"], c["parameter"]) for c in run.checks if c["target"] == name) for name in by_target}
    assert scopes["production"] == scopes["staging"] and set(scopes["production"].values()) == {1}
    for check in run.checks:
        # Readable IDs: the target's name first, then the host the record's parameter keeps.
        parameters = check["nodeid"].partition("[")[2].rstrip("]")
        expected = check["target"] + (f"-{check['parameter']}" if check["parameter"] else "")
        assert parameters == expected, check["nodeid"]

    detected = set(FAULTS[FAULT].detected_by)
    failed = [c for c in run.checks if c["outcome"] == "failed"]
    assert {c["target"] for c in failed} == {"staging"}
    assert {c["id"] for c in failed} == detected
    assert run.ids_with("error") == set()

    summary = run.report["summary"]
    assert summary["verdict"] == "non-compliant"
    production, staging = summary["by_target"]["production"], summary["by_target"]["staging"]
    assert production["verdict"] == "compliant" and production["failed"] == 0
    assert staging["verdict"] == "non-compliant" and staging["failed"] == len(failed) == summary["failed"]
    assert production["passed"] + staging["passed"] == summary["passed"]
    assert staging["by_requirement"]["https-redirect"]["verdict"] == "non-compliant"
    assert production["by_requirement"]["https-redirect"]["verdict"] == "compliant"
    assert run.report["target"] is None
    sources = {name: Path(t["source"]).name for name, t in run.report["targets"].items()}
    assert sources == {"production": "production.toml", "staging": "staging.toml"}


def test_facts_are_gathered_once_per_target(both):
    run, _store = both
    stats = run.report["stats"]
    calls = {name: figures["aws_api_calls"] for name, figures in stats["by_target"].items()}
    # The two deployments differ only in a redirect's status code: the same reads, once each.
    assert calls["production"] == calls["staging"] > 20
    assert stats["aws_api_calls"] == sum(calls.values()) == len(stats["aws_operations"])
    for figures in stats["by_target"].values():
        graph = figures["fact_graph"]["facts"]
        assert len(graph) > 20 and all(fact["seconds"] >= 0 for fact in graph.values())
        assert figures["aws_api_calls"] == sum(figures["aws_api_calls_by_operation"].values())


def test_every_report_format_carries_both_targets(both):
    run, _store = both
    html = (run.report_dir / "compliance.html").read_text(encoding="utf-8")
    assert "Summary by target" in html and "2 targets: production, staging" in html
    assert 'id="check-RDR-06-staging"' in html and 'id="check-RDR-06-production"' in html

    sarif = json.loads((run.report_dir / "compliance.sarif").read_text(encoding="utf-8"))
    runs = {r["properties"]["target"]: r for r in sarif["runs"]}
    assert set(runs) == {"production", "staging"}
    assert runs["production"]["results"] == []
    assert {r["automationDetails"]["id"] for r in runs.values()} == {"edgeproof/production/", "edgeproof/staging/"}
    locations = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in runs["staging"]["results"]}
    assert len(locations) == 1 and locations.pop().endswith("/staging.toml")

    ocsf = json.loads((run.report_dir / "compliance.ocsf.json").read_text(encoding="utf-8"))
    assert len(ocsf) == len(run.checks)
    labelled = Counter(f["resources"][0]["labels"][0] for f in ocsf)
    assert labelled == {"target:production": len(run.checks) // 2, "target:staging": len(run.checks) // 2}
    assert {f["unmapped"]["edgeproof"]["target"] for f in ocsf if f["status_code"] == "FAIL"} == {"staging"}

    junit = ElementTree.parse(run.report_dir / "junit.xml")
    targets_of = Counter(
        prop.get("value") for prop in junit.iter("property") if prop.get("name") == "target"
    )
    assert targets_of == {"production": len(run.checks) // 2, "staging": len(run.checks) // 2}


def test_the_history_keeps_one_run_per_target(both):
    run, store_url = both
    history = run.report["history"]
    assert history["written"] and set(history["run_ids"]) == {"production", "staging"}
    assert {entry["target"] for entry in run.report["drift"]["new"]} == {"staging"}
    store = open_store(store_url)
    try:
        assert dict(store.targets()) == {"production": 1, "staging": 1}
        staging = store.previous_run("staging")
        assert staging.verdict == "non-compliant"
        assert {c.check_id for c in staging.checks if c.outcome == "failed"} == {"RDR-02", "RDR-06"}
        assert store.previous_run("production").verdict == "compliant"
    finally:
        store.dispose()


def test_a_folder_of_target_files_and_a_waiver_for_one_target(targets, tmp_path):
    expires = (date.today() + timedelta(days=30)).isoformat()
    # The waivers file beside the targets, as the README keeps it: never read as a target.
    waivers = targets["production"].parent / "waivers.toml"
    waivers.write_text(
        "".join(
            f'[[waiver]]\ncheck = "RDR-06"\ntarget = "{name}"\nreason = "302 until the cut-over"\n'
            f'owner = "platform"\nexpires = {expires}\n\n'
            for name in ("staging", "production")
        ),
        encoding="utf-8",
    )
    folder = targets["production"].parent
    run = run_audit(tmp_path / "reports", "--target", str(folder), "-m", "https_redirect", "--waivers", str(waivers))
    outcome = {(c["id"], c["target"], c["parameter"]): c["outcome"] for c in run.checks}
    assert outcome[("RDR-06", "staging", None)] == "waived"
    assert outcome[("RDR-06", "production", None)] == "passed"
    assert {key for key, value in outcome.items() if value == "failed"} == {
        ("RDR-02", "staging", host) for host in run.report["targets"]["staging"]["public_hosts"]
    }
    assert run.exit_code == 1  # RDR-02 is not waived
    assert set(run.report["targets"]) == {"production", "staging"}
    stale = run.report["waivers"]["stale"]
    assert [(w["check"], w["target"]) for w in stale] == [("RDR-06", "production")]


def test_two_targets_with_one_name_are_a_usage_error_naming_both_files(targets, tmp_path):
    twin = tmp_path / "twin.toml"  # the same [site] name in another file (its CA bundle beside it)
    twin.write_text(targets["production"].read_text(encoding="utf-8"), encoding="utf-8")
    shutil.copy(targets["production"].with_name("production-ca.pem"), tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "checks", "-q", "--target", str(targets["production"]), "--target", str(twin),
         "--report-dir", str(tmp_path / "reports")],
        cwd=PROJECT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert "two targets are named 'production'" in result.stderr
    assert str(targets["production"]) in result.stderr and str(twin) in result.stderr
    assert not (tmp_path / "reports" / "compliance.json").exists()


def test_the_run_makes_every_aws_client_before_the_fact_threads_need_one(tmp_path):
    # Making a client reads the whole environment, from which pytest removes
    # PYTEST_CURRENT_TEST on the main thread after every check: on a fact thread
    # that race once errored a target's checks. The run's readers are made with
    # every client, on the main thread; a fact thread only ever gets a made one.
    import threading

    from fixtures.plugins.resources import TargetResources
    from fixtures.probes.aws_operations import AUDIT_OPERATIONS
    from fixtures.target import load_target

    target_file = tmp_path / "target.toml"
    target_file.write_text(
        '[site]\ndomain = "example.test"\n[aws]\nregion = "us-east-1"\nalb_name = "a"\ncluster = "c"\n'
        'endpoint_url = "http://127.0.0.1:9"\nsandbox_credentials = true\n',
        encoding="utf-8",
    )
    resources = TargetResources(config=None)
    reader = resources.aws(load_target(target_file))
    made = dict(reader._clients)
    assert set(made) == {service for service, _operation in AUDIT_OPERATIONS}

    answers: list[bool] = []

    def ask() -> None:  # as a fact thread does
        answers.extend(reader.client(service) is made[service] for service in made)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert answers == [True] * (4 * len(made)) and reader._clients == made
    reader.close()


def test_a_check_that_reads_no_fact_still_runs_once_per_target(targets, tmp_path):
    checks = tmp_path / "team-checks"
    checks.mkdir()
    (checks / "test_plain.py").write_text(
        "from fixtures.checkmeta import check\n\n\n"
        '@check(id="ZZZ-01", title="Takes a host only", requirement="routing", plane="wire", severity="low", remediation="-")\n'
        "def test_host_only(public_host, evidence):\n    evidence.add('host', public_host)\n\n\n"
        '@check(id="ZZZ-02", title="Takes nothing", requirement="routing", plane="wire", severity="low", remediation="-")\n'
        "def test_nothing(evidence):\n    evidence.add('nothing', True)\n",
        encoding="utf-8",
    )
    folder = targets["production"].parent
    run = run_audit(tmp_path / "reports", "--target", str(folder), "--extra-checks", str(checks), "-k", "host_only or nothing")
    assert run.exit_code == 0, run.output[-3000:]
    hosts = run.report["targets"]["production"]["public_hosts"]
    assert sorted((c["id"], c["target"], c["parameter"]) for c in run.checks) == sorted(
        [("ZZZ-01", name, host) for name in ("production", "staging") for host in hosts]
        + [("ZZZ-02", "production", None), ("ZZZ-02", "staging", None)]
    )
