"""Secrets found by value (detect-secrets) and the CORS origins a task definition's environment holds."""

from __future__ import annotations

import pytest

from fixtures.sandbox.faults import deployment as faults
from fixtures.rules.task_environment import holds_literal_secret, names_origins, origin_findings, secret_kinds_by_value

ALLOWED = ("https://cloudproject.test", "https://api.cloudproject.test")


@pytest.mark.parametrize(
    ("name", "value", "kind"),
    [
        ("S3_UPLOADER_ID", faults.AWS_ACCESS_KEY_ID, "AWS Access Key"),
        ("CONFIG_BLOB", faults.GITHUB_TOKEN, "GitHub Token"),
        ("NOTIFY_WEBHOOK", faults.SLACK_WEBHOOK, "Slack Token"),
        ("CONNECTION_URL", "postgresql://root:Xq7ZpL2mVw9RtK4s@db.internal:5432/cruddur", "Basic Auth Credentials"),
        ("ASSET_SIGNING", faults.AWS_SECRET_ACCESS_KEY, "Base64 High Entropy String"),
        ("JWT_SIGNING_PEM", faults.PRIVATE_KEY_PEM, "Private Key"),
    ],
)
def test_secrets_under_innocuous_names_are_found_by_their_value(name, value, kind):
    assert not holds_literal_secret(name, value), "the name rules alone would miss this one"
    found = secret_kinds_by_value([("FRONTEND_URL", ALLOWED[0]), (name, value)])
    assert [variable for variable, _kinds in found] == [name]
    assert kind in found[0][1]


def test_configuration_that_merely_looks_random_is_not_a_secret():
    environment = [
        ("FRONTEND_URL", ALLOWED[0]),
        ("BACKEND_URL", ALLOWED[1]),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://api.honeycomb.io"),
        ("GIT_COMMIT", faults.GIT_COMMIT),
        ("REQUEST_NAMESPACE", "68f126b0-1ceb-4a33-88be-d90fa7109eee"),
        ("AWS_COGNITO_USER_POOL_CLIENT_ID", "5b6ro31g97urk767adrbrdj1g5"),
        ("IMAGE_DIGEST", "sha256:4c3a1e5f2b8d9e7a6c0f1b2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"),
        ("ROLLBAR_ACCESS_TOKEN", "arn:aws:ssm:us-east-1:123456789012:parameter/rollbar"),
        ("EMPTY", ""),
    ]
    assert secret_kinds_by_value(environment) == []
    assert secret_kinds_by_value([]) == []


def test_a_40_hex_value_is_let_off_only_under_a_name_for_a_revision():
    assert secret_kinds_by_value([("BUILD_SHA", faults.GIT_COMMIT)]) == []
    assert secret_kinds_by_value([("SIGNING", faults.GIT_COMMIT)]) == [("SIGNING", ("Hex High Entropy String",))]


def test_each_variable_is_named_even_when_several_hold_secrets():
    found = dict(secret_kinds_by_value([("A", faults.GITHUB_TOKEN), ("B", "plain"), ("C", faults.AWS_ACCESS_KEY_ID)]))
    assert set(found) == {"A", "C"}


def test_origin_variables_must_hold_only_allowed_origins():
    assert names_origins("FRONTEND_URL") and names_origins("EXTRA_CORS_ORIGINS") and names_origins("allowed-origins")
    assert not names_origins("OTEL_EXPORTER_OTLP_ENDPOINT") and not names_origins("AWS_XRAY_DAEMON_ADDRESS")
    assert origin_findings("FRONTEND_URL", "https://CloudProject.test:443", ALLOWED) == []
    assert origin_findings("CORS_ORIGINS", f"{ALLOWED[0]}, {ALLOWED[1]}", ALLOWED) == []
    found = origin_findings("EXTRA_CORS_ORIGINS", "http://localhost:3000,http://127.0.0.1:3000", ALLOWED)
    assert len(found) == 2 and "http://localhost:3000" in found[0]
    assert origin_findings("FRONTEND_URL", "*", ALLOWED)
    assert origin_findings("FRONTEND_URL", "https://3000-x.ws-us94.gitpod.io", ALLOWED)


def test_endpoints_the_app_calls_are_not_judged_as_origins():
    # An ECS task's sidecars share its network namespace: loopback is right there.
    assert origin_findings("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318", ALLOWED) == []
    assert origin_findings("AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1:2000", ALLOWED) == []
