"""Probes: bounded in time, honest about what they could not observe, never writing to AWS."""

from __future__ import annotations

import socket
import ssl
import time
from pathlib import Path

import pytest

from fixtures.probes import dns, http
from fixtures.probes.aws import MAX_PAGES, AwsReader
from fixtures.probes.errors import ProbeError
from fixtures.sandbox.pki import LeafOptions, make_pki
from tests.hostile import HostileServer
from fixtures.target import Resolver, parse_target
from tests.hostile import closed_port

TIMEOUT = 0.5


def request(scheme: str, port: int, host: str = "api.cloudproject.test", path: str = "/") -> http.HttpRequest:
    return http.HttpRequest("GET", scheme, host, port, path, "127.0.0.1")


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_silent_server_is_an_error_within_the_timeout(silent_port, scheme):
    started = time.monotonic()
    with pytest.raises(ProbeError, match="no answer within"):
        http.fetch(request(scheme, silent_port), timeout=TIMEOUT, max_body_bytes=1024)
    assert time.monotonic() - started < 4 * TIMEOUT + 1


def test_a_refused_connection_is_an_error_that_says_so():
    with pytest.raises(ProbeError) as raised:
        http.fetch(request("http", closed_port()), timeout=TIMEOUT, max_body_bytes=1024)
    assert "refused" in str(raised.value).lower()
    assert "http://api.cloudproject.test:" in raised.value.tried


def test_https_connects_to_the_address_but_speaks_for_the_host_name(tmp_path: Path):
    """Like curl --resolve: SNI, certificate check and Host header use the name, the socket the address."""
    files = make_pki(LeafOptions(names=("cloudproject.test", "*.cloudproject.test"))).write(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.cert_chain, files.key)
    seen: dict[str, str] = {}

    def remember_sni(_socket, name, _context):
        seen["sni"] = name  # returning None lets the handshake go on

    context.sni_callback = remember_sni

    def serve(connection, _stopping):
        with context.wrap_socket(connection, server_side=True) as tls:
            seen["request"] = tls.recv(4096).decode()
            tls.sendall(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")

    with HostileServer(serve) as server:
        port = server.port
        exchange = http.fetch(request("https", port, path="/x?y=1"), timeout=2, max_body_bytes=1024, ca_bundle=str(files.ca_bundle))
    assert exchange.response.status == 204
    assert seen["sni"] == "api.cloudproject.test"
    assert f"Host: api.cloudproject.test:{port}" in seen["request"]
    assert seen["request"].startswith("GET /x?y=1 HTTP/1.1")
    assert exchange.request.url == f"https://api.cloudproject.test:{port}/x?y=1"


def test_a_certificate_for_another_name_fails_verification(tmp_path: Path):
    files = make_pki(LeafOptions(names=("other.test",))).write(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.cert_chain, files.key)

    def serve(connection, _stopping):
        try:
            context.wrap_socket(connection, server_side=True).close()
        except (ssl.SSLError, OSError):
            connection.close()

    with HostileServer(serve) as server, pytest.raises(ProbeError, match="TLS failed"):
        http.fetch(request("https", server.port), timeout=2, max_body_bytes=1024, ca_bundle=str(files.ca_bundle))


def test_bodies_are_capped():
    def serve(connection, _stopping):
        connection.recv(4096)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000)
        connection.close()

    with HostileServer(serve) as server:
        exchange = http.fetch(request("http", server.port), timeout=2, max_body_bytes=2048)
    assert exchange.response.truncated and len(exchange.response.body) == 2048


def test_dns_through_a_silent_resolver_is_an_error_within_the_timeout():
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    started = time.monotonic()
    with pytest.raises(ProbeError, match="no answer within"):
        dns.lookup("cloudproject.test", "A", Resolver("127.0.0.1", silent.getsockname()[1]), TIMEOUT)
    silent.close()
    assert time.monotonic() - started < 2 * TIMEOUT + 1


def _reader(endpoint_url: str) -> AwsReader:
    data = {
        "site": {"domain": "cloudproject.test"},
        "aws": {"region": "us-east-1", "endpoint_url": endpoint_url, "sandbox_credentials": True, "alb_name": "a", "cluster": "c"},
        "network": {"timeout_seconds": TIMEOUT},
    }
    return AwsReader(parse_target(data, Path("target.toml")))


def test_an_unreachable_aws_endpoint_is_an_error_that_names_the_call():
    reader = _reader(f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(ProbeError) as raised:
        reader.call("elbv2", "describe_load_balancers", Names=["a"])
    assert "elasticloadbalancing:DescribeLoadBalancers" in raised.value.tried
    assert "unreachable" in raised.value.why
    assert reader.stats()["aws_api_calls"] == 1


def test_the_aws_reader_refuses_anything_but_reads():
    reader = _reader(f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(ValueError, match="read-only"):
        reader.call("elbv2", "delete_load_balancer", LoadBalancerArn="arn")
    with pytest.raises(ValueError, match="read-only"):
        reader.call("s3", "put_object", Bucket="b", Key="k", Body=b"")


def test_a_listing_whose_token_never_runs_out_is_an_error_after_a_bounded_number_of_pages(monkeypatch):
    reader = _reader(f"http://127.0.0.1:{closed_port()}")
    pages = []

    def endless_page(service, method, parameters):
        pages.append(parameters)
        return {"Contents": [{"Key": f"k{len(pages)}"}], "NextContinuationToken": f"t{len(pages)}"}

    # Each page is one request (paginate never memoises: a listing is a moment's view).
    monkeypatch.setattr(reader, "_call_once", endless_page)
    with pytest.raises(ProbeError, match="pages; stopped") as raised:
        reader.paginate("s3", "list_objects_v2", "Contents", Bucket="logs", Prefix="alb/")
    assert "s3:ListBucket (Bucket=logs, Prefix=alb/)" in raised.value.tried
    assert len(pages) == MAX_PAGES
    assert pages[1]["ContinuationToken"] == "t1"


def test_a_call_asked_twice_is_sent_once_and_its_error_kept():
    # The same read with the same parameters (a fact and --pin-to-alb both reading the
    # load balancer) is one request per run; its error is the second ask's error too.
    reader = _reader(f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(ProbeError) as first:
        reader.call("elbv2", "describe_load_balancers", Names=["a"])
    attempts = reader.http_attempts
    with pytest.raises(ProbeError) as second:
        reader.call("elbv2", "describe_load_balancers", Names=["a"])
    assert attempts > 0 and reader.http_attempts == attempts
    # The same error, raised as a fresh copy each time: one object re-raised by every
    # asker would gather every raiser's traceback frames (fixtures.probes.errors.fresh).
    assert type(second.value) is type(first.value) and str(second.value) == str(first.value)
    assert second.value is not first.value
