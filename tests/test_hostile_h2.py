"""The hostile-peer battery for HTTP/2 peers (tests/test_hostile_wire.py does HTTP/1.1's).

A batch (fixtures.probes.http2) to a server that selected h2 by ALPN and then
trickles, stalls one stream, sends GOAWAY or RST_STREAM, or floods SETTINGS:
each request it spoils ends as an error within its bound (the handshake's T
plus the exchange's 2 x T), never a hang, and the requests it answers are
still answers. Every case runs under `within` and prints one `hostile:` line.
"""

from __future__ import annotations

import re
import time

import pytest

from fixtures.probes import http, http2
from fixtures.probes.connections import Connections
from fixtures.probes.deadline import http_exchange_bound
from fixtures.probes.endpoints import Endpoints
from fixtures.probes.errors import ProbeError
from fixtures.sandbox.pki import LeafOptions, make_pki
from tests.hostile import HostileServer, within
from tests.hostile_h2 import (
    answers_every_batch,
    answers_then_closes,
    goaway_error_after_processing,
    goaway_unprocessed,
    h2_peer,
    resets_every_stream,
    server_context,
    settings_flood,
    stalls_first_stream,
    trickles,
)

TIMEOUT = 1.0
# The connect and handshake (T), then each stream's exchange (2 x T).
BATCH_BOUND = TIMEOUT + http_exchange_bound(TIMEOUT)
SLACK = 1.5
GUARD = 20
HOST = "api.cloudproject.test"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(LeafOptions(("cloudproject.test", "*.cloudproject.test"))).write(tmp_path_factory.mktemp("pki"))


def _batch(port: int, bundle: str, count: int = 3, registry: Endpoints | None = None):
    requests = [http.HttpRequest("GET", "https", HOST, port, f"/api/{index}", "127.0.0.1") for index in range(count)]
    return within(
        GUARD,
        lambda: http2.fetch_batch(requests, timeout=TIMEOUT, max_body_bytes=1 << 20, ca_bundle=bundle, endpoints=registry),
    )


def _errors(results, wall: float, case: str, pattern: str) -> None:
    assert isinstance(results, list), f"{case}: expected answers per request, got {results!r}"
    assert all(isinstance(result, ProbeError) for result in results), results
    assert all(re.search(pattern, str(result)) for result in results), [str(r) for r in results]
    assert wall <= BATCH_BOUND + SLACK, f"{case}: {wall:.3f}s against a bound of {BATCH_BOUND:g}s"
    print(f"\nhostile: HTTP/2 {case} | bound {BATCH_BOUND:g}s | wall {wall:.3f}s | error: {results[0].why}")


@pytest.mark.parametrize(
    "case, misbehaviour, pattern",
    [
        ("trickled body", trickles(0.2), r"no complete answer within 2s .*sending the body"),
        ("GOAWAY, nothing processed", goaway_unprocessed, r"GOAWAY twice"),
        ("GOAWAY INTERNAL_ERROR", goaway_error_after_processing, r"GOAWAY INTERNAL_ERROR"),
        ("RST_STREAM", resets_every_stream, r"RST_STREAM INTERNAL_ERROR"),
        ("SETTINGS flood", settings_flood, r"within"),
    ],
    ids=["trickle", "goaway-unprocessed", "goaway-error", "rst-stream", "settings-flood"],
)
def test_a_hostile_http2_peer_ends_every_request_as_an_error_within_the_bound(pki, case, misbehaviour, pattern):
    with HostileServer(h2_peer(server_context(str(pki.cert_chain), str(pki.key)), misbehaviour)) as server:
        results, wall = _batch(server.port, str(pki.ca_bundle))
    _errors(results, wall, case, pattern)


def test_a_stalled_stream_is_an_error_at_its_bound_and_the_other_streams_are_answers(pki):
    with HostileServer(h2_peer(server_context(str(pki.cert_chain), str(pki.key)), stalls_first_stream)) as server:
        results, wall = _batch(server.port, str(pki.ca_bundle), count=4)
    # Nothing at all for one timeout ends it (the single-wait bound), before its exchange bound.
    assert isinstance(results[0], ProbeError) and "no answer within 1s" in results[0].why, results[0]
    assert [answer.response.status for answer in results[1:]] == [200, 200, 200], results
    assert all(answer.response.header("Content-Type") == "application/json" for answer in results[1:])
    assert wall <= BATCH_BOUND + SLACK
    print(f"\nhostile: HTTP/2 one stalled stream | bound {BATCH_BOUND:g}s | wall {wall:.3f}s | error: {results[0].why}; 3 answers")


def test_after_a_hostile_http2_peer_the_run_goes_on_with_the_next_endpoint(pki):
    registry = Endpoints()
    context = server_context(str(pki.cert_chain), str(pki.key))
    with HostileServer(h2_peer(context, resets_every_stream)) as hostile:
        spoiled, _wall = _batch(hostile.port, str(pki.ca_bundle), registry=registry)
    with HostileServer(h2_peer(context, stalls_first_stream)) as healthy:
        results, _wall = _batch(healthy.port, str(pki.ca_bundle), count=3, registry=registry)
    assert all(isinstance(result, ProbeError) for result in spoiled)
    assert [answer.response.status for answer in results[1:]] == [200, 200]
    assert registry.failures() == ()  # a peer that answered (if badly) is not an endpoint that did not answer


def test_a_server_that_does_not_select_h2_gets_nothing_sent(pki):
    context = server_context(str(pki.cert_chain), str(pki.key))
    context.set_alpn_protocols(["http/1.1"])
    with HostileServer(lambda connection, stopped: context.wrap_socket(connection, server_side=True).recv(1)) as server:
        results, wall = _batch(server.port, str(pki.ca_bundle))
    assert results is None and wall < TIMEOUT + SLACK


def _two_batches(port: int, bundle: str, pool: Connections):
    requests = [http.HttpRequest("GET", "https", HOST, port, f"/api/{index}", "127.0.0.1") for index in range(3)]
    options = dict(timeout=TIMEOUT, max_body_bytes=1 << 20, ca_bundle=bundle, connections=pool)
    first, _wall = within(GUARD, lambda: http2.fetch_batch(requests, **options))
    time.sleep(0.3)  # the server may close meanwhile
    second, wall = within(GUARD, lambda: http2.fetch_batch(requests, **options))
    return first, second, wall


def test_the_next_batch_to_a_host_reuses_its_http2_connection(pki):
    pool = Connections()
    with HostileServer(h2_peer(server_context(str(pki.cert_chain), str(pki.key)), answers_every_batch)) as server:
        first, second, _wall = _two_batches(server.port, str(pki.ca_bundle), pool)
        assert server.connections == 1
    assert [a.response.status for a in first + second] == [200] * 6
    assert pool.stats()["http_connections_opened"] == 1 and pool.stats()["http_requests"] == 6
    pool.close()


def test_a_kept_http2_connection_the_server_closed_costs_a_new_one_not_an_error(pki):
    pool = Connections()
    with HostileServer(h2_peer(server_context(str(pki.cert_chain), str(pki.key)), answers_then_closes)) as server:
        first, second, wall = _two_batches(server.port, str(pki.ca_bundle), pool)
        assert server.connections == 2
    assert [a.response.status for a in first + second] == [200] * 6 and wall < TIMEOUT
    pool.close()


def test_a_batch_with_bodies_never_rides_on_a_kept_connection(pki):
    # A POST on a kept connection the server closed meanwhile could be neither retried nor reported.
    pool = Connections()
    context = server_context(str(pki.cert_chain), str(pki.key))
    with HostileServer(h2_peer(context, answers_every_batch)) as server:
        gets = [http.HttpRequest("GET", "https", HOST, server.port, "/api/a", "127.0.0.1")]
        posts = [http.HttpRequest("POST", "https", HOST, server.port, f"/api/{n}", "127.0.0.1") for n in range(2)]
        options = dict(timeout=TIMEOUT, max_body_bytes=1 << 20, ca_bundle=str(pki.ca_bundle), connections=pool)
        first, _wall = within(GUARD, lambda: http2.fetch_batch(gets, **options))
        second, _wall = within(GUARD, lambda: http2.fetch_batch(posts, bodies=[b"{", b"{}"], **options))
        assert server.connections == 2
    assert [a.response.status for a in first + second] == [200, 200, 200]
    pool.close()
