"""The history store on SQLite and on a real PostgreSQL server: schema upgrades keep old runs,
a newer schema is refused, first-seen times and run counts follow a finding, concurrent
writers lose nothing, and a store that cannot be reached fails fast and says why."""

from __future__ import annotations

import subprocess
import sys
import time
import pytest
import sqlalchemy
from alembic import command
from alembic.config import Config as AlembicConfig

from fixtures.history.drift import baseline_from_store, compare
from fixtures.history.findings import fingerprint
from fixtures.history.store import MIGRATIONS, HistoryError, open_store, resolve_url, run_row
from tests.audit_runner import PROJECT
from tests.history_documents import CHECKS, T0, document
from tests.hostile import closed_port
from tests.postgres import postgres_server  # noqa: F401 (a fixture)

@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.sqlite'}"
    server = request.getfixturevalue("postgres_server")
    return server.create_database(f"store_{request.node.name.split('[')[0][-40:]}_{time.monotonic_ns()}".lower())


def _audit_night(url: str, target: str, night: int, outcomes: dict[str, str]) -> dict:
    """What the plugin does for one run: read the previous run, write this one, compare."""
    doc = document(target, night, outcomes)
    store = open_store(url)
    try:
        baseline = baseline_from_store(store, doc)
        store.add_run(run_row(doc))
    finally:
        store.dispose()
    return compare(doc, baseline)


def test_first_seen_and_run_count_follow_a_finding_across_errors_until_it_is_fixed(store_url):
    finding = "RDR-02[api.example.com]"
    key = fingerprint("RDR-02", "prod", "api.example.com")
    assert _audit_night(store_url, "prod", 0, {})["counts"]["new"] == 0
    first = _audit_night(store_url, "prod", 1, {finding: "failed"})
    assert [(e["fingerprint"], e["first_seen"], e["runs"]) for e in first["new"]] == [(key, "2026-01-02T02:00:00+00:00", 1)]
    assert first["requirements_changed"] == [{"requirement": "https-redirect", "before": "compliant", "after": "non-compliant"}]
    second = _audit_night(store_url, "prod", 2, {finding: "failed"})
    assert [(e["first_seen"], e["runs"]) for e in second["persisting"]] == [("2026-01-02T02:00:00+00:00", 2)]
    assert second["new"] == [] and second["requirements_changed"] == []
    # A night that could not verify it: not resolved, and the streak goes on.
    unverified = _audit_night(store_url, "prod", 3, {finding: "error"})
    assert unverified["resolved"] == [] and [e["fingerprint"] for e in unverified["unconfirmed"]] == [key]
    third = _audit_night(store_url, "prod", 4, {finding: "failed"})
    assert third["new"] == []
    assert [(e["first_seen"], e["runs"]) for e in third["persisting"]] == [("2026-01-02T02:00:00+00:00", 3)]
    fixed = _audit_night(store_url, "prod", 5, {})
    assert [(e["fingerprint"], e["first_seen"], e["runs"], e["outcome"]) for e in fixed["resolved"]] == [
        (key, "2026-01-02T02:00:00+00:00", 3, "passed")
    ]
    # It comes back: a new streak, first seen tonight.
    back = _audit_night(store_url, "prod", 6, {finding: "failed"})
    assert [(e["first_seen"], e["runs"]) for e in back["new"]] == [("2026-01-07T02:00:00+00:00", 1)]
    # Another target's runs are another history.
    assert _audit_night(store_url, "staging", 6, {})["baseline"] is None


def _alembic_config(connection) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def test_a_store_written_at_the_first_revision_is_upgraded_and_keeps_its_runs(store_url):
    engine = sqlalchemy.create_engine(store_url)
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "0001")
    # A run as edgeproof wrote it at revision 0001 (no waiver column yet).
    metadata = sqlalchemy.MetaData()
    metadata.reflect(engine)
    runs, results = metadata.tables["edgeproof_runs"], metadata.tables["edgeproof_check_results"]
    assert "waiver" not in results.c
    with engine.begin() as connection:
        run_id = connection.execute(
            runs.insert().values(
                target="prod", domain="example.com", started=T0, finished=T0, duration_seconds=9.0, verdict="non-compliant",
                passed=2, failed=1, error=0, skipped=0, interrupted=False, requirement_verdicts={"https-redirect": "non-compliant"},
            )
        ).inserted_primary_key[0]
        connection.execute(
            results.insert().values(
                run_id=run_id, check_id="RDR-02", parameter="api.example.com", requirement="https-redirect",
                plane="wire", severity="medium", outcome="failed", message="expected 301, got 302",
                fingerprint=fingerprint("RDR-02", "prod", "api.example.com"),
            )
        )
    engine.dispose()

    store = open_store(store_url)
    try:
        assert store.revision() == "0002"
        old = store.previous_run("prod")
        assert old.id == run_id and [c.check_id for c in old.checks] == ["RDR-02"]
        store.add_run(run_row(document("prod", 1, {"RDR-02[api.example.com]": "failed"}, waiver={"reason": "migration window", "expires": "2026-02-01"})))
        runs_now = store.runs("prod", 10, with_checks=True)
        assert [r.id for r in runs_now][0] == run_id and len(runs_now) == 2
    finally:
        store.dispose()
    # The waiver is in the new column; the old record's is NULL.
    engine = sqlalchemy.create_engine(store_url)
    with engine.connect() as connection:
        waivers = connection.execute(sqlalchemy.text("SELECT run_id, waiver FROM edgeproof_check_results WHERE outcome = 'failed' ORDER BY id")).all()
    engine.dispose()
    assert waivers[0][1] is None
    assert "migration window" in str(waivers[1][1])


def test_a_store_from_a_newer_edgeproof_is_refused_and_left_as_it_is(store_url):
    store = open_store(store_url)
    store.add_run(run_row(document("prod", 0)))
    store.dispose()
    engine = sqlalchemy.create_engine(store_url)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("UPDATE edgeproof_alembic_version SET version_num = '9999'"))
    with pytest.raises(HistoryError, match="9999"):
        open_store(store_url)
    with engine.connect() as connection:
        assert connection.execute(sqlalchemy.text("SELECT count(*) FROM edgeproof_runs")).scalar() == 1
    engine.dispose()


WRITER = """
import sys
from tests.history_documents import document
from fixtures.history.store import open_store, run_row
url, target, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
for night in range(runs):
    store = open_store(url)  # each run opens the store anew, as audits do
    store.add_run(run_row(document(target, night, {"RDR-02[example.com]": "failed"} if night % 2 else {})))
    store.dispose()
"""


def test_concurrent_writers_on_a_new_store_lose_nothing(store_url):
    writers, runs = 3, 4
    processes = [
        subprocess.Popen([sys.executable, "-c", WRITER, store_url, f"deployment-{n}", str(runs)], cwd=PROJECT,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for n in range(writers)
    ]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert [p.returncode for p in processes] == [0] * writers, outputs
    store = open_store(store_url)
    try:
        assert store.targets() == [(f"deployment-{n}", runs) for n in range(writers)]
        for n in range(writers):
            stored = store.runs(f"deployment-{n}", 100, with_checks=True)
            assert [r.started.day for r in stored] == [1, 2, 3, 4]
            assert all(len(r.checks) == len(CHECKS) for r in stored)
    finally:
        store.dispose()


def test_a_store_that_cannot_be_reached_fails_fast_and_says_which(silent_port, tmp_path):
    started = time.monotonic()
    with pytest.raises(HistoryError, match="refused|connect"):
        open_store(f"postgresql+psycopg://edgeproof@127.0.0.1:{closed_port()}/edgeproof")
    assert time.monotonic() - started < 5
    started = time.monotonic()
    with pytest.raises(HistoryError, match="timeout|timed out"):
        open_store(f"postgresql+psycopg://edgeproof@127.0.0.1:{silent_port}/edgeproof")
    assert time.monotonic() - started < 15  # the connect timeout (5 s), per address tried
    unwritable = tmp_path / "ro"
    unwritable.write_text("a file where a directory should be")
    with pytest.raises(HistoryError):
        open_store(f"sqlite:///{unwritable}/history.sqlite")


def test_a_plain_path_or_a_postgresql_url_resolve_to_the_drivers_edgeproof_ships(tmp_path, monkeypatch):
    monkeypatch.delenv("EDGEPROOF_HISTORY", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert resolve_url(None) == f"sqlite:///{tmp_path}/edgeproof/history.sqlite"
    assert resolve_url(None, disabled=True) is None
    assert resolve_url(str(tmp_path / "h.db")) == f"sqlite:///{tmp_path}/h.db"
    assert resolve_url("postgresql://ci@db.internal/edgeproof") == "postgresql+psycopg://ci@db.internal/edgeproof"
    monkeypatch.setenv("EDGEPROOF_HISTORY", "off")
    assert resolve_url(None) is None
