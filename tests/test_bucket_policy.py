"""Bucket policy evaluation, statement by statement, for ELB log delivery."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from fixtures.rules.bucket_policy import ALLOWED, DENIED, UNDETERMINED, Principal, PolicyError, Request, evaluate
from fixtures.rules.elb_log_delivery import (
    LOG_DELIVERY_SERVICE,
    delivery_absent_keys,
    delivery_context,
    delivery_permission,
    delivery_principals,
    log_root,
    names_this_alb,
    sample_keys,
)

ACCOUNT = "123456789012"
ALB_ARN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/app/cruddur-alb/50dc6c495c0c9188"
BUCKET = "cruddur-alb-access-logs"
ELB_ACCOUNT = Principal("AWS", "127311923021")
SERVICE = Principal("Service", LOG_DELIVERY_SERVICE)
KEY = f"alb/AWSLogs/{ACCOUNT}/elasticloadbalancing/us-east-1/2026/03/01/{ACCOUNT}_elasticloadbalancing_us-east-1_app.cruddur-alb.50dc6c495c0c9188_20260301T1235Z_192.0.2.10_abcd1234.log.gz"


def put(principal: Principal = ELB_ACCOUNT, key: str = KEY) -> Request:
    return Request(principal, "s3:PutObject", f"arn:aws:s3:::{BUCKET}/{key}", delivery_context(principal, ACCOUNT, ALB_ARN))


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(**fields) -> dict:
    return {
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::127311923021:root"},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/alb/AWSLogs/{ACCOUNT}/*",
        **fields,
    }


def test_the_documented_statement_for_the_regions_elb_account_allows_delivery():
    decision = evaluate(policy(allow(Sid="ELB")), put())
    assert decision.outcome == ALLOWED and decision.allowing == ("ELB",)


@pytest.mark.parametrize("principal", [{"AWS": "127311923021"}, {"AWS": ["arn:aws:iam::1:root", "arn:aws:iam::127311923021:root"]}, "*", {"AWS": "*"}])
def test_the_account_may_be_named_by_id_root_arn_or_wildcard(principal):
    assert evaluate(policy(allow(Principal=principal)), put()).allowed


def test_another_account_or_a_role_of_it_is_not_the_elb_account():
    assert not evaluate(policy(allow(Principal={"AWS": "arn:aws:iam::999999999999:root"})), put()).allowed
    assert not evaluate(policy(allow(Principal={"AWS": "arn:aws:iam::127311923021:role/x"})), put()).allowed


def test_the_log_delivery_service_principal_with_its_source_conditions_allows_delivery():
    statement = allow(
        Principal={"Service": LOG_DELIVERY_SERVICE},
        Condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnLike": {"aws:SourceArn": f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/*"}},
    )
    assert evaluate(policy(statement), put(SERVICE)).allowed
    assert not evaluate(policy(statement), put(ELB_ACCOUNT)).allowed  # the statement names the service only


def test_a_source_account_condition_naming_another_account_does_not_hold():
    statement = allow(Principal={"Service": LOG_DELIVERY_SERVICE}, Condition={"StringEquals": {"aws:SourceAccount": "999999999999"}})
    decision = evaluate(policy(statement), put(SERVICE))
    assert decision.outcome == DENIED and "Condition does not hold" in decision.reasons[0]


@pytest.mark.parametrize("action", ["s3:*", "*", "s3:Put*", "S3:PUTOBJECT", ["s3:GetObject", "s3:PutObject"], "s3:PutObjec?"])
def test_action_wildcards_and_case(action):
    assert evaluate(policy(allow(Action=action)), put()).allowed


@pytest.mark.parametrize("resource", [f"arn:aws:s3:::{BUCKET}/*", f"arn:aws:s3:::{BUCKET}/alb/AWSLogs/*", f"arn:aws:s3:::{BUCKET}/alb/AWSLogs/{ACCOUNT}/elasticloadbalancing/*", "*"])
def test_resource_wildcards_that_cover_the_log_key(resource):
    assert evaluate(policy(allow(Resource=resource)), put()).allowed


@pytest.mark.parametrize(
    "resource",
    [
        f"arn:aws:s3:::{BUCKET}/alb-logs/AWSLogs/{ACCOUNT}/*",  # another prefix
        f"arn:aws:s3:::{BUCKET}/AWSLogs/{ACCOUNT}/*",  # the prefix left out
        f"arn:aws:s3:::{BUCKET}/alb/AWSLogs/999999999999/*",  # another account
        f"arn:aws:s3:::{BUCKET}",  # the bucket, not its objects
        f"arn:aws:s3:::other-bucket/alb/AWSLogs/{ACCOUNT}/*",
        f"arn:aws:s3:::{BUCKET}/ALB/AWSLogs/{ACCOUNT}/*",  # keys are case-sensitive
    ],
)
def test_resources_that_miss_the_log_key_do_not_allow(resource):
    decision = evaluate(policy(allow(Resource=resource)), put())
    assert decision.outcome == DENIED and decision.reasons[-1] == "no statement allows it (implicit deny)"


def test_an_explicit_deny_wins_over_an_allow():
    deny = {"Sid": "NoPut", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
    decision = evaluate(policy(allow(Sid="ELB"), deny), put())
    assert decision.outcome == DENIED and decision.denying == ("NoPut",)


def test_a_deny_of_insecure_transport_does_not_apply_to_delivery_over_tls():
    deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    assert evaluate(policy(allow(), deny), put()).allowed


def test_not_action_not_resource_and_not_principal():
    assert evaluate(policy(allow(Action=None, NotAction="s3:Delete*")), put()).allowed
    assert not evaluate(policy(allow(Action=None, NotAction="s3:Put*")), put()).allowed
    assert not evaluate(policy(allow(Resource=None, NotResource=f"arn:aws:s3:::{BUCKET}/alb/*")), put()).allowed
    deny_all_but_elb = {"Effect": "Deny", "NotPrincipal": {"AWS": "127311923021"}, "Action": "s3:*", "Resource": "*"}
    assert evaluate(policy(allow(), deny_all_but_elb), put()).allowed
    assert evaluate(policy(allow(Principal=None, NotPrincipal={"AWS": "999999999999"})), put()).allowed


def test_a_condition_the_evaluation_cannot_decide_is_undetermined_not_a_guess():
    statement = allow(Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})
    decision = evaluate(policy(statement), put())
    assert decision.outcome == UNDETERMINED and "cannot decide" in decision.reasons[0]
    # ... unless another statement settles it.
    assert evaluate(policy(statement, allow(Sid="plain")), put()).allowed


def test_an_undecidable_deny_leaves_an_allow_undetermined():
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}
    assert evaluate(policy(allow(), deny), put()).outcome == UNDETERMINED


def test_if_exists_on_a_key_the_request_lacks_holds():
    statement = allow(Condition={"StringEqualsIfExists": {"s3:x-amz-acl": "bucket-owner-full-control"}})
    assert evaluate(policy(statement), put()).allowed


def test_a_single_statement_object_is_a_statement_list():
    assert evaluate(json.dumps({"Statement": allow()}), put()).allowed


@pytest.mark.parametrize("document", ["not json", "[]", json.dumps({"Statement": "x"}), policy({"Principal": "*"})])
def test_a_document_that_is_no_policy_is_an_error(document):
    with pytest.raises(PolicyError):
        evaluate(document, put())


def test_the_principals_aws_documents_per_region():
    assert [str(p) for p in delivery_principals("us-east-1")] == ["AWS:127311923021", f"Service:{LOG_DELIVERY_SERVICE}"]
    assert [str(p) for p in delivery_principals("eu-south-2")] == [f"Service:{LOG_DELIVERY_SERVICE}"]  # opened after August 2022
    assert delivery_principals("cn-north-1")[0].partition == "aws-cn"


def test_the_keys_elb_writes_and_how_they_are_named():
    assert log_root("alb", ACCOUNT) == f"alb/AWSLogs/{ACCOUNT}/" and log_root("", ACCOUNT) == f"AWSLogs/{ACCOUNT}/"
    assert names_this_alb(KEY, ACCOUNT, "us-east-1", ALB_ARN)
    other = KEY.replace("app.cruddur-alb.50dc6c495c0c9188", "app.other-alb.1111111111111111")
    assert not names_this_alb(other, ACCOUNT, "us-east-1", ALB_ARN)
    assert not names_this_alb(f"alb/AWSLogs/{ACCOUNT}/ELBAccessLogTestFile", ACCOUNT, "us-east-1", ALB_ARN)
    log_key, test_file = sample_keys("alb", ACCOUNT, "us-east-1", ALB_ARN, datetime(2026, 3, 1, tzinfo=timezone.utc))
    assert names_this_alb(log_key, ACCOUNT, "us-east-1", ALB_ARN) and log_key.startswith(f"alb/AWSLogs/{ACCOUNT}/elasticloadbalancing/us-east-1/2026/03/01/")
    assert test_file == f"alb/AWSLogs/{ACCOUNT}/ELBAccessLogTestFile"


# --- negated operators on keys delivery lacks (IAM User Guide, 'Condition operators') ---------


def delivery(principal: Principal = ELB_ACCOUNT) -> Request:
    return Request(
        principal, "s3:PutObject", f"arn:aws:s3:::{BUCKET}/{KEY}", delivery_context(principal, ACCOUNT, ALB_ARN), delivery_absent_keys(principal)
    )


def deny_outside(operator: str, key: str = "aws:PrincipalOrgID", value: str = "o-a1b2c3d4e5", **fields) -> dict:
    return {
        "Sid": "OrgOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
        "Condition": {operator: {key: value}},
        **fields,
    }


@pytest.mark.parametrize("operator", ["StringNotEquals", "StringNotLike", "StringNotEqualsIgnoreCase", "StringNotEqualsIfExists"])
@pytest.mark.parametrize("principal", [ELB_ACCOUNT, SERVICE])
def test_an_organisation_only_deny_blocks_delivery_as_aws_evaluates_it(operator, principal):
    # The key is absent for both delivery principals: the negated operator holds, the Deny applies.
    statements = policy(allow(Principal={"AWS": "127311923021", "Service": LOG_DELIVERY_SERVICE}), deny_outside(operator))
    decision = evaluate(statements, delivery(principal))
    assert decision.outcome == DENIED and decision.denying == ("OrgOnly",)


def test_a_positive_operator_on_an_absent_key_never_applies_and_null_tests_presence():
    assert evaluate(policy(allow(), deny_outside("StringEquals")), delivery()).allowed
    assert evaluate(policy(allow(), deny_outside("Null", value="true")), delivery()).outcome == DENIED
    assert evaluate(policy(allow(), deny_outside("Null", value="false")), delivery()).allowed
    # A Null test of a key whose presence is not known stays undecided.
    assert evaluate(policy(allow(), deny_outside("Null", key="aws:SourceIp", value="true")), delivery()).outcome == UNDETERMINED


def test_an_organisation_deny_that_exempts_aws_service_principals_lets_the_service_principal_deliver():
    exempt = deny_outside("StringNotEquals")
    exempt["Condition"]["BoolIfExists"] = {"aws:PrincipalIsAWSService": "false"}
    both = allow(Principal={"AWS": "127311923021", "Service": LOG_DELIVERY_SERVICE})
    assert evaluate(policy(both, exempt), delivery(SERVICE)).allowed
    assert evaluate(policy(both, exempt), delivery(ELB_ACCOUNT)).outcome == DENIED


def test_a_negated_operator_on_a_key_of_unknown_presence_is_still_undetermined():
    decision = evaluate(policy(allow(), deny_outside("StringNotEquals", key="aws:UserAgent", value="x")), delivery())
    assert decision.outcome == UNDETERMINED


def test_the_delivery_permission_finds_an_organisation_only_deny():
    document = policy(allow(), deny_outside("StringNotEquals"))
    permission = delivery_permission(document, BUCKET, "alb", "us-east-1", ALB_ARN, datetime(2026, 3, 1, tzinfo=timezone.utc))
    assert permission.undetermined is None and not permission.granted_to


def test_the_elb_account_of_another_region_grants_nothing_where_the_region_has_none():
    # A policy copied from a us-east-1 example into Europe (Spain), a Region opened after August 2022.
    arn = ALB_ARN.replace("us-east-1", "eu-south-2")
    now = datetime(2026, 3, 1, tzinfo=timezone.utc)
    copied = delivery_permission(policy(allow()), BUCKET, "alb", "eu-south-2", arn, now)
    assert copied.undetermined is None and not copied.granted_to
    service = delivery_permission(policy(allow(Principal={"Service": LOG_DELIVERY_SERVICE})), BUCKET, "alb", "eu-south-2", arn, now)
    assert service.granted_to == (f"Service:{LOG_DELIVERY_SERVICE}",)
    # In us-east-1 either principal may deliver.
    assert delivery_permission(policy(allow()), BUCKET, "alb", "us-east-1", ALB_ARN, now).granted_to == ("AWS:127311923021",)
