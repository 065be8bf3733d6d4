"""Requirement `routing`: host routing, listeners and target health are as designed.

The write-up deleted the ALB's temporary 3000 and 4567 listeners once 443 took
over, forwards `api.DOMAIN` to the backend target group and everything else to
the frontend's, and relies on healthy targets behind both.
"""

from __future__ import annotations

import json

from fixtures.catalogue.checkmeta import check
from fixtures.model.elbv2 import Listener
from fixtures.rules.routing import rule_for_host

DESIGNED_LISTENER_PORTS = {80, 443}


def _listener(listeners: tuple[Listener, ...], port: int) -> Listener:
    found = next((listener for listener in listeners if listener.port == port), None)
    assert found is not None, f"the ALB has no port-{port} listener (listeners: {[l.port for l in listeners]})"
    return found


def _parses_as_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def _service_target_groups(ecs_services, name: str) -> set[str]:
    return {arn for arn, _container, _port in ecs_services[name].target_groups}


@check(
    id="RTE-01",
    title="Only the 80 and 443 listeners exist",
    requirement="routing",
    plane="control",
    severity="medium",
    remediation="Delete the listeners left from before HTTPS (e.g. 3000, 4567): aws elbv2 delete-listener --listener-arn ARN",
)
def test_only_the_80_and_443_listeners_exist(listeners, evidence):
    evidence.add("listeners", [{"port": l.port, "protocol": l.protocol, "arn": l.arn} for l in listeners])
    ports = {listener.port for listener in listeners}
    extra, missing = sorted(ports - DESIGNED_LISTENER_PORTS), sorted(DESIGNED_LISTENER_PORTS - ports)
    assert not extra and not missing, f"the ALB listens on {sorted(ports)}; extra {extra}, missing {missing}; expected exactly [80, 443]"


@check(
    id="RTE-02",
    title="The 443 listener forwards the api. host to the backend target group",
    requirement="routing",
    plane="control",
    severity="high",
    remediation="Add a 443 rule: host-header api.DOMAIN -> forward to the backend service's target group.",
)
def test_api_host_is_forwarded_to_the_backend(listeners, ecs_services, target, evidence):
    https = _listener(listeners, 443)
    backend_groups = _service_target_groups(ecs_services, target.backend_service)
    evidence.add("443 rules", [rule.as_evidence() for rule in https.rules])
    evidence.add("backend service target groups", sorted(backend_groups))
    for host in target.hosts_of("api"):
        # ALB evaluates rules by priority, lowest first; the first whose host condition matches
        # the host (a wildcard such as *.DOMAIN too) decides for every path.
        rule = rule_for_host(https.rules, host)
        assert rule is not None, f"no 443 rule matches host {host}; api requests fall to the default action"
        forwarded = set(rule.final_action.target_group_arns)
        assert rule.final_action.forwards and forwarded <= backend_groups and forwarded, (
            f"the 443 rule for {host} (priority {rule.priority}) does {rule.final_action.as_evidence()}; "
            f"expected forward to the {target.backend_service} target group {sorted(backend_groups)}"
        )


@check(
    id="RTE-03",
    title="The 443 listener forwards every other host to the frontend target group",
    requirement="routing",
    plane="control",
    severity="high",
    remediation="Set the 443 listener's default action (and any frontend host's rule, e.g. www.) to forward to the frontend service's target group.",
)
def test_other_hosts_are_forwarded_to_the_frontend(listeners, ecs_services, target, evidence):
    https = _listener(listeners, 443)
    frontend_groups = _service_target_groups(ecs_services, target.frontend_service)
    action = https.default_action
    evidence.add("443 default action", action.as_evidence())
    evidence.add("frontend service target groups", sorted(frontend_groups))
    assert action.forwards and action.target_group_arns and set(action.target_group_arns) <= frontend_groups, (
        f"the 443 listener's default action does {action.as_evidence()}; "
        f"expected forward to the {target.frontend_service} target group {sorted(frontend_groups)}"
    )
    for host in target.hosts_of("frontend"):
        # A frontend host with a rule of its own (www., or a wildcard ahead of it) must reach the frontend through it.
        rule = rule_for_host(https.rules, host)
        if rule is not None:
            forwarded = set(rule.final_action.target_group_arns)
            assert rule.final_action.forwards and forwarded and forwarded <= frontend_groups, (
                f"the 443 rule for {host} (priority {rule.priority}) does {rule.final_action.as_evidence()}; "
                f"expected forward to the {target.frontend_service} target group {sorted(frontend_groups)}"
            )


@check(
    id="RTE-04",
    title="Every registered target is healthy",
    requirement="routing",
    plane="control",
    severity="high",
    remediation="Fix the failing health check (path, port, container health) or the task; see the target's reason.",
)
def test_every_registered_target_is_healthy(target_groups, ecs_rollout, evidence):
    # `ecs_rollout` raises "could not verify: rollout in progress" while a rolling update is in flight.
    evidence.add("target groups", [group.as_evidence() for group in target_groups])
    # A target being deregistered is `draining` for the deregistration delay (300 s by
    # default) after ECS replaced its task: it takes no new requests and is not the
    # service's (ELB User Guide, "Target groups for your Application Load Balancers",
    # Deregistration delay). Judged are the targets that serve: a group with only
    # draining targets serves nothing.
    empty = [group.name for group in target_groups if not [h for h in group.health if h.state != "draining"]]
    unhealthy = [
        f"{group.name}: {h.target_id}:{h.port} is {h.state} ({h.reason or 'no reason given'})"
        for group in target_groups
        for h in group.health
        if h.state not in ("healthy", "draining")
    ]
    assert target_groups, "the ALB has no target groups"
    assert not empty, f"target groups with no registered target (draining ones aside): {empty}"
    assert not unhealthy, "; ".join(unhealthy)


@check(
    id="RTE-05",
    title="The API health check answers 200 from the backend on each API host",
    requirement="routing",
    plane="wire",
    severity="high",
    remediation="Check the api. host rule and the backend target group; the health check must reach Flask.",
)
def test_api_health_check_answers_from_the_backend(api_health_exchange, evidence):
    evidence.add("exchange", api_health_exchange.as_evidence())
    response = api_health_exchange.response
    url = api_health_exchange.request.url
    assert response.status == 200, f"{url} answered {response.status} {response.reason}; expected 200"
    content_type = response.header("Content-Type") or ""
    assert content_type.startswith("application/json"), (
        f"{url} answered {content_type or 'no Content-Type'}, not the backend's JSON: "
        "the request did not reach the Flask API"
    )
    assert _parses_as_json(response.body), f"{url} claims JSON but its body does not parse as JSON"


@check(
    id="RTE-06",
    title="Each frontend host (the apex, www. ...) answers the frontend's HTML",
    requirement="routing",
    plane="wire",
    severity="high",
    remediation="Check the 443 default action and the frontend target group.",
)
def test_apex_answers_the_frontend_html(frontend_host_root_exchange, evidence):
    evidence.add("exchange", frontend_host_root_exchange.as_evidence())
    response = frontend_host_root_exchange.response
    url = frontend_host_root_exchange.request.url
    assert response.status == 200, f"{url} answered {response.status} {response.reason}; expected 200"
    content_type = response.header("Content-Type") or ""
    assert content_type.startswith("text/html") and "<html" in response.text.lower(), (
        f"{url} answered {content_type or 'no Content-Type'} without an HTML document; expected the frontend's page"
    )
