"""Redaction and caps, rule by rule (the audits in test_canaries.py and
test_hostile_content.py hold them end to end)."""

from __future__ import annotations

import base64
import json
import time

from fixtures.redaction.caps import MAX_ITEMS, MAX_STRING_CHARS, bound, cap, cap_message
from fixtures.redaction.secrets import is_sensitive_key, redact, redact_each, redact_text


def test_shapes_in_free_text():
    cases = {
        '[{"name": "DB_PASSWORD", "value": "s3cr3t-Value"}]': '[{"name": "DB_PASSWORD", "value": "[redacted]"}]',
        "postgresql://app:pw-1234567@db:5432/app": "postgresql://app:[redacted]@db:5432/app",
        # the Werkzeug debugger's page script: the key of its console
        'EVALEX = true, SECRET = "Xq3pA9vT2LmZ8rB1cD4e";': 'EVALEX = true, SECRET = "[redacted]";',
        'var title = "Werkzeug Debugger"': 'var title = "Werkzeug Debugger"',
        "'X-Amz-Security-Token': b'FwoGZXIvYXdz'": "'X-Amz-Security-Token': b'[redacted]'",
        "<td>HTTP_COOKIE</td><td>sid=abc123def</td>": "<td>HTTP_COOKIE</td><td>[redacted]</td>",
        '"Cookie": "sid=abc123...cut': '"Cookie": "[redacted]',
        "echo: Bearer eyJhbGciOi.x.y": "echo: Bearer [redacted]",
        "Basic authentication is off": "Basic authentication is off",
        "Access-Control-Allow-Credentials: true": "Access-Control-Allow-Credentials: true",
        "sets ROLLBAR_ACCESS_TOKEN to a plain value": "sets ROLLBAR_ACCESS_TOKEN to a plain value",
    }
    for text, expected in cases.items():
        assert redact_text(text) == expected, text


def test_a_value_seen_under_a_sensitive_name_is_scrubbed_everywhere():
    cookie, password = "Ck9x7QwertyValue", "pass-Word-0987"
    basic = base64.b64encode(f"me:{password}".encode()).decode()
    evidence = [
        {"headers": {"Set-Cookie": f"sid={cookie}; Path=/; HttpOnly", "X-Echo-Authorization": f"Basic {basic}"}},
        f"<p>your cookie is {cookie}; your password {password}</p> {json.dumps(cookie)}",
    ]
    cleaned = json.dumps(redact_each(evidence))
    assert cookie not in cleaned and password not in cleaned and basic not in cleaned
    assert "Path=/" not in cleaned  # the whole header value is withheld
    assert redact({"cookies_allowed": True}) == {"cookies_allowed": True}


def test_environment_secrets_are_known(monkeypatch):
    import fixtures.redaction.secrets as redaction

    monkeypatch.setenv("DEPLOY_API_TOKEN", "tok-FROM-the-ENVIRONMENT")
    monkeypatch.setattr(redaction, "_KNOWN", redaction._KnownSecrets())
    redaction._secrets_of_this_machine.cache_clear()
    try:
        assert redact_text("a log line: tok-FROM-the-ENVIRONMENT") == "a log line: [redacted]"
    finally:
        redaction._secrets_of_this_machine.cache_clear()


def test_patterns_stay_linear_on_hostile_text():
    hostile = "token" * 20000  # 100 kB of a sensitive word and no separator
    started = time.monotonic()
    for text in (hostile, f"'{hostile}': '{hostile}", f"{hostile}:", f"<td>{hostile}</td>"):
        redact_text(text)
    assert time.monotonic() - started < 5


def test_caps_cut_with_markers_and_escape_unsafe_characters():
    value = {"h": "x" * (MAX_STRING_CHARS + 10), "list": list(range(MAX_ITEMS + 5)), "raw": "a\x00b\x1b[2J\udcff"}
    capped = cap(bound(value))
    assert capped["h"] == "x" * MAX_STRING_CHARS + " [truncated: 10 bytes]"
    assert capped["list"][-1] == "[truncated: 5 more items]" and len(capped["list"]) == MAX_ITEMS + 1
    assert capped["raw"] == "a\\x00b\\x1b[2J\\xff"
    # A cut before redaction and one after add up to what the source had.
    huge = cap(bound("y" * 100000))
    assert huge.endswith(f" [truncated: {100000 - MAX_STRING_CHARS} bytes]")
    assert cap_message("é" * 5000).endswith(f" [truncated: {2 * 1000} bytes]")


def test_reading_the_environment_survives_a_variable_removed_meanwhile():
    # pytest sets and removes PYTEST_CURRENT_TEST on the main thread while a fact
    # thread reads the environment for secrets; a KeyError there errored whole checks.
    import os
    import threading

    import fixtures.redaction.secrets as redaction

    stop = threading.Event()

    def toggle():
        while not stop.is_set():
            os.environ["EDGEPROOF_TOGGLED"] = "x"
            os.environ.pop("EDGEPROOF_TOGGLED", None)

    import sys

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so the window is hit within a second
    toggler = threading.Thread(target=toggle, daemon=True)
    toggler.start()
    try:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            redaction._secrets_of_this_machine.__wrapped__()
    finally:
        stop.set()
        toggler.join(5)
        sys.setswitchinterval(interval)


def test_a_session_credential_is_sensitive_and_a_figure_about_sessions_is_not():
    for name in ("X-Session", "session", "session_id", "JSESSIONID", "x-session-token", "Session-Key"):
        assert is_sensitive_key(name), name
    # The wire's figures name sessions without holding one: redacted, the report lost them.
    for name in ("http_connections_by_session", "role_session_name", "sessions"):
        assert not is_sensitive_key(name), name
    stats = {"http_connections_by_session": {"https://api.example.test": 2}}
    assert redact(stats) == stats


def test_where_a_secret_lives_is_not_a_secret_and_public_names_survive(monkeypatch, tmp_path):
    # EKS (IRSA) sets AWS_WEB_IDENTITY_TOKEN_FILE to this path; taken for a secret, its
    # fragments cut ".amazonaws.com" out of every ALB and alias name in the reports.
    import fixtures.redaction.secrets as redaction

    config = tmp_path / "config"
    config.write_text(
        "[profile audit]\nrole_arn = arn:aws:iam::123456789012:role/edgeproof-audit\n"
        "web_identity_token_file = /var/run/secrets/eks.amazonaws.com/serviceaccount/token\n"
        "[profile ci]\ncredential_process = /usr/local/bin/aws-vault-exec --json ci-audit\n"
        "credential_source = Ec2InstanceMetadata\n",
        encoding="utf-8",
    )
    credentials = tmp_path / "credentials"
    credentials.write_text("[default]\naws_secret_access_key = wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY\n", encoding="utf-8")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/secrets/eks.amazonaws.com/serviceaccount/token")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("DEPLOY_API_TOKEN", "tok-FROM-the-ENVIRONMENT")
    monkeypatch.setattr(redaction, "_KNOWN", redaction._KnownSecrets())
    redaction._secrets_of_this_machine.cache_clear()
    try:
        alias = "dualstack.web-alb-1234567890.us-east-1.elb.amazonaws.com"
        assert redact_text(f"alias target {alias}") == f"alias target {alias}"
        assert redact({"profile": "ci", "source": "Ec2InstanceMetadata via aws-vault-exec"})["source"] == "Ec2InstanceMetadata via aws-vault-exec"
        assert redact_text(f"read {credentials}") == f"read {credentials}"
        # The secrets themselves are still known, from the environment and the shared file.
        assert redact_text("a log line: tok-FROM-the-ENVIRONMENT") == "a log line: [redacted]"
        assert "wJalrXUtnFEMIK7MDENG" not in redact_text("key wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY")
    finally:
        redaction._secrets_of_this_machine.cache_clear()
