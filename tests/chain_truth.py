"""What the control plane routes each public host to, read from moto, against the report's chain.

The detection matrix already audits every fault and trap of the reference
deployment; while its sandbox still runs, `audit_with_routing` asks the sandbox's
moto server (boto3, as an operator would ask AWS) which listener, rule, target
group, service and tasks serve each public host. `assert_chains_follow_the_control_plane`
then holds the chain picture the report drew from the same audit's evidence
(fixtures.report.chain) to exactly that. No extra audit per fault: the matrix
pays for them already, and a unit path spec -> chain would not see what the
report really drew.

The rule is matched here independently of fixtures.rules.routing (fnmatch,
lowercased, lowest priority first; AWS ELB docs, "Listener rules" and "Host
conditions"), so a wrong matcher shared by the checks and the chain shows up.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

from fixtures.report.chain import build_chains
from fixtures.sandbox.control_plane import sandbox_client
from tests.audit_runner import AuditRun
from tests.sandbox_audit import DEFAULT_TIMEOUT, running_sandbox


def _forwarded(actions: list[dict]) -> list[str]:
    final = sorted(actions, key=lambda a: a.get("Order", 0))[-1]
    if final.get("Type") != "forward":
        return []
    groups = [final["TargetGroupArn"]] if final.get("TargetGroupArn") else []
    return groups + [g["TargetGroupArn"] for g in final.get("ForwardConfig", {}).get("TargetGroups", [])
                     if g["TargetGroupArn"] not in groups]


def _matches(rule: dict, host: str) -> bool:
    hosts, paths = [], []
    for condition in rule.get("Conditions", []):
        values = condition.get("Values") or []
        if condition.get("Field") == "host-header":
            hosts += condition.get("HostHeaderConfig", {}).get("Values", []) or values
        if condition.get("Field") == "path-pattern":
            paths += condition.get("PathPatternConfig", {}).get("Values", []) or values
    return not paths and any(fnmatch.fnmatchcase(host.lower(), pattern.lower()) for pattern in hosts)


def routing_in_moto(sandbox) -> dict[str, dict[str, Any]]:
    """host -> {listener, rule, target_groups, services, tasks} as the control plane routes it."""
    spec = sandbox.spec
    elbv2 = sandbox_client("elbv2", sandbox.endpoint_url, spec.region)
    ecs = sandbox_client("ecs", sandbox.endpoint_url, spec.region)
    listeners = elbv2.describe_listeners(LoadBalancerArn=sandbox.control.alb_arn)["Listeners"]
    https = next(listener for listener in listeners if listener["Port"] == 443)
    rules = elbv2.describe_rules(ListenerArn=https["ListenerArn"])["Rules"]
    numbered = sorted((r for r in rules if not r.get("IsDefault") and r["Priority"] != "default"), key=lambda r: int(r["Priority"]))
    names = [service.name for service in spec.services]
    described = ecs.describe_services(cluster=spec.cluster, services=names)["services"]
    service_groups = {s["serviceName"]: {lb["targetGroupArn"] for lb in s.get("loadBalancers", [])} for s in described}
    routing = {}
    for host in spec.public_hosts:
        rule = next((r for r in numbered if _matches(r, host)), None)
        groups = _forwarded(rule["Actions"] if rule else https["DefaultActions"])
        group_names = [elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0]["TargetGroupName"] for arn in groups]
        tasks = [f"{t['Target']['Id']}:{t['Target'].get('Port')}" for arn in groups
                 for t in elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]]
        routing[host] = {
            "listener": f"{https['Protocol']} 443",
            "rule": f"priority {rule['Priority']}" if rule else "default",
            "target_groups": group_names,
            "services": [name for name in names if service_groups.get(name, set()) & set(groups)],
            "tasks": tasks,
        }
    return routing


def audit_with_routing(directory: Path, *options: str, spec: Any = None, fault: str | None = None,
                       timeout: float = DEFAULT_TIMEOUT) -> tuple[AuditRun, dict[str, dict[str, Any]]]:
    """Audit the reference deployment, and read its routing from moto before it stops."""
    with running_sandbox(directory, spec, fault=fault) as running:
        run = running.audit(timeout=timeout, *options)
        return run, routing_in_moto(running.sandbox)


def _recorded(run: AuditRun, check_id: str, label: str) -> bool:
    return any(entry.get("label") == label for record in run.checks if record["id"] == check_id
               for entry in record.get("evidence") or [])


def assert_chains_follow_the_control_plane(run: AuditRun, routing: dict[str, dict[str, Any]]) -> None:
    """Each host's chain names exactly what the control plane routes it to; a hop whose evidence
    the audit could not gather is drawn as not observed, never guessed."""
    chains = {chain["host"]: chain["routing"] for chain in build_chains(run.report)}
    assert set(chains) == set(routing), (sorted(chains), sorted(routing))
    routes_seen = _recorded(run, "RTE-02", "443 rules") and _recorded(run, "RTE-03", "443 default action")
    tasks_seen = _recorded(run, "RTE-04", "target groups")
    for host, expected in routing.items():
        drawn = dict(chains[host])
        if not routes_seen:
            assert drawn["rule"] is None and not drawn["target_groups"] and not drawn["services"], (host, drawn)
            continue
        if not tasks_seen:
            assert drawn["tasks"] == [], (host, drawn)
            drawn["tasks"] = expected["tasks"]
        assert drawn == expected, f"the chain of {host} draws {drawn}; the control plane routes it to {expected}"
