"""Reading a frontend build: script sources, URLs in bundles, development addresses."""

from __future__ import annotations

import pytest

from fixtures.rules.frontend_build import (
    development_address,
    names_origin,
    same_site_script_paths,
    script_sources,
    urls_in,
)
from fixtures.sandbox.frontend_app import render_bundle, render_index

DOMAIN = "cloudproject.test"


def test_script_sources_of_a_cra_and_a_vite_page():
    assert script_sources(render_index("/static/js/main.abcd1234.js")) == ("/static/js/main.abcd1234.js",)
    vite = (
        '<html><head><script type="module" crossorigin src="/assets/index-1a2b.js"></script>'
        '<link rel="modulepreload" href="/assets/vendor-3c4d.js"><link rel="stylesheet" href="/assets/a.css">'
        '<link rel="preload" as="script" href="https://cdn.example.net/x.js"><script>inline()</script></head></html>'
    )
    assert script_sources(vite) == ("/assets/index-1a2b.js", "/assets/vendor-3c4d.js", "https://cdn.example.net/x.js")


def test_same_site_scripts_are_told_from_other_sites():
    own, elsewhere = same_site_script_paths(
        "https://cloudproject.test/",
        ("/static/js/main.js", "static/js/chunk.js?v=2", "https://cloudproject.test/a.js", "https://cdn.example.net/x.js", "//cdn.example.net/y.js"),
    )
    assert own == ("/static/js/main.js", "/static/js/chunk.js?v=2", "/a.js")
    assert elsewhere == ("https://cdn.example.net/x.js", "//cdn.example.net/y.js")


def test_urls_in_the_sandbox_bundle():
    bundle = render_bundle("https://api.cloudproject.test")
    assert "https://api.cloudproject.test" in urls_in(bundle)
    assert names_origin(bundle, "https://api.cloudproject.test")
    assert urls_in('a="http://localhost:4567/api",b=`wss://x.gitpod.io/ws`,c=\'https://e.org/p?q=1\';') == (
        "http://localhost:4567/api",
        "wss://x.gitpod.io/ws",
        "https://e.org/p?q=1",
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        ('x="https://api.cloudproject.test"', True),
        ('x="https://api.cloudproject.test/api/activities/home"', True),
        ('x="https://API.cloudproject.test"', True),
        ('x="https://api.cloudproject.test.evil.example"', False),
        ('x="https://api.cloudproject.test:8443"', False),
        ('x="https://api.cloudproject.testing"', False),
        ('x="http://api.cloudproject.test"', False),
    ],
)
def test_names_origin_needs_the_whole_origin(text, expected):
    assert names_origin(text, "https://api.cloudproject.test") is expected


@pytest.mark.parametrize(
    "url, why",
    [
        ("http://localhost:4567", "loopback"),
        ("https://localhost:3000/api", "loopback"),
        ("http://127.0.0.1:4567", "loopback"),
        ("http://[::1]:4567", "loopback"),
        ("http://10.0.1.12:4567", "private"),
        ("https://192.168.1.5", "private"),
        ("http://0.0.0.0:4567", "loopback"),
        ("https://4567-andrewbrown-awsbootcampcru-2n1d6e0bd1f.ws-us94.gitpod.io", "cloud IDE"),
        ("https://fluffy-space-4567.app.github.dev", "cloud IDE"),
        ("https://abc.vfs.cloud9.us-east-1.amazonaws.com", "cloud IDE"),
        ("https://1a2b.ngrok-free.app", "tunnel"),
        ("http://api.cloudproject.test", "plain http to the site"),
        ("ws://cloudproject.test/socket", "plain http to the site"),
        ("http://54.12.3.4:4567", "bare IP"),
    ],
)
def test_development_addresses(url, why):
    found = development_address(url, DOMAIN)
    assert found is not None and found.url == url and why in found.why


@pytest.mark.parametrize(
    "url",
    [
        "https://api.cloudproject.test",
        "https://cloudproject.test/static/js/main.js",
        "http://www.w3.org/2000/svg",
        "http://momentjs.com/guides/#/warnings/",
        "https://reactjs.org/docs/error-decoder.html?invariant=",
        "https://54.12.3.4",
        "https://notgitpod.io",
    ],
)
def test_production_and_third_party_addresses_are_not_development_ones(url):
    assert development_address(url, DOMAIN) is None
