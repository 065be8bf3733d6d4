"""Security-group permissions as read, task environment rules, the TCP probe and the sandbox's task relay."""

from __future__ import annotations

import socket

import pytest

from fixtures.model.ec2 import IpPermission
from fixtures.probes import tcp
from fixtures.sandbox.tcp_relay import TcpRelay
from fixtures.rules.task_environment import debug_effect, holds_literal_secret, names_a_secret
from tests.hostile import closed_port


def permission(**fields) -> IpPermission:
    return IpPermission.from_api({"IpProtocol": "tcp", "FromPort": 4567, "ToPort": 4567, **fields})


def test_a_permission_as_ec2_reports_it():
    p = permission(
        IpRanges=[{"CidrIp": "0.0.0.0/0"}],
        Ipv6Ranges=[{"CidrIpv6": "::/0"}],
        PrefixListIds=[{"PrefixListId": "pl-1"}],
        UserIdGroupPairs=[{"GroupId": "sg-1", "UserId": "1"}],
    )
    assert (p.ipv4_ranges, p.ipv6_ranges, p.prefix_lists, p.source_groups) == (("0.0.0.0/0",), ("::/0",), ("pl-1",), ("sg-1",))
    assert p.ports == "tcp 4567"


@pytest.mark.parametrize(
    ("data", "ports"),
    [
        ({"IpProtocol": "-1"}, "all traffic"),
        ({"IpProtocol": "6", "FromPort": 0, "ToPort": 65535}, "tcp 0-65535"),
        ({"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1}, "icmp"),
    ],
)
def test_protocols_and_port_ranges_read_as_the_console_shows_them(data, ports):
    assert IpPermission.from_api(data).ports == ports


def test_admits_only_is_true_only_within_the_allowed_ports():
    assert permission().admits_only("tcp", {4567, 3000})
    assert not permission().admits_only("udp", {4567})
    assert not permission(FromPort=3000).admits_only("tcp", {3000, 4567})  # 3000-4567 opens far more
    assert permission(FromPort=80, ToPort=81).admits_only("tcp", {80, 81})
    assert not IpPermission.from_api({"IpProtocol": "-1"}).admits_only("tcp", {4567})


@pytest.mark.parametrize("name", ["ROLLBAR_ACCESS_TOKEN", "DB_PASSWORD", "AWS_SECRET_ACCESS_KEY", "api-key", "STRIPE_APIKEY", "SMTP.PASSWD"])
def test_names_that_mark_a_secret(name):
    assert names_a_secret(name)


@pytest.mark.parametrize("name", ["FRONTEND_URL", "MONKEY_MODE", "KEYCLOAK_URL", "TOKENIZER_MODEL", "OTEL_SERVICE_NAME"])
def test_names_that_do_not(name):
    assert not names_a_secret(name)


def test_a_literal_secret_is_a_plain_value_under_a_secret_name():
    assert holds_literal_secret("ROLLBAR_ACCESS_TOKEN", "0123abcd")
    assert not holds_literal_secret("ROLLBAR_ACCESS_TOKEN", "")
    assert not holds_literal_secret("DB_PASSWORD", "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf")
    assert not holds_literal_secret("API_KEY", "arn:aws:ssm:us-east-1:123456789012:parameter/api-key")
    assert not holds_literal_secret("FRONTEND_URL", "https://cloudproject.test")


@pytest.mark.parametrize(
    ("name", "value", "on"),
    [
        ("FLASK_DEBUG", "1", True),
        ("FLASK_DEBUG", "true", True),
        ("flask_debug", "yes", True),
        ("FLASK_DEBUG", "0", False),
        ("FLASK_DEBUG", "False", False),
        ("FLASK_DEBUG", "", False),
        ("FLASK_ENV", "development", True),
        ("FLASK_ENV", "production", False),
        ("WERKZEUG_DEBUG_PIN", "off", True),
        ("DEBUG", "1", False),  # not a variable Flask reads
    ],
)
def test_debug_switches_as_flask_reads_them(name, value, on):
    assert (debug_effect(name, value) is not None) is on


@pytest.fixture
def listening_port():
    server = socket.create_server(("127.0.0.1", 0))
    yield server.getsockname()[1]
    server.close()


def test_the_tcp_probe_tells_an_answer_from_a_refusal(listening_port):
    assert tcp.connect("127.0.0.1", listening_port, timeout=1).answered
    refused = tcp.connect("127.0.0.1", closed_port(), timeout=1)
    assert refused.outcome == tcp.REFUSED and not refused.answered
    assert refused.as_evidence()["tried"].startswith("127.0.0.1:")


def test_the_task_relay_carries_bytes_both_ways_and_stops():
    upstream = socket.create_server(("127.0.0.1", 0))
    relay = TcpRelay(("127.0.0.1", 0), upstream.getsockname()).start()
    try:
        with socket.create_connection(relay.address, timeout=2) as client:
            served, _ = upstream.accept()
            with served:
                client.sendall(b"ping")
                assert served.recv(4) == b"ping"
                served.sendall(b"pong")
                assert client.recv(4) == b"pong"
    finally:
        relay.stop()
        upstream.close()
    assert tcp.connect(*relay.address, timeout=1).outcome == tcp.REFUSED
