"""The hostile-peer battery, wire side: whatever a peer does, every DNS query, TCP
connect, TLS handshake and HTTP exchange ends within its bound, as an error that
says what was tried and the bound, or, where the peer did answer, as a normal
observation. And an endpoint that does not answer costs one timeout per run.

Every case runs under `within`, a thread guard that fails the test instead of
hanging the suite if a bound regresses; each asserts the verdict and the wall
time (loosely: the bound plus SLACK). Each prints one `hostile:` line (case,
bound, wall, verdict) for the record; `pytest -s` shows them.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from fixtures.probes import dns, http, tcp, tls
from fixtures.probes.deadline import http_exchange_bound
from fixtures.probes.endpoints import Endpoints
from fixtures.probes.errors import ProbeError
from fixtures.sandbox.pki import LeafOptions, make_pki
from fixtures.target import Resolver
from tests.sandbox_audit import running_sandbox
from tests.test_tls_probe import TlsServer
from tests.hostile import (
    FullBacklog,
    HostileResolver,
    HostileServer,
    SilentServer,
    answers,
    closed_port,
    endless_headers,
    huge_body,
    names_the_bound,
    partial_server_hello,
    set_target_key,
    tls_garbage,
    trickled_body,
    trickled_handshake,
    trickled_headers,
    within,
)

TIMEOUT = 1.0  # the target's timeout_seconds in these cases
HTTP_BOUND = http_exchange_bound(TIMEOUT)  # 2 x the timeout
SLACK = 1.5
GUARD = 20  # seconds after which a case counts as hanging
MAX_BODY = 1024 * 1024
HOST = "api.cloudproject.test"


def _record(case: str, bound: float, wall: float, verdict: str) -> None:
    print(f"\nhostile: {case} | bound {bound:g}s | wall {wall:.3f}s | {verdict}")


def _fetch(scheme: str, port: int, registry: Endpoints | None = None, *, bundle: str | None = None):
    request = http.HttpRequest("GET", scheme, HOST, port, "/", "127.0.0.1")
    return within(GUARD, lambda: http.fetch(request, timeout=TIMEOUT, max_body_bytes=MAX_BODY, ca_bundle=bundle, endpoints=registry))


def _expect_error(result: object, wall: float, bound: float, case: str, pattern: str) -> ProbeError:
    assert isinstance(result, ProbeError), f"{case}: expected a ProbeError, got {result!r}"
    assert re.search(pattern, str(result)), str(result)
    assert wall <= bound + SLACK, f"{case}: {wall:.3f}s against a bound of {bound:g}s"
    _record(case, bound, wall, f"error: {result.why}")
    return result


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> str:
    return str(make_pki(LeafOptions(("cloudproject.test", "*.cloudproject.test"))).write(tmp_path_factory.mktemp("pki")).ca_bundle)


# --- HTTP ------------------------------------------------------------------------------


def test_headers_trickled_one_byte_every_half_second_end_at_the_exchange_bound():
    """Today's hang: every byte restarted the read timeout. Now the exchange has a total deadline."""
    registry = Endpoints()
    with HostileServer(trickled_headers(0.5)) as server:
        result, wall = _fetch("http", server.port, registry)
        error = _expect_error(result, wall, HTTP_BOUND, "HTTP headers trickled", r"no complete answer within 2s")
        assert "status line and headers" in error.why
        assert wall >= HTTP_BOUND - 0.1  # it is the total bound that ended it, not a per-read timeout
        again, again_wall = _fetch("http", server.port, registry)
    assert isinstance(again, ProbeError) and "not retried" in again.why and again_wall < 0.5


def test_endless_headers_are_an_error_as_soon_as_they_pass_the_header_limit():
    with HostileServer(endless_headers) as server:
        result, wall = _fetch("http", server.port)
    _expect_error(result, wall, HTTP_BOUND, "HTTP endless headers", r"not valid HTTP: .*more than 100 headers")


def test_a_50_mb_body_is_read_up_to_the_cap_and_observed():
    with HostileServer(huge_body()) as server:
        result, wall = _fetch("http", server.port)
    assert isinstance(result, http.HttpExchange), result
    assert result.response.status == 200 and result.response.truncated and len(result.response.body) == MAX_BODY
    assert wall <= HTTP_BOUND + SLACK
    _record("HTTP 50 MB body", HTTP_BOUND, wall, f"observed: 200, body capped at {MAX_BODY} bytes")


def test_a_trickled_body_ends_at_the_exchange_bound_and_does_not_mark_the_endpoint():
    registry = Endpoints()
    with HostileServer(trickled_body(0.5)) as server:
        result, wall = _fetch("http", server.port, registry)
    error = _expect_error(result, wall, HTTP_BOUND, "HTTP body trickled", r"no complete answer within 2s")
    assert "sending the body" in error.why
    assert registry.failures() == ()  # the status and headers came: the endpoint answered


def test_invalid_header_bytes_are_observed_as_sent():
    raw = (
        b"HTTP/1.1 200 OK\r\nX-Bytes: \xff\xfe\x00\x01 end\r\n\x80\x81: latin\r\n"
        b"Content-Length: 2\r\nConnection: close\r\n\r\nok"
    )
    with HostileServer(answers(raw)) as server:
        result, wall = _fetch("http", server.port)
    assert isinstance(result, http.HttpExchange), result
    assert result.response.status == 200
    assert result.response.header("X-Bytes") == "\xff\xfe\x00\x01 end"  # as ISO-8859-1, as HTTP/1.1 reads them
    json.dumps(result.as_evidence())  # the report can carry what the server sent
    assert wall <= HTTP_BOUND + SLACK
    _record("HTTP invalid header bytes", HTTP_BOUND, wall, "observed: 200, headers as sent")


def test_a_status_line_that_is_not_http_is_an_error_at_once():
    with HostileServer(answers(b"\xff\xfe\x00 SSH-2.0-OpenSSH\r\n\r\n")) as server:
        result, wall = _fetch("http", server.port)
    _expect_error(result, wall, HTTP_BOUND, "HTTP status line not HTTP", r"not valid HTTP")


def test_a_body_of_invalid_utf8_is_observed_and_reported_safely():
    body = b"\xc3\x28 \xff\xfe half a character: \xe2\x82"
    raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    with HostileServer(answers(raw)) as server:
        result, wall = _fetch("http", server.port)
    assert isinstance(result, http.HttpExchange), result
    assert result.response.body == body and "\ufffd" in result.response.text
    json.dumps(result.as_evidence())
    assert wall <= HTTP_BOUND + SLACK
    _record("HTTP invalid UTF-8 body", HTTP_BOUND, wall, "observed: 200, body kept as bytes")


# --- TLS ---------------------------------------------------------------------------------


def _observe(port: int, bundle: str, registry: Endpoints | None = None):
    return within(GUARD, lambda: tls.observe(HOST, "127.0.0.1", port, timeout=TIMEOUT, trust_store=bundle, endpoints=registry))


def test_tls_answered_with_garbage_is_an_error_at_once_and_not_an_endpoint_failure(bundle):
    registry = Endpoints()
    with HostileServer(tls_garbage) as server:
        observed, observe_wall = _observe(server.port, bundle, registry)
        fetched, fetch_wall = _fetch("https", server.port, registry, bundle=bundle)
    _expect_error(observed, observe_wall, TIMEOUT, "TLS garbage (handshake probe)", r"handshake failed")
    _expect_error(fetched, fetch_wall, HTTP_BOUND, "TLS garbage (HTTPS request)", r"TLS failed")
    assert registry.failures() == ()  # it answered, if not in TLS: asking again is cheap and honest


@pytest.mark.parametrize(
    "case, behaviour",
    [("TLS partial ServerHello", partial_server_hello), ("TLS handshake trickled", trickled_handshake(0.3))],
    ids=["partial-server-hello", "trickled-handshake"],
)
def test_a_handshake_that_stalls_or_trickles_ends_within_one_timeout(bundle, case, behaviour):
    with HostileServer(behaviour) as server:
        observed, observe_wall = _observe(server.port, bundle)
        fetched, fetch_wall = _fetch("https", server.port, bundle=bundle)
    _expect_error(observed, observe_wall, TIMEOUT, f"{case} (handshake probe)", r"no answer within 1s")
    _expect_error(fetched, fetch_wall, HTTP_BOUND, f"{case} (HTTPS request)", r"within")
    assert "TLS handshake" in fetched.why


# --- DNS ---------------------------------------------------------------------------------


def _lookup(resolver: HostileResolver, registry: Endpoints | None = None):
    where = Resolver("127.0.0.1", resolver.port)
    return within(GUARD, lambda: dns.lookup("cloudproject.test", "A", where, TIMEOUT, registry))


@pytest.mark.parametrize(
    "udp, tcp_mode, case, pattern",
    [
        ("silent", "silent", "DNS UDP never answers", r"no answer within 1s"),
        ("garbage", "silent", "DNS UDP answers garbage", r"no answer within 1s"),
        ("truncated", "silent", "DNS TCP never answers", r"no answer within 1s"),
        ("truncated", "garbage", "DNS TCP answers garbage", r"could not verify: DNS"),
        ("truncated", "trickle", "DNS TCP answer trickled", r"no answer within 1s"),
    ],
    ids=["udp-silent", "udp-garbage", "tcp-silent", "tcp-garbage", "tcp-trickle"],
)
def test_a_hostile_resolver_is_an_error_within_the_lookup_bound(udp, tcp_mode, case, pattern):
    with HostileResolver(udp, tcp_mode) as resolver:
        result, wall = _lookup(resolver)
        tcp_used = resolver.tcp_connections
    _expect_error(result, wall, TIMEOUT, case, pattern)
    assert (tcp_used > 0) == (udp == "truncated")  # the TCP cases did go over TCP


def test_a_resolver_that_did_not_answer_is_not_asked_again_and_others_still_are():
    registry = Endpoints()
    with HostileResolver("silent") as silent, HostileResolver("silent") as other:
        first, _ = _lookup(silent, registry)
        again, again_wall = _lookup(silent, registry)
        elsewhere, elsewhere_wall = _lookup(other, registry)
    assert isinstance(first, ProbeError) and "no answer within 1s" in first.why
    assert isinstance(again, ProbeError) and again.why.startswith(f"not retried: 127.0.0.1:{silent.port} did not answer at ")
    assert again_wall < 0.2
    assert isinstance(elsewhere, ProbeError) and "not retried" not in elsewhere.why and elsewhere_wall >= TIMEOUT - 0.1
    _record("DNS resolver asked again", 0, again_wall, f"error: {again.why}")


# --- TCP connect and the one-timeout-per-endpoint rule ----------------------------------------


def test_a_connect_that_times_out_costs_one_timeout_then_every_probe_to_it_ends_at_once(bundle):
    registry = Endpoints()
    with FullBacklog() as dropping:
        first, first_wall = within(GUARD, lambda: tcp.connect("127.0.0.1", dropping.port, TIMEOUT, registry))
        second, second_wall = within(GUARD, lambda: tcp.connect("127.0.0.1", dropping.port, TIMEOUT, registry))
        fetched, fetch_wall = _fetch("https", dropping.port, registry, bundle=bundle)
        observed, observe_wall = _observe(dropping.port, bundle, registry)
    assert isinstance(first, tcp.TcpAttempt) and first.outcome == tcp.TIMED_OUT
    assert TIMEOUT - 0.1 <= first_wall <= TIMEOUT + SLACK
    _record("TCP connect never completes", TIMEOUT, first_wall, "observed: timed out")
    assert isinstance(second, tcp.TcpAttempt) and second.outcome == tcp.TIMED_OUT and second.remembered
    assert "not_retried" in second.as_evidence()
    for result, wall in ((fetched, fetch_wall), (observed, observe_wall)):
        assert isinstance(result, ProbeError), result
        assert result.why.startswith(f"not retried: 127.0.0.1:{dropping.port} did not answer at ")
        assert result.why.endswith("no answer within 1s (TCP connect)")
        assert wall < 0.2
    _record("later probes to a timed-out endpoint", 0, max(second_wall, fetch_wall, observe_wall), f"error: {fetched.why}")


def test_a_refused_endpoint_is_remembered_and_named():
    registry = Endpoints()
    port = closed_port()
    first, _ = within(GUARD, lambda: tcp.connect("127.0.0.1", port, TIMEOUT, registry))
    fetched, wall = _fetch("http", port, registry)
    assert first.outcome == tcp.REFUSED
    assert isinstance(fetched, ProbeError) and "not retried" in fetched.why and "connection refused" in fetched.why
    assert wall < 0.2


def test_an_https_endpoint_that_never_speaks_costs_one_timeout_and_another_endpoint_its_own(bundle):
    registry = Endpoints()
    with SilentServer() as silent, SilentServer() as other:
        first, first_wall = _fetch("https", silent.port, registry, bundle=bundle)
        observed, observe_wall = _observe(silent.port, bundle, registry)
        fetched_again, again_wall = _fetch("https", silent.port, registry, bundle=bundle)
        elsewhere, elsewhere_wall = _fetch("https", other.port, registry, bundle=bundle)
    _expect_error(first, first_wall, TIMEOUT, "HTTPS endpoint never speaks (first probe)", r"no answer within 1s \(TLS handshake\)")
    stamp = r"not retried: 127\.0\.0\.1:%d did not answer at \d\d:\d\d:\d\d UTC: no answer within 1s" % silent.port
    _expect_error(observed, observe_wall, 0.2, "HTTPS endpoint never speaks (later TLS probe)", stamp)
    _expect_error(fetched_again, again_wall, 0.2, "HTTPS endpoint never speaks (later request)", stamp)
    assert observe_wall < 0.2 and again_wall < 0.2
    assert isinstance(elsewhere, ProbeError) and "not retried" not in elsewhere.why and elsewhere_wall >= TIMEOUT - 0.1


def test_answers_are_not_endpoint_failures(tmp_path):
    """A 5xx, and a certificate that does not verify, are answers: the endpoint is asked again."""
    registry = Endpoints()
    with HostileServer(answers(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")) as server:
        for _ in range(2):
            result, _wall = _fetch("http", server.port, registry)
            assert isinstance(result, http.HttpExchange) and result.response.status == 503
        assert server.connections == 2
    untrusted = make_pki(LeafOptions((HOST,), issuer="untrusted")).write(tmp_path)
    trusted_elsewhere = str(make_pki(LeafOptions((HOST,))).write(tmp_path / "other").ca_bundle)
    with TlsServer(untrusted) as server:
        refused, _ = _fetch("https", server.port, registry, bundle=trusted_elsewhere)
        again, _ = _fetch("https", server.port, registry, bundle=trusted_elsewhere)
    assert isinstance(refused, http.TlsVerificationError) and isinstance(again, http.TlsVerificationError)
    assert "not retried" not in again.why
    assert registry.failures() == ()


# --- a whole audit ------------------------------------------------------------------------

AUDIT_TIMEOUT = 2  # seconds; eight timeouts (the behaviour before) would be 16 s of waiting


HSTS_WIRE_CHECKS = ("RDR-08", "RDR-09")


def test_an_audit_whose_https_endpoint_never_speaks_pays_about_one_timeout(tmp_path):
    with running_sandbox(tmp_path) as running, SilentServer() as silent:
        set_target_key(running.target, "https_port", str(silent.port))
        set_target_key(running.target, "timeout_seconds", str(AUDIT_TIMEOUT))
        started = time.monotonic()
        run = running.audit()
        wall = time.monotonic() - started
    # Every wire check that reads an HTTPS answer: the HSTS checks (RDR-08/09) too, the redirect's own do not.
    over_https = [
        c
        for c in run.checks
        if c["plane"] in ("wire", "across") and (not c["id"].startswith(("RDR", "DNS", "ING")) or c["id"] in HSTS_WIRE_CHECKS)
    ]
    assert over_https and {c["outcome"] for c in over_https} == {"error"}, [(c["id"], c["outcome"]) for c in over_https]
    assert not [c["message"] for c in over_https if not names_the_bound(c["message"], AUDIT_TIMEOUT)]
    # One first failure (shared, memoised, by the checks that read that same fact); every other probe was not sent.
    first_failures = {c["message"] for c in over_https if "not retried" not in c["message"]}
    assert len(first_failures) == 1, first_failures
    assert any(f"not retried: 127.0.0.1:{silent.port} did not answer at" in c["message"] for c in over_https)
    # The rest of the run is untouched: plain HTTP, DNS, the control plane. Only RDR-01
    # fails, rightly: the redirect names the sandbox's real HTTPS port, not the silent one.
    others = [c for c in run.checks if c not in over_https]
    assert {c["id"] for c in others if c["outcome"] != "passed"} == {"RDR-01"}, [
        (c["id"], c["outcome"], c["message"]) for c in others if c["outcome"] != "passed"
    ]
    assert {c["outcome"] for c in others if c["id"] == "RDR-01"} == {"failed"}
    waited = sum(c["duration_seconds"] for c in over_https)
    assert waited <= 2 * AUDIT_TIMEOUT, waited  # about one timeout, not eight
    _record(
        f"audit, HTTPS endpoint never speaks ({len(over_https)} checks)",
        AUDIT_TIMEOUT,
        waited,
        f"all error; {len(over_https) - sum(1 for c in over_https if c['message'] in first_failures)} 'not retried'; audit wall {wall:.1f}s",
    )
