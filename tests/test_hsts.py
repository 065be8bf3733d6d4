"""Strict-Transport-Security parsed as RFC 6797 has browsers read it."""

from __future__ import annotations

import pytest

from fixtures.rules import hsts
def test_a_year_with_subdomains_parses():
    policy = hsts.parse("max-age=31536000; includeSubDomains; preload")
    assert (policy.max_age, policy.include_subdomains, policy.preload) == (31536000, True, True)
    assert hsts.shortfalls(policy, min_max_age=31536000, include_subdomains=True) == []


@pytest.mark.parametrize(
    "text, max_age, subdomains",
    [
        ('MAX-AGE="31536000" ; INCLUDESUBDOMAINS', 31536000, True),  # names case-insensitive, quoted value
        ("max-age=600;;", 600, False),  # empty directives are allowed
        ("includeSubDomains; max-age=0; report-uri=x", 0, True),  # unknown directives ignored, order free
    ],
)
def test_the_grammar_a_browser_accepts(text, max_age, subdomains):
    policy = hsts.parse(text)
    assert (policy.max_age, policy.include_subdomains) == (max_age, subdomains)


@pytest.mark.parametrize(
    "text, why",
    [
        ("includeSubDomains", "no max-age"),
        ("max-age=1y", "not a number"),
        ("max-age=31536000, includeSubDomains", "not a directive"),  # a comma is not a separator
        ("max-age=1; max-age=31536000", "appears twice"),
        ("max-age", "not a number"),
    ],
)
def test_a_header_browsers_ignore_is_an_error_saying_why(text, why):
    with pytest.raises(hsts.HstsError, match=why):
        hsts.parse(text)


def test_shortfalls_name_each_gap():
    found = hsts.shortfalls(hsts.parse("max-age=86400"), min_max_age=31536000, include_subdomains=True)
    assert len(found) == 2 and "86400" in found[0] and "includeSubDomains" in found[1]
    assert "forget" in hsts.shortfalls(hsts.parse("max-age=0"), min_max_age=1, include_subdomains=False)[0]


def test_only_the_first_field_counts():
    assert hsts.first_field(["max-age=1", "max-age=31536000"]) == "max-age=1"
    assert hsts.first_field([]) is None
