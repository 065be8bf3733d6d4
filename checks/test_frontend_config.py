"""Requirement `frontend-config`: the frontend build calls the site's API and nothing of a developer's.

"After these steps the frontend docker image had to be rebuilt with the
correct backend url": React inlines REACT_APP_BACKEND_URL into the bundle at
build time, so an image built before the domain existed keeps calling the
developer's address. The bundles the apex page loads must name the target's
API origin (`https://api.DOMAIN`) and no development address. And it must be
the production build ("npm run build" behind nginx, the write-up's
Dockerfile.prod), not the development server a pipeline that builds the
default Dockerfile (`npm start`) deploys, and it should not hand out its source
maps.
"""

from __future__ import annotations

import pytest

from fixtures.catalogue.checkmeta import check
from fixtures.rules.frontend_build import development_address, names_origin, urls_in
from fixtures.probes.errors import ProbeError

MAX_LISTED = 8


def _build_or_skip(frontend_build, evidence):
    evidence.add("frontend build", frontend_build.as_evidence())
    if frontend_build.not_a_page:
        pytest.skip(
            f"there is no frontend page to read the build from: {frontend_build.not_a_page} "
            "(routing's checks judge what the apex serves)"
        )
    return frontend_build


@check(
    id="FED-01",
    title="The frontend bundle names the target's API origin",
    requirement="frontend-config",
    plane="wire",
    severity="high",
    remediation="Rebuild the frontend image with REACT_APP_BACKEND_URL=https://api.DOMAIN and redeploy the service.",
)
def test_frontend_bundle_names_the_api_origin(frontend_build, target, evidence):
    build = _build_or_skip(frontend_build, evidence)
    api_origin = f"https://{target.api_host}"
    naming = [bundle.exchange.request.url for bundle in build.bundles if names_origin(bundle.text, api_origin)]
    evidence.add("bundles naming the API origin", {"api_origin": api_origin, "bundles": naming})
    evidence.add("absolute URLs in the bundles", {bundle.exchange.request.url: list(urls_in(bundle.text)) for bundle in build.bundles})
    if not naming and build.truncated:
        raise ProbeError(
            ", ".join(bundle.exchange.request.url for bundle in build.truncated),
            f"bundle larger than max_body_bytes ({target.max_body_bytes}); raise [network] max_body_bytes to read it whole",
        )
    assert build.bundles, f"{build.page.request.url} loads no JavaScript bundle of its own; expected the React build naming {api_origin}"
    assert naming, (
        f"no bundle of {build.page.request.url} names the API origin {api_origin} "
        f"(bundles read: {[bundle.exchange.request.url for bundle in build.bundles]}); the build calls another backend"
    )


@check(
    id="FED-02",
    title="The frontend bundle names no development address",
    requirement="frontend-config",
    plane="wire",
    severity="high",
    remediation="Build the production image with production settings only (REACT_APP_BACKEND_URL=https://api.DOMAIN), "
    "not the docker-compose or cloud IDE values.",
)
def test_frontend_bundle_names_no_development_address(frontend_build, target, evidence):
    build = _build_or_skip(frontend_build, evidence)
    found = [
        (bundle.exchange.request.url, address)
        for bundle in build.bundles
        for address in (development_address(url, target.domain) for url in urls_in(bundle.text))
        if address is not None
    ]
    evidence.add("development addresses found", [{"bundle": bundle, "url": a.url, "why": a.why} for bundle, a in found])
    shown = "; ".join(f"{address.url} ({address.why}) in {bundle}" for bundle, address in found[:MAX_LISTED])
    assert not found, f"the frontend build calls development addresses: {shown}; expected only https://{target.api_host}"


@check(
    id="FED-03",
    title="The frontend is a production build on a static server, not a development server",
    requirement="frontend-config",
    plane="wire",
    severity="high",
    remediation="Build and deploy the production image (Dockerfile.prod: `npm run build` served by nginx or another static server); "
    "never `npm start` or `vite` in production.",
)
def test_frontend_is_a_production_build(frontend_server, evidence):
    _build_or_skip(frontend_server.build, evidence)
    evidence.add("production or development", frontend_server.as_evidence())
    shown = "; ".join(f"{s.name} at {s.where} ({s.why})" for s in frontend_server.signals[:MAX_LISTED])
    assert not frontend_server.signals, (
        f"the frontend is served by a development server or build: {shown}; expected a minified, content-hashed production build"
    )


@check(
    id="FED-04",
    title="The frontend serves no source maps of its build",
    requirement="frontend-config",
    plane="wire",
    severity="low",
    remediation="Build with GENERATE_SOURCEMAP=false (Create React App) or build.sourcemap false (Vite), or delete the *.map files "
    "before the image is made; upload maps to the error tracker instead.",
)
def test_frontend_serves_no_source_maps(frontend_server, evidence):
    _build_or_skip(frontend_server.build, evidence)
    evidence.add("source maps", [m.as_evidence() for m in frontend_server.source_maps])
    served = frontend_server.served_maps
    shown = "; ".join(
        f"{m.url} for {m.bundle} ({m.shape.sources} sources, {m.shape.with_content} with their content)" for m in served[:MAX_LISTED]
    )
    assert not served, f"the frontend serves its source maps, the app's original source: {shown}"
