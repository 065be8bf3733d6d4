"""A resolver answering SERVFAIL, and a TLS port that accepts and never completes the
handshake, give the certificate and DNS checks error verdicts, bounded in time,
while the checks that do not depend on them still pass."""

from __future__ import annotations

from fixtures.sandbox.dns_server import DnsServer
from tests.audit_runner import AuditRun
from tests.hostile import names_the_one_second_bound, set_target_key
from tests.sandbox_audit import running_sandbox

# Checks that ask every configured resolver (the others resolve through the first one only).
EVERY_RESOLVER_CHECKS = {"DNS-03", "DNS-04"}
BOUND_SECONDS = 60


def _outcomes(run: AuditRun, prefix: str, plane: str | None = None) -> set[str]:
    return {c["outcome"] for c in run.checks if c["id"].startswith(prefix) and (plane is None or c["plane"] == plane)}


def test_a_servfail_resolver_and_a_tls_port_that_never_completes_the_handshake_give_errors_in_time(tmp_path, silent_port):
    """Both hostile endpoints in one audit (one sandbox start instead of two): they
    touch disjoint checks, so each one's verdicts are seen on their own."""
    with running_sandbox(tmp_path) as running, DnsServer({}, mode="servfail") as failing:
        # The first resolver works (the HTTP and TLS probes connect through it); the second fails.
        set_target_key(running.target, "resolvers", f'["{running.sandbox.dns.address}", "{failing.address}"]')
        set_target_key(running.target, "https_port", str(silent_port))
        set_target_key(running.target, "timeout_seconds", "1")
        run = running.audit()
    by_id = {(c["id"], c["parameter"]): c for c in run.checks}

    dns = {key: c for key, c in by_id.items() if key[0].startswith("DNS")}
    servfail = {key: c for key, c in dns.items() if key[0] in EVERY_RESOLVER_CHECKS}
    assert servfail and {c["outcome"] for c in servfail.values()} == {"error"}, run.output[-3000:]
    assert all("SERVFAIL" in c["message"] and failing.address in c["message"] for c in servfail.values())
    assert {c["outcome"] for key, c in dns.items() if key not in servfail} == {"passed"}

    tls = [c for c in run.checks if c["id"].startswith("CRT") and c["plane"] != "control"]
    assert tls and {c["outcome"] for c in tls} == {"error"}, run.output[-3000:]
    assert all(names_the_one_second_bound(c["message"]) for c in tls), [c["message"] for c in tls]
    # What needs neither still verifies: ACM and the listener's policy.
    assert _outcomes(run, "CRT", "control") == {"passed"}
    assert run.seconds < BOUND_SECONDS, run.seconds
