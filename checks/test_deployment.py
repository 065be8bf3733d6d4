"""Requirement `deployment`: the services run what was released, configured as released.

The write-up force-deploys after every image push ("the ARN of the latest
task definition and then based on that force a new deployment"), fixed CORS
by setting FRONTEND_URL and BACKEND_URL to the site's https origins in the
backend's task definition, and turned Flask's debug mode off. So: every
service runs its desired count of tasks on the latest ACTIVE revision of its
task definition family; the backend's FRONTEND_URL and BACKEND_URL are the
target's https origins; no environment variable turns Flask debugging on or
holds a literal secret (those belong in Secrets Manager or SSM, as `secrets`),
whether its name says so or only its value does (detect-secrets: key and
token formats, credentials in URLs, high-entropy strings), or only a part of
its value does (a header list, a URL, JSON, a key=value list).
"""

from __future__ import annotations

from fixtures.catalogue.checkmeta import check
from fixtures.model.arn import task_definition_family, task_definition_revision
from fixtures.model.ecs import Container, EcsService, TaskDefinition
from fixtures.probes.errors import ProbeError
from fixtures.rules.rollout import failures as rollout_failures
from fixtures.rules.rollout import primary_running
from fixtures.rules.structured_secrets import structured_secrets
from fixtures.rules.task_environment import DEBUG_VARIABLES, debug_effect, holds_literal_secret, names_a_secret, secret_kinds_by_value


def _containers(task_definitions: dict[str, TaskDefinition]) -> list[tuple[str, Container]]:
    return [(name, c) for name, definition in sorted(task_definitions.items()) for c in definition.containers]


def _app_container(service: EcsService, definition: TaskDefinition) -> Container:
    """The container the service's load balancer sends traffic to (the task's first otherwise)."""
    mapped = {container for _tg, container, _port in service.target_groups}
    return next((c for c in definition.containers if c.name in mapped), definition.containers[0])


@check(
    id="DEP-01",
    title="Each service runs its desired count of tasks",
    requirement="deployment",
    plane="control",
    severity="high",
    remediation="Look at the service's events and stopped tasks (aws ecs describe-services / list-tasks --desired-status STOPPED) for why tasks fail.",
)
def test_each_service_runs_its_desired_count(ecs_services, ecs_rollout, evidence):
    # `ecs_rollout` raises "could not verify: rollout in progress" while a rolling update is in flight.
    evidence.add("rollout wait (--wait-stable)", ecs_rollout.get("--wait-stable"))
    evidence.add(
        "services",
        {
            name: {"status": s.status, "desired": s.desired_count, "running": s.running_count, "rollout": ecs_rollout.get(name),
                   "primary deployment running": primary_running(s)[0]}
            for name, s in sorted(ecs_services.items())
        },
    )
    # Judged on the PRIMARY deployment: the service's runningCount counts an ACTIVE
    # (old) deployment's tasks too (ECS API Reference, Service and Deployment).
    findings = [
        f"{name} runs {running} of {s.desired_count} desired tasks" if s.desired_count else f"{name} is scaled to 0 tasks"
        for name, s in sorted(ecs_services.items())
        if (running := primary_running(s)[0]) != s.desired_count or s.desired_count < 1
    ]
    assert not findings, "; ".join(findings) + "; expected every service to run its desired count (at least one task)"


@check(
    id="DEP-02",
    title="Each service runs the latest ACTIVE revision of its task definition",
    requirement="deployment",
    plane="control",
    severity="high",
    remediation="aws ecs update-service --cluster CLUSTER --service SERVICE --task-definition FAMILY --force-new-deployment",
)
def test_each_service_runs_the_latest_revision(ecs_services, ecs_rollout, ecs_tasks, latest_task_definitions, target, evidence):
    evidence.add(
        "task definitions",
        {
            name: {
                "service": s.task_definition,
                "latest_active": latest_task_definitions.get(name),
                "running_tasks": sorted({t.task_definition for t in ecs_tasks.get(name, ())}),
                "deployments": [d.__dict__ for d in s.deployments],
            }
            for name, s in sorted(ecs_services.items())
        },
    )
    findings = []
    # The family each service must run, where the target pins it ([aws] backend_task_family ...).
    pinned = {target.backend_service: target.pins.backend_task_family, target.frontend_service: target.pins.frontend_task_family}
    for name, service in sorted(ecs_services.items()):
        # A FAILED rollout or a circuit-breaker rollback: the release did not take (rules/rollout.py).
        findings += rollout_failures(service)
        family = task_definition_family(service.task_definition)
        if pinned.get(name) and family != pinned[name]:
            findings.append(f"{name} runs the task definition family {family!r}; the target says {pinned[name]!r}")
            continue
        latest = latest_task_definitions.get(name)
        if latest is None:
            findings.append(f"{name}'s task definition family has no ACTIVE revision")
            continue
        if service.task_definition != latest:
            findings.append(f"{name} is set to {task_definition_revision(service.task_definition)} while the latest ACTIVE revision is {task_definition_revision(latest)}")
        stale = sorted({task_definition_revision(t.task_definition) for t in ecs_tasks.get(name, ()) if t.task_definition != latest})
        if stale:
            findings.append(f"{name} has tasks running {', '.join(stale)}, not {task_definition_revision(latest)}")
    assert not findings, "; ".join(findings) + ": a released image or setting is not what runs"


@check(
    id="DEP-03",
    title="The backend's FRONTEND_URL and BACKEND_URL are the site's https origins",
    requirement="deployment",
    plane="control",
    severity="high",
    remediation="Set FRONTEND_URL=https://DOMAIN and BACKEND_URL=https://api.DOMAIN in the backend's task definition; register and deploy it.",
)
def test_backend_urls_are_the_sites_https_origins(ecs_services, task_definitions, backend_container_values, target, evidence):
    name = target.backend_service
    container = _app_container(ecs_services[name], task_definitions[name])
    values = backend_container_values[container.name]
    expected = {"FRONTEND_URL": f"https://{target.frontend_host}", "BACKEND_URL": f"https://{target.api_host}"}
    # From `environment` or, as many teams keep them, a plain String SSM parameter named in `secrets`.
    observed = {variable: values.value(variable) for variable in expected}
    evidence.add("container", f"{task_definitions[name].arn} / {container.name}")
    evidence.add("expected", expected)
    evidence.add("observed", observed)
    unknown = [why for variable in expected if (why := values.unknown(variable))]
    if unknown:
        evidence.add("not readable", unknown)
        # A value kept where the audit may not read it is not a wrong value: could not verify.
        raise ProbeError(f"the {name} container {container.name}'s variables", "; ".join(unknown))
    # Exact but case-blind, as flask-cors compares origins: a trailing slash or
    # an explicit :443 makes the browser's Origin header not match.
    wrong = [
        f"{variable} is {observed[variable]!r}, expected {value!r}"
        for variable, value in expected.items()
        if (observed[variable] or "").casefold() != value.casefold()
    ]
    assert not wrong, f"the {name} container {container.name}: " + "; ".join(wrong)


@check(
    id="DEP-04",
    title="No environment variable turns Flask debugging on",
    requirement="deployment",
    plane="control",
    severity="high",
    remediation="Remove FLASK_DEBUG / FLASK_ENV=development / WERKZEUG_DEBUG_PIN=off from the task definition; debug belongs to development.",
)
def test_no_variable_turns_flask_debugging_on(task_definitions, evidence):
    containers = _containers(task_definitions)
    evidence.add(
        "debug-related variables",
        {
            f"{name}/{c.name}": {k: v for k, v in c.environment if k.upper() in DEBUG_VARIABLES}
            for name, c in containers
        },
    )
    findings = [
        f"{name}/{c.name} sets {variable}={value!r}, which {why}"
        for name, c in containers
        for variable, value in c.environment
        if (why := debug_effect(variable, value))
    ]
    assert not findings, "; ".join(findings)


@check(
    id="DEP-05",
    title="No environment variable holds a literal secret, by its name or by its value",
    requirement="deployment",
    plane="control",
    severity="high",
    remediation="Move the value to Secrets Manager or SSM Parameter Store and reference it under `secrets` (valueFrom) instead of "
    "`environment`; rotate it, since anyone who could describe the task definition has read it.",
)
def test_no_variable_holds_a_literal_secret(task_definitions, evidence):
    containers = _containers(task_definitions)
    by_value = {f"{name}/{c.name}": dict(secret_kinds_by_value(c.environment)) for name, c in containers}
    # Inside header lists, URLs, JSON and key=value lists, part by part: which part and why, never the value.
    inside = {f"{name}/{c.name}": {variable: found for variable, value in c.environment if (found := structured_secrets(variable, value))}
              for name, c in containers}

    def shown(where: str, variable: str, value: str) -> str:
        # The values themselves never reach the report, only their names, length and kind.
        if names_a_secret(variable) or variable in by_value[where] or variable in inside[where]:
            return f"[withheld, {len(value)} characters]"
        return value

    evidence.add(
        "environment",
        {f"{name}/{c.name}": {k: shown(f"{name}/{c.name}", k, v) for k, v in c.environment} for name, c in containers},
    )
    evidence.add("from secrets (valueFrom)", {f"{name}/{c.name}": list(c.secrets) for name, c in containers})
    evidence.add("found by value (detect-secrets)", {where: found for where, found in by_value.items() if found})
    evidence.add("found inside structured values", {where: [f.as_evidence() for found in by_variable.values() for f in found]
                                                    for where, by_variable in inside.items() if by_variable})
    # Lengths only: a secret's value is never kept where a traceback (--showlocals) could print it.
    by_name = {(f"{name}/{c.name}", variable): len(value) for name, c in containers for variable, value in c.environment
               if holds_literal_secret(variable, value)}
    findings = [f"{where} sets {variable} to a plain value ({length} characters)" for (where, variable), length in by_name.items()]
    findings += [
        f"{where} sets {variable} to a value detect-secrets recognises as {', '.join(kinds)}"
        for where, found in by_value.items()
        for variable, kinds in found.items()
        if (where, variable) not in by_name
    ]
    findings += [
        # Worded so that no "secret:" precedes the sentence's tail (redaction reads "NAME: value" as a pair).
        f"{where} sets {variable} to a value whose {', '.join(f'{f.part} looks like a credential ({f.why})' for f in found)}"
        for where, by_variable in inside.items()
        for variable, found in by_variable.items()
        if (where, variable) not in by_name and variable not in by_value[where]
    ]
    assert not findings, "; ".join(findings) + ": credentials in a task definition are readable by anyone who can describe it"
