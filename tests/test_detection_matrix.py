"""The detection matrix: the compliant deployment passes every check; each fault fails
exactly the checks it declares (all of its own requirement) and nothing else fails;
only the checks it declares unverifiable end as errors. A check that no fault fails is reported as not done.
Every trap (a compliant variant a careless check would fail) passes every check.

Each case starts the reference deployment in this process, writes its target
file and audits it with `pytest checks --target FILE` in a child process, exactly
as an operator audits a real deployment.
"""

from __future__ import annotations

import pytest

from fixtures.catalogue.readme import declared_checks
from fixtures.gate.exit_codes import ExitCode
from fixtures.sandbox.faults import FAULTS
from fixtures.sandbox.spec import DeploymentSpec, compliant_spec
from tests.chain_truth import assert_chains_follow_the_control_plane, audit_with_routing


def declared_check_ids() -> set[str]:
    return {meta.id for meta in declared_checks()}


def test_the_compliant_deployment_passes_every_check(tmp_path):
    run, routing = audit_with_routing(tmp_path)
    not_passed = {nodeid: outcome for nodeid, outcome in run.outcomes().items() if outcome != "passed"}
    assert not not_passed, f"{not_passed}\n{run.output[-3000:]}"
    assert run.exit_code == 0, run.output[-3000:]
    assert {check["id"] for check in run.checks} == declared_check_ids()
    assert_chains_follow_the_control_plane(run, routing)


FAULT_NAMES = sorted(name for name, fault in FAULTS.items() if not fault.trap)
TRAP_NAMES = sorted(name for name, fault in FAULTS.items() if fault.trap)


def spec_with_traps(names) -> DeploymentSpec:
    spec = compliant_spec()
    for name in names:
        spec = FAULTS[name].apply(spec)
    return spec


def test_every_trap_at_once_passes_every_check(tmp_path):
    # The traps change disjoint parts of the deployment (the next test holds them to
    # that), so one deployment carrying all of them audits each: one sandbox instead of
    # one per trap keeps the matrix's run time (`--sandbox-fault TRAP` audits one alone).
    run, routing = audit_with_routing(tmp_path, spec=spec_with_traps(TRAP_NAMES))
    not_passed = {nodeid: outcome for nodeid, outcome in run.outcomes().items() if outcome != "passed"}
    assert not not_passed, f"under the traps {TRAP_NAMES}: {not_passed}\n{run.output[-3000:]}"
    assert run.exit_code == 0, run.output[-3000:]
    assert {check["id"] for check in run.checks} == declared_check_ids()
    # The report's chain of each host names what the control plane routes it to (a trap's rules too).
    assert_chains_follow_the_control_plane(run, routing)


def test_each_trap_changes_the_deployment_and_no_trap_undoes_another():
    compliant = compliant_spec()
    for name in TRAP_NAMES:
        assert FAULTS[name].apply(compliant) != compliant, f"the trap {name} changes nothing"
    # Order-independent composition: no two traps set the same part of the spec differently.
    assert spec_with_traps(TRAP_NAMES) == spec_with_traps(reversed(TRAP_NAMES))
    for name in TRAP_NAMES:
        others = [other for other in TRAP_NAMES if other != name]
        assert spec_with_traps(others) != spec_with_traps(TRAP_NAMES), f"the other traps mask {name}"


def test_the_catalogue_has_traps_and_every_new_entry_names_its_source():
    assert len(TRAP_NAMES) >= 5
    assert all(FAULTS[name].source for name in TRAP_NAMES)


@pytest.mark.parametrize("fault", FAULT_NAMES)
def test_each_fault_fails_exactly_its_declared_checks(tmp_path, fault):
    expected = FAULTS[fault]
    run, routing = audit_with_routing(tmp_path, fault=fault)
    assert run.ids_with("error") == set(expected.unverifiable), f"errors under {fault}:\n{run.why('error')[:6000]}"
    own = {check["id"] for check in run.checks if check["requirement"] == expected.requirement and check["outcome"] == "failed"}
    assert own == set(expected.detected_by), run.output[-3000:]
    assert run.ids_with("failed") == set(expected.detected_by) | set(expected.also_fails), run.output[-3000:]
    # Findings make the run non-compliant (1); a fault that only leaves checks unverifiable, incomplete (7).
    assert run.exit_code == (pytest.ExitCode.TESTS_FAILED if expected.detected_by else ExitCode.INCOMPLETE), run.output[-3000:]
    # The report's chain of each host names what the control plane routes it to, the fault's routing too.
    assert_chains_follow_the_control_plane(run, routing)


def test_every_check_is_failed_by_at_least_one_fault():
    detected = {check_id for fault in FAULTS.values() for check_id in fault.detected_by}
    undetected = declared_check_ids() - detected
    assert not undetected, f"no fault in the catalogue fails these checks: {sorted(undetected)}"


def test_every_declared_check_exists_and_belongs_to_the_faults_requirement():
    declared = declared_check_ids()
    prefixes = {"https-redirect": "RDR", "routing": "RTE"}
    for fault in FAULTS.values():
        assert set(fault.detected_by) <= declared, fault.name
        if fault.requirement in prefixes:
            assert all(i.startswith(prefixes[fault.requirement]) for i in fault.detected_by), fault.name


# The matrix over both protocols of the HTTPS listener (routing.http2.enabled): the cases
# above run the compliant deployment and each fault over HTTP/2 (the default) and every
# trap at once over HTTP/1.1 (trap-alb-http2-disabled is among them). These run the
# compliant deployment and CORS faults, whose survey is the batch the protocol carries,
# over HTTP/1.1, and the other traps over HTTP/2.
# The protocol changes how the survey's answers travel, not what they say (tests/test_http2.py
# compares the whole survey's evidence over both): over HTTP/1.1 runs one CORS fault for each
# way an answer carries a finding: every answer class (configured paths, 404, 405, 4xx, 5xx,
# preflights), each header the checks read (Allow-Origin as *, as the origin, as `null`;
# -Credentials; Vary), an origin derived from an allowed one, the ALB's own headers and the
# positive control. The other CORS faults differ from these only in the application's code.
HTTP11_CORS_FAULTS = (
    "alb-cors-header-wildcard", "cors-405-wildcard", "cors-after-request-404-wildcard", "cors-credentials-reflect",
    "cors-error-reflect-credentials", "cors-errorhandler-wildcard", "cors-no-vary", "cors-null", "cors-own-origin-refused",
    "cors-regex-second-dot-unescaped", "cors-template-bare-cross-origin", "cors-wildcard",
)  # fmt: skip
CORS_FAULT_NAMES = sorted(name for name in FAULT_NAMES if FAULTS[name].requirement == "cors")
HTTP11_ONLY = "trap-alb-http2-disabled"


def test_the_http11_cors_faults_are_cors_faults():
    assert set(HTTP11_CORS_FAULTS) <= set(CORS_FAULT_NAMES)


def test_the_compliant_deployment_passes_every_check_over_http11(sandbox_audit):
    run = sandbox_audit(spec=FAULTS[HTTP11_ONLY].apply(compliant_spec()))
    not_passed = {nodeid: outcome for nodeid, outcome in run.outcomes().items() if outcome != "passed"}
    assert not not_passed and run.exit_code == 0, f"{not_passed}\n{run.output[-3000:]}"
    assert run.report["stats"]["wire"]["http_protocol_by_host"] and set(run.report["stats"]["wire"]["http_protocol_by_host"].values()) == {"HTTP/1.1"}


def test_every_other_trap_at_once_passes_every_check_over_http2(sandbox_audit):
    run = sandbox_audit(spec=spec_with_traps([name for name in TRAP_NAMES if name != HTTP11_ONLY]))
    not_passed = {nodeid: outcome for nodeid, outcome in run.outcomes().items() if outcome != "passed"}
    assert not not_passed and run.exit_code == 0, f"{not_passed}\n{run.output[-3000:]}"
    assert "HTTP/2" in " ".join(run.report["stats"]["wire"]["http_protocol_by_host"].values())


@pytest.mark.parametrize("fault", HTTP11_CORS_FAULTS)
def test_each_cors_fault_fails_exactly_its_declared_checks_over_http11(sandbox_audit, fault):
    expected = FAULTS[fault]
    run = sandbox_audit(spec=FAULTS[HTTP11_ONLY].apply(compliant_spec()), fault=fault)
    assert run.ids_with("error") == set(expected.unverifiable), f"errors under {fault}:\n{run.why('error')[:6000]}"
    assert run.ids_with("failed") == set(expected.detected_by) | set(expected.also_fails), run.output[-3000:]
