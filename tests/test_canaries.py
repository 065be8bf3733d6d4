"""No secret a run can see reaches any report, in any encoding.

One real audit of the reference deployment in which every kind of secret an
audit can come across is a canary:

- AWS keys and a session token in the environment, and other ones in a
  profile of a shared credentials file the target names (`[aws] profile`), the
  way a real target authenticates (no `sandbox_credentials`);
- a web server in front of the site that sets cookies and echoes Authorization
  and Cookie values back in its headers and its body (JSON, and an HTML page
  the way a debug page dumps the request), Basic credentials included;
- secrets in the backend's task definition: a secret-named variable, and a
  password inside a URL-valued one;
- secrets that come back in pieces (issue 18): the profile's session token,
  longer than every cap (9,000 characters), echoed by an AWS endpoint inside
  an answer botocore cannot parse; a cookie of 9,000 characters echoed in a
  body across the 2,000-character excerpt's end; credentials in URLs
  (a presigned S3 URL's X-Amz-Signature, -Credential and -Security-Token,
  OAuth's code, sig, sid, access_token) and an X-Session header.

The run asks for everything an operator debugging a run might ask for
(long tracebacks with local variables, DEBUG logs of botocore, every
section of every test), then every byte of every report is searched for
each canary: raw, JSON-escaped, HTML-escaped, URL-encoded, base64.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import urllib.parse
from pathlib import Path

import pytest

from fixtures.sandbox.deployment import Sandbox
from fixtures.sandbox.spec import BACKEND_SERVICE, compliant_spec
from tests.audit_runner import AuditRun, run_audit
from tests.aws_proxy import AwsProxy
from tests.hostile import set_target_key
from tests.hostile_content import RawAnswerServer, raw_response, sandbox_certificate

# Every canary carries this mark, so a fragment of one is found too (a cut
# excerpt, a partly redacted value). Nothing else in a run spells it. The
# long canaries carry it at their head; their pieces are searched for by
# FRAGMENT characters (test_no_piece_of_a_canary_reaches_any_report_or_the_history).
MARK = "ZQXJ"


def filler(seed: str, size: int) -> str:
    """`size` characters that look like a token and never spell MARK (hex digits)."""
    out, block = [], seed.encode()
    while sum(map(len, out)) < size:
        block = hashlib.sha256(block).hexdigest().encode()
        out.append(block.decode())
    return "".join(out)[:size]

CANARIES = {
    "env AWS_ACCESS_KEY_ID": "ASIAENVZQXJKEY000001",
    "env AWS_SECRET_ACCESS_KEY": "envZQXJsecret/Key+0123456789abcdefghijklm",
    "env AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEnvZQXJSessionToken//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+sess==",
    "profile aws_access_key_id": "AKIAPROFILEZQXJ00001",
    "profile aws_secret_access_key": "profileZQXJsecret/Key+0123456789abcdefghijk",
    # Longer than every cap a report applies (4,000 a message, 8,192 a string).
    "profile aws_session_token": "FwoGZXIvYXdzEProfileZQXJSessionToken/+token" + filler("session token", 9000) + "==",
    "server Set-Cookie": "CookieZQXJsessionValue0123456789",
    "server Bearer token": "BearerZQXJtokenValue0123456789abcdef",
    "server Basic password": "BasicZQXJpassword0123",
    "task definition ROLLBAR_ACCESS_TOKEN": "TaskZQXJrollbarToken0123456789abcdef",
    "task definition DATABASE_URL password": "DbUrlZQXJpassword0123",
    "server long cookie echoed across the excerpt's end": "LongCookieZQXJ" + filler("cookie", 9000),
    "url X-Amz-Signature": "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924aZQXJ",
    "url X-Amz-Credential": "ASIAURLCREDZQXJ00001",
    "url X-Amz-Security-Token": "FwoGZXIvYXdzEUrlZQXJSecurityTokenValue0123",
    "url OAuth code": "OauthCodeZQXJ0123456789",
    "url sig": "SasSigZQXJ0123456789abcdef",
    "url sid": "SessionIdZQXJ0123456789",
    "url access_token": "AccessTokenZQXJ0123456789abc",
    "header X-Session": "XSessionZQXJ0123456789abcdef",
}
EXCERPT_CHARS = 2000  # fixtures.probes.http: the body's excerpt in evidence
FRAGMENT = 16  # no run of this many characters of a canary may appear anywhere
BASIC_USER = "auditor"
BASIC_CREDENTIALS = base64.b64encode(f"{BASIC_USER}:{CANARIES['server Basic password']}".encode()).decode()
PROFILE = "audit-profile"


def server_answer() -> bytes:
    """What the server in front of the site answers to every request."""
    cookie, bearer = CANARIES["server Set-Cookie"], CANARIES["server Bearer token"]
    echoed = {
        "headers": {
            "Authorization": f"Bearer {bearer}",
            "Cookie": f"edgeproof_session={cookie}",
            "X-Forwarded-Authorization": f"Basic {BASIC_CREDENTIALS}",
        },
        "note": "an echo endpoint that shows the request it got",
    }
    page = (
        "<html><body><h1>Request</h1><table>"
        f"<tr><td>HTTP_AUTHORIZATION</td><td>Bearer {bearer}</td></tr>"
        f"<tr><td>HTTP_COOKIE</td><td>edgeproof_session={cookie}</td></tr>"
        "</table></body></html>"
    )
    presigned = (
        "https://edgeproof-artifacts.s3.amazonaws.com/build.zip?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Credential={CANARIES['url X-Amz-Credential']}%2F20261206%2Fus-east-1%2Fs3%2Faws4_request"
        f"&X-Amz-Date=20261206T000000Z&X-Amz-Expires=3600&X-Amz-Security-Token={CANARIES['url X-Amz-Security-Token']}"
        f"&X-Amz-SignedHeaders=host&X-Amz-Signature={CANARIES['url X-Amz-Signature']}"
    )
    oauth = f"https://app.cloudproject.test/callback?code={CANARIES['url OAuth code']}&state=edgeproof"
    shared = f"https://files.cloudproject.test/a.txt?sv=2024-01-01&sig={CANARIES['url sig']}&sid={CANARIES['url sid']}#access_token={CANARIES['url access_token']}"
    body = (json.dumps(echoed) + "\n" + page + "\n" + f"Authorization: Basic {BASIC_CREDENTIALS}\n"
            + f"links: {presigned} {oauth} {shared}\n").encode()  # fmt: skip
    # The long cookie, set below and echoed here without its name, straddles the excerpt's end.
    long_cookie = CANARIES["server long cookie echoed across the excerpt's end"]
    body += b"." * max(EXCERPT_CHARS - 100 - len(body), 0) + f" you sent {long_cookie} \n".encode()
    headers = [
        (b"Content-Type", b"application/json"),
        (b"Set-Cookie", f"edgeproof_session={cookie}; Path=/; Secure; HttpOnly".encode()),
        (b"Set-Cookie", f"edgeproof_csrf={cookie}x; Path=/".encode()),
        (b"X-Echo-Authorization", f"Bearer {bearer}".encode()),
        (b"X-Debug", f"cookie=edgeproof_session={cookie}; authorization=Basic {BASIC_CREDENTIALS}".encode()),
        (b"WWW-Authenticate", b'Basic realm="edgeproof"'),
        (b"Set-Cookie", f"edgeproof_long={long_cookie}; Path=/; Secure".encode()),
        (b"Content-Location", presigned.encode()),
        (b"Link", f"<{oauth}>; rel=next, <{shared}>; rel=alternate".encode()),
        (b"X-Session", CANARIES["header X-Session"].encode()),
    ]
    return raw_response(b"200 OK", headers, body)


def encodings(secret: str) -> dict[str, str]:
    return {
        "raw": secret,
        "JSON-escaped": json.dumps(secret)[1:-1],
        "HTML-escaped": html.escape(secret),
        "HTML-escaped JSON": html.escape(json.dumps(secret)[1:-1]),
        "URL-encoded": urllib.parse.quote(secret, safe=""),
        "base64": base64.b64encode(secret.encode()).decode(),
    }


def report_files(run: AuditRun) -> dict[str, bytes]:
    files = {path.name: path.read_bytes() for path in sorted(run.report_dir.iterdir()) if path.is_file()}
    files["terminal output (stdout+stderr)"] = run.output.encode("utf-8", errors="surrogateescape")
    history = run.report_dir.parent / HISTORY_FILE
    for path in sorted(history.parent.glob(HISTORY_FILE + "*")):  # the database and any journal beside it
        files[f"history store ({path.name})"] = path.read_bytes()
    return files


HISTORY_FILE = "history.sqlite"


def echoes_garbage_to_get_hosted_zone(method: str, path: str, _headers: dict) -> str | None:
    """A Route 53 endpoint whose answer to GetHostedZone is not XML and echoes the request's
    headers, the session token among them. (Not S3: botocore takes an S3 200 it cannot
    parse for a 500 and retries it.)"""
    return "echo-garbage" if method == "GET" and re.search(r"/hostedzone/[^/?]+$", urllib.parse.urlsplit(path).path) else None


def write_aws_files(directory: Path) -> tuple[Path, Path]:
    credentials = directory / "credentials"
    credentials.write_text(
        f"[{PROFILE}]\n"
        f"aws_access_key_id = {CANARIES['profile aws_access_key_id']}\n"
        f"aws_secret_access_key = {CANARIES['profile aws_secret_access_key']}\n"
        f"aws_session_token = {CANARIES['profile aws_session_token']}\n",
        encoding="utf-8",
    )
    config = directory / "config"
    config.write_text(f"[profile {PROFILE}]\nregion = us-east-1\n", encoding="utf-8")
    return credentials, config


@pytest.fixture(scope="module")
def canary_run(tmp_path_factory: pytest.TempPathFactory) -> AuditRun:
    directory = tmp_path_factory.mktemp("secrets-audit")
    credentials, config = write_aws_files(directory)
    spec = compliant_spec()
    backend = spec.service(BACKEND_SERVICE)
    spec = spec.with_service(
        BACKEND_SERVICE,
        environment=backend.environment
        + (
            ("ROLLBAR_ACCESS_TOKEN", CANARIES["task definition ROLLBAR_ACCESS_TOKEN"]),
            ("DATABASE_URL", f"postgresql://cruddur:{CANARIES['task definition DATABASE_URL password']}@db.internal:5432/cruddur"),
        ),
    )
    with pytest.MonkeyPatch.context() as environment, Sandbox(spec) as sandbox:
        environment.setenv("AWS_ACCESS_KEY_ID", CANARIES["env AWS_ACCESS_KEY_ID"])
        environment.setenv("AWS_SECRET_ACCESS_KEY", CANARIES["env AWS_SECRET_ACCESS_KEY"])
        environment.setenv("AWS_SESSION_TOKEN", CANARIES["env AWS_SESSION_TOKEN"])
        environment.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
        environment.setenv("AWS_CONFIG_FILE", str(config))
        target = sandbox.write_target(directory / "target.toml")
        text = target.read_text(encoding="utf-8")
        # Authenticate as a real target does: a named profile, no dummy sandbox keys.
        target.write_text(text.replace("sandbox_credentials = true", f'profile = "{PROFILE}"'), encoding="utf-8")
        chain, key = sandbox_certificate(sandbox.ca_bundle)
        with RawAnswerServer(server_answer(), cert_chain=chain, key=key) as server, \
                AwsProxy(sandbox.endpoint_url, echoes_garbage_to_get_hosted_zone) as proxy:  # fmt: skip
            set_target_key(target, "http_port", str(server.http_port))
            set_target_key(target, "https_port", str(server.https_port))
            set_target_key(target, "endpoint_url", f'"{proxy.url}"')
            run = run_audit(
                directory / "reports",
                "--target", str(target),
                "--history", str(directory / HISTORY_FILE),
                # Everything an operator debugging a run could ask for.
                "-rA", "--tb=long", "--showlocals", "--log-level=DEBUG",
                timeout=300,
            )
            assert proxy.faulted, "the AWS endpoint never echoed the request"
            return run


def test_the_run_used_the_canaries(canary_run):
    """The canaries were really in play: the AWS calls went through (with the profile's keys) and the server was read."""
    passed_control = [c for c in canary_run.checks if c["plane"] == "control" and c["outcome"] in ("passed", "failed")]
    assert passed_control, "no control-plane check reached moto: the credentials were not used"
    assert canary_run.report["stats"]["aws_api_calls"] > 10
    by_id = {c["id"]: c for c in canary_run.checks}
    assert by_id["DEP-05"]["outcome"] == "failed", "the task definition's secret was not seen"
    wire = [c for c in canary_run.checks if c["plane"] == "wire" and c["outcome"] in ("passed", "failed")]
    assert wire, "no wire check read the server's answers"
    # The server's Set-Cookie header was seen (and redacted), not missed.
    # Response headers are evidence as [name, value] pairs (every header, in order).
    assert re.search(r'\[\s*"set-cookie"\s*,\s*"\[redacted\]"\s*\]', json.dumps(canary_run.report), re.IGNORECASE)


def test_no_canary_reaches_any_report(canary_run):
    files = report_files(canary_run)
    assert {"compliance.json", "compliance.html", "junit.xml"} <= set(files)
    leaks = []
    for name, secret in [*CANARIES.items(), ("server Basic credentials (base64)", BASIC_CREDENTIALS)]:
        for encoding, form in encodings(secret).items():
            for file, content in files.items():
                if form.encode() in content:
                    leaks.append(f"{name} ({encoding}) in {file}")
    for file, content in files.items():
        for match in re.finditer(MARK.encode(), content, re.IGNORECASE):
            start = max(match.start() - 60, 0)
            leaks.append(f"a canary fragment in {file}: ...{content[start:match.end() + 30]!r}...")
    assert not leaks, "secrets reached the reports:\n" + "\n".join(leaks[:60])


def test_no_piece_of_a_canary_reaches_any_report_or_the_history(canary_run):
    """Redact before cut: not even a piece of a secret (FRAGMENT characters of it, in any
    encoding) is left where a cut fell: an error's 200 characters, an excerpt's 2,000,
    a message's 4,000, pytest's assertion repr, the history store."""
    files = report_files(canary_run)
    assert any(name.startswith("history store") for name in files), "the run wrote no history"
    by_id = {c["id"]: c for c in canary_run.checks}
    unreadable = [c for c in canary_run.checks if "could not be read" in (c.get("message") or "")]
    assert unreadable, "no check met the AWS answer that echoed the request"
    assert by_id, "no checks"
    pieces: dict[bytes, str] = {}
    for name, secret in [*CANARIES.items(), ("server Basic credentials (base64)", BASIC_CREDENTIALS)]:
        for encoding, form in encodings(secret).items():
            raw = form.encode()
            for start in range(0, max(len(raw) - FRAGMENT, 0) + 1):
                pieces.setdefault(raw[start : start + FRAGMENT], f"{name} ({encoding})")
    leaks = []
    for file, content in files.items():
        # Every FRAGMENT-byte window of the file (a regex of 100,000 alternatives would take minutes).
        for start in range(0, max(len(content) - FRAGMENT, 0) + 1):
            name = pieces.get(content[start : start + FRAGMENT])
            if name is not None:
                leaks.append(f"{FRAGMENT} characters of {name} in {file}: ...{content[max(start - 40, 0) : start + FRAGMENT + 20]!r}...")
    assert not leaks, "pieces of secrets reached the reports:\n" + "\n".join(leaks[:60])
