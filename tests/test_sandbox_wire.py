"""The sandbox's wire side: the real apps behind the ALB stand-in, and log delivery.

Everything runs on 127.0.0.1 in this process: the backend and frontend under
waitress, the ALB stand-in with a throwaway self-signed certificate (made here,
independent of fixtures/sandbox/pki.py), and a moto server for S3.
"""

from __future__ import annotations

import datetime
import gzip
import http.client
import json
import pathlib
import re
import shlex
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import boto3
import botocore.config
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fixtures.sandbox.access_logs import (
    AccessLogEntry,
    AccessLogShipper,
    delivery_interval_end,
    format_alb_log_line,
    log_object_key,
)
from fixtures.sandbox.alb_standin import AlbStandIn, AlbTimeouts, AlbWiring
from fixtures.sandbox.backend_app import create_backend_app
from fixtures.sandbox.faults import FAULTS
from fixtures.sandbox.frontend_app import create_frontend_app
from fixtures.sandbox.servers import RunningServer, serve_wsgi
from fixtures.sandbox.spec import (
    BACKEND_SERVICE,
    BACKEND_TARGET_GROUP,
    FRONTEND_TARGET_GROUP,
    DeploymentSpec,
    compliant_spec,
)

DOMAIN = "cloudproject.test"
API_HOST = f"api.{DOMAIN}"
ACCOUNT = "123456789012"
ALB_RESOURCE_ID = "app/cruddur-alb/50dc6c495c0c9188"
CERTIFICATE_ARN = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/11111111-2222-3333-4444-555555555555"
TARGET_GROUP_ARNS = {
    BACKEND_TARGET_GROUP: f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/{BACKEND_TARGET_GROUP}/0123456789abcdef",
    FRONTEND_TARGET_GROUP: f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/{FRONTEND_TARGET_GROUP}/fedcba9876543210",
}
ALB_LOG_FIELDS = 30


# --- the deployment under test -------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    chain: pathlib.Path
    key: pathlib.Path


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed wildcard certificate for the domain, made for this module only."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"*.{DOMAIN}")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(DOMAIN), x509.DNSName(f"*.{DOMAIN}")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    chain, key_file = folder / "chain.pem", folder / "key.pem"
    chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Certificate(chain, key_file)


@pytest.fixture(scope="module")
def services() -> Iterator[dict[str, RunningServer]]:
    spec = compliant_spec(DOMAIN)
    backend = serve_wsgi(create_backend_app(dict(spec.service(BACKEND_SERVICE).environment)))
    frontend = serve_wsgi(create_frontend_app(spec.frontend.backend_url))
    yield {BACKEND_TARGET_GROUP: backend, FRONTEND_TARGET_GROUP: frontend}
    backend.stop()
    frontend.stop()


def wiring_for(certificate: Certificate, upstreams: dict[str, tuple[str, int]]) -> AlbWiring:
    return AlbWiring(
        upstreams=upstreams,
        cert_chain=certificate.chain,
        key=certificate.key,
        alb_resource_id=ALB_RESOURCE_ID,
        target_group_arns=TARGET_GROUP_ARNS,
        certificate_arn=CERTIFICATE_ARN,
    )


@dataclass
class RunningAlb:
    alb: AlbStandIn
    ports: dict[int, int]
    entries: list[AccessLogEntry] = field(default_factory=list)


@pytest.fixture
def start_alb(certificate: Certificate, services: dict[str, RunningServer]) -> Iterator:
    started: list[AlbStandIn] = []

    def start(
        spec: DeploymentSpec,
        upstreams: dict[str, tuple[str, int]] | None = None,
        timeouts: AlbTimeouts = AlbTimeouts(),
        access_log=None,
    ) -> RunningAlb:
        if upstreams is None:
            upstreams = {name: (server.host, server.port) for name, server in services.items()}
        entries: list[AccessLogEntry] = []

        def record(entry: AccessLogEntry) -> None:
            entries.append(entry)
            if access_log is not None:
                access_log(entry)

        alb = AlbStandIn(spec, wiring_for(certificate, upstreams), access_log=record, timeouts=timeouts)
        started.append(alb)
        return RunningAlb(alb, alb.start(), entries)

    yield start
    for alb in started:
        alb.stop()


@pytest.fixture
def compliant_alb(start_alb) -> RunningAlb:
    return start_alb(compliant_spec(DOMAIN))


# --- a client that connects to 127.0.0.1 but speaks for a host name ---------------


@dataclass(frozen=True)
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 with SNI and verification for `server_hostname`, like curl --resolve."""

    def __init__(self, port: int, server_hostname: str, context: ssl.SSLContext, timeout: float):
        super().__init__("127.0.0.1", port, context=context, timeout=timeout)
        self._server_hostname = server_hostname

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self._server_hostname)


def client_tls_context(certificate: Certificate, *, maximum: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(certificate.chain))
    if maximum is not None:
        context.maximum_version = maximum
    return context


def ask(
    port: int,
    path: str,
    *,
    host: str,
    method: str = "GET",
    tls: ssl.SSLContext | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Answer:
    if tls is not None:
        connection: http.client.HTTPConnection = _PinnedHTTPSConnection(port, host, tls, timeout=5)
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, path, body=body, headers={"Host": f"{host}:{port}", **(headers or {})})
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        connection.close()


def http_port(alb: RunningAlb) -> int:
    return alb.ports[80]


def https_port(alb: RunningAlb) -> int:
    return alb.ports[443]


# --- the HTTP listener -------------------------------------------------------------


@pytest.mark.parametrize("host", [DOMAIN, API_HOST])
def test_http_redirects_to_https_keeping_host_path_and_query(compliant_alb: RunningAlb, host: str) -> None:
    answer = ask(http_port(compliant_alb), "/some/path?a=1&b=2", host=host)

    assert answer.status == 301
    assert answer.header("Location") == f"https://{host}:{https_port(compliant_alb)}/some/path?a=1&b=2"
    assert answer.header("Server") == "awselb/2.0"
    assert b"301 Moved Permanently" in answer.body


def test_redirect_of_a_double_slash_path_stays_on_the_host(compliant_alb: RunningAlb) -> None:
    location = ask(http_port(compliant_alb), "//evil.example/", host=DOMAIN).header("Location")

    assert location == f"https://{DOMAIN}:{https_port(compliant_alb)}//evil.example/"
    assert urlsplit(location).hostname == DOMAIN


def test_redirect_without_query_writes_no_question_mark(compliant_alb: RunningAlb) -> None:
    location = ask(http_port(compliant_alb), "/", host=DOMAIN).header("Location")

    assert location == f"https://{DOMAIN}:{https_port(compliant_alb)}/"


def test_redirect_expands_placeholders_once(compliant_alb: RunningAlb) -> None:
    location = ask(http_port(compliant_alb), "/#{query}?q=1", host=DOMAIN).header("Location")

    assert location == f"https://{DOMAIN}:{https_port(compliant_alb)}/#{{query}}?q=1"


def test_redirect_can_be_followed_to_the_https_listener(compliant_alb: RunningAlb, certificate: Certificate) -> None:
    location = urlsplit(ask(http_port(compliant_alb), "/api/health-check?x=1", host=API_HOST).header("Location"))

    answer = ask(location.port, f"{location.path}?{location.query}", host=location.hostname, tls=client_tls_context(certificate))

    assert answer.status == 200
    assert json.loads(answer.body) == {"success": True, "ver": 1}


@pytest.mark.parametrize(
    ("fault", "expected_status", "expected_location"),
    [
        ("redirect-drops-path", 301, "https://{host}:{https}/"),
        ("redirect-temporary", 302, "https://{host}:{https}/some/path?a=1&b=2"),
        ("redirect-to-http", 301, "http://{host}:{http}/some/path?a=1&b=2"),
        ("redirect-other-host", 301, "https://www.cloudproject.test:{https}/some/path?a=1&b=2"),
    ],
)
def test_redirect_faults_change_the_wire(start_alb, fault: str, expected_status: int, expected_location: str) -> None:
    alb = start_alb(FAULTS[fault].apply(compliant_spec(DOMAIN)))

    answer = ask(http_port(alb), "/some/path?a=1&b=2", host=DOMAIN)

    assert answer.status == expected_status
    assert answer.header("Location") == expected_location.format(host=DOMAIN, https=https_port(alb), http=http_port(alb))


def test_no_redirect_fault_serves_the_site_in_clear_text(start_alb) -> None:
    alb = start_alb(FAULTS["no-redirect"].apply(compliant_spec(DOMAIN)))

    answer = ask(http_port(alb), "/", host=DOMAIN)

    assert answer.status == 200
    assert answer.header("Location") is None
    assert b'<div id="root">' in answer.body
    assert answer.header("Server") == "waitress"


def test_leftover_4567_listener_forwards_to_the_backend_in_clear_text(start_alb) -> None:
    alb = start_alb(FAULTS["listener-4567-left"].apply(compliant_spec(DOMAIN)))

    answer = ask(alb.ports[4567], "/api/health-check", host=DOMAIN)

    assert set(alb.ports) == {80, 443, 4567}
    assert answer.status == 200
    assert json.loads(answer.body) == {"success": True, "ver": 1}


# --- the HTTPS listener and the apps behind it ------------------------------------------


def test_api_host_reaches_flask(compliant_alb: RunningAlb, certificate: Certificate) -> None:
    answer = ask(https_port(compliant_alb), "/api/health-check", host=API_HOST, tls=client_tls_context(certificate))

    assert answer.status == 200
    assert answer.header("Content-Type") == "application/json"
    assert answer.header("Server") == "waitress"  # the target's own header passes the ALB
    assert json.loads(answer.body) == {"success": True, "ver": 1}


def test_api_host_serves_activities(compliant_alb: RunningAlb, certificate: Certificate) -> None:
    answer = ask(https_port(compliant_alb), "/api/activities/home", host=API_HOST, tls=client_tls_context(certificate))

    assert answer.status == 200
    activities = json.loads(answer.body)
    assert isinstance(activities, list) and activities and {"uuid", "handle", "message"} <= set(activities[0])


def test_apex_serves_the_frontend_built_with_the_api_url(compliant_alb: RunningAlb, certificate: Certificate) -> None:
    tls = client_tls_context(certificate)

    page = ask(https_port(compliant_alb), "/", host=DOMAIN, tls=tls)
    bundle_path = re.search(r'<script defer src="(/static/js/main\.[0-9a-f]{8}\.js)">', page.body.decode()).group(1)
    bundle = ask(https_port(compliant_alb), bundle_path, host=DOMAIN, tls=tls)
    spa_route = ask(https_port(compliant_alb), "/notifications", host=DOMAIN, tls=tls)

    assert page.status == 200 and b'<div id="root"></div>' in page.body
    assert bundle.status == 200 and bundle.header("Content-Type").startswith("application/javascript")
    assert b'REACT_APP_BACKEND_URL:"https://api.cloudproject.test"' in bundle.body
    assert b'fetch(' in bundle.body
    assert spa_route.status == 200 and spa_route.body == page.body


def test_www_host_reaches_the_frontend_through_its_own_rule(compliant_alb: RunningAlb, certificate: Certificate) -> None:
    tls = client_tls_context(certificate)
    www = ask(https_port(compliant_alb), "/", host=f"www.{DOMAIN}", tls=tls)
    apex = ask(https_port(compliant_alb), "/", host=DOMAIN, tls=tls)
    redirect = ask(http_port(compliant_alb), "/a?b=1", host=f"www.{DOMAIN}")

    assert www.status == 200 and www.body == apex.body
    assert redirect.status == 301 and redirect.header("Location") == f"https://www.{DOMAIN}:{https_port(compliant_alb)}/a?b=1"


def test_the_https_listener_adds_hsts_and_nosniff_to_every_answer(compliant_alb: RunningAlb, certificate: Certificate) -> None:
    tls = client_tls_context(certificate)
    answers = [
        ask(https_port(compliant_alb), "/", host=DOMAIN, tls=tls),
        ask(https_port(compliant_alb), "/api/health-check", host=API_HOST, tls=tls),
        ask(https_port(compliant_alb), "/no-such-page", host=API_HOST, tls=tls),  # the app's 404 too
    ]
    plain = ask(http_port(compliant_alb), "/", host=DOMAIN)

    for answer in answers:
        assert answer.header("Strict-Transport-Security") == "max-age=31536000; includeSubDomains"
        assert answer.header("X-Content-Type-Options") == "nosniff"
    # HSTS over plain HTTP is ignored by browsers (RFC 6797 8.1); the ALB adds it to HTTPS only.
    assert plain.header("Strict-Transport-Security") is None


@pytest.mark.parametrize("fault, expected", [("hsts-missing", None), ("hsts-short-max-age", "max-age=86400; includeSubDomains")])
def test_hsts_faults_change_the_wire(start_alb, certificate: Certificate, fault: str, expected: str | None) -> None:
    alb = start_alb(FAULTS[fault].apply(compliant_spec(DOMAIN)))
    answer = ask(https_port(alb), "/", host=DOMAIN, tls=client_tls_context(certificate))

    assert answer.header("Strict-Transport-Security") == expected


def test_api_rule_to_frontend_fault_serves_html_on_the_api_host(start_alb, certificate: Certificate) -> None:
    alb = start_alb(FAULTS["api-rule-to-frontend"].apply(compliant_spec(DOMAIN)))

    answer = ask(https_port(alb), "/api/health-check", host=API_HOST, tls=client_tls_context(certificate))

    assert answer.status == 200
    assert answer.header("Content-Type").startswith("text/html")
    assert b'<div id="root">' in answer.body


def test_cors_admits_the_site_and_refuses_a_foreign_origin(compliant_alb: RunningAlb, certificate: Certificate) -> None:
    tls = client_tls_context(certificate)

    def allowed_origin(origin: str, method: str = "GET") -> str | None:
        headers = {"Origin": origin}
        if method == "OPTIONS":
            headers["Access-Control-Request-Method"] = "POST"
        answer = ask(https_port(compliant_alb), "/api/activities/home", host=API_HOST, method=method, tls=tls, headers=headers)
        return answer.header("Access-Control-Allow-Origin")

    assert allowed_origin(f"https://{DOMAIN}") == f"https://{DOMAIN}"
    assert allowed_origin(f"https://{DOMAIN}", "OPTIONS") == f"https://{DOMAIN}"
    assert allowed_origin("https://evil.example") is None
    assert allowed_origin("https://evil.example", "OPTIONS") is None


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_tls_below_the_policy_minimum_is_refused(compliant_alb: RunningAlb, certificate: Certificate) -> None:
    with pytest.raises(ssl.SSLError):
        ask(https_port(compliant_alb), "/", host=DOMAIN, tls=client_tls_context(certificate, maximum=ssl.TLSVersion.TLSv1_1))

    answer = ask(
        https_port(compliant_alb), "/", host=DOMAIN, tls=client_tls_context(certificate, maximum=ssl.TLSVersion.TLSv1_2)
    )
    assert answer.status == 200
    assert compliant_alb.entries[-1].ssl_protocol == "TLSv1.2"


# --- debug pages -----------------------------------------------------------------------


@pytest.fixture
def backend_env() -> dict[str, str]:
    return dict(compliant_spec(DOMAIN).service(BACKEND_SERVICE).environment)


def test_debug_mode_on_the_dev_server_exposes_the_werkzeug_debugger(backend_env: dict[str, str]) -> None:
    server = serve_wsgi(create_backend_app(backend_env, debug=True), kind="werkzeug")
    try:
        resource = ask(server.port, "/api/health-check?__debugger__=yes&cmd=resource&f=debugger.js", host=API_HOST)
        crash = ask(
            server.port, "/api/activities", host=API_HOST, method="POST", body=b'{"ttl": "7-days"}',
            headers={"Content-Type": "application/json"},
        )
    finally:
        server.stop()

    assert resource.status == 200
    assert resource.header("Server").startswith("Werkzeug/")
    assert b"EVALEX" in resource.body
    assert crash.status == 500
    assert b"Werkzeug Debugger" in crash.body and b"KeyError" in crash.body


def test_without_debug_an_error_is_a_plain_500(backend_env: dict[str, str]) -> None:
    server = serve_wsgi(create_backend_app(backend_env))
    try:
        resource = ask(server.port, "/api/health-check?__debugger__=yes&cmd=resource&f=debugger.js", host=API_HOST)
        crash = ask(
            server.port, "/api/activities", host=API_HOST, method="POST", body=b'{"ttl": "7-days"}',
            headers={"Content-Type": "application/json"},
        )
        malformed = ask(
            server.port, "/api/activities", host=API_HOST, method="POST", body=b"{not json",
            headers={"Content-Type": "application/json"},
        )
    finally:
        server.stop()

    assert resource.status == 200 and resource.body == b'{"success":true,"ver":1}\n'  # the app, not the debugger
    assert crash.status == 500
    assert b"Traceback" not in crash.body and b"Werkzeug Debugger" not in crash.body
    assert malformed.status == 400


# --- forwarding details --------------------------------------------------------------------


def _echo_app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    seen = {key: value for key, value in environ.items() if key.startswith("HTTP_")}
    seen["body"] = environ["wsgi.input"].read(length).decode()
    seen["method"] = environ["REQUEST_METHOD"]
    seen["path"] = environ["PATH_INFO"]
    seen["query"] = environ["QUERY_STRING"]
    payload = json.dumps(seen).encode()
    start_response("201 Created", [("Content-Type", "application/json"), ("Content-Length", str(len(payload))), ("X-Upstream", "echo")])
    return [payload]


def test_forward_passes_the_request_and_adds_forwarding_headers(start_alb, certificate: Certificate) -> None:
    echo = serve_wsgi(_echo_app, kind="werkzeug")  # werkzeug keeps X-Forwarded-* in the environ
    try:
        alb = start_alb(compliant_spec(DOMAIN), upstreams={BACKEND_TARGET_GROUP: (echo.host, echo.port)})
        answer = ask(
            https_port(alb), "/api/activities?draft=1", host=API_HOST, method="POST", tls=client_tls_context(certificate),
            body=iter([b'{"message": ', b'"hi"}']),  # an iterable body goes out chunked
            headers={"X-Forwarded-For": "198.51.100.7", "Connection": "close, X-Secret", "X-Secret": "hop"},
        )
    finally:
        echo.stop()

    seen = json.loads(answer.body)
    assert answer.status == 201 and answer.header("X-Upstream") == "echo"
    assert (seen["method"], seen["path"], seen["query"], seen["body"]) == ("POST", "/api/activities", "draft=1", '{"message": "hi"}')
    assert seen["HTTP_HOST"] == f"{API_HOST}:{https_port(alb)}"
    assert seen["HTTP_X_FORWARDED_FOR"] == "198.51.100.7, 127.0.0.1"
    assert seen["HTTP_X_FORWARDED_PROTO"] == "https"
    assert seen["HTTP_X_FORWARDED_PORT"] == "443"
    assert seen["HTTP_X_AMZN_TRACE_ID"].startswith("Root=1-")
    assert "HTTP_X_SECRET" not in seen and "HTTP_TRANSFER_ENCODING" not in seen


def test_dead_target_is_a_502_and_a_silent_one_a_504(start_alb, certificate: Certificate) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    silent = socket.create_server(("127.0.0.1", 0))  # accepts (backlog) and never answers
    try:
        alb = start_alb(
            compliant_spec(DOMAIN),
            upstreams={BACKEND_TARGET_GROUP: ("127.0.0.1", closed_port), FRONTEND_TARGET_GROUP: silent.getsockname()},
            timeouts=AlbTimeouts(upstream_seconds=0.5),
        )
        tls = client_tls_context(certificate)
        dead = ask(https_port(alb), "/api/health-check", host=API_HOST, tls=tls)
        hung = ask(https_port(alb), "/", host=DOMAIN, tls=tls)
    finally:
        silent.close()

    assert (dead.status, dead.header("Server")) == (502, "awselb/2.0")
    assert (hung.status, hung.header("Server")) == (504, "awselb/2.0")
    assert [entry.target_status_code for entry in alb.entries] == [None, None]
    assert [entry.elb_status_code for entry in alb.entries] == [502, 504]


def test_target_group_without_a_running_service_is_a_503(start_alb) -> None:
    alb = start_alb(FAULTS["no-redirect"].apply(compliant_spec(DOMAIN)), upstreams={})

    answer = ask(http_port(alb), "/", host=DOMAIN)

    assert (answer.status, answer.header("Server")) == (503, "awselb/2.0")


def test_malformed_and_oversized_requests_are_refused_by_the_alb(compliant_alb: RunningAlb) -> None:
    def raw(request: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", http_port(compliant_alb)), timeout=5) as sock:
            sock.sendall(request)
            return sock.makefile("rb").read()

    assert raw(b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400 Bad Request\r\nServer: awselb/2.0")
    assert raw(b"GET / HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400 ")  # no Host
    too_big = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % ((1 << 20) + 1)
    assert raw(too_big).startswith(b"HTTP/1.1 413 ")


# --- access log entries and lines ------------------------------------------------------------


def test_every_request_produces_a_populated_access_log_entry(compliant_alb: RunningAlb, certificate: Certificate) -> None:
    ask(http_port(compliant_alb), "/x?y=1", host=DOMAIN, headers={"User-Agent": 'probe "quoted"'})
    ask(https_port(compliant_alb), "/api/health-check", host=API_HOST, tls=client_tls_context(certificate))
    ask(https_port(compliant_alb), "/", host=DOMAIN, tls=client_tls_context(certificate))

    redirect, api, apex = compliant_alb.entries
    assert (redirect.type, redirect.elb_status_code, redirect.target_status_code) == ("http", 301, None)
    assert redirect.request == f"GET http://{DOMAIN}:80/x?y=1 HTTP/1.1"
    assert redirect.actions_executed == ("redirect",)
    assert redirect.redirect_url == f"https://{DOMAIN}:{https_port(compliant_alb)}/x?y=1"
    assert (redirect.matched_rule_priority, redirect.target_group_arn, redirect.ssl_cipher) == (0, None, None)

    assert api.type == "https" and api.request == f"GET https://{API_HOST}:443/api/health-check HTTP/1.1"
    assert (api.elb_status_code, api.target_status_code, api.matched_rule_priority) == (200, 200, 1)
    assert api.target_group_arn == TARGET_GROUP_ARNS[BACKEND_TARGET_GROUP]
    assert api.domain_name == API_HOST and api.chosen_cert_arn == CERTIFICATE_ARN
    assert api.ssl_protocol in ("TLSv1.2", "TLSv1.3") and api.ssl_cipher
    assert api.actions_executed == ("forward",) and api.target_port_list == (f"{api.target_ip}:{api.target_port}",)
    assert api.received_bytes > 0 and api.sent_bytes > 0 and api.target_processing_time >= 0
    assert api.request_creation_time <= api.time
    assert (apex.matched_rule_priority, apex.target_group_arn) == (0, TARGET_GROUP_ARNS[FRONTEND_TARGET_GROUP])

    for entry in compliant_alb.entries:
        fields = shlex.split(format_alb_log_line(entry))
        assert len(fields) == ALB_LOG_FIELDS
        assert fields[0] == entry.type and fields[2] == ALB_RESOURCE_ID and fields[12] == entry.request
    redirect_fields = shlex.split(format_alb_log_line(redirect))
    assert redirect_fields[4:8] == ["-", "-1", "-1", "-1"]
    assert redirect_fields[13] == r"probe \x22quoted\x22"  # quotes escaped, the field stays whole
    assert redirect_fields[22:24] == ["redirect", redirect.redirect_url]


def test_log_line_matches_the_documented_layout() -> None:
    at = datetime.datetime(2018, 7, 2, 22, 23, 0, 186641, tzinfo=datetime.timezone.utc)
    entry = AccessLogEntry(
        type="https", time=at, elb="app/my-loadbalancer/50dc6c495c0c9188", client_ip="192.168.131.39", client_port=2817,
        request="GET https://www.example.com:443/ HTTP/1.1", request_creation_time=at, elb_status_code=200,
        received_bytes=0, sent_bytes=57, target_ip="10.0.0.1", target_port=80, request_processing_time=0.086,
        target_processing_time=0.048, response_processing_time=0.037, target_status_code=200, user_agent="curl/7.46.0",
        ssl_cipher="ECDHE-RSA-AES128-GCM-SHA256", ssl_protocol="TLSv1.2",
        target_group_arn="arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067",
        trace_id="Root=1-58337281-1d84f3d73c47ec4e58577259", domain_name="www.example.com",
        chosen_cert_arn="arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012",
        matched_rule_priority=1, actions_executed=("authenticate", "forward"), target_port_list=("10.0.0.1:80",),
        target_status_code_list=("200",), conn_trace_id="TID_1234abcd5678ef90",
    )

    assert format_alb_log_line(entry) == (
        "https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 "
        '0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" '
        "ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 "
        "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "
        '"Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" '
        '"arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" '
        '1 2018-07-02T22:23:00.186641Z "authenticate,forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234abcd5678ef90'
    )


def test_log_object_key_is_the_documented_one() -> None:
    end = datetime.datetime(2022, 2, 15, 23, 40, tzinfo=datetime.timezone.utc)
    common = dict(account="123456789012", region="us-east-2", alb_resource_id="app/my-loadbalancer/1234567890abcdef",
                  end_time=end, ip="172.160.001.192", random_string="20sg8hgm")

    assert log_object_key(prefix="logging-prefix", **common) == (
        "logging-prefix/AWSLogs/123456789012/elasticloadbalancing/us-east-2/2022/02/15/"
        "123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.1234567890abcdef_20220215T2340Z_172.160.001.192_20sg8hgm.log.gz"
    )
    assert log_object_key(prefix="", **common).startswith("AWSLogs/123456789012/")
    assert delivery_interval_end(datetime.datetime(2022, 2, 15, 23, 37, 12, tzinfo=datetime.timezone.utc)) == end


# --- delivery to S3 -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.client(
        "s3", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=botocore.config.Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}),
    )
    yield client
    server.stop()


def _shipper(s3, bucket: str, **options) -> AccessLogShipper:
    return AccessLogShipper(
        s3, bucket=bucket, prefix="alb", account=ACCOUNT, region="us-east-1", alb_resource_id=ALB_RESOURCE_ID, **options
    )


def _entry(path: str) -> AccessLogEntry:
    now = datetime.datetime.now(datetime.timezone.utc)
    return AccessLogEntry(
        type="http", time=now, elb=ALB_RESOURCE_ID, client_ip="127.0.0.1", client_port=50000,
        request=f"GET http://{DOMAIN}:80{path} HTTP/1.1", request_creation_time=now, elb_status_code=301,
    )


def _objects(s3, bucket: str, prefix: str = "alb/AWSLogs/") -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


KEY_PATTERN = re.compile(
    rf"alb/AWSLogs/{ACCOUNT}/elasticloadbalancing/us-east-1/\d{{4}}/\d{{2}}/\d{{2}}/"
    rf"{ACCOUNT}_elasticloadbalancing_us-east-1_app\.cruddur-alb\.50dc6c495c0c9188_\d{{8}}T\d{{4}}Z_127\.0\.0\.1_[a-z0-9]{{8}}\.log\.gz"
)


def test_shipper_delivers_gzip_objects_under_the_documented_key(s3) -> None:
    s3.create_bucket(Bucket="wire-logs")
    shipper = _shipper(s3, "wire-logs", flush_seconds=0.1).start()
    entries = [_entry("/one"), _entry("/two")]
    for entry in entries:
        shipper.record(entry)
    deadline = time.monotonic() + 3
    while not _objects(s3, "wire-logs", "alb/AWSLogs/123456789012/elasticloadbalancing/") and time.monotonic() < deadline:
        time.sleep(0.05)
    shipper.stop()

    log_keys = _objects(s3, "wire-logs", "alb/AWSLogs/123456789012/elasticloadbalancing/")
    assert len(log_keys) == 1 and KEY_PATTERN.fullmatch(log_keys[0])
    content = gzip.decompress(s3.get_object(Bucket="wire-logs", Key=log_keys[0])["Body"].read()).decode()
    assert content == "".join(format_alb_log_line(entry) + "\n" for entry in entries)
    assert _objects(s3, "wire-logs", "alb/AWSLogs/123456789012/ELBAccessLogTestFile")


def test_failed_delivery_keeps_the_lines_for_the_next_flush(s3) -> None:
    shipper = _shipper(s3, "created-late")
    shipper.record(_entry("/kept"))

    shipper.flush()  # the bucket does not exist yet
    assert shipper.pending_lines == 1
    s3.create_bucket(Bucket="created-late")
    shipper.flush()

    assert shipper.pending_lines == 0
    assert len(_objects(s3, "created-late")) == 1


def test_disabled_logging_writes_nothing(s3) -> None:
    s3.create_bucket(Bucket="logging-off")
    shipper = _shipper(s3, "logging-off", enabled=False, flush_seconds=0.05).start()
    shipper.record(_entry("/dropped"))
    time.sleep(0.15)
    shipper.stop()

    assert s3.list_objects_v2(Bucket="logging-off").get("KeyCount") == 0


def test_alb_feeds_the_shipper(s3, start_alb) -> None:
    s3.create_bucket(Bucket="alb-fed")
    shipper = _shipper(s3, "alb-fed")
    alb = start_alb(compliant_spec(DOMAIN), access_log=shipper.record)  # the wiring a sandbox does

    ask(http_port(alb), "/fed", host=DOMAIN)
    shipper.stop()  # never started: stop() still delivers what is pending

    (key,) = _objects(s3, "alb-fed")
    line = gzip.decompress(s3.get_object(Bucket="alb-fed", Key=key)["Body"].read()).decode().strip()
    assert len(shlex.split(line)) == ALB_LOG_FIELDS and f"GET http://{DOMAIN}:80/fed HTTP/1.1" in line


# --- stopping -----------------------------------------------------------------------------------


def test_stop_is_prompt_while_idle_clients_hold_connections(certificate: Certificate, backend_env: dict[str, str]) -> None:
    waitress_server = serve_wsgi(create_backend_app(backend_env))
    werkzeug_server = serve_wsgi(create_backend_app(backend_env), kind="werkzeug")
    alb = AlbStandIn(
        compliant_spec(DOMAIN),
        wiring_for(certificate, {BACKEND_TARGET_GROUP: (waitress_server.host, waitress_server.port)}),
    )
    ports = alb.start()
    idle = [
        socket.create_connection(("127.0.0.1", port), timeout=5)
        for port in (waitress_server.port, werkzeug_server.port, ports[80], ports[443])
    ]
    # The dev server only blocks a thread once it reads: give it a partial request.
    idle[1].sendall(b"GET / HTTP/1.1\r\n")
    time.sleep(0.2)  # let every server take its connection
    try:
        started = time.monotonic()
        alb.stop()
        waitress_server.stop()
        werkzeug_server.stop()
        elapsed = time.monotonic() - started
        alb.stop()
        waitress_server.stop()  # idempotent
        closed = [_closed_by_peer(sock) for sock in idle]  # each server closed its side, no waiting for the client
    finally:
        for sock in idle:
            sock.close()

    assert elapsed < 2.0
    assert closed == [True, True, True, True]


def _closed_by_peer(sock: socket.socket) -> bool:
    sock.settimeout(1)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except OSError:
        return False


def test_the_moto_patches_were_written_for_the_moto_installed_and_the_one_pyproject_holds():
    """fixtures.sandbox.moto_patches touches moto's internals: a moto outside its versions is a reason to reread it."""
    import tomllib
    from importlib.metadata import version

    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

    from fixtures.sandbox.moto_patches import MOTO_VERSIONS

    assert version("moto") in SpecifierSet(MOTO_VERSIONS)
    pyproject = tomllib.loads((pathlib.Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    sandbox_profile = pyproject["project"]["optional-dependencies"]["sandbox"]  # the reference deployment's extra
    held = next(Requirement(line) for line in sandbox_profile if Requirement(line).name == "moto")
    assert held.specifier == SpecifierSet(MOTO_VERSIONS), f"pyproject.toml holds moto to {held.specifier}; the patches name {MOTO_VERSIONS}"
