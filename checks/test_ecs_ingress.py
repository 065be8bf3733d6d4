"""Requirement `ecs-ingress`: only the ALB reaches the ECS services.

The write-up created the ALB with a security group open to all traffic, then
narrowed the services' group so it "wouldn't anymore allow incoming traffic
from anywhere else than the load balancer". On the control plane: every
ingress permission of every security group of every service (from its awsvpc
configuration) has the ALB's groups as its only sources, on the services'
container ports only; the ALB's own group admits the internet on 80 and 443
only; tasks have no public IP. On the wire: where a task has a public
address anyway, its container port does not answer.

A security group the two services share (as the write-up's `crud-srv-sg`) may
admit the ALB on each of their container ports, and may admit itself (its
members are the services' own tasks) unless it is the VPC's default group.
"""

from __future__ import annotations

from fixtures.catalogue.checkmeta import check
from fixtures.model.ec2 import SecurityGroup
from fixtures.model.ecs import EcsService
from fixtures.model.elbv2 import LoadBalancer
from fixtures.rules.ingress import admissible_groups, admits_a_group_of, is_private_range, other_source_groups

INTERNET_PORTS = {80, 443}


def _service_groups(
    ecs_services: dict[str, EcsService], security_groups: dict[str, SecurityGroup]
) -> list[tuple[SecurityGroup, list[str], set[int]]]:
    """Each group of the services' awsvpc configurations: (group, the services using it, their container ports)."""
    users: dict[str, list[str]] = {}
    ports: dict[str, set[int]] = {}
    for name, service in sorted(ecs_services.items()):
        for group in service.security_groups:
            users.setdefault(group, []).append(name)
            ports.setdefault(group, set()).update(port for _tg, _container, port in service.target_groups if port)
    return [(security_groups[group], users[group], ports[group]) for group in sorted(users)]


def _rule_table(ecs_services, security_groups, load_balancer: LoadBalancer) -> list[dict]:
    """The ingress rules as read, one row per permission: the evidence of every ingress check."""
    rows = []
    for group, services, _ports in _service_groups(ecs_services, security_groups):
        rows += [{"group": f"{group.id} ({group.name})", "used_by": services, **p.as_evidence()} for p in group.ingress]
    for group_id in load_balancer.security_groups:
        group = security_groups[group_id]
        rows += [{"group": f"{group.id} ({group.name})", "used_by": ["the ALB"], **p.as_evidence()} for p in group.ingress]
    return rows


def _service_findings(ecs_services, security_groups, describe) -> list[str]:
    findings = []
    for group, services, _ports in _service_groups(ecs_services, security_groups):
        for permission in group.ingress:
            for found in describe(permission):
                findings.append(f"{group.id} ({group.name}, used by {', '.join(services)}) admits {found} on {permission.ports}")
    return findings


@check(
    id="ING-01",
    title="The services' security groups admit no public address range",
    requirement="ecs-ingress",
    plane="control",
    severity="high",
    controls=("EC2.18",),
    remediation="Remove every IPv4/IPv6 range rule from the services' security group; admit only the ALB's security group.",
)
def test_services_admit_no_public_address_range(ecs_services, security_groups, load_balancer, evidence):
    evidence.add("ingress rules", _rule_table(ecs_services, security_groups, load_balancer))
    findings = _service_findings(
        ecs_services,
        security_groups,
        lambda p: [f"the range {cidr}" for cidr in (*p.ipv4_ranges, *p.ipv6_ranges) if not is_private_range(cidr)],
    )
    assert not findings, "; ".join(findings) + ": expected the ALB's security group as the only source"


@check(
    id="ING-02",
    title="The services' security groups admit no private range or prefix list",
    requirement="ecs-ingress",
    plane="control",
    severity="medium",
    remediation="Replace CIDR and prefix-list rules (the VPC's range too) with the ALB's security group as the source.",
)
def test_services_admit_no_private_range_or_prefix_list(ecs_services, security_groups, load_balancer, evidence):
    evidence.add("ingress rules", _rule_table(ecs_services, security_groups, load_balancer))
    findings = _service_findings(
        ecs_services,
        security_groups,
        lambda p: [f"the private range {cidr}" for cidr in (*p.ipv4_ranges, *p.ipv6_ranges) if is_private_range(cidr)]
        + [f"the prefix list {prefix_list}" for prefix_list in p.prefix_lists],
    )
    assert not findings, "; ".join(findings) + ": anything in that range bypasses the ALB; expected the ALB's security group only"


@check(
    id="ING-03",
    title="The services' security groups admit no security group but the ALB's",
    requirement="ecs-ingress",
    plane="control",
    severity="medium",
    remediation="Remove rules whose source is another security group; the ALB's group is the only source the services need.",
)
def test_services_admit_no_other_security_group(ecs_services, security_groups, load_balancer, evidence):
    evidence.add("ALB security groups", list(load_balancer.security_groups))
    evidence.add("ingress rules", _rule_table(ecs_services, security_groups, load_balancer))
    # A dedicated group may name itself: its members are the services' tasks talking to each other
    # (Service Connect, a sidecar service), not another way in (rules/ingress.admissible_groups).
    findings = [
        f"{group.id} ({group.name}, used by {', '.join(services)}) admits the security group {other} on {permission.ports}"
        for group, services, _ports in _service_groups(ecs_services, security_groups)
        for permission in group.ingress
        for other in other_source_groups(permission, admissible_groups(load_balancer.security_groups, group.id, group.name))
    ]
    assert not findings, "; ".join(findings) + f": expected only the ALB's {', '.join(load_balancer.security_groups)} (or the group itself)"


@check(
    id="ING-04",
    title="The ALB is admitted only on the services' container ports",
    requirement="ecs-ingress",
    plane="control",
    severity="low",
    remediation="Narrow the rule from the ALB's security group to TCP on the container port (4567 backend, 3000 frontend).",
)
def test_alb_is_admitted_only_on_container_ports(ecs_services, security_groups, load_balancer, evidence):
    groups = _service_groups(ecs_services, security_groups)
    evidence.add("container ports by security group", {g.id: sorted(ports) for g, _services, ports in groups})
    evidence.add("ingress rules", _rule_table(ecs_services, security_groups, load_balancer))
    findings = [
        f"{group.id} ({group.name}) admits the ALB on {permission.ports}; its services listen on tcp {sorted(ports)}"
        for group, _services, ports in groups
        for permission in group.ingress
        if admits_a_group_of(permission, load_balancer.security_groups) and not permission.admits_only("tcp", ports)
    ]
    assert not findings, "; ".join(findings)


@check(
    id="ING-05",
    title="The ALB's security group admits the internet only on 80 and 443",
    requirement="ecs-ingress",
    plane="control",
    severity="medium",
    controls=("EC2.18",),
    remediation="Replace the ALB group's all-traffic rule with TCP 80 and TCP 443 from 0.0.0.0/0 (and ::/0 if dualstack).",
)
def test_alb_admits_the_internet_only_on_80_and_443(security_groups, load_balancer, target, evidence):
    alb_groups = [security_groups[g] for g in load_balancer.security_groups]
    evidence.add("ALB security groups", [g.as_evidence() for g in alb_groups])
    assert alb_groups, f"the ALB {load_balancer.name} has no security group"
    pinned = target.pins.alb_security_groups
    if pinned:
        # The groups are the ALB's ingress: one attached besides the intended (the console
        # preselects the VPC's default group) widens it without a rule of its own showing it.
        evidence.add("security groups the target names", list(pinned))
        extra, missing = sorted(set(load_balancer.security_groups) - set(pinned)), sorted(set(pinned) - set(load_balancer.security_groups))
        assert not extra and not missing, (
            f"the ALB {load_balancer.name} has security groups {list(load_balancer.security_groups)}; "
            f"the target names {list(pinned)} (extra {extra}, missing {missing})"
        )
    findings = [
        f"{group.id} ({group.name}) admits {', '.join((*p.ipv4_ranges, *p.ipv6_ranges, *p.prefix_lists))} on {p.ports}"
        for group in alb_groups
        for p in group.ingress
        if (p.ipv4_ranges or p.ipv6_ranges or p.prefix_lists) and not p.admits_only("tcp", INTERNET_PORTS)
    ]
    assert not findings, "; ".join(findings) + ": expected TCP 80 and 443 only"


@check(
    id="ING-06",
    title="No task has a public IP address",
    requirement="ecs-ingress",
    plane="control",
    severity="low",
    controls=("ECS.2",),
    remediation="Set assignPublicIp to DISABLED in the service's awsvpc configuration and force a new deployment.",
)
def test_no_task_has_a_public_ip(ecs_services, ecs_tasks, task_public_addresses, evidence):
    evidence.add("assignPublicIp", {name: s.assign_public_ip for name, s in sorted(ecs_services.items())})
    evidence.add("task public addresses", {t.arn: list(task_public_addresses.get(t.arn, ())) for ts in ecs_tasks.values() for t in ts})
    findings = [f"service {name} assigns its tasks public IPs" for name, s in sorted(ecs_services.items()) if s.assign_public_ip]
    findings += [
        f"task {task.id} of {name} has the public address {', '.join(task_public_addresses[task.arn])}"
        for name, tasks in sorted(ecs_tasks.items())
        for task in tasks
        if task_public_addresses.get(task.arn)
    ]
    assert not findings, "; ".join(findings) + "; expected private addresses only (the ALB reaches tasks privately)"


@check(
    id="ING-07",
    title="No task answers on its container port at a public address",
    requirement="ecs-ingress",
    # Across: the control plane says which tasks have which public addresses
    # and container ports; the wire says whether anything answers there.
    plane="across",
    severity="high",
    remediation="Remove the public IP and every non-ALB ingress rule; the container must be reachable only through the ALB.",
)
def test_no_task_answers_at_a_public_address(direct_task_connections, evidence):
    evidence.add("addresses tried", [c.as_evidence() for c in direct_task_connections] or "no running task has a public address")
    answered = [c for c in direct_task_connections if c.attempt.answered]
    assert not answered, "; ".join(
        f"task {c.task.rsplit('/', 1)[-1]} of {c.service} answered a TCP connection on {c.attempt.address}:{c.attempt.port}"
        for c in answered
    ) + ": the container is reachable without the ALB; expected the connection refused or dropped"
