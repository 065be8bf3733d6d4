"""Requirement `debug-pages`: no Werkzeug debugger, console or traceback reaches the internet.

The write-up found Flask running in debug mode ("anyone would be able to see
the error messages and ... add arbitrary Python code through the browser") and
fixed it with `--no-debug --no-debugger --no-reload`. On every public host the
debugger's own resources and console must be absent, and neither a missing
page nor a provoked error may show a traceback; the `Server` header must not
name the Werkzeug development server.

Since Werkzeug 3.0.3 the console answers 400 to a Host it does not trust, so
`/console` is asked both with the public Host and with the Host values the
debugger trusts (the ALB forwards Host as sent), and a 400 where a missing
page is a 404 counts as the console refusing a Host.
"""

from __future__ import annotations

from fixtures.catalogue.checkmeta import check
from fixtures.rules.debug_signatures import (
    advertises_werkzeug,
    is_console_host_refusal,
    is_debugger_resource,
    is_werkzeug_console,
    leaks,
)
from fixtures.facts.debug_pages import debug_exchange_evidence


@check(
    id="DBG-01",
    title="The Werkzeug debugger's resources are not served",
    requirement="debug-pages",
    plane="wire",
    severity="critical",
    remediation="Run the app without the debugger: no `flask run --debug`, FLASK_DEBUG unset, app.run(debug=False); "
    "serve it with a production WSGI server.",
)
def test_debugger_resources_are_not_served(debug_probes, evidence):
    exchange = debug_probes.debugger_resource
    evidence.add("debugger resource request", debug_exchange_evidence(exchange))
    assert not is_debugger_resource(exchange.response), (
        f"{exchange.request.url} serves the Werkzeug debugger's debugger.js (status {exchange.response.status}): "
        "the app runs with the interactive debugger on; expected the app's own answer"
    )


@check(
    id="DBG-02",
    title="/console is not the Werkzeug console",
    requirement="debug-pages",
    plane="wire",
    severity="critical",
    remediation="Turn the debugger off (it brings the /console Python shell); a PIN is no protection on the internet.",
)
def test_console_is_not_the_werkzeug_console(debug_probes, evidence):
    evidence.add("/console with the public Host", debug_exchange_evidence(debug_probes.console))
    for exchange in debug_probes.console_trusted_hosts:
        evidence.add(f"/console with Host: {exchange.request.headers['Host']}", debug_exchange_evidence(exchange))
    findings = [
        f"{exchange.request.url} with Host {exchange.request.headers['Host']!r} answers the Werkzeug interactive console"
        for exchange in (debug_probes.console, *debug_probes.console_trusted_hosts)
        if is_werkzeug_console(exchange.response)
    ]
    if is_console_host_refusal(debug_probes.console.response, debug_probes.missing_page.response):
        findings.append(
            f"{debug_probes.console.request.url} answers Werkzeug's 400 Bad Request while a missing page answers "
            f"{debug_probes.missing_page.response.status}: the Werkzeug console is there and refused the public Host"
        )
    assert not findings, "; ".join(findings) + "; expected /console to be an ordinary missing page"


@check(
    id="DBG-03",
    title="A missing page shows no traceback, debugger or source",
    requirement="debug-pages",
    plane="wire",
    severity="high",
    remediation="Remove error handlers that render traceback.format_exc() or exception details; log them instead "
    "(the write-up uses Rollbar).",
)
def test_missing_page_shows_no_traceback(debug_probes, evidence):
    exchange = debug_probes.missing_page
    evidence.add("missing page", debug_exchange_evidence(exchange))
    found = leaks(exchange.response.text)
    evidence.add("debugging details found", [leak.as_evidence() for leak in found])
    assert not found, (
        f"{exchange.request.url} (a page that does not exist) answers {exchange.response.status} showing "
        f"{', '.join(leak.marker for leak in found)}; expected a plain not-found page"
    )


@check(
    id="DBG-04",
    title="A provoked API error shows no traceback, debugger or source",
    requirement="debug-pages",
    plane="wire",
    severity="critical",
    remediation="Turn debug mode off and let unhandled errors become a plain 500; never return tracebacks to clients.",
)
def test_provoked_error_shows_no_traceback(error_probes, evidence):
    findings = []
    for probe in error_probes:
        exchange = probe.exchange
        found = leaks(exchange.response.text)
        evidence.add(f"error probe: {probe.description}", {
            **debug_exchange_evidence(exchange),
            "debugging_details_found": [leak.as_evidence() for leak in found],
        })
        if found:
            findings.append(
                f"{exchange.request.method} {exchange.request.url} with {probe.description} answers "
                f"{exchange.response.status} showing {', '.join(leak.marker for leak in found)}"
            )
    assert not findings, "; ".join(findings) + "; expected a plain error without debugging details"


@check(
    id="DBG-05",
    title="The Server header does not advertise the Werkzeug development server",
    requirement="debug-pages",
    plane="wire",
    severity="low",
    remediation="Serve the app with a production WSGI server (gunicorn, waitress) instead of `flask run`.",
)
def test_server_header_is_not_the_werkzeug_dev_server(debug_probes, evidence):
    servers = [
        {"request": exchange.request.url, "host_header": exchange.request.headers["Host"], "server": exchange.response.header("Server")}
        for exchange in debug_probes.exchanges
    ]
    evidence.add("Server headers", servers)
    development = sorted({seen["server"] for seen in servers if advertises_werkzeug(seen["server"])})
    assert not development, (
        f"{debug_probes.host} answers with Server {', '.join(repr(v) for v in development)}: the Werkzeug development "
        "server runs in production; expected a production server"
    )
