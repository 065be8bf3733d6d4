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
        "https://cloudproject.test:4567": "other-port",
        "https://edgeproofunlisted.cloudproject.test": "unlisted-subdomain",
        "https://xn--loudproject-roj.test": "idn-homograph",
        "https://api.cloudproject.test.attacker.example": "suffix-appended",
        "https://attackerapi.cloudproject.test": "name-ends-with-host",
        "https://apixcloudproject.test": "dot-unescaped",
        "https://api.cloudprojectxtest": "dot-unescaped",
        "http://api.cloudproject.test": "http-scheme",
        "https://api.cloudproject.test:8443": "other-port",
        "https://api.cloudproject.test:4567": "other-port",
        "https://edgeproofunlisted.api.cloudproject.test": "unlisted-subdomain",
        "https://xn--pi-6kc.cloudproject.test": "idn-homograph",
    }
    # The sibling of api. (edgeproofunlisted.cloudproject.test) is the apex's unlisted subdomain: asked once.
    assert {hostile.kind for hostile in battery} == set(HOSTILE_KINDS) - {"sibling-subdomain"}
    assert {h.kind for h in hostile_origins(["https://api.cloudproject.test"])} >= {"sibling-subdomain"}
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


# Patterns as developers write them (flask-cors compiles them and matches with re.match, ignoring
# case): each admits a foreign origin, and the battery holds one it admits, by construction.
FLASK_CORS_PATTERNS = [
    r"https://.*\.cloudproject\.test",  # every subdomain, and no end anchor
    r"https://cloudproject.test.*",  # no end anchor
    r"^https://cloudproject.test$",  # an unescaped dot
    r"^https://api\.cloudproject.test$",  # the second dot unescaped
    r"^https://cloudproject\.test|https://api\.cloudproject\.test$",  # alternation binds loosest
    r"^https?://cloudproject\.test$",  # either scheme
    r"^https://cloudproject\.test(:\d+)?$",  # any port
    r"^(https?://(?:.+\.)?(cloudproject\.test)(?::\d{1,5})?)$",  # a cookiecutter's "anything from the domain"
    r"^https://[a-z]+\.cloudproject\.test$",  # a character class for "our subdomains"
    r"^https://\w+\.cloudproject\.test$",  # the same with \w
    r".*cloudproject\.test$",  # an ends-with test
]


@pytest.mark.parametrize("pattern", FLASK_CORS_PATTERNS)
def test_the_battery_holds_an_origin_each_careless_pattern_admits(pattern):
    import re

    allowed = ["https://cloudproject.test", "https://api.cloudproject.test"]
    admitted = [h for h in hostile_origins(allowed) if re.match(pattern, h.origin, re.IGNORECASE)]
    assert admitted, f"no hostile origin of the battery matches {pattern!r}"
    assert all(h.description for h in admitted)


def test_case_variants_are_the_same_origin_and_never_tried():
    # Browsers serialise hosts in lower case; flask-cors compares case-insensitively: right, not hostile.
    origins = [h.origin for h in hostile_origins(["https://cloudproject.test"])]
    assert not [o for o in origins if o != o.lower() and same_origin(o, "https://cloudproject.test")]
    assert same_origin("https://CloudProject.TEST", "https://cloudproject.test")


def test_every_dot_says_which_dot_it_replaced():
    dots = [h for h in hostile_origins(["https://a.b.example.org"]) if h.kind == "dot-unescaped"]
    assert [h.origin for h in dots] == ["https://axb.example.org", "https://a.bxexample.org", "https://a.b.examplexorg"]
    assert "the dot after 'example'" in dots[2].description and "(https://a.b.example.org)" in dots[2].description
