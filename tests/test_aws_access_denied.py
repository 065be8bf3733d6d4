"""AccessDenied on one AWS API errors the checks that need it, naming the permission; the rest of the run goes on.

The audit talks to the reference deployment's moto server through a loopback
proxy (tests/aws_proxy.py) that forwards every request unchanged except S3
GetBucketPolicy, which it answers as S3 answers a caller without
s3:GetBucketPolicy. (tests/test_iam_policy.py does the same with moto's own
IAM enforcement, for every action.)
"""

from __future__ import annotations

from pathlib import Path

from fixtures.gate.exit_codes import ExitCode
from fixtures.sandbox.faults import FAULTS
from fixtures.sandbox.spec import compliant_spec
from tests.aws_proxy import (
    AwsProxy,
    bucket_of_another_account,
    deny_get_bucket_policy,
    is_get_bucket_policy,
    listener_attributes_unavailable,
)
from tests.hostile import set_target_key
from tests.sandbox_audit import running_sandbox


def audit_through_proxy(tmp_path: Path, rule, spec=None):
    """Audit the reference deployment (or `spec`) with its AWS endpoint behind the misbehaving proxy."""
    with running_sandbox(tmp_path, spec) as running, AwsProxy(running.sandbox.endpoint_url, rule) as proxy:
        set_target_key(running.target, "endpoint_url", f'"{proxy.url}"')
        return running.audit(), proxy


def test_the_proxy_recognises_get_bucket_policy_only():
    assert is_get_bucket_policy("GET", "/cruddur-alb-access-logs?policy")
    assert is_get_bucket_policy("GET", "/cruddur-alb-access-logs?policy=")
    assert not is_get_bucket_policy("PUT", "/cruddur-alb-access-logs?policy")
    assert not is_get_bucket_policy("GET", "/cruddur-alb-access-logs?location")
    assert not is_get_bucket_policy("GET", "/cruddur-alb-access-logs/alb/AWSLogs/x?policy")


def test_access_denied_on_get_bucket_policy_errors_only_the_policy_check_and_names_the_permission(tmp_path: Path):
    run, proxy = audit_through_proxy(tmp_path, deny_get_bucket_policy)
    assert proxy.faulted, "the audit never asked for the bucket policy"
    errors = {check["id"]: check["message"] for check in run.checks if check["outcome"] == "error"}
    assert set(errors) == {"LOG-03"}, run.output[-3000:]
    assert "could not verify" in errors["LOG-03"] and "s3:GetBucketPolicy" in errors["LOG-03"], errors["LOG-03"]
    assert "another account" in errors["LOG-03"], errors["LOG-03"]  # 403 is also what a bucket of another account answers
    assert run.ids_with("passed") == {check["id"] for check in run.checks} - {"LOG-03"}
    assert run.report["summary"]["verdict"] == "incomplete"
    assert run.exit_code == ExitCode.INCOMPLETE


def test_a_log_bucket_of_another_account_is_could_not_verify_and_blames_no_permission(tmp_path: Path):
    # S3 answers GetBucketPolicy with 405 to an identity of another account, whatever it is granted.
    run, proxy = audit_through_proxy(tmp_path, bucket_of_another_account)
    assert proxy.faulted, "the audit never asked for the bucket policy"
    errors = {check["id"]: check["message"] for check in run.checks if check["outcome"] == "error"}
    assert set(errors) == {"LOG-03"}, run.output[-3000:]
    assert "could not verify" in errors["LOG-03"] and "belongs to another account" in errors["LOG-03"], errors["LOG-03"]
    assert "audit role needs" not in errors["LOG-03"], errors["LOG-03"]
    assert run.exit_code == ExitCode.INCOMPLETE


# The checks that read the listener attributes: COR-05 directly, RDR-10 through the HSTS fact.
LISTENER_ATTRIBUTE_READERS = {"COR-05", "RDR-10"}


def test_listener_attributes_unavailable_in_the_region_is_said_plainly(tmp_path: Path):
    # An ELB endpoint that does not offer DescribeListenerAttributes answers ValidationError:
    # not a permission of the audit role, not the listener's state.
    run, proxy = audit_through_proxy(tmp_path, listener_attributes_unavailable)
    assert proxy.faulted, "the audit never asked for the listener attributes"
    errors = {check["id"]: check["message"] for check in run.checks if check["outcome"] == "error"}
    assert set(errors) == LISTENER_ATTRIBUTE_READERS, run.output[-3000:]
    for message in errors.values():
        assert "does not offer DescribeListenerAttributes" in message and "cannot be read in this Region" in message, message
        assert "audit role needs" not in message, message
    assert not run.ids_with("failed"), run.output[-3000:]
    assert run.exit_code == ExitCode.INCOMPLETE


def deny_get_parameters(_method: str, _path: str, headers: dict[str, str]) -> str | None:
    return "deny" if headers.get("X-Amz-Target") == "AmazonSSM.GetParameters" else None


def test_urls_in_ssm_the_audit_may_not_read_are_could_not_verify_never_missing(tmp_path: Path):
    # The task definitions take FRONTEND_URL and BACKEND_URL from plain SSM parameters
    # (the compliant trap); the audit role lacks ssm:GetParameters.
    spec = FAULTS["trap-urls-from-ssm-parameters"].apply(compliant_spec())
    run, proxy = audit_through_proxy(tmp_path, deny_get_parameters, spec)
    assert proxy.faulted, "the audit never asked for the parameters"
    errors = {check["id"]: check["message"] for check in run.checks if check["outcome"] == "error"}
    # The checks that read the URL values: the task environment's (DEP-03) and CORS's (COR-06, COR-07).
    assert set(errors) == {"COR-06", "COR-07", "DEP-03"}, run.output[-3000:]
    for message in errors.values():
        assert "could not verify" in message and "ssm:GetParameters" in message, message
    assert not run.ids_with("failed"), run.output[-3000:]
    assert run.exit_code == ExitCode.INCOMPLETE
