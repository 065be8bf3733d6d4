"""Read-only, proven: a botocore hook records every operation the run makes,
the JSON report lists them, and every one of a full audit is a Describe, Get,
List or Head of the audit's table (the one its IAM policy is generated from).
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from fixtures.probes.aws import AwsReader
from fixtures.probes.aws_operations import AUDIT_OPERATIONS, READ_ONLY_PREFIXES
from fixtures.probes.errors import ProbeError
from fixtures.target import Target
from tests.hostile import closed_port

CANARY = "edgeproof-canary-parameter-value"


def dead_end_target() -> Target:
    return Target(
        "test", "test", "example.test", "api.example.test", "example.test", "us-east-1", "alb", "cluster", "b", "f",
        endpoint_url=f"http://127.0.0.1:{closed_port()}", sandbox_credentials=True, timeout_seconds=1,
    )  # fmt: skip


def test_the_reader_refuses_writes_and_reads_outside_its_table():
    reader = AwsReader(dead_end_target())
    with pytest.raises(ValueError, match="refusing s3:PutObject"):
        reader.call("s3", "put_object", Bucket="b", Key="k", Body=b"")
    with pytest.raises(ValueError, match="refusing s3:ListBuckets"):
        reader.call("s3", "list_buckets")  # a read, but not one the policy grants
    assert reader.operations == []  # refused before botocore saw them


def test_the_recorder_sees_operations_made_past_the_reader_and_keeps_no_parameters():
    reader = AwsReader(dead_end_target())
    with pytest.raises(ProbeError):
        reader.call("s3", "get_bucket_policy", Bucket=CANARY)
    with pytest.raises(Exception):
        reader.client("elbv2").describe_tags(ResourceArns=[CANARY])  # straight on the client: still recorded
    assert reader.operations == ["s3:GetBucketPolicy", "elbv2:DescribeTags"]
    assert CANARY not in json.dumps(reader.stats())


def test_every_operation_of_a_full_audit_is_a_read_of_the_table(sandbox_audit):
    run = sandbox_audit()
    assert run.report["summary"]["verdict"] == "compliant", run.output[-3000:]
    stats = run.report["stats"]
    operations = stats["aws_operations"]
    assert len(operations) == stats["aws_api_calls"] > 20
    assert Counter(operations) == Counter(stats["aws_api_calls_by_operation"])
    not_reads = [op for op in operations if not op.split(":", 1)[1].startswith(READ_ONLY_PREFIXES)]
    assert not not_reads, not_reads
    outside = {op for op in operations if tuple(op.split(":", 1)) not in AUDIT_OPERATIONS}
    assert not outside, outside
