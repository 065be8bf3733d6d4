"""Requirement `https-redirect`: HTTP redirects to HTTPS, keeping host, path and query.

The write-up added "a rule to redirect HTTP 80 to HTTPS 443" to the ALB. On the
wire every public host must answer plain HTTP with a permanent redirect to the
same URL over https and serve nothing itself; on the control plane the port-80
listener's default action must be that redirect and no port-80 rule may forward.
"""

from __future__ import annotations

from fixtures.checkmeta import check
from fixtures.model import Listener
from fixtures.urls import normalise

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
