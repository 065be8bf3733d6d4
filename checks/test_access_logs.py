"""Requirement `access-logs`: the ALB's access logs really land in S3.

The write-up's last ALB step: "modify load balancer to enable access logs. A
new S3 bucket for the logs had to also be created." On the control plane the
ALB's attributes enable logging to a bucket in the ALB's Region whose policy
lets ELB log delivery write under PREFIX/AWSLogs/ACCOUNT/, that blocks public
access and is encrypted the one way ALB delivery supports (SSE-S3). And the
logs are landing: the newest file named for this ALB is recent and holds ALB
access-log lines.

Where the logs must land is the target's to say (`[access_logs] bucket` and
`prefix`); without it, the ALB's own attributes are taken as the intent. The
attributes, the bucket policy's resource and the fresh objects are all held
to that one location, so a typo in the ALB's prefix, with the policy edited to
match, is a finding and not a consistent deployment.

The end-to-end check (a marked request, then the bucket polled until its line
lands) is opt-in and lives in checks/slow/.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from fixtures.catalogue.checkmeta import check
from fixtures.model.arn import account_of, alb_resource_id
from fixtures.probes.errors import ProbeError
from fixtures.rules.bucket_policy import PolicyError
from fixtures.rules.elb_log_delivery import SUPPORTED_ENCRYPTION, delivery_permission, log_root

PUBLIC_ACCESS_BLOCK = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


@check(
    id="LOG-01",
    title="The ALB's access logging is enabled to the intended bucket and prefix",
    requirement="access-logs",
    plane="control",
    severity="high",
    controls=("ELB.5",),
    remediation="aws elbv2 modify-load-balancer-attributes --attributes Key=access_logs.s3.enabled,Value=true "
    "Key=access_logs.s3.bucket,Value=BUCKET Key=access_logs.s3.prefix,Value=PREFIX",
)
def test_access_logging_is_enabled(access_log_settings, intended_log_location, load_balancer, evidence):
    evidence.add("access-log attributes", access_log_settings.as_evidence())
    evidence.add("intended location", intended_log_location.as_evidence())
    assert access_log_settings.enabled, (
        f"the ALB {load_balancer.name} has access_logs.s3.enabled=false: it writes no access logs"
        + (f" (the bucket attribute still names {access_log_settings.bucket})" if access_log_settings.bucket else "")
    )
    assert access_log_settings.bucket, f"the ALB {load_balancer.name} enables access logs but names no bucket"
    wrong = [
        f"{attribute}={observed!r} (the target says {intended!r})"
        for attribute, observed, intended in (
            ("access_logs.s3.bucket", access_log_settings.bucket, intended_log_location.bucket),
            ("access_logs.s3.prefix", access_log_settings.prefix, intended_log_location.prefix),
        )
        if observed != intended
    ]
    assert not wrong, f"the ALB {load_balancer.name} logs to another place than intended: " + "; ".join(wrong)


@check(
    id="LOG-02",
    title="The intended log bucket exists in the ALB's Region",
    requirement="access-logs",
    plane="control",
    severity="high",
    remediation="Create the bucket in the ALB's Region (or point access_logs.s3.bucket at one that exists there).",
)
def test_log_bucket_exists_in_the_albs_region(log_bucket, target, evidence):
    if log_bucket is None:
        pytest.skip("neither the target nor the ALB names an access-log bucket (LOG-01 reports it)")
    evidence.add("bucket", log_bucket.as_evidence())
    assert log_bucket.exists, f"the log bucket s3://{log_bucket.name} does not exist: every delivery fails"
    assert log_bucket.region == target.region, (
        f"the log bucket {log_bucket.name} is in {log_bucket.region}; ALB log delivery needs it in the ALB's Region {target.region}"
    )


@check(
    id="LOG-03",
    title="The bucket policy lets ELB log delivery write under PREFIX/AWSLogs/ACCOUNT/",
    requirement="access-logs",
    plane="control",
    severity="high",
    remediation="Add the statement AWS documents: Allow s3:PutObject on arn:aws:s3:::BUCKET/PREFIX/AWSLogs/ACCOUNT/* "
    "to the Region's ELB account or logdelivery.elasticloadbalancing.amazonaws.com.",
)
def test_bucket_policy_lets_elb_deliver(log_bucket_policy, intended_log_location, load_balancer, log_bucket, target, evidence):
    root = log_root(intended_log_location.prefix, account_of(load_balancer.arn))
    # The policy evaluated for each principal AWS documents for the Region and each key ELB writes.
    where = f"evaluating the bucket policy of {log_bucket.name}"
    try:
        permission = delivery_permission(
            log_bucket_policy, log_bucket.name, intended_log_location.prefix, target.region, load_balancer.arn, datetime.now(timezone.utc)
        )
    except PolicyError as error:
        raise ProbeError(where, str(error)) from None
    if permission.undetermined is not None:
        raise ProbeError(where, "; ".join(permission.undetermined.reasons))
    evidence.add("intended location", intended_log_location.as_evidence())
    evidence.add("bucket policy", permission.policy or "none")
    evidence.add("evaluation", permission.as_evidence())
    assert permission.policy is not None, (
        f"the log bucket {log_bucket.name} has no bucket policy: ELB log delivery cannot write under {root}"
    )
    assert permission.granted_to, (
        f"the policy of {log_bucket.name} lets no ELB log-delivery principal write every key under {root} "
        f"(evaluated {', '.join(permission.keys)}); deliveries are denied"
    )


@check(
    id="LOG-04",
    title="The log bucket blocks public access",
    requirement="access-logs",
    plane="control",
    severity="medium",
    controls=("S3.8",),
    remediation="aws s3api put-public-access-block --bucket BUCKET --public-access-block-configuration "
    "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true",
)
def test_log_bucket_blocks_public_access(log_bucket_public_access_block, log_bucket, evidence):
    evidence.add("public access block", log_bucket_public_access_block or "none configured")
    assert log_bucket_public_access_block is not None, (
        f"the log bucket {log_bucket.name} has no Block Public Access configuration; expected all four settings on"
    )
    off = [name for name in PUBLIC_ACCESS_BLOCK if not log_bucket_public_access_block.get(name)]
    assert not off, f"the log bucket {log_bucket.name} has {', '.join(off)} off; expected all four Block Public Access settings on"


@check(
    id="LOG-05",
    title="The log bucket's default encryption is one ALB delivery supports (SSE-S3)",
    requirement="access-logs",
    plane="control",
    severity="medium",
    remediation="Set the bucket's default encryption to SSE-S3 (AES256); ALB log delivery supports no other.",
)
def test_log_bucket_encryption_is_supported(log_bucket_encryption, log_bucket, evidence):
    evidence.add("default encryption", list(log_bucket_encryption) or "none configured")
    assert log_bucket_encryption, f"the log bucket {log_bucket.name} has no default encryption; expected SSE-S3 (AES256)"
    unsupported = [algorithm for algorithm in log_bucket_encryption if algorithm not in SUPPORTED_ENCRYPTION]
    assert not unsupported, (
        f"the log bucket {log_bucket.name} encrypts with {', '.join(unsupported)}; ALB log delivery supports only "
        "SSE-S3 (AES256), so its deliveries fail"
    )


@check(
    id="LOG-06",
    title="Access logs are landing: the newest log file is recent and holds ALB log lines",
    requirement="access-logs",
    plane="control",
    severity="high",
    remediation="Find why delivery stopped (attribute, bucket, policy, encryption) and fix it; ELB delivers every 5 minutes.",
)
def test_access_logs_are_landing(newest_access_log, log_bucket, access_log_settings, intended_log_location, load_balancer, target, evidence):
    window = target.thresholds.log_freshness_minutes
    evidence.add("freshness window (minutes)", window)
    evidence.add("intended location", intended_log_location.as_evidence())
    assert log_bucket is not None, f"no log bucket is named for {load_balancer.name}: no access log can land"
    assert log_bucket.exists, f"the log bucket {log_bucket.name} does not exist: no access log can land"
    evidence.add("searched", list(newest_access_log.searched))
    newest = newest_access_log.newest
    assert newest is not None, (
        f"no log file of {load_balancer.name} in s3://{log_bucket.name} under {', '.join(newest_access_log.searched)}"
        + ("" if access_log_settings.enabled else " (access logging is off)")
        + (
            f" (the ALB names prefix {access_log_settings.prefix!r})"
            if access_log_settings.prefix != intended_log_location.prefix
            else ""
        )
    )
    age_minutes = (datetime.now(timezone.utc) - newest.last_modified).total_seconds() / 60
    evidence.add("newest log file", {**newest.as_evidence(), "age_minutes": round(age_minutes, 1)})
    evidence.add("lines read", len(newest_access_log.lines))
    if newest_access_log.parsed:
        evidence.add("first line", newest_access_log.parsed[0].summary())
    assert age_minutes <= window, (
        f"the newest log file of {load_balancer.name} ({newest.key}) was written {age_minutes:.0f} minutes ago; "
        f"expected one within {window} minutes: delivery has stopped"
    )
    assert newest_access_log.unreadable is None, f"{newest.key} cannot be read: {newest_access_log.unreadable}"
    assert newest_access_log.lines, f"{newest.key} holds no log lines"
    # A real ALB logs what the internet sends it, scanners' garbage included, and AWS
    # adds fields over the years: a line the parser cannot read is counted and shown,
    # and the file fails only when no line at all is an access-log line of this ALB.
    if newest_access_log.errors:
        evidence.add("lines not read as ALB log lines", len(newest_access_log.errors))
        evidence.add("why (first three)", list(newest_access_log.errors[:3]))
    own = alb_resource_id(load_balancer.arn)
    ours = [line for line in newest_access_log.parsed if line.elb == own]
    evidence.add("lines of this ALB", len(ours))
    foreign = sorted({line.elb for line in newest_access_log.parsed if line.elb != own})
    assert not foreign, f"{newest.key} holds lines of {', '.join(foreign)}, not of this ALB {own}"
    assert ours, f"{newest.key} is not ALB access-log lines of {own}: " + "; ".join(newest_access_log.errors[:3])
