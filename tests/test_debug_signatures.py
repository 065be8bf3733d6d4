"""The debug-page signatures and probes, proven on what the real Flask app and Werkzeug debugger answer."""

from __future__ import annotations

import time

import pytest

from fixtures.rules.debug_signatures import (
    CONSOLE_PATH,
    DEBUGGER_RESOURCE_QUERY,
    advertises_werkzeug,
    is_console_host_refusal,
    is_debugger_resource,
    is_werkzeug_console,
    leaks,
    mask_debugger_secret,
)
from fixtures.facts.debug_pages import probe_debug_pages
from fixtures.probes.wire import Wire
from fixtures.probes.http import HttpResponse
from fixtures.sandbox.backend_app import create_backend_app
from fixtures.sandbox.deployment import Sandbox
from fixtures.sandbox.faults import FAULTS
from fixtures.sandbox.spec import BACKEND_SERVICE, BackendSpec, compliant_spec
from fixtures.target import load_target

API_HOST = "api.cloudproject.test"
ENVIRONMENT = dict(compliant_spec().service(BACKEND_SERVICE).environment)


def answer(app, path: str, *, host: str = API_HOST, method: str = "GET", body: bytes | None = None) -> HttpResponse:
    """What the app answers, as the probes' HttpResponse."""
    client = app.test_client()
    response = client.open(
        path, method=method, data=body, headers={"Host": host, "Content-Type": "application/json"} if body is not None else {"Host": host}
    )
    return HttpResponse(response.status_code, response.status, tuple(response.headers.items()), response.get_data(), False, 0.0)


@pytest.fixture(scope="module")
def debug_app():
    return create_backend_app(ENVIRONMENT, debug=True)


@pytest.fixture(scope="module")
def production_app():
    return create_backend_app(ENVIRONMENT)


def test_the_real_debugger_is_recognised(debug_app):
    resource = answer(debug_app, f"/?{DEBUGGER_RESOURCE_QUERY}")
    assert is_debugger_resource(resource)
    crash = answer(debug_app, "/api/activities", method="POST", body=b"{}")
    assert crash.status == 500
    markers = {leak.marker for leak in leaks(crash.text)}
    assert {"Python traceback", "Werkzeug debugger page", "Werkzeug debugger source listing", "Werkzeug debugger secret"} <= markers
    secret_leak = next(leak for leak in leaks(crash.text) if leak.marker == "Werkzeug debugger secret")
    assert 'SECRET = "[redacted]"' in secret_leak.excerpt


def test_the_console_answers_trusted_hosts_and_refuses_others(debug_app):
    trusted = answer(debug_app, CONSOLE_PATH, host="localhost")
    assert is_werkzeug_console(trusted)
    public = answer(debug_app, CONSOLE_PATH)
    missing = answer(debug_app, "/no-such-page")
    assert public.status == 400 and not is_werkzeug_console(public)
    assert is_console_host_refusal(public, missing)


def test_the_production_app_shows_nothing(production_app):
    assert not is_debugger_resource(answer(production_app, f"/?{DEBUGGER_RESOURCE_QUERY}"))
    console, missing = answer(production_app, CONSOLE_PATH, host="127.0.0.1"), answer(production_app, "/no-such-page")
    assert not is_werkzeug_console(console) and not is_console_host_refusal(console, missing)
    for body in (b"{}", b"{"):
        error = answer(production_app, "/api/activities", method="POST", body=body)
        assert error.status in (400, 500) and leaks(error.text) == ()
    assert leaks(missing.text) == ()


def test_a_traceback_error_handler_is_caught_in_json():
    app = create_backend_app(ENVIRONMENT, code=BackendSpec(error_handler="traceback"))
    error = answer(app, "/api/activities", method="POST", body=b"{}")
    missing = answer(app, "/no-such-page")
    assert (error.status, missing.status) == (500, 404)
    for response in (error, missing):
        assert {leak.marker for leak in leaks(response.text)} == {"Python traceback", "Python stack frame with file and line"}


def test_ordinary_pages_are_not_mistaken_for_debug_pages():
    page = '<!doctype html><html><head><script defer src="/static/js/main.1.js"></script></head><body>Traceback is a band</body></html>'
    ordinary = HttpResponse(200, "OK", (("Content-Type", "text/html"),), page.encode(), False, 0.0)
    assert leaks(page) == ()
    assert not is_debugger_resource(ordinary) and not is_werkzeug_console(ordinary)
    bad_request = HttpResponse(400, "Bad Request", (), b"Bad Request", False, 0.0)
    assert not is_console_host_refusal(bad_request, bad_request)


def test_server_header_and_secret_masking():
    assert advertises_werkzeug("Werkzeug/3.1.8 Python/3.11.7")
    assert not advertises_werkzeug("waitress") and not advertises_werkzeug(None) and not advertises_werkzeug("awselb/2.0")
    assert mask_debugger_secret('SECRET = "Ab12Cd34";') == 'SECRET = "[redacted]";'


def test_matching_is_bounded_on_a_large_hostile_body():
    body = 'File "' + "x" * 1_000_000
    started = time.monotonic()
    assert leaks(body) == ()
    assert time.monotonic() - started < 2


def test_through_the_alb_a_trusted_host_reaches_the_console_and_the_public_host_gives_it_away(tmp_path):
    """The real debugger behind the ALB stand-in: the ALB forwards Host as sent, to the target group that Host
    routes to. With the debug-mode backend as the default target group, `Host: localhost` opens its console;
    on the api. host (a host rule) the console refuses the public Host with a 400 a missing page does not give."""
    spec = FAULTS["default-action-to-backend"].apply(FAULTS["debug-on"].apply(compliant_spec()))
    with Sandbox(spec) as sandbox:
        target = load_target(sandbox.write_target(tmp_path / "target.toml"))
        wire = Wire(target)
        apex, api = probe_debug_pages(wire, target.frontend_host), probe_debug_pages(wire, target.api_host)
    assert not is_werkzeug_console(apex.console.response)  # the public Host is refused ...
    assert is_werkzeug_console(apex.console_trusted_hosts[0].response)  # ... a trusted one is let in
    assert is_console_host_refusal(api.console.response, api.missing_page.response)
    assert is_debugger_resource(api.debugger_resource.response)
