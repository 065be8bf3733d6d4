"""The sandbox name server answers like Route 53, and fails like a broken one."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.rrset
import pytest

from fixtures.sandbox.dns_server import DnsServer, Record

DOMAIN = "cloudproject.test"
ELB_ZONE = "us-east-1.elb.amazonaws.com"
ALB_NAME = f"dualstack.cruddur-alb-123.{ELB_ZONE}"
HOST = "127.0.0.1"
TIMEOUT = 1.0

ZONES = {
    DOMAIN: [
        Record(DOMAIN, "A", ("127.0.0.1",)),
        Record(f"api.{DOMAIN}", "CNAME", (f"{ALB_NAME}.",)),
        Record(f"www.{DOMAIN}", "CNAME", ("cdn.elsewhere.example.",)),
        Record(f"gone.{DOMAIN}", "CNAME", (f"missing.{DOMAIN}.",)),
        Record(f"loop-a.{DOMAIN}", "CNAME", (f"loop-b.{DOMAIN}.",)),
        Record(f"loop-b.{DOMAIN}", "CNAME", (f"loop-a.{DOMAIN}.",)),
        Record(f"_acme.deep.{DOMAIN}", "TXT", ('"token"',)),
        Record(f"big.{DOMAIN}", "TXT", tuple(f'"{i:03d}-{"x" * 60}"' for i in range(20))),
        Record(f"dual.{DOMAIN}", "A", ("127.0.0.2",)),
        Record(f"dual.{DOMAIN}", "A", ("127.0.0.3",), ttl=60),  # merged into one RRset
    ],
    ELB_ZONE: [
        Record(ALB_NAME, "A", ("127.0.0.1",)),
        Record(ELB_ZONE, "NS", ("ns-1.awsdns-01.org.", "ns-2.awsdns-02.com.")),
    ],
}


@pytest.fixture(scope="module")
def server() -> Iterator[DnsServer]:
    with DnsServer(ZONES) as running:
        yield running


def _udp(server: DnsServer, name: str, rdtype: str, **make_query_options: object) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, **make_query_options)
    return dns.query.udp(query, HOST, port=server.port, timeout=TIMEOUT)


def _resolver(server: DnsServer, lifetime: float = TIMEOUT) -> dns.resolver.Resolver:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [HOST]
    resolver.port = server.port
    resolver.timeout = lifetime
    resolver.lifetime = lifetime
    return resolver


def _soa_in_authority(response: dns.message.Message, apex: str) -> dns.rrset.RRset:
    soa = response.get_rrset(response.authority, dns.name.from_text(apex), dns.rdataclass.IN, dns.rdatatype.SOA)
    assert soa is not None, response
    return soa


# --- answers -------------------------------------------------------------------


def test_address_names_the_loopback_port(server: DnsServer) -> None:
    assert server.address == f"{HOST}:{server.port}" and server.port > 0


def test_a_record_is_an_authoritative_answer(server: DnsServer) -> None:
    response = _udp(server, DOMAIN, "A")
    assert response.rcode() == dns.rcode.NOERROR
    assert response.flags & dns.flags.AA and not response.flags & dns.flags.RA
    [rrset] = response.answer
    assert [r.address for r in rrset] == ["127.0.0.1"] and rrset.ttl == 60


def test_tcp_answers_the_same_and_serves_several_queries_per_connection(server: DnsServer) -> None:
    with socket.create_connection((HOST, server.port), timeout=TIMEOUT) as connection:
        for name in (DOMAIN, f"dual.{DOMAIN}"):
            query = dns.message.make_query(name, "A")
            dns.query.send_tcp(connection, query, expiration=time.time() + TIMEOUT)
            response, _ = dns.query.receive_tcp(connection, expiration=time.time() + TIMEOUT)
            assert response.id == query.id and response.answer
    response = dns.query.tcp(dns.message.make_query(f"dual.{DOMAIN}", "A"), HOST, port=server.port, timeout=TIMEOUT)
    assert sorted(r.address for r in response.answer[0]) == ["127.0.0.2", "127.0.0.3"]


def test_resolver_pointed_at_the_server_resolves(server: DnsServer) -> None:
    answer = _resolver(server).resolve(DOMAIN, "A")
    assert [r.address for r in answer] == ["127.0.0.1"]


def test_names_are_case_insensitive(server: DnsServer) -> None:
    response = _udp(server, "CloudProject.TEST", "A")
    assert response.rcode() == dns.rcode.NOERROR and response.answer


def test_cname_is_chased_into_another_served_zone(server: DnsServer) -> None:
    response = _udp(server, f"api.{DOMAIN}", "A")
    assert [rrset.rdtype for rrset in response.answer] == [dns.rdatatype.CNAME, dns.rdatatype.A]
    answer = _resolver(server).resolve(f"api.{DOMAIN}", "A")
    assert answer.canonical_name == dns.name.from_text(ALB_NAME)
    assert [r.address for r in answer] == ["127.0.0.1"]


def test_cname_out_of_served_zones_is_answered_alone(server: DnsServer) -> None:
    response = _udp(server, f"www.{DOMAIN}", "A")
    assert response.rcode() == dns.rcode.NOERROR
    assert [rrset.rdtype for rrset in response.answer] == [dns.rdatatype.CNAME]


def test_cname_to_a_missing_name_is_nxdomain_after_the_cname(server: DnsServer) -> None:
    response = _udp(server, f"gone.{DOMAIN}", "A")
    assert response.rcode() == dns.rcode.NXDOMAIN  # RFC 6604: the rcode of the last link
    assert [rrset.rdtype for rrset in response.answer] == [dns.rdatatype.CNAME]
    _soa_in_authority(response, DOMAIN)


def test_cname_loop_ends_in_an_answer(server: DnsServer) -> None:
    response = _udp(server, f"loop-a.{DOMAIN}", "A")
    assert response.rcode() == dns.rcode.NOERROR
    assert [rrset.rdtype for rrset in response.answer] == [dns.rdatatype.CNAME] * 2  # each link once


def test_querying_the_cname_itself_does_not_chase(server: DnsServer) -> None:
    response = _udp(server, f"api.{DOMAIN}", "CNAME")
    assert [rrset.rdtype for rrset in response.answer] == [dns.rdatatype.CNAME]


# --- negative answers ----------------------------------------------------------


def test_missing_name_is_nxdomain_with_soa(server: DnsServer) -> None:
    response = _udp(server, f"nope.{DOMAIN}", "A")
    assert response.rcode() == dns.rcode.NXDOMAIN and response.flags & dns.flags.AA
    assert not response.answer
    soa = _soa_in_authority(response, DOMAIN)
    assert soa.ttl == min(900, soa[0].minimum)  # RFC 2308 negative TTL
    with pytest.raises(dns.resolver.NXDOMAIN):
        _resolver(server).resolve(f"nope.{DOMAIN}", "A")


def test_existing_name_without_the_type_is_nodata_with_soa(server: DnsServer) -> None:
    response = _udp(server, DOMAIN, "AAAA")
    assert response.rcode() == dns.rcode.NOERROR and not response.answer
    _soa_in_authority(response, DOMAIN)
    with pytest.raises(dns.resolver.NoAnswer):
        _resolver(server).resolve(DOMAIN, "AAAA")


def test_empty_non_terminal_is_nodata_not_nxdomain(server: DnsServer) -> None:
    response = _udp(server, f"deep.{DOMAIN}", "TXT")
    assert response.rcode() == dns.rcode.NOERROR and not response.answer
    _soa_in_authority(response, DOMAIN)


def test_name_outside_every_zone_is_refused(server: DnsServer) -> None:
    response = _udp(server, "example.com", "A")
    assert response.rcode() == dns.rcode.REFUSED and not response.flags & dns.flags.AA
    assert _udp(server, "test", "SOA").rcode() == dns.rcode.REFUSED  # the parent of a zone is not ours
    with pytest.raises(dns.resolver.NoNameservers):
        _resolver(server).resolve("example.com", "A")


def test_soa_and_ns_are_synthesised_or_kept(server: DnsServer) -> None:
    soa = _udp(server, DOMAIN, "SOA").answer[0]
    assert soa[0].mname == dns.name.from_text(f"ns1.{DOMAIN}")
    ns = _udp(server, DOMAIN, "NS").answer[0]
    assert [str(r.target) for r in ns] == [f"ns1.{DOMAIN}."]
    given = _udp(server, ELB_ZONE, "NS").answer[0]
    assert sorted(str(r.target) for r in given) == ["ns-1.awsdns-01.org.", "ns-2.awsdns-02.com."]
    assert _udp(server, ELB_ZONE, "SOA").answer[0][0].mname == dns.name.from_text("ns-1.awsdns-01.org.")


# --- EDNS and sizes ------------------------------------------------------------


def test_edns_is_echoed_and_large_udp_answers_truncate(server: DnsServer) -> None:
    with_edns = _udp(server, f"big.{DOMAIN}", "TXT", use_edns=0, payload=4096)
    assert with_edns.edns == 0 and len(with_edns.answer[0]) == 20
    assert not with_edns.flags & dns.flags.TC
    plain = _udp(server, f"big.{DOMAIN}", "TXT")
    assert plain.edns < 0 and plain.flags & dns.flags.TC
    over_tcp = dns.query.tcp(dns.message.make_query(f"big.{DOMAIN}", "TXT"), HOST, port=server.port, timeout=TIMEOUT)
    assert len(over_tcp.answer[0]) == 20


def test_unknown_edns_version_is_badvers(server: DnsServer) -> None:
    assert _udp(server, DOMAIN, "A", use_edns=1).rcode() == dns.rcode.BADVERS


# --- robustness ----------------------------------------------------------------


def test_malformed_udp_is_ignored_and_service_continues(server: DnsServer) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.settimeout(0.2)
        probe.sendto(b"\x12\x34garbage", (HOST, server.port))
        with pytest.raises(TimeoutError):
            probe.recv(512)
    assert _udp(server, DOMAIN, "A").answer


def test_malformed_tcp_closes_the_connection_and_service_continues(server: DnsServer) -> None:
    with socket.create_connection((HOST, server.port), timeout=TIMEOUT) as connection:
        connection.sendall(b"\x00\x05junk!")
        assert connection.recv(512) == b""
    assert dns.query.tcp(dns.message.make_query(DOMAIN, "A"), HOST, port=server.port, timeout=TIMEOUT).answer


# --- failure modes and lifecycle -----------------------------------------------


def test_servfail_mode_answers_servfail_on_both_transports() -> None:
    with DnsServer(ZONES, mode="servfail") as failing:
        query = dns.message.make_query(DOMAIN, "A")
        assert dns.query.udp(query, HOST, port=failing.port, timeout=TIMEOUT).rcode() == dns.rcode.SERVFAIL
        assert dns.query.tcp(query, HOST, port=failing.port, timeout=TIMEOUT).rcode() == dns.rcode.SERVFAIL
        with pytest.raises(dns.resolver.NoNameservers):
            _resolver(failing).resolve(DOMAIN, "A")


def test_silent_mode_times_out_within_the_client_timeout() -> None:
    with DnsServer(ZONES, mode="silent") as silent:
        started = time.monotonic()
        with pytest.raises(dns.exception.Timeout):
            dns.query.udp(dns.message.make_query(DOMAIN, "A"), HOST, port=silent.port, timeout=0.3)
        with pytest.raises(dns.exception.Timeout):
            dns.query.tcp(dns.message.make_query(DOMAIN, "A"), HOST, port=silent.port, timeout=0.3)
        with pytest.raises(dns.resolver.LifetimeTimeout):
            _resolver(silent, lifetime=0.3).resolve(DOMAIN, "A")
        assert time.monotonic() - started < 1.5


def test_stop_is_prompt_with_an_idle_tcp_client_and_idempotent() -> None:
    running = DnsServer(ZONES).start()
    idle = socket.create_connection((HOST, running.port), timeout=TIMEOUT)
    try:
        time.sleep(0.05)  # let the server accept it and block reading
        started = time.monotonic()
        running.stop()
        assert time.monotonic() - started < 0.5
        assert idle.recv(1) == b""  # the server hung up on it
        running.stop()
    finally:
        idle.close()
    with pytest.raises((ConnectionRefusedError, dns.exception.Timeout)):
        dns.query.tcp(dns.message.make_query(DOMAIN, "A"), HOST, port=running.port, timeout=0.3)


def test_both_transports_share_one_port_and_a_taken_port_is_an_error(server: DnsServer) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket() as tcp:
        for sock in (udp, tcp):
            with pytest.raises(OSError):
                sock.bind((HOST, server.port))
    with pytest.raises(OSError):
        DnsServer(ZONES, port=server.port).start()


def test_port_is_unknown_before_start() -> None:
    with pytest.raises(RuntimeError):
        DnsServer(ZONES).port


@pytest.mark.parametrize(
    ("zones", "mode"),
    [
        ({DOMAIN: [Record("example.com", "A", ("127.0.0.1",))]}, "normal"),  # outside its zone
        ({DOMAIN: [Record(f"x.{DOMAIN}", "CNAME", ("y.",)), Record(f"x.{DOMAIN}", "A", ("127.0.0.1",))]}, "normal"),
        ({DOMAIN: [Record(DOMAIN, "A", ("not-an-address",))]}, "normal"),
        ({DOMAIN: [Record(DOMAIN, "MX", ("10 mail.",))]}, "normal"),
        ({DOMAIN: []}, "flaky"),
    ],
)
def test_bad_configuration_is_rejected(zones: dict[str, list[Record]], mode: str) -> None:
    with pytest.raises(ValueError):
        DnsServer(zones, mode=mode)
