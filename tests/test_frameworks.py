"""The framework mapping (fixtures/rules/frameworks.toml): only real checks, only declared frameworks."""

from __future__ import annotations

import pytest

from fixtures.catalogue.readme import declared_checks
from fixtures.catalogue.frameworks import FSBP, FrameworkRulesError, framework_rules, parse_rules


def all_checks():
    return {meta.id: meta for meta in declared_checks(include_opt_in=True)}


def test_every_mapped_check_exists_and_every_control_is_named():
    rules = framework_rules()
    checks = all_checks()
    assert set(rules.by_check) <= set(checks), set(rules.by_check) - set(checks)
    declared_controls = {control for meta in checks.values() for control in meta.controls}
    assert set(rules.via_security_hub) <= declared_controls
    for frameworks in [*rules.by_check.values(), *rules.via_security_hub.values()]:
        assert frameworks and all(controls for controls in frameworks.values())


def test_a_check_carries_its_controls_by_framework():
    checks = all_checks()
    redirect = checks["RDR-01"].frameworks
    assert redirect[FSBP] == ["ELB.1"]
    assert "SC-8" in redirect["nist-800-53-r5"] and redirect["owasp-asvs-4"] == ["V9.1.1"]
    assert checks["COR-02"].frameworks == {"owasp-asvs-4": ["V14.5.3"]}
    assert checks["DNS-01"].frameworks == {}
    # FSBP comes from the check's own `controls`, in every case.
    for meta in checks.values():
        assert meta.frameworks.get(FSBP, []) == list(meta.controls)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"frameworks": {}}, "aws-fsbp"),
        ({"frameworks": {"aws-fsbp": {"title": "t", "source": "http://x"}}}, "https"),
        ({"frameworks": {"aws-fsbp": {"title": "t", "source": "https://x"}}, "checks": {"RDR-1": {}}}, "check ID"),
        (
            {"frameworks": {"aws-fsbp": {"title": "t", "source": "https://x"}}, "checks": {"RDR-01": {"nist": ["AC-1"]}}},
            "unknown framework",
        ),
        (
            {"frameworks": {"aws-fsbp": {"title": "t", "source": "https://x"}}, "checks": {"RDR-01": {"aws-fsbp": ["ELB.1"]}}},
            "comes from the check",
        ),
        (
            {"frameworks": {"aws-fsbp": {"title": "t", "source": "https://x"}}, "security_hub_related": {"ELB.1": {}}},
            "source URL",
        ),
        ({"frameworks": {"aws-fsbp": {"title": "t", "source": "https://x"}}, "extra": {}}, "unknown top-level"),
    ],
)
def test_a_malformed_mapping_is_refused(data, problem):
    with pytest.raises(FrameworkRulesError, match=problem):
        parse_rules(data)
