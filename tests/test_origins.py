"""Origins and the hostile-origin battery the CORS checks send."""

from __future__ import annotations

import pytest

from fixtures.rules.origins import (
    DEV_SERVER_PORTS,
    HOSTILE_KINDS,
    Origin,
    development_origins,
    hostile_origins,
    same_origin,
)

DEVELOPMENT_KINDS = {"dev-localhost", "dev-loopback", "cloud-ide-preview"}


@pytest.mark.parametrize(
    "text, serialised",
    [
        ("https://example.org", "https://example.org"),
        ("HTTPS://Example.ORG:443", "https://example.org"),
        ("http://example.org:80", "http://example.org"),
        ("https://api.example.org:8443", "https://api.example.org:8443"),
    ],
)
def test_origins_parse_and_serialise_as_browsers_send_them(text, serialised):
    assert str(Origin.parse(text)) == serialised


@pytest.mark.parametrize(
    "text", ["*", "null", "example.org", "ftp://example.org", "https://example.org/", "https://example.org/app", "https://u:p@example.org"]
)
def test_what_is_not_an_origin_is_refused(text):
    with pytest.raises(ValueError):
        Origin.parse(text)


def test_same_origin_compares_parsed_origins():
    assert same_origin("https://Example.org:443", "https://example.org")
    assert not same_origin("https://example.org", "http://example.org")
    assert not same_origin("https://example.org", "https://example.org:8443")
    assert same_origin("null", "null") and not same_origin("null", "https://example.org")
    assert not same_origin("*", "https://example.org")


def test_the_battery_for_the_write_ups_origins():
    battery = hostile_origins(["https://cloudproject.test", "https://api.cloudproject.test"])
    by_origin = {hostile.origin: hostile.kind for hostile in battery if hostile.kind not in DEVELOPMENT_KINDS}
    assert by_origin == {
        "https://attacker.example": "unrelated",
        "null": "null",
        "https://cloudproject.test.attacker.example": "suffix-appended",
        "https://attackercloudproject.test": "name-ends-with-host",
        "https://cloudprojectxtest": "dot-unescaped",
        "http://cloudproject.test": "http-scheme",
        "https://cloudproject.test:8443": "other-port",
        "https://edgeproof-unlisted.cloudproject.test": "unlisted-subdomain",
        "https://api.cloudproject.test.attacker.example": "suffix-appended",
        "https://attackerapi.cloudproject.test": "name-ends-with-host",
        "https://apixcloudproject.test": "dot-unescaped",
        "http://api.cloudproject.test": "http-scheme",
        "https://api.cloudproject.test:8443": "other-port",
        "https://edgeproof-unlisted.api.cloudproject.test": "unlisted-subdomain",
    }
    assert {hostile.kind for hostile in battery} == set(HOSTILE_KINDS)
    assert battery[2].description == "the allowed origin with a suffix appended (https://cloudproject.test)"


def test_the_battery_never_contains_an_allowed_origin_and_has_no_duplicates():
    # A site that allows an origin on 8443 and its http twin: neither may come back as hostile.
    allowed = ["https://example.org", "https://example.org:8443", "http://example.org"]
    battery = hostile_origins(allowed)
    origins = [hostile.origin for hostile in battery]
    assert len(origins) == len(set(origins))
    assert not any(same_origin(origin, allowed_origin) for origin in origins for allowed_origin in allowed)
    assert "https://example.org:9443" in origins  # the other port of the 8443 origin
    # an http origin has no http-scheme look-alike of its own
    assert [h for h in hostile_origins(["http://example.org"]) if h.kind == "http-scheme"] == []


def test_the_battery_holds_the_origins_teams_leave_behind():
    origins = {hostile.origin: hostile.kind for hostile in hostile_origins(["https://cloudproject.test"])}
    # The dev servers, with and without their ports, on localhost and loopback.
    for host, kind in (("localhost", "dev-localhost"), ("127.0.0.1", "dev-loopback")):
        assert origins[f"http://{host}"] == kind
        assert all(origins[f"http://{host}:{port}"] == kind for port in DEV_SERVER_PORTS)
    assert {3000, 5173, 4200, 8080, 4567} <= set(DEV_SERVER_PORTS)
    assert origins["https://localhost:3000"] == "dev-localhost" and origins["http://[::1]:3000"] == "dev-loopback"
    previews = [origin for origin, kind in origins.items() if kind == "cloud-ide-preview"]
    assert any(origin.startswith("https://3000-") and origin.endswith(".gitpod.io") for origin in previews)
    assert any(origin.endswith("-3000.app.github.dev") for origin in previews)
    assert any(origin.endswith(".githubpreview.dev") for origin in previews)
    # Every one is a serialised origin a browser could send.
    assert all(str(Origin.parse(origin)) == origin for origin in origins if origin != "null" and "[" not in origin)


def test_a_development_origin_the_site_allows_is_not_tried_as_hostile():
    # A staging target that allows its dev server on purpose.
    origins = [hostile.origin for hostile in hostile_origins(["https://example.org", "http://localhost:3000"])]
    assert "http://localhost:3000" not in origins and "http://localhost:5173" in origins
    assert len(development_origins()) == len({h.origin for h in development_origins()})
