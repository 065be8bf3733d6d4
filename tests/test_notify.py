"""--notify: what is sent (only changes), that it reaches a real receiver through Apprise, and
that a receiver that is down or never answers is reported within a bound."""

from __future__ import annotations

import time

from fixtures.history import notify
from tests.hostile import closed_port
from tests.receiver import Receiver


def _document(verdict: str, new: list[dict] = (), resolved: list[dict] = (), errors: int = 0) -> dict:
    checks = [
        {"id": "RTE-05", "parameter": None, "outcome": "error", "severity": "high", "message": "could not verify: timeout"}
    ] * errors
    return {
        "started": "2026-01-01T00:00:00+00:00",
        "target": {"name": "production"},
        "summary": {"verdict": verdict, "passed": 5, "failed": len(new), "error": errors, "skipped": 0},
        "checks": checks,
        "drift": {"target": "production", "baseline": {"run_id": 1}, "new": list(new), "resolved": list(resolved)},
    }


FINDING = {
    "id": "RDR-02",
    "parameter": "api.example.com",
    "severity": "medium",
    "message": "expected 301, got 302",
    "first_seen": "2026-01-01T00:00:00+00:00",
    "runs": 1,
}


def test_a_run_where_nothing_changed_and_everything_verified_sends_nothing():
    assert notify.message_for(_document("compliant")) is None
    # A finding that persists is not news either.
    assert notify.message_for(_document("non-compliant")) is None


def test_the_message_names_new_and_resolved_findings_and_a_run_that_could_not_verify():
    message = notify.message_for(_document("non-compliant", new=[FINDING]))
    assert "1 new finding" in message.title and "production" in message.title
    assert "RDR-02 [api.example.com]" in message.body and "first seen 2026-01-01T00:00:00+00:00" in message.body
    assert message.kind == "failure"
    resolved = notify.message_for(_document("compliant", resolved=[FINDING]))
    assert "1 resolved" in resolved.title and resolved.kind == "success"
    incomplete = notify.message_for(_document("incomplete", errors=1))
    assert "could not verify" in incomplete.title and "RTE-05" in incomplete.body


def test_every_line_is_a_sentence_and_an_incomplete_run_gives_its_cause():
    resolved = notify.message_for(_document("compliant", resolved=[{**FINDING, "message": "", "outcome": "passed",
                                                                       "title": "HTTP redirects are permanent", "runs": 2}]))
    line = next(line for line in resolved.body.splitlines() if line.startswith("- RDR-02"))
    # The line ends with the finding's sentence, never with a bare colon.
    assert line.endswith("(medium; open since 2026-01-01T00:00:00+00:00, 2 runs): "
                         "HTTP redirects are permanent, on api.example.com: holds again (resolved).")
    new = notify.message_for(_document("non-compliant", new=[{**FINDING, "title": "HTTP redirects are permanent"}]))
    assert "Expected: HTTP redirects are permanent, on api.example.com. Seen: expected 301, got 302." in new.body
    incomplete = notify.message_for(_document("incomplete", errors=3))
    assert "Why 3 checks could not verify:\n- 3 checks: could not verify: timeout" in incomplete.body
    assert "Verdict: incomplete." in incomplete.body


def test_a_notification_reaches_a_local_receiver_through_apprise():
    message = notify.message_for(_document("non-compliant", new=[FINDING]))
    with Receiver() as receiver:
        results = notify.send([receiver.url("/hook")], message)
    assert results == [{"service": results[0]["service"], "sent": True, "error": None}]
    assert len(receiver.messages) == 1
    posted = receiver.messages[0]
    assert posted["path"] == "/hook"
    assert posted["title"] == message.title and "RDR-02" in posted["message"]


def test_a_receiver_that_never_answers_is_reported_within_the_bound(silent_port):
    message = notify.message_for(_document("non-compliant", new=[FINDING]))
    started = time.monotonic()
    results = notify.send([f"json://127.0.0.1:{silent_port}/hook"], message)
    elapsed = time.monotonic() - started
    assert results[0]["sent"] is False and results[0]["error"], results
    # Apprise's read timeout (5 s here) ends it; the total bound is the backstop.
    assert elapsed < notify.TOTAL_TIMEOUT_SECONDS + 2, elapsed


def test_the_total_bound_holds_whatever_the_socket_timeouts(silent_port):
    message = notify.message_for(_document("non-compliant", new=[FINDING]))
    started = time.monotonic()
    results = notify.send([f"json://127.0.0.1:{silent_port}/hook"], message, total_timeout=1.0)
    elapsed = time.monotonic() - started
    assert results == [{"service": results[0]["service"], "sent": False, "error": "no answer within 1s"}]
    assert elapsed < 2.5, elapsed


def test_a_receiver_that_is_down_or_a_bad_url_fails_alone_and_the_others_still_get_it():
    message = notify.message_for(_document("non-compliant", new=[FINDING]))
    with Receiver() as receiver:
        results = notify.send(
            [f"json://127.0.0.1:{closed_port()}/hook", "nosuchservice://x", receiver.url()], message
        )
    assert [r["sent"] for r in results] == [False, False, True], results
    assert "not a notification URL" in results[1]["error"]
    # Why the closed port failed, in Apprise's own words, instead of "see the log".
    assert "Apprise's log" in results[0]["error"] and "see the log" not in results[0]["error"], results[0]
    assert len(receiver.messages) == 1


def test_the_reported_service_never_shows_the_urls_secrets():
    message = notify.message_for(_document("non-compliant", new=[FINDING]))
    with Receiver() as receiver:
        results = notify.send([f"json://edgeproof:s3cr3t-token@127.0.0.1:{receiver.port}/hook"], message)
        assert receiver.messages, results
    assert "s3cr3t-token" not in str(results), results
