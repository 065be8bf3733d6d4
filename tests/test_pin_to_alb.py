"""Pre-cutover: `--pin-to-alb` audits a new ALB before Route 53 points at it.

The reference deployment here has no record for any public host yet (the new
hosted zone is not cut over), so public DNS leads nowhere: without the pin every
wire check could not verify; with it, the wire reaches the ALB through the
addresses of its own DNS name, every check but the DNS aliases passes, and the
DNS aliases are skipped with the reason.
"""

from __future__ import annotations

from dataclasses import replace

from fixtures.plugins.precutover import SKIP_REASON
from fixtures.sandbox.spec import NO_RECORD, compliant_spec
from tests.sandbox_audit import running_sandbox


def _not_cut_over():
    spec = compliant_spec()
    return replace(spec, dns=replace(spec.dns, apex=NO_RECORD, api=NO_RECORD, extra=NO_RECORD))


def test_pinned_audit_of_an_alb_that_dns_does_not_reach_yet(tmp_path):
    with running_sandbox(tmp_path, _not_cut_over()) as running:
        pinned = running.audit("--pin-to-alb", reports="pinned")
        public = running.audit("-m", "https_redirect and wire", reports="public")

    dns_checks = [c for c in pinned.checks if c["requirement"] == "dns-alias"]
    assert dns_checks and all(c["outcome"] == "skipped" for c in dns_checks), dns_checks
    assert all(SKIP_REASON in c["message"] for c in dns_checks)
    others = {c["nodeid"]: c["outcome"] for c in pinned.checks if c["requirement"] != "dns-alias"}
    assert others and set(others.values()) == {"passed"}, {k: v for k, v in others.items() if v != "passed"}
    assert pinned.exit_code == 0, pinned.output[-3000:]
    assert pinned.report["stats"]["pinned_to_alb"].endswith(".elb.amazonaws.com")
    # The pin and the load_balancer fact read the same ALB: one request, not two.
    assert pinned.report["stats"]["aws_api_calls_by_operation"]["elbv2:DescribeLoadBalancers"] == 1

    # The same deployment through public DNS: the hosts do not resolve, nothing passes.
    assert public.checks and {c["outcome"] for c in public.checks} == {"error"}, public.output[-3000:]
