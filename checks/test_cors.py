"""Requirement `cors`: the API admits the site's own origins and refuses every other.

The write-up "configured CORS to only permit traffic from our domain": flask-cors
with the origins FRONTEND_URL and BACKEND_URL from the task definition. On the
wire, every API path is asked by each allowed origin (the positive control:
a site that refuses its own origin shows no restriction at all) and by a
battery of hostile look-alikes derived from the allowed origins character by
character, with a preflight and the request itself each; the hostile origins
also ask the API's error answers (a path it does not have, a method a path
does not serve, the error probe's 4xx and 5xx), where a handler that adds
CORS headers of its own opens the API just as much (issue 22).

Severity follows impact: a foreign origin that may read answers (COR-02) is
medium, since without credentials it reads only what any client could fetch
from an unauthenticated API; a foreign origin admitted with credentials
(COR-03) is critical, since a visiting user's cookies ride along and the
attacker's page reads that user's data. On
the control plane, the ALB's listeners must not add CORS headers of their own,
which would answer every origin alike whatever the application decided.

On the control plane the origins the backend is given (FRONTEND_URL and
BACKEND_URL in its task definition) must be https origins of the domain, never
`*` (COR-06); requirement `deployment` (DEP-03) holds them to the exact origins.
Every variable named for origins (FRONTEND_URL, CORS_ORIGINS, EXTRA_CORS_ORIGINS
...) holds only allowed origins (COR-07): a development or preview origin left
in the task definition is admitted by the code that reads it.
"""

from __future__ import annotations

import pytest

from fixtures.catalogue.checkmeta import check
from fixtures.facts.cors import CorsSurvey
from fixtures.facts.cors_rows import hostile_rows
from fixtures.probes.errors import ProbeError
from fixtures.rules.origins import Origin
from fixtures.rules.task_environment import names_origins, origin_findings

# Listener attributes whose headers make the ALB decide CORS for the application.
ALB_ALLOW_ORIGIN = "access_control_allow_origin"
ALB_ALLOW_CREDENTIALS = "access_control_allow_credentials"
MAX_LISTED_FINDINGS = 6
MAX_EXAMPLES = 3  # a survey's finding: its counts, a few examples, and the table in the evidence


def _paths_reached(survey: CorsSurvey, evidence) -> None:
    """Leave out the paths that did not reach the API; skip when none did."""
    if not survey.paths:
        pytest.skip("the target names no API path ([api] paths is empty)")
    if survey.not_the_api:
        evidence.add("paths left out (not the API)", survey.not_the_api)
    if set(survey.not_the_api) >= set(survey.paths):
        pytest.skip(
            "no API path answered as the API, so there is no CORS policy to judge: "
            + "; ".join(survey.not_the_api.values())
            + " (routing's checks judge where the api. host goes)"
        )


def _listed(findings: list[str]) -> str:
    shown = "; ".join(findings[:MAX_LISTED_FINDINGS])
    more = len(findings) - MAX_LISTED_FINDINGS
    return shown + (f"; and {more} more (see the evidence)" if more > 0 else "")


@check(
    id="COR-01",
    title="The site's own origins are admitted (positive control)",
    requirement="cors",
    plane="wire",
    severity="medium",
    remediation="Give flask-cors the exact https origins of the site (FRONTEND_URL, BACKEND_URL) on the /api/* resources, "
    "with the methods and headers the frontend sends.",
)
def test_the_sites_own_origins_are_admitted(cors_survey, evidence):
    if not cors_survey.allowed_origins:
        pytest.skip("the target allows no origin ([api] cors_allowed_origins is empty): there is nothing to admit")
    _paths_reached(cors_survey, evidence)
    answers = cors_survey.from_allowed()
    evidence.add("answers to the allowed origins", [answer.as_evidence() for answer in answers])
    refused = [
        f"{answer.label()}: Access-Control-Allow-Origin {list(answer.allow_origin) or 'absent'}"
        for answer in answers
        if not answer.admits
    ]
    # A browser abandons a preflight that does not answer ok, whatever its headers say.
    refused += [
        f"{answer.label()}: the preflight answered {answer.exchange.response.status}"
        for answer in answers
        if answer.kind == "preflight" and answer.admits and not 200 <= answer.exchange.response.status < 300
    ]
    assert not refused, (
        "the API refuses the site's own origins, so its CORS policy shows no restriction at all (expected "
        f"Access-Control-Allow-Origin equal to each of {list(cors_survey.allowed_origins)}): " + _listed(refused)
    )


@check(
    id="COR-02",
    title="Foreign origins are refused",
    requirement="cors",
    plane="wire",
    severity="medium",
    remediation="List the allowed origins exactly (no '*', no 'null', no regex without ^...$ and every dot escaped); "
    "never echo the request's Origin unchecked, and add no CORS headers in error handlers or after_request hooks "
    "(flask-cors already answers the allowed origins on every answer of its resources).",
)
def test_foreign_origins_are_refused(cors_survey, evidence):
    _paths_reached(cors_survey, evidence)
    evidence.add("requests per answer class", cors_survey.requests_by_class())
    # Every hostile origin (why it is hostile, the allowed origin it imitates) and what each
    # answer class answered it: the report draws one row per origin, failing rows first.
    evidence.add("hostile origins and what each answer class answered", hostile_rows(cors_survey))
    admitting = [(hostile, answer) for hostile, answer in cors_survey.from_hostile() if answer.admits]
    admitted = [
        f"{hostile.origin} ({hostile.description}) got Access-Control-Allow-Origin {answer.allow_origin[0]!r} "
        f"on the {answer.label().rsplit(' from ', 1)[0]}"
        + (" with credentials" if answer.allows_credentials and answer.echoes_origin else "")
        for hostile, answer in admitting
    ]
    origins = len({hostile.origin for hostile, _answer in admitting})
    assert not admitted, (
        f"the API admits {origins} of {len(cors_survey.hostile)} foreign origins on {len(admitted)} of "
        f"{len(cors_survey.from_hostile())} answers (expected no Access-Control-Allow-Origin for them), e.g. "
        f"{_listed(admitted[:MAX_EXAMPLES])}"
    )


@check(
    id="COR-03",
    title="No foreign origin is admitted with credentials",
    requirement="cors",
    plane="wire",
    severity="critical",
    remediation="Never combine supports_credentials=True with '*' or a pattern: flask-cors then echoes any Origin "
    "together with Access-Control-Allow-Credentials set to true.",
)
def test_no_foreign_origin_is_admitted_with_credentials(cors_survey, evidence):
    _paths_reached(cors_survey, evidence)
    credentialed = [
        (hostile, answer) for hostile, answer in cors_survey.from_hostile() if answer.echoes_origin and answer.allows_credentials
    ]
    evidence.add("foreign origins admitted with credentials", [
        {"origin": hostile.origin, "kind": hostile.description, **answer.as_evidence()} for hostile, answer in credentialed
    ])
    assert not credentialed, (
        "the API lets foreign origins read answers to requests made with the visitor's cookies "
        "(Access-Control-Allow-Origin echoing them, and Access-Control-Allow-Credentials set to true; expected neither): "
        + _listed([f"{answer.label()}" for _hostile, answer in credentialed])
    )


@check(
    id="COR-04",
    title="An origin-specific Access-Control-Allow-Origin comes with Vary: Origin",
    requirement="cors",
    plane="wire",
    severity="low",
    remediation="Keep flask-cors's vary_header=True (the default): without Vary: Origin a shared cache serves one "
    "origin's answer to another.",
)
def test_origin_specific_answers_vary_by_origin(cors_survey, evidence):
    _paths_reached(cors_survey, evidence)
    specific = [answer for answer in cors_survey.for_paths_reached() if answer.echoes_origin]
    evidence.add("answers naming a specific origin", [
        {**answer.as_evidence(), "varies_by_origin": answer.varies_by_origin} for answer in specific
    ])
    missing = [
        f"{answer.label()} (Vary: {answer.exchange.response.header('Vary') or 'absent'})"
        for answer in specific
        if not answer.varies_by_origin
    ]
    assert not missing, (
        "answers whose Access-Control-Allow-Origin names the requesting origin lack Vary: Origin "
        f"(expected Vary to list Origin): {_listed(missing)}"
    )


@check(
    id="COR-05",
    title="The ALB's listeners add no permissive CORS headers of their own",
    requirement="cors",
    plane="control",
    severity="medium",
    remediation="Remove the routing.http.response.access_control_* listener attributes "
    "(aws elbv2 modify-listener-attributes ... Value=''); let the application decide CORS per origin.",
)
def test_alb_listeners_add_no_permissive_cors_headers(listener_attributes, target, evidence):
    evidence.add("listener attributes", [attributes.as_evidence() for attributes in listener_attributes])
    allowed = set(target.cors_allowed_origins)
    findings = []
    for attributes in listener_attributes:
        headers = attributes.response_header_values()
        origin = headers.get(ALB_ALLOW_ORIGIN)
        if origin is not None and origin not in allowed:
            findings.append(
                f"the port-{attributes.port} listener adds Access-Control-Allow-Origin: {origin!r} to every answer "
                f"(expected none, or one of {sorted(allowed)})"
            )
        if headers.get(ALB_ALLOW_CREDENTIALS, "").lower() == "true":
            findings.append(
                f"the port-{attributes.port} listener sets Access-Control-Allow-Credentials to true on every answer"
            )
    assert not findings, "; ".join(findings)


CORS_ORIGIN_VARIABLES = ("FRONTEND_URL", "BACKEND_URL")


def _unless_unreadable(container_values, variables, evidence) -> None:
    """Could not verify when a variable the check judges is kept where the audit may not read it
    (a SecureString, Secrets Manager, a refused parameter, an environment file): never a failure."""
    unknown = [f"{container}: {why}" for container, values in sorted(container_values.items())
               for variable in dict.fromkeys(variables) if (why := values.unknown(variable))]
    if unknown:
        evidence.add("not readable", unknown)
        raise ProbeError("the backend's origin variables", "; ".join(unknown))


def _origin_problem(value: str | None, domain: str) -> str | None:
    if not value:
        return "is not set"
    if value.strip() == "*":
        return "is '*', which admits every origin"
    try:
        origin = Origin.parse(value)
    except ValueError as error:
        return str(error)
    if origin.scheme != "https":
        return f"{value!r} is not an https origin"
    if origin.host != domain and not origin.host.endswith("." + domain):
        return f"{value!r} is not an origin of {domain}"
    return None


@check(
    id="COR-06",
    title="The backend is given https origins of the domain, never '*'",
    requirement="cors",
    plane="control",
    severity="high",
    remediation="Set FRONTEND_URL and BACKEND_URL in the backend's task definition to the site's https origins; never '*'.",
)
def test_backend_is_given_https_origins_of_the_domain(task_definitions, backend_container_values, target, evidence):
    definition = task_definitions[target.backend_service]
    # `environment`, or a plain String SSM parameter named in `secrets` (facts/ssm.py).
    observed = {
        name: {variable: values.value(variable) for variable in CORS_ORIGIN_VARIABLES}
        for name, values in backend_container_values.items()
    }
    evidence.add("task definition", definition.arn)
    evidence.add("origins given to flask-cors", observed)
    _unless_unreadable(backend_container_values, CORS_ORIGIN_VARIABLES, evidence)
    problems = [
        f"{name}: {variable} {problem}"
        for name, variables in observed.items()
        for variable, value in variables.items()
        if any(variables.values()) and (problem := _origin_problem(value, target.domain))
    ]
    assert any(any(v.values()) for v in observed.values()), (
        f"no container of {definition.arn} sets {' or '.join(CORS_ORIGIN_VARIABLES)}: the backend has no CORS origins"
    )
    assert not problems, f"the {target.backend_service} task definition: " + "; ".join(problems)


@check(
    id="COR-07",
    title="Every origin in the backend's origin variables is one of the allowed origins",
    requirement="cors",
    plane="control",
    severity="high",
    remediation="Remove development and preview origins (localhost, 127.0.0.1, Gitpod and Codespaces workspace URLs) from "
    "the backend's task definition; the production task definition lists only the site's own origins.",
)
def test_backend_origin_variables_hold_only_allowed_origins(task_definitions, backend_container_values, target, evidence):
    definition = task_definitions[target.backend_service]
    # `environment`, or a plain String SSM parameter named in `secrets` (facts/ssm.py).
    observed = {
        container: {name: value for name, value in values.values if names_origins(name)}
        for container, values in backend_container_values.items()
    }
    evidence.add("task definition", definition.arn)
    evidence.add("allowed origins (the target's)", list(target.cors_allowed_origins))
    evidence.add("variables named for origins", observed)
    _unless_unreadable(backend_container_values, [name for v in backend_container_values.values() for name, _ in v.unreadable], evidence)
    findings = [
        f"{container}: {finding}"
        for container, variables in observed.items()
        for name, value in variables.items()
        for finding in origin_findings(name, value, target.cors_allowed_origins)
    ]
    assert not findings, f"the {target.backend_service} task definition: " + "; ".join(findings)
