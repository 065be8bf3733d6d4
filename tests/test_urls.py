"""URL equivalence: the redirect checks compare parsed URLs, never strings."""

from __future__ import annotations

import pytest

from fixtures.rules.urls import normalise


@pytest.mark.parametrize(
    "left, right",
    [
        ("https://example.org:443/a?b=1", "https://example.org/a?b=1"),
        ("HTTPS://Example.ORG./a", "https://example.org/a"),
        ("http://example.org:80", "http://example.org/"),
        ("https://api.example.org:8443/x", "https://API.example.org:8443/x"),
    ],
)
def test_equivalent_urls_compare_equal(left, right):
    assert normalise(left) == normalise(right)


@pytest.mark.parametrize(
    "left, right",
    [
        ("https://example.org/a?b=1", "http://example.org/a?b=1"),
        ("https://example.org/a?b=1", "https://example.org/a"),
        ("https://example.org/a", "https://example.org/A"),
        ("https://example.org:8443/a", "https://example.org/a"),
        ("https://www.example.org/a", "https://example.org/a"),
    ],
)
def test_different_urls_differ(left, right):
    assert normalise(left) != normalise(right)


def test_a_scheme_relative_location_resolves_to_another_host():
    assert normalise("//evil.example/", "http://example.org//evil.example/").host == "evil.example"


def test_a_relative_location_stays_on_the_requested_host():
    assert normalise("/login", "http://example.org/x").host == "example.org"


def test_str_drops_default_ports():
    assert str(normalise("https://example.org:443/a?b=1")) == "https://example.org/a?b=1"
    assert str(normalise("https://example.org:8443/a")) == "https://example.org:8443/a"
