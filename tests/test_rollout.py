"""A deployment in flight (issue 19, case 2): judged on the PRIMARY deployment, waited for with --wait-stable.

The detection matrix runs the faults (rollout-in-flight: could not verify; rollout-failed,
rollout-rolled-back: findings); here, the rules on ECS's own answers, botocore's waiter
model, and a rollout that completes within --wait-stable's window passing.
"""

from __future__ import annotations

from fixtures.probes.ecs_wait import services_stable_waiter
from fixtures.model.ecs import EcsService
from fixtures.rules.rollout import failures, in_flight, primary_running
from fixtures.sandbox.spec import BACKEND_SERVICE, compliant_spec

TD = "arn:aws:ecs:us-east-1:123456789012:task-definition/backend-flask:"


def _service(*deployments: dict, running: int = 1) -> EcsService:
    return EcsService.from_api(
        {"serviceName": "backend-flask", "serviceArn": "arn", "taskDefinition": deployments[0]["taskDefinition"],
         "desiredCount": 1, "runningCount": running, "deployments": list(deployments)}
    )


def _deployment(status: str, revision: int, state: str | None, running: int = 1, reason: str = "") -> dict:
    found = {"id": f"ecs-svc/{revision}", "status": status, "taskDefinition": f"{TD}{revision}", "desiredCount": 1, "runningCount": running,
             "rolloutStateReason": reason}
    if state is not None:
        found["rolloutState"] = state
    return found


def test_a_rolling_update_is_in_flight_and_judged_on_its_primary_deployment():
    service = _service(_deployment("PRIMARY", 2, "IN_PROGRESS"), _deployment("ACTIVE", 1, "COMPLETED"), running=2)
    assert "IN_PROGRESS" in in_flight(service)
    assert primary_running(service) == (1, 1)  # not the service's runningCount of 2
    assert failures(service) == []


def test_a_completed_rollout_is_settled():
    service = _service(_deployment("PRIMARY", 2, "COMPLETED"))
    assert in_flight(service) is None and failures(service) == []


def test_without_rollout_state_the_waiters_test_decides():
    # CODE_DEPLOY / EXTERNAL controllers report no rolloutState: two deployments are a rollout in flight.
    assert in_flight(_service(_deployment("PRIMARY", 2, None), _deployment("ACTIVE", 1, None), running=2))
    assert in_flight(_service(_deployment("PRIMARY", 2, None))) is None


def test_a_failed_rollout_and_a_rollback_are_findings_not_in_flight():
    failed = _service(_deployment("PRIMARY", 2, "FAILED", 0, "ECS deployment circuit breaker: task failed to start."),
                      _deployment("ACTIVE", 1, "COMPLETED"))
    assert in_flight(failed) is None and "FAILED" in failures(failed)[0] and primary_running(failed) == (0, 1)
    rollback = _service(
        _deployment("PRIMARY", 1, "IN_PROGRESS", 1, "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1."),
        _deployment("ACTIVE", 2, "FAILED", 0, "ECS deployment circuit breaker: task failed to start."),
    )
    assert in_flight(rollback) is None
    assert any("rolled back to backend-flask:1" in finding for finding in failures(rollback))


def test_the_wait_uses_botocores_own_services_stable_waiter():
    waiter = services_stable_waiter()
    assert waiter.operation == "DescribeServices" and waiter.delay > 0
    success = [a for a in waiter.acceptors if a.state == "success"]
    stable = {"services": [{"status": "ACTIVE", "deployments": [{}], "runningCount": 1, "desiredCount": 1}], "failures": []}
    rolling = {"services": [{"status": "ACTIVE", "deployments": [{}, {}], "runningCount": 2, "desiredCount": 1}], "failures": []}
    assert any(a.matcher_func(stable) for a in success) and not any(a.matcher_func(rolling) for a in success)


def test_wait_stable_waits_for_a_rollout_that_completes_within_the_window(sandbox_audit):
    # The sandbox completes the backend's rollout 45 s after it starts: the audit's first poll
    # finds it in flight, a later one (botocore's 15 s delay) stable, and every check passes.
    spec = compliant_spec().with_service(BACKEND_SERVICE, revisions=2, rollout="in-flight", rollout_completes_after=45)
    run = sandbox_audit("-m", "deployment or routing", "--wait-stable", "150", spec=spec, timeout=300)
    not_passed = {c["id"]: c.get("message") for c in run.checks if c["outcome"] != "passed"}
    assert not not_passed, run.output[-3000:]
    assert run.exit_code == 0
    dep01 = next(c for c in run.checks if c["id"] == "DEP-01")
    waited = str(next(item["value"] for item in dep01["evidence"] if item["label"] == "rollout wait (--wait-stable)"))
    assert waited.startswith("stable after") and not waited.startswith("stable after 1 poll"), waited


def test_a_rollout_still_in_flight_at_the_end_of_the_wait_is_could_not_verify(sandbox_audit):
    spec = compliant_spec().with_service(BACKEND_SERVICE, revisions=2, rollout="in-flight")
    run = sandbox_audit("-m", "deployment or routing", "--wait-stable", "1", spec=spec)
    assert run.ids_with("error") == {"DEP-01", "DEP-02", "RTE-04"}, run.why("error")
    assert not run.ids_with("failed")
    assert "rollout in progress" in run.why("error") and "not stable after" in run.why("error")
    assert run.exit_code == 7
