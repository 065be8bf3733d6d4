"""Secrets inside structured values, part by part (rules/structured_secrets.py)."""

from __future__ import annotations

import json

import pytest

from fixtures.rules.structured_secrets import parts, structured_secrets
from fixtures.rules.task_environment import holds_literal_secret, secret_kinds_by_value
from fixtures.sandbox.faults import env_structured as faults


def _parts(variable: str, value: str) -> list[str]:
    return [found.part for found in structured_secrets(variable, value)]


@pytest.mark.parametrize(
    ("variable", "value", "part"),
    [
        ("OTEL_EXPORTER_OTLP_HEADERS", f"x-honeycomb-team={faults.HONEYCOMB_KEY}", "header x-honeycomb-team"),
        ("OTEL_EXPORTER_OTLP_HEADERS", f"Authorization=Basic%20{faults.GRAFANA_BASIC}", "header Authorization"),
        ("CONNECTION_URL", f"postgresql://postgres:{faults.DSN_PASSWORD}@db:5432/cruddur", "URL password"),
        ("APP_CONFIG", json.dumps({"rollbar": {"access_token": faults.ROLLBAR_TOKEN}}), "JSON $.rollbar.access_token"),
        ("DB_CONFIG", json.dumps({"username": "u", "password": faults.RDS_PASSWORD, "port": 5432}), "JSON $.password"),
        ("PG_DSN", f"host=db.internal port=5432 user=cruddur password={faults.DSN_PASSWORD} sslmode=require", "item password"),
        ("GEOCODE_URL", f"https://maps.googleapis.com/maps/api/geocode/json?key={faults.MAPS_KEY}", "URL query parameter key"),
        ("SETTINGS", "mode=fast;sink=" + faults.HONEYCOMB_KEY + "Zq9", "item sink"),  # by entropy alone
        ("LIST", json.dumps({"tokens": ["x", "gh" + "p_" + "A1b2C3d4E5f6G7h8I9j0K1l2"]}), "JSON $.tokens[1]"),
    ],
)
def test_each_form_names_the_part_and_never_the_value(variable, value, part):
    found = structured_secrets(variable, value)
    assert [f.part for f in found] == [part]
    evidence = json.dumps([f.as_evidence() for f in found])
    (secret,) = [text for where, _key, text in parts(value) if where.split(" ", 1)[-1] == part.split(" ", 1)[-1]]
    assert secret and secret not in evidence


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-honeycomb-dataset=backend-flask"),
        ("OTEL_RESOURCE_ATTRIBUTES", "service.name=backend-flask,deployment.environment=production"),
        ("DATABASE_URL", "postgresql://cruddurroot@db.internal:5432/cruddur?sslmode=require"),
        ("SENTRY_DSN", "https://0123456789abcdef0123456789abcdef@o450123.ingest.sentry.io/5512345"),
        ("APP_SETTINGS", json.dumps({"user_pool_id": "us-east-1_N7pQ2xR4t", "bucket": "assets.cloudproject.test", "port": 5432})),
        ("CONNECTION_URL", "postgresql://cruddurroot:${DB_PASSWORD}@db.internal:5432/cruddur"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-honeycomb-team=arn:aws:ssm:us-east-1:123456789012:parameter/honeycomb"),
        ("AWS_REGION", "us-east-1"),
        ("FRONTEND_URL", "https://cloudproject.test"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318"),
    ],
)
def test_structured_values_that_hold_no_secret(variable, value):
    assert _parts(variable, value) == []


def test_a_stripe_publishable_key_is_public_by_design():
    key = "pk_test_51" + "Ab3" * 30
    assert not holds_literal_secret("STRIPE_PUBLISHABLE_KEY", key)
    assert secret_kinds_by_value([("STRIPE_PUBLISHABLE_KEY", key)]) == []
    assert holds_literal_secret("STRIPE_SECRET_KEY", "sk_test_51" + "Ab3" * 30)


def test_detect_secrets_misses_forms_the_parser_finds():
    # Why the parser exists: these forms pass detect-secrets' default plugins.
    missed = [
        ("OTEL_EXPORTER_OTLP_HEADERS", f"Authorization=Basic%20{faults.GRAFANA_BASIC}"),
        ("PG_DSN", f"host=db.internal port=5432 user=cruddur password={faults.DSN_PASSWORD} sslmode=require"),
        ("GEOCODE_URL", f"https://maps.googleapis.com/maps/api/geocode/json?key={faults.MAPS_KEY}"),
    ]
    assert secret_kinds_by_value(missed) == []
    assert all(structured_secrets(name, value) for name, value in missed)
