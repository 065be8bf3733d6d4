"""HTTP/2 as the ALB offers it: the CORS survey says the same over either protocol.

The reference deployment's ALB stand-in offers h2 by ALPN when the load
balancer attribute `routing.http2.enabled` is true (the default) and HTTP/1.1
only when it is false (the trap `trap-alb-http2-disabled`). The survey over
each must give the same evidence; only the header names' case (lower on
HTTP/2) and what changes between any two requests (Date, timings) differ.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from fixtures.facts.cors import survey_cors
from fixtures.facts.cors_rows import hostile_rows
from fixtures.probes.wire import Wire
from fixtures.report.chain import build_chains
from fixtures.sandbox.spec import compliant_spec
from fixtures.target.file import load_target
from tests.sandbox_audit import running_sandbox

CHANGES_PER_REQUEST = {"date", "x-amzn-trace-id"}  # header names whose values change with every request


def _survey(directory, http2_enabled: bool):
    with running_sandbox(directory, replace(compliant_spec(), http2_enabled=http2_enabled)) as running:
        target = load_target(running.target)
        wire = Wire(target)
        try:
            survey = survey_cors(wire, target)
        finally:
            wire.connections.close()
        return survey, wire.stats()["wire"], target


def _without_case(exchange_evidence: dict) -> dict:
    response = dict(exchange_evidence["response"])
    response["headers"] = sorted([name.lower(), value] for name, value in response["headers"] if name.lower() not in CHANGES_PER_REQUEST)
    response.pop("elapsed_seconds")
    # HTTP/2 carries no reason phrase (RFC 9113, 8.3.2): the probe shows the standard one, which
    # Werkzeug's upper-case phrases (404 NOT FOUND) match without case.
    response["status"] = response["status"].lower()
    response["body_excerpt"] = re.sub(r"\d", "0", response["body_excerpt"])  # the API's answers carry their time
    return {**exchange_evidence, "response": response}


@pytest.fixture(scope="module")
def surveys(tmp_path_factory):
    return _survey(tmp_path_factory.mktemp("h2"), True), _survey(tmp_path_factory.mktemp("h1"), False)


def test_the_survey_goes_over_http2_when_the_listener_offers_it_and_http11_when_not(surveys):
    (_h2, h2_stats, target), (_h1, h1_stats, _target) = surveys
    # The baseline requests go first and alone (HTTP/1.1); the battery over one h2 connection.
    assert h2_stats["http_protocol_by_host"][target.api_host] == "HTTP/2, HTTP/1.1"
    assert h1_stats["http_protocol_by_host"][target.api_host] == "HTTP/1.1"
    assert h2_stats["http_requests"] == h1_stats["http_requests"]
    # HTTP/2: the baseline's connection and one for the whole battery; HTTP/1.1: up to six at
    # once, and a new one for each request with a body (the error probes' POSTs).
    assert h2_stats["http_connections_opened"] <= 3 < h1_stats["http_connections_opened"]


def _portless(evidence: object, target) -> object:
    """Evidence with the sandbox's wire ports named alike (each sandbox has its own)."""
    text = json.dumps(evidence)
    for port in (target.https_port, target.http_port):
        text = text.replace(f":{port}", ":PORT")
    return json.loads(text)


def test_the_survey_evidence_is_the_same_whichever_protocol_carried_it(surveys):
    (h2, _s, h2_target), (h1, _s1, h1_target) = surveys
    assert len(h2.answers) == len(h1.answers) > 100
    assert _portless([a.as_evidence() for a in h2.answers], h2_target) == _portless([a.as_evidence() for a in h1.answers], h1_target)
    assert _portless(hostile_rows(h2), h2_target) == _portless(hostile_rows(h1), h1_target)
    assert h2.not_the_api == h1.not_the_api
    assert _portless([_without_case(a.exchange.as_evidence()) for a in h2.answers], h2_target) == _portless(
        [_without_case(a.exchange.as_evidence()) for a in h1.answers], h1_target
    )
    # Over HTTP/2 the names arrive lower case; the checks read them without case.
    battery = h2.answers[-1].exchange.response
    assert all(name == name.lower() for name, _value in battery.headers)
    assert battery.header("Content-Type") == battery.header("content-type") is not None


def test_the_chain_picture_shows_the_protocol_on_the_listener_hop():
    listeners = [{"port": 80, "protocol": "HTTP"}, {"port": 443, "protocol": "HTTPS"}]
    record = {"id": "RTE-01", "outcome": "passed", "parameter": None, "message": "", "requirement": "routing",
              "evidence": [{"label": "listeners", "value": listeners}]}
    document = {"target": {"name": "prod", "domain": "example.test", "public_hosts": ["example.test", "api.example.test"]},
                "checks": [record], "stats": {"wire": {"http_protocol_by_host": {"api.example.test": "HTTP/2, HTTP/1.1",
                                                                                 "example.test": "HTTP/1.1"}}}}
    lines = {chain["host"]: next(h["lines"] for h in chain["hops"] if h["name"] == "listeners") for chain in build_chains(document)}
    assert lines == {"example.test": ["serves: HTTPS 443", "over HTTP/1.1", "HTTP 80"],
                     "api.example.test": ["serves: HTTPS 443", "over HTTP/2, HTTP/1.1", "HTTP 80"]}
