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
  password inside a URL-valued one.

The run asks for everything an operator debugging a run might ask for
(long tracebacks with local variables, DEBUG logs of botocore, every
section of every test), then every byte of every report is searched for
each canary: raw, JSON-escaped, HTML-escaped, URL-encoded, base64.
"""

from __future__ import annotations

import base64
import html
import json
import re
import urllib.parse
from pathlib import Path

import pytest

from fixtures.sandbox.deployment import Sandbox
from fixtures.sandbox.spec import BACKEND_SERVICE, compliant_spec
from tests.audit_runner import AuditRun, run_audit
from tests.hostile import set_target_key
from tests.hostile_content import RawAnswerServer, raw_response, sandbox_certificate

# Every canary carries this mark, so a fragment of one is found too (a cut
# excerpt, a partly redacted value). Nothing else in a run spells it.
MARK = "ZQXJ"

CANARIES = {
    "env AWS_ACCESS_KEY_ID": "ASIAENVZQXJKEY000001",
    "env AWS_SECRET_ACCESS_KEY": "envZQXJsecret/Key+0123456789abcdefghijklm",
    "env AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEnvZQXJSessionToken//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+sess==",
    "profile aws_access_key_id": "AKIAPROFILEZQXJ00001",
    "profile aws_secret_access_key": "profileZQXJsecret/Key+0123456789abcdefghijk",
    "profile aws_session_token": "FwoGZXIvYXdzEProfileZQXJSessionToken/+token==",
    "server Set-Cookie": "CookieZQXJsessionValue0123456789",
    "server Bearer token": "BearerZQXJtokenValue0123456789abcdef",
    "server Basic password": "BasicZQXJpassword0123",
    "task definition ROLLBAR_ACCESS_TOKEN": "TaskZQXJrollbarToken0123456789abcdef",
    "task definition DATABASE_URL password": "DbUrlZQXJpassword0123",
}
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
    body = (json.dumps(echoed) + "\n" + page + "\n" + f"Authorization: Basic {BASIC_CREDENTIALS}\n").encode()
    headers = [
        (b"Content-Type", b"application/json"),
        (b"Set-Cookie", f"edgeproof_session={cookie}; Path=/; Secure; HttpOnly".encode()),
        (b"Set-Cookie", f"edgeproof_csrf={cookie}x; Path=/".encode()),
        (b"X-Echo-Authorization", f"Bearer {bearer}".encode()),
        (b"X-Debug", f"cookie=edgeproof_session={cookie}; authorization=Basic {BASIC_CREDENTIALS}".encode()),
        (b"WWW-Authenticate", b'Basic realm="edgeproof"'),
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
    return files


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
        with RawAnswerServer(server_answer(), cert_chain=chain, key=key) as server:
            set_target_key(target, "http_port", str(server.http_port))
            set_target_key(target, "https_port", str(server.https_port))
            return run_audit(
                directory / "reports",
                "--target", str(target),
                # Everything an operator debugging a run could ask for.
                "-rA", "--tb=long", "--showlocals", "--log-level=DEBUG",
                timeout=300,
            )


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
