"""Production or development: the signals of a dev server or build, and source maps (rules/frontend_server.py)."""

from __future__ import annotations

import base64
import json

from werkzeug.test import Client

from fixtures.rules.frontend_build import script_sources
from fixtures.rules.frontend_server import (
    bundle_signals,
    endpoint_signal,
    inline_source_map,
    page_signals,
    parse_source_map,
    source_map_url,
)
from fixtures.sandbox.frontend_app import create_frontend_app, render_bundle
from fixtures.sandbox.spec import FrontendSpec

API = "https://api.cloudproject.test"


def _signals(frontend: FrontendSpec) -> set[str]:
    client = Client(create_frontend_app(frontend))
    page = client.get("/").get_data(as_text=True)
    scripts = script_sources(page)
    found = page_signals("https://cloudproject.test/", scripts, page)
    for script in scripts:
        found += bundle_signals(script, client.get(script).get_data(as_text=True))
    for path in ("/@vite/client", "/sockjs-node/info"):
        answer = client.get(path)
        if signal := endpoint_signal(path, path, answer.status_code, answer.headers.get("Content-Type", ""), answer.get_data(as_text=True)):
            found.append(signal)
    return {signal.name for signal in found}


def test_the_production_build_and_its_variants_show_no_signal():
    # The SPA fallback answers /@vite/client and /sockjs-node/info with index.html: no signal.
    assert _signals(FrontendSpec(API)) == set()
    assert _signals(FrontendSpec(API, bundle_name="bundle")) == set()
    assert _signals(FrontendSpec(API, source_maps="reference-only")) == set()


def test_the_cra_dev_server_shows_its_bundle_runtime_refresh_and_client():
    assert _signals(FrontendSpec(API, server="cra-dev")) == {
        "CRA development bundle", "webpack development runtime", "hot module replacement", "React Refresh runtime", "dev server client",
    }


def test_the_cra4_dev_server_answers_sockjs():
    assert _signals(FrontendSpec(API, server="cra4-dev")) == {
        "CRA development bundle", "webpack development runtime", "hot module replacement", "dev server client", "SockJS endpoint",
    }


def test_the_vite_dev_server_shows_its_client_preamble_hmr_and_environment():
    assert _signals(FrontendSpec(API, server="vite-dev")) >= {
        "Vite dev server client", "React Refresh preamble", "hot module replacement", "development environment", "Vite client served",
    }


def test_production_strings_a_careless_check_takes_for_development():
    # CRA's production env object and chunk loader; a hashed bundle named bundle.<hash>.js.
    production = render_bundle(API) + 'self.webpackChunkfrontend_react_js=self.webpackChunkfrontend_react_js||[];'
    assert bundle_signals("/static/js/main.1a2b3c4d.js", production) == []
    assert page_signals("https://x.test/", ("/static/js/bundle.1a2b3c4d.js",), "<html></html>") == []


def test_sockjs_info_is_a_signal_only_as_sockjs_json():
    info = json.dumps({"websocket": True, "origins": ["*:*"], "cookie_needed": False, "entropy": 1234})
    assert endpoint_signal("u", "/sockjs-node/info", 200, "application/json; charset=UTF-8", info) is not None
    assert endpoint_signal("u", "/sockjs-node/info", 200, "text/html", "<html>") is None
    assert endpoint_signal("u", "/sockjs-node/info", 404, "application/json", info) is None


def test_source_maps_by_url_and_inline():
    assert source_map_url("x\n//# sourceMappingURL=a.js.map\n//# sourceMappingURL=main.js.map\n") == "main.js.map"
    assert source_map_url("no map here") is None
    document = {"version": 3, "mappings": "AAAA", "sources": ["a.js", "b.js"], "sourcesContent": ["code", None]}
    inline = "data:application/json;base64," + base64.b64encode(json.dumps(document).encode()).decode()
    parsed = parse_source_map(inline_source_map(inline))
    assert (parsed.sources, parsed.with_content) == (2, 1)
    assert inline_source_map("main.js.map") is None
    assert parse_source_map(b"<!doctype html><html>") is None  # an SPA's fallback page is no map


def test_a_vite_production_build_shows_no_signal():
    assert _signals(FrontendSpec(API, server="vite-build")) == set()
    client = Client(create_frontend_app(FrontendSpec(API, server="vite-build")))
    (script,) = script_sources(client.get("/").get_data(as_text=True))
    assert script.startswith("/assets/index-") and API in client.get(script).get_data(as_text=True)
