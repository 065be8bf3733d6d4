"""The delegation probe asks the parent zone's servers, without recursion, and is bounded.

Against real DNS servers on loopback (fixtures.sandbox.dns_server): a resolver
that knows the parent zone's name servers, and a parent server that answers
with referrals, as a TLD's servers do.
"""

from __future__ import annotations

import socket
import time

import dns.flags
import dns.message
import dns.query
import pytest

from fixtures.probes.delegation import delegation, parent_servers
from fixtures.probes.errors import ProbeError
from fixtures.sandbox.dns_server import DnsServer, Record
from fixtures.target import Resolver

DOMAIN = "cloudproject.test"
ZONE_NS = ("ns-1.awsdns-1.com.", "ns-2.awsdns-2.net.")
REGISTRAR_NS = ("ns-1.awsdns-1.com.", "ns43.domaincontrol.com.")


@pytest.fixture
def parent():
    """The TLD's server: `test.` with the domain's delegation, answering with referrals."""
    with DnsServer({"test": [Record(DOMAIN, "NS", REGISTRAR_NS)]}, referrals=True) as server:
        yield server


def test_the_parent_answers_with_a_referral_and_the_probe_reads_it(parent):
    query = dns.message.make_query(f"api.{DOMAIN}", "A")
    response = dns.query.udp(query, "127.0.0.1", port=parent.port, timeout=3)
    assert not response.flags & dns.flags.AA and not response.answer  # a referral, as from a TLD
    answer = delegation(DOMAIN, Resolver("127.0.0.1", parent.port), 3)
    assert answer.status == "NOERROR" and answer.values == tuple(sorted(REGISTRAR_NS))


def test_the_parents_servers_are_found_through_the_resolver(parent):
    zones = {
        "test": [Record("test", "NS", ("a.nic.test.", "b.nic.test.")), Record("a.nic.test", "A", ("127.0.0.1",))],
        DOMAIN: [Record(DOMAIN, "NS", ZONE_NS)],
    }
    with DnsServer(zones) as resolver:
        servers = parent_servers(DOMAIN, Resolver("127.0.0.1", resolver.port), 3, port=parent.port)
        # b.nic.test has no address: the one server that has one is asked.
        assert servers == (Resolver("127.0.0.1", parent.port),)
        assert delegation(DOMAIN, servers[0], 3).values == tuple(sorted(REGISTRAR_NS))


def test_no_enclosing_zone_is_an_error_not_an_empty_delegation():
    with DnsServer({DOMAIN: [Record(DOMAIN, "NS", ZONE_NS)]}) as resolver:
        with pytest.raises(ProbeError, match="REFUSED|no enclosing zone|resolver failed"):
            parent_servers(DOMAIN, Resolver("127.0.0.1", resolver.port), 2)


def test_a_silent_parent_server_ends_within_the_timeout():
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        started = time.monotonic()
        with pytest.raises(ProbeError, match="no answer within 1s"):
            delegation(DOMAIN, Resolver("127.0.0.1", silent.getsockname()[1]), 1.0)
        assert time.monotonic() - started < 2.0
    finally:
        silent.close()


def test_a_server_that_refuses_is_an_error(parent):
    # The parent's server holds no zone above this name: it refuses, as Route 53 does.
    with pytest.raises(ProbeError, match="REFUSED"):
        delegation("example.org", Resolver("127.0.0.1", parent.port), 3)
