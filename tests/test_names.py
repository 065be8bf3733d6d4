"""Name matching as clients do it, and alias-target normalisation."""

from __future__ import annotations

import pytest

from fixtures.model.names import alias_target_name, route53_name, same_name, to_ascii

from fixtures.rules.names import certificate_name_matches, covering_name, is_within


@pytest.mark.parametrize(
    "pattern, host",
    [
        ("cloudproject.test", "cloudproject.test"),
        ("*.cloudproject.test", "api.cloudproject.test"),
        ("*.cloudproject.test", "www.cloudproject.test"),
        ("CloudProject.TEST", "cloudproject.test"),  # case never matters
        ("*.cloudproject.test", "API.CloudProject.Test"),
        ("cloudproject.test.", "cloudproject.test"),  # a trailing dot is the same name
        ("*.cloudproject.test", "api.cloudproject.test."),
        ("xn--bcher-kva.example", "bücher.example"),  # IDN: A-label in the certificate, U-label asked
        ("*.xn--bcher-kva.example", "shop.bücher.example"),
        ("*.bücher.example", "shop.xn--bcher-kva.example"),
        ("*.cloudproject.test", "xn--api-9qa.cloudproject.test"),  # a wildcard covers an IDN label too
    ],
)
def test_names_that_match(pattern, host):
    assert certificate_name_matches(pattern, host)


@pytest.mark.parametrize(
    "pattern, host, why",
    [
        ("*.cloudproject.test", "cloudproject.test", "a wildcard never covers the apex"),
        ("*.cloudproject.test", "a.b.cloudproject.test", "a wildcard covers exactly one label"),
        ("*.cloudproject.test", ".cloudproject.test", "an empty label is not a label"),
        ("cloudproject.test", "api.cloudproject.test", "an exact name covers itself only"),
        ("api.cloudproject.test", "cloudproject.test", "an exact name covers itself only"),
        ("a*.cloudproject.test", "api.cloudproject.test", "partial-label wildcards are refused by browsers"),
        ("api.*.test", "api.cloudproject.test", "a wildcard is only the left-most label"),
        ("*.*.test", "a.cloudproject.test", "one wildcard at most"),
        ("*.test", "cloudproject.test", "no wildcard directly under a top-level name"),
        ("*.staging.cloudproject.test", "api.cloudproject.test", "another domain's wildcard"),
        ("cloudproject.test.evil", "cloudproject.test", "suffix tricks"),
        ("xn--bcher-kva.example", "bucher.example", "an IDN is not its ASCII look-alike"),
    ],
)
def test_names_that_do_not_match(pattern, host, why):
    assert not certificate_name_matches(pattern, host), why


def test_covering_name_returns_the_name_that_matched():
    names = ("cloudproject.test", "*.cloudproject.test")
    assert covering_name(names, "cloudproject.test") == "cloudproject.test"
    assert covering_name(names, "api.cloudproject.test") == "*.cloudproject.test"
    assert covering_name(("*.cloudproject.test",), "cloudproject.test") is None
    assert covering_name((), "cloudproject.test") is None


def test_to_ascii_lowercases_drops_the_trailing_dot_and_encodes_idn():
    assert to_ascii("API.Bücher.Example.") == "api.xn--bcher-kva.example"
    assert to_ascii("_d930b28.CloudProject.test.") == "_d930b28.cloudproject.test"  # underscores stay
    with pytest.raises(ValueError):
        to_ascii("a..b")
    with pytest.raises(ValueError):
        to_ascii("")


def test_same_name_ignores_case_trailing_dots_and_idn_form():
    assert same_name("*.CloudProject.test.", "*.cloudproject.test")
    assert same_name("bücher.example", "XN--BCHER-KVA.example.")
    assert not same_name("cloudproject.test", "*.cloudproject.test")


@pytest.mark.parametrize(
    "alias, alb",
    [
        ("dualstack.cruddur-alb-1.us-east-1.elb.amazonaws.com.", "cruddur-alb-1.us-east-1.elb.amazonaws.com"),
        ("DualStack.Cruddur-ALB-1.us-east-1.elb.amazonaws.com", "cruddur-alb-1.us-east-1.elb.amazonaws.com"),
        ("cruddur-alb-1.us-east-1.elb.amazonaws.com.", "CRUDDUR-ALB-1.us-east-1.elb.amazonaws.com"),
    ],
)
def test_alias_targets_normalise_case_trailing_dot_and_dualstack(alias, alb):
    assert alias_target_name(alias) == alias_target_name(alb)


def test_alias_normalisation_keeps_other_load_balancers_apart():
    ours = alias_target_name("cruddur-alb-1.us-east-1.elb.amazonaws.com")
    assert alias_target_name("dualstack.cruddur-alb-old-2.us-east-1.elb.amazonaws.com.") != ours
    # Only a leading `dualstack.` label is dropped, never a name that merely contains it.
    assert alias_target_name("notdualstack.cruddur-alb-1.us-east-1.elb.amazonaws.com") != ours


def test_route53_names_decode_octal_escapes():
    assert route53_name("\\052.cloudproject.test.") == "*.cloudproject.test"
    assert route53_name("API.cloudproject.test.") == "api.cloudproject.test"


def test_is_within_a_zone():
    assert is_within("cloudproject.test", "cloudproject.test")
    assert is_within("_x.cloudproject.test.", "CloudProject.test")
    assert not is_within("evilcloudproject.test", "cloudproject.test")
    assert not is_within("cloudproject.test", "api.cloudproject.test")
