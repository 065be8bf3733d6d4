"""A resolver answering SERVFAIL, and a TLS port that accepts and never completes the
handshake, give the certificate and DNS checks error verdicts, bounded in time,
while the checks that do not depend on them still pass."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.sandbox.deployment import Sandbox
from fixtures.sandbox.dns_server import DnsServer
from tests.audit_runner import AuditRun, run_audit

# Checks that ask every configured resolver (the others resolve through the first one only).
EVERY_RESOLVER_CHECKS = {"DNS-03", "DNS-04"}
BOUND_SECONDS = 60


def _set(target: Path, key: str, value: str) -> None:
    text = target.read_text(encoding="utf-8")
    target.write_text(re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", text), encoding="utf-8")


def _outcomes(run: AuditRun, prefix: str, plane: str | None = None) -> set[str]:
    return {c["outcome"] for c in run.checks if c["id"].startswith(prefix) and (plane is None or c["plane"] == plane)}


@pytest.fixture
def silent_port() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


def test_a_servfail_resolver_and_a_tls_port_that_never_completes_the_handshake_give_errors_in_time(tmp_path, silent_port):
    """Both hostile endpoints in one audit (one sandbox start instead of two): they
    touch disjoint checks, so each one's verdicts are seen on their own."""
    with Sandbox() as sandbox, DnsServer({}, mode="servfail") as failing:
        target = sandbox.write_target(tmp_path / "target.toml")
        # The first resolver works (the HTTP and TLS probes connect through it); the second fails.
        _set(target, "resolvers", f'["{sandbox.dns.address}", "{failing.address}"]')
        _set(target, "https_port", str(silent_port))
        _set(target, "timeout_seconds", "1")
        run = run_audit(tmp_path / "reports", "--target", str(target))
    by_id = {(c["id"], c["parameter"]): c for c in run.checks}

    dns = {key: c for key, c in by_id.items() if key[0].startswith("DNS")}
    servfail = {key: c for key, c in dns.items() if key[0] in EVERY_RESOLVER_CHECKS}
    assert servfail and {c["outcome"] for c in servfail.values()} == {"error"}, run.output[-3000:]
    assert all("SERVFAIL" in c["message"] and failing.address in c["message"] for c in servfail.values())
    assert {c["outcome"] for key, c in dns.items() if key not in servfail} == {"passed"}

    tls = [c for c in run.checks if c["id"].startswith("CRT") and c["plane"] != "control"]
    assert tls and {c["outcome"] for c in tls} == {"error"}, run.output[-3000:]
    assert all("no answer within 1s" in c["message"] for c in tls), [c["message"] for c in tls]
    # What needs neither still verifies: ACM and the listener's policy.
    assert _outcomes(run, "CRT", "control") == {"passed"}
    assert run.seconds < BOUND_SECONDS, run.seconds
