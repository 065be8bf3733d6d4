"""The reference deployment's CORS: the seed's flask-cors configuration and each CORS fault's, as real
flask-cors answers them, and the response headers an HTTPS listener adds itself."""

from __future__ import annotations

import pytest

from fixtures.sandbox.alb_behaviour import with_listener_response_headers
from fixtures.sandbox.alb_http import Reply
from fixtures.sandbox.backend_app import create_backend_app
from fixtures.sandbox.faults import FAULTS
from fixtures.sandbox.spec import (
    BACKEND_SERVICE,
    ForwardAction,
    ListenerSpec,
    compliant_spec,
)

COMPLIANT = compliant_spec()
OWN = "https://cloudproject.test"


def allow_origin(spec, origin: str, path: str = "/api/activities/home") -> tuple[str | None, dict[str, str]]:
    app = create_backend_app(dict(spec.service(BACKEND_SERVICE).environment), code=spec.backend)
    response = app.test_client().get(path, headers={"Origin": origin, "Host": spec.api_host})
    return response.headers.get("Access-Control-Allow-Origin"), dict(response.headers)


def test_the_seed_configuration_admits_only_the_sites_origins():
    assert allow_origin(COMPLIANT, OWN)[0] == OWN
    assert allow_origin(COMPLIANT, "https://api.cloudproject.test")[0] == "https://api.cloudproject.test"
    for hostile in ("https://attacker.example", "null", "http://cloudproject.test", "https://cloudproject.test.attacker.example"):
        assert allow_origin(COMPLIANT, hostile)[0] is None
    assert "Origin" in allow_origin(COMPLIANT, OWN)[1]["Vary"]


@pytest.mark.parametrize(
    "fault, origin, expected",
    [
        ("cors-wildcard", "https://attacker.example", "*"),
        ("cors-reflect-any", "https://attacker.example", "https://attacker.example"),
        ("cors-null", "null", "null"),
        ("cors-suffix-match", "https://cloudproject.test.attacker.example", "https://cloudproject.test.attacker.example"),
        ("cors-prefix-match", "https://attackercloudproject.test", "https://attackercloudproject.test"),
        ("cors-http-origin", "http://cloudproject.test", "http://cloudproject.test"),
        ("cors-credentials-reflect", "https://attacker.example", "https://attacker.example"),
        ("cors-own-origin-refused", OWN, None),
    ],
)
def test_each_cors_fault_is_real_flask_cors_misconfigured(fault, origin, expected):
    spec = FAULTS[fault].apply(COMPLIANT)
    assert allow_origin(spec, origin)[0] == expected


def test_credentials_and_vary_faults():
    _value, headers = allow_origin(FAULTS["cors-credentials-reflect"].apply(COMPLIANT), "https://attacker.example")
    assert headers["Access-Control-Allow-Credentials"] == "true"
    value, headers = allow_origin(FAULTS["cors-no-vary"].apply(COMPLIANT), OWN)
    assert value == OWN and "Vary" not in headers


def test_an_https_listener_adds_its_response_headers_over_the_targets():
    https = ListenerSpec(443, "HTTPS", ForwardAction("tg"))
    reply = Reply(200, "OK", [("Access-Control-Allow-Origin", OWN), ("Vary", "Origin")], b"{}")
    attributes = (
        ("routing.http.response.access_control_allow_origin.header_value", "*"),
        ("routing.http.response.server.enabled", "false"),
        ("tcp.idle_timeout.seconds", "350"),
    )
    changed = with_listener_response_headers(reply, https, attributes)
    assert changed.headers == [("Vary", "Origin"), ("Access-Control-Allow-Origin", "*")]
    assert changed.body == b"{}" and changed.status == 200
    plain = ListenerSpec(80, "HTTP", ForwardAction("tg"))
    assert with_listener_response_headers(reply, plain, attributes) is reply
    assert with_listener_response_headers(reply, https, ()) is reply


# Issue 22: CORS headers the code adds to error answers only, over flask-cors. Each request is one of
# the survey's answer classes; only the classes named admit the foreign origin.
ERROR_ANSWER_REQUESTS = {
    "configured": ("GET", "/api/activities/home", None, {}),
    "unknown-path": ("GET", "/api/edgeproof-missing-path", None, {}),
    "other-method": ("DELETE", "/api/health-check", None, {}),
    "client-error": ("POST", "/api/activities", b"{", {"Content-Type": "application/json"}),
    "server-error": ("POST", "/api/activities", b"{}", {"Content-Type": "application/json"}),
    "error-preflight": ("OPTIONS", "/api/activities", None, {"Access-Control-Request-Method": "POST"}),
}


def admitted_classes(spec, origin: str = "https://attacker.example") -> set[str]:
    app = create_backend_app(dict(spec.service(BACKEND_SERVICE).environment), code=spec.backend)
    client = app.test_client()
    admitted = set()
    for name, (method, path, body, headers) in ERROR_ANSWER_REQUESTS.items():
        response = client.open(path, method=method, data=body, headers={"Origin": origin, **headers})
        if response.headers.get("Access-Control-Allow-Origin") in ("*", origin):
            admitted.add(name)
    return admitted


@pytest.mark.parametrize(
    "fault, classes",
    [
        ("cors-errorhandler-wildcard", {"unknown-path", "other-method", "client-error", "server-error"}),
        ("cors-after-request-404-wildcard", {"unknown-path"}),
        ("cors-405-wildcard", {"other-method"}),
        ("cors-error-reflect-credentials", {"unknown-path", "other-method", "client-error", "server-error"}),
        ("cors-template-bare-cross-origin", {"error-preflight"}),
    ],
)
def test_error_answer_faults_admit_a_foreign_origin_only_there(fault, classes):
    assert admitted_classes(COMPLIANT) == set()
    assert admitted_classes(FAULTS[fault].apply(COMPLIANT)) == classes


@pytest.mark.parametrize("trap", ["trap-cors-json-error-pages", "trap-cors-route-decorators", "trap-cors-preflight-of-missing-page-ok"])
def test_error_answer_traps_admit_no_foreign_origin_anywhere(trap):
    assert admitted_classes(FAULTS[trap].apply(COMPLIANT)) == set()
    # ... and the site's own origin where the app's CORS covers it: always on the configured paths.
    assert "configured" in admitted_classes(FAULTS[trap].apply(COMPLIANT), OWN)
