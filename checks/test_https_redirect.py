"""Requirement `https-redirect`: HTTP redirects to HTTPS, keeping host, path and query.

The write-up added "a rule to redirect HTTP 80 to HTTPS 443" to the ALB. On the
wire every public host must answer plain HTTP with a permanent redirect to the
same URL over https and serve nothing itself; on the control plane the port-80
listener's default action must be that redirect and no port-80 rule may forward.

The browser's half (RDR-08..10): every HTTPS answer carries Strict-Transport-
Security for at least a year (OWASP ASVS V14.4.5, the Mozilla HTTP Observatory),
the apex's covering its subdomains, added where the target says it is.
"""

from __future__ import annotations

from fixtures.rules import hsts
from fixtures.catalogue.checkmeta import check
from fixtures.model.elbv2 import Listener
from fixtures.rules.urls import normalise

REDIRECT_STATUSES = (301, 302, 303, 307, 308)
# An ALB-generated redirect body is a few hundred bytes of boilerplate HTML.
MAX_REDIRECT_BODY_BYTES = 1024
EXPECTED_REDIRECT = {"Protocol": "HTTPS", "Port": "443", "Host": "#{host}", "Path": "/#{path}", "Query": "#{query}"}


def _redirect_location(probe):
    response = probe.exchange.response
    location = response.header("Location")
    return normalise(location, probe.exchange.request.url) if location else None


@check(
    id="RDR-01",
    title="HTTP redirects to the same URL over HTTPS",
    requirement="https-redirect",
    plane="wire",
    severity="high",
    controls=("ELB.1",),
    remediation="Make the port-80 listener's default action a redirect to HTTPS port 443 with host #{host}, path /#{path}, query #{query}.",
)
def test_http_redirects_to_the_same_url_over_https(plain_http_probe, target, evidence):
    evidence.add("exchange", plain_http_probe.exchange.as_evidence())
    response = plain_http_probe.exchange.response
    assert response.status in REDIRECT_STATUSES, (
        f"http://{plain_http_probe.host}{plain_http_probe.path}?{plain_http_probe.query} answered "
        f"{response.status} {response.reason}, not a redirect to HTTPS"
    )
    location = _redirect_location(plain_http_probe)
    expected = normalise(f"https://{plain_http_probe.host}:{target.https_port}{plain_http_probe.path}?{plain_http_probe.query}")
    evidence.add("location compared", {"expected": str(expected), "observed": str(location)})
    assert location == expected, (
        f"http://{plain_http_probe.host} redirects to {response.header('Location')!r}; "
        f"expected {str(expected)!r} (https, same host, path and query)"
    )


@check(
    id="RDR-02",
    title="The HTTP-to-HTTPS redirect is permanent (301)",
    requirement="https-redirect",
    plane="wire",
    severity="medium",
    controls=("ELB.1",),
    remediation="Set the port-80 redirect action's status code to HTTP_301 so browsers and crawlers remember HTTPS.",
)
def test_http_redirect_is_permanent(plain_http_probe, evidence):
    evidence.add("exchange", plain_http_probe.exchange.as_evidence())
    response = plain_http_probe.exchange.response
    assert response.status == 301, (
        f"http://{plain_http_probe.host} answered {response.status} {response.reason}; expected 301 Moved Permanently"
    )


@check(
    id="RDR-03",
    title="Plain HTTP serves no content",
    requirement="https-redirect",
    plane="wire",
    severity="high",
    controls=("ELB.1",),
    remediation="Remove every forward action from the port-80 listener; it should only redirect.",
)
def test_plain_http_serves_no_content(plain_http_probe, evidence):
    evidence.add("exchange", plain_http_probe.exchange.as_evidence())
    response = plain_http_probe.exchange.response
    assert response.status in REDIRECT_STATUSES and len(response.body) <= MAX_REDIRECT_BODY_BYTES, (
        f"http://{plain_http_probe.host} answered {response.status} with {len(response.body)} bytes of content "
        f"in clear text; expected only a redirect"
    )


@check(
    id="RDR-04",
    title="A double-slash path does not redirect off the site",
    requirement="https-redirect",
    plane="wire",
    severity="high",
    remediation="Keep the redirect host as #{host} and never build Location from the raw path; '//host/' is scheme-relative.",
)
def test_double_slash_path_does_not_redirect_off_site(off_site_probe, evidence):
    evidence.add("exchange", off_site_probe.exchange.as_evidence())
    location = _redirect_location(off_site_probe)
    if location is None:
        return  # no redirect at all sends no one off the site; RDR-01 judges the redirect itself
    evidence.add("location resolved", str(location))
    assert location.host == off_site_probe.host, (
        f"http://{off_site_probe.host}{off_site_probe.path} redirects to host {location.host!r} "
        f"(Location {off_site_probe.exchange.response.header('Location')!r}); expected {off_site_probe.host!r}"
    )


def _port_80(listeners: tuple[Listener, ...]) -> Listener:
    port_80 = next((listener for listener in listeners if listener.port == 80), None)
    assert port_80 is not None, f"the ALB has no port-80 listener (listeners: {[l.port for l in listeners]})"
    return port_80


@check(
    id="RDR-05",
    title="The port-80 listener redirects to HTTPS 443 keeping host, path and query",
    requirement="https-redirect",
    plane="control",
    severity="high",
    controls=("ELB.1",),
    remediation="aws elbv2 modify-listener --default-actions Type=redirect,RedirectConfig={Protocol=HTTPS,Port=443,StatusCode=HTTP_301}",
)
def test_port_80_listener_redirects_to_https_443(listeners, evidence):
    evidence.add("listeners", [listener.as_evidence() for listener in listeners])
    action = _port_80(listeners).default_action
    assert action.type == "redirect", f"the port-80 listener's default action is {action.type!r}, not a redirect"
    observed = {key: action.redirect_value(key) for key in EXPECTED_REDIRECT}
    wrong = {key: value for key, value in observed.items() if value != EXPECTED_REDIRECT[key]}
    assert not wrong, f"the port-80 redirect has {wrong}; expected {({k: EXPECTED_REDIRECT[k] for k in wrong})}"


@check(
    id="RDR-06",
    title="The port-80 listener's redirect is HTTP_301",
    requirement="https-redirect",
    plane="control",
    severity="medium",
    controls=("ELB.1",),
    remediation="Set the port-80 redirect action's StatusCode to HTTP_301.",
)
def test_port_80_redirect_is_permanent(listeners, evidence):
    action = _port_80(listeners).default_action
    evidence.add("port-80 default action", action.as_evidence())
    status = action.redirect_value("StatusCode")
    assert status == "HTTP_301", f"the port-80 listener's default action redirects with {status}; expected HTTP_301"


@check(
    id="RDR-07",
    title="No port-80 rule forwards traffic",
    requirement="https-redirect",
    plane="control",
    severity="high",
    controls=("ELB.1",),
    remediation="Delete the port-80 listener rules that forward; HTTP must only redirect.",
)
def test_no_port_80_rule_forwards(listeners, evidence):
    port_80 = _port_80(listeners)
    evidence.add("port-80 rules", [rule.as_evidence() for rule in port_80.rules])
    forwarding = [rule for rule in port_80.rules if any(action.forwards for action in rule.actions)]
    assert not forwarding, (
        "port-80 rules forward plain HTTP to targets: "
        + "; ".join(f"priority {rule.priority} (host {', '.join(rule.host_headers) or 'any'})" for rule in forwarding)
    )


# --- the browser's half: Strict-Transport-Security (RFC 6797) ----------------
#
# A redirect protects only the requests that reach it: the first plain request
# can be stripped. HSTS makes the browser go to HTTPS itself. Severity sits
# below the redirect's own checks: without the redirect HSTS is never learned.

HSTS_REMEDIATION = (
    "Have the 443 listener add it: aws elbv2 modify-listener-attributes --listener-arn ARN --attributes "
    'Key=routing.http.response.strict_transport_security.header_value,Value="max-age=31536000; includeSubDomains" '
    "(or set it in the application when the target says [hsts] set_by = \"application\")."
)


def _where_hsts_is_set(target) -> str:
    if target.hsts.set_by == "alb":
        return "the 443 listener's routing.http.response.strict_transport_security.header_value attribute"
    return "the application's responses"


@check(
    id="RDR-08",
    title="Each host's HTTPS answers carry Strict-Transport-Security with a max-age of at least a year",
    requirement="https-redirect",
    plane="wire",
    severity="medium",
    remediation=HSTS_REMEDIATION,
)
def test_https_answers_carry_hsts(hsts_observation, target, evidence):
    evidence.add("answer", hsts_observation.as_evidence())
    evidence.add("required max-age (seconds)", target.hsts.min_max_age_seconds)
    url = hsts_observation.exchange.request.url
    assert hsts_observation.fields, (
        f"{url} answered without Strict-Transport-Security: a browser is never told to use HTTPS only; "
        f"expected it from {_where_hsts_is_set(target)}"
    )
    assert hsts_observation.policy is not None, (
        f"{url} sends Strict-Transport-Security {hsts_observation.fields[0]!r}, which browsers ignore: {hsts_observation.invalid}"
    )
    short = hsts.shortfalls(hsts_observation.policy, min_max_age=target.hsts.min_max_age_seconds, include_subdomains=False)
    assert not short, f"{url} sends Strict-Transport-Security {hsts_observation.fields[0]!r}: " + "; ".join(short)


@check(
    id="RDR-09",
    title="The apex's HSTS policy includes its subdomains",
    requirement="https-redirect",
    plane="wire",
    severity="low",
    remediation="Add includeSubDomains to the apex's Strict-Transport-Security (e.g. max-age=31536000; includeSubDomains); "
    "if a subdomain must stay on HTTP, set [hsts] include_subdomains = false in the target.",
)
def test_apex_hsts_includes_subdomains(apex_hsts_observation, target, evidence):
    evidence.add("apex answer", apex_hsts_observation.as_evidence())
    if not target.hsts.include_subdomains:
        evidence.add("target", "[hsts] include_subdomains = false: the apex's policy need not cover subdomains")
        return
    url = apex_hsts_observation.exchange.request.url
    policy = apex_hsts_observation.policy
    assert policy is not None, (
        f"{url} carries no valid Strict-Transport-Security ({apex_hsts_observation.invalid or 'absent'}): "
        f"nothing covers {', '.join(h for h in target.public_hosts if h != target.domain)}"
    )
    assert policy.include_subdomains, (
        f"{url} sends Strict-Transport-Security {policy.text!r} without includeSubDomains: a browser that met the apex "
        f"first still makes its first request to {target.api_host} in plain HTTP"
    )


@check(
    id="RDR-10",
    title="HSTS is added where the target says (the 443 listener's attribute, or the application) with the required policy",
    requirement="https-redirect",
    plane="control",
    severity="low",
    remediation=HSTS_REMEDIATION,
)
def test_hsts_is_set_where_the_target_says(https_listener_hsts, target, evidence):
    assert https_listener_hsts is not None, "the ALB has no port-443 HTTPS listener to add Strict-Transport-Security"
    evidence.add("443 listener", https_listener_hsts.as_evidence())
    evidence.add("target", {"set_by": target.hsts.set_by, "min_max_age_seconds": target.hsts.min_max_age_seconds, "include_subdomains": target.hsts.include_subdomains})
    value = https_listener_hsts.value
    if target.hsts.set_by == "application":
        # The ALB replaces the application's header with its own: a stale attribute masks the app's policy.
        assert value is None, (
            f"the 443 listener adds Strict-Transport-Security {value!r} itself, over the application's header; "
            "the target says the application sets it (remove the listener attribute, or set [hsts] set_by = \"alb\")"
        )
        return
    assert value is not None, (
        "the 443 listener's routing.http.response.strict_transport_security.header_value is not set: "
        "the ALB adds no Strict-Transport-Security (the target says the ALB adds it)"
    )
    try:
        policy = hsts.parse(value)
    except hsts.HstsError as error:
        raise AssertionError(f"the 443 listener adds Strict-Transport-Security {value!r}, which browsers ignore: {error}") from None
    short = hsts.shortfalls(policy, min_max_age=target.hsts.min_max_age_seconds, include_subdomains=target.hsts.include_subdomains)
    assert not short, f"the 443 listener adds Strict-Transport-Security {value!r}: " + "; ".join(short)
