"""The ALB's rule choice for a host, as the checks and the sandbox's stand-in read it (fixtures.rules.routing)."""

from __future__ import annotations

import pytest

from fixtures.model.elbv2 import Rule
from fixtures.rules.routing import UndecidableHostRule, host_regex_matches, rule_for_host

FORWARD = [{"Type": "forward", "TargetGroupArn": "arn:tg/backend", "Order": 1}]


def rule(priority: str, *conditions: dict) -> Rule:
    return Rule.from_api({"Priority": priority, "Conditions": list(conditions), "Actions": FORWARD})


def host(values=(), regexes=()) -> dict:
    config = {"Values": list(values)} if values else {"RegexValues": list(regexes)}
    return {"Field": "host-header", "HostHeaderConfig": config}


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        (r"^api\.example\.com$", "api.example.com", True),
        (r"^api\.example\.com$", "www.example.com", False),
        (r"^.+\.example\.com$", "api.example.com", True),  # every subdomain: api. too
        (r"^.+\.example\.com$", "example.com", False),
        (r"example\.com$", "www.example.com", None),  # searched: yes; anchored: no
        (r"^API\.example\.com$", "api.example.com", None),  # with case: no; without: yes
        (r"^(?=api)api\.example\.com$", "api.example.com", None),  # a lookahead: ALB has none
        (r"^api\.example\.com(:\d+)?$", "api.example.com", True),
        (r"^api[", "api.example.com", None),  # not a regex at all
    ],
)
def test_a_host_regex_is_judged_only_where_every_reading_agrees(pattern, name, expected):
    assert host_regex_matches(pattern, name) is expected


def test_a_regex_rule_is_read_from_describe_rules():
    described = rule("1", host(regexes=[r"^api\.example\.com$"]))
    assert described.host_regexes == (r"^api\.example\.com$",)
    assert described.as_evidence()["host_header_regex"] == [r"^api\.example\.com$"]
    assert rule_for_host([described], "api.example.com") is described
    assert rule_for_host([described], "www.example.com") is None


def test_a_regex_rule_ahead_shadows_the_api_rule():
    subdomains = rule("1", host(regexes=[r"^.+\.example\.com$"]))
    api = rule("2", host(values=["api.example.com"]))
    assert rule_for_host([api, subdomains], "api.example.com") is subdomains


def test_an_undecidable_regex_ahead_is_could_not_verify_not_a_guess():
    loose = rule("1", host(regexes=[r"example\.com$"]))
    api = rule("2", host(values=["api.example.com"]))
    with pytest.raises(UndecidableHostRule, match="priority 1.*does not document"):
        rule_for_host([loose, api], "www.example.com")
    # For api. the value rule is further down: the regex ahead decides first, and cannot.
    with pytest.raises(UndecidableHostRule):
        rule_for_host([loose, api], "api.example.com")


def test_a_rule_with_another_condition_decides_only_some_requests():
    header_only = rule("1", host(values=["api.example.com"]), {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Canary", "Values": ["1"]}})
    api = rule("2", host(values=["api.example.com"]))
    assert header_only.other_conditions == ("http-header",)
    assert rule_for_host([header_only, api], "api.example.com") is api
