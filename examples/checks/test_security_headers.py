"""An example of a team's own check, run with the built-in ones:

    ./run audit --extra-checks examples/checks

Our security team requires `X-Content-Type-Options: nosniff` on every HTTPS
answer (OWASP Secure Headers Project; the Mozilla HTTP Observatory tests it),
so a browser never runs an upload or an error page as script. The check uses
the same facts as the built-in ones: `wire` (memoised HTTP exchanges through
the target's resolvers and trust store), `public_host` (one report row per
public host) and `evidence` (what the report shows).
"""

from __future__ import annotations

from fixtures.checkmeta import check


@check(
    id="XHD-01",
    title="Every public host's HTTPS answers carry X-Content-Type-Options: nosniff",
    requirement="security-headers",  # declared in requirements.toml beside this module
    plane="wire",
    severity="low",
    remediation="Have the 443 listener add it: aws elbv2 modify-listener-attributes --listener-arn ARN "
    "--attributes Key=routing.http.response.x_content_type_options.header_value,Value=nosniff",
)
def test_https_answers_carry_nosniff(wire, public_host, evidence):
    exchange = wire.request("https", public_host, "/")
    evidence.add("exchange", exchange.as_evidence())
    value = exchange.response.header("X-Content-Type-Options")
    assert value is not None, f"{exchange.request.url} answered without X-Content-Type-Options; expected nosniff"
    assert value.strip().lower() == "nosniff", f"{exchange.request.url} sends X-Content-Type-Options {value!r}; expected nosniff"
