"""S3 log objects are hostile input: a gzip bomb, an object that is not gzip,
a truncated gzip, lines that are not ALB lines, and a day's partition of
100 000 keys. Each ends, within its bound and with bounded memory, as LOG-06
failing with a message that says what is wrong, never as a pass; and the
newest log file is found without listing the whole partition.

One reference deployment for the module; each case puts one object named as
this ALB's newest log file, audits LOG-06 alone, and removes it again.
"""

from __future__ import annotations

import gzip
import time
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from fixtures.probes.aws import AwsReader, call_bound_seconds
from fixtures.probes.log_files import MAX_INFLATED_BYTES, read_log_lines
from fixtures.sandbox.access_logs import log_object_key
from fixtures.sandbox.control_plane import sandbox_client
from fixtures.sandbox.deployment import Sandbox
from fixtures.target import load_target
from tests.audit_runner import run_audit
from tests.sandbox_audit import running_sandbox

LOG_06 = ("-k", "test_access_logs_are_landing")
AUDIT_BOUND_SECONDS = 60  # one LOG-06 audit: pytest start-up, a few calls, one bounded read


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    with running_sandbox(tmp_path_factory.mktemp("hostile-logs")) as running:
        yield running.sandbox, running.target


def newest_key(sandbox: Sandbox, when: datetime, tag: str) -> str:
    spec, control = sandbox.spec, sandbox.control
    return log_object_key(
        prefix=spec.log_prefix, account=control.account, region=spec.region,
        alb_resource_id=control.alb_resource_id, end_time=when, ip="127.0.0.1", random_string=tag,
    )  # fmt: skip


def gzip_bomb(inflated_bytes: int) -> bytes:
    """Zeros, compressed a mebibyte at a time: about 1 KiB per MiB, never held inflated."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    chunk = b"\0" * (1 << 20)
    return b"".join(compressor.compress(chunk) for _ in range(inflated_bytes >> 20)) + compressor.flush()


ALB_LINES = gzip.compress(b"".join(
    b'https 2026-03-01T12:34:56.789012Z app/cruddur-alb/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 '
    b'0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" '
    b'ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/73e2d6bc24d8a067 '
    b'"Root=1-58337281-1d84f3d73c47ec4e58577259"\n' for _ in range(400)
))  # fmt: skip

CASES = [
    # (case, object body, what LOG-06's message must say)
    ("gzip bomb: 1 MiB inflating to 1 GiB", gzip_bomb(1 << 30), f"inflate past {MAX_INFLATED_BYTES} bytes"),
    ("not gzip", b"this is a plain text file, not a gzip stream\n" * 100, "not gzip data"),
    ("truncated gzip", ALB_LINES[: len(ALB_LINES) // 2], "truncated gzip"),
    ("lines that are not ALB lines", gzip.compress(b"hello world\n<html>\x00\xff\xfe</html>\n" * 50), "is not ALB access-log lines"),
]


@pytest.mark.parametrize("case, body, says", CASES, ids=[c[0] for c in CASES])
def test_a_hostile_newest_log_object_is_a_finding_with_a_clear_message(deployment, tmp_path: Path, case, body, says):
    sandbox, target = deployment
    s3 = sandbox_client("s3", sandbox.endpoint_url, sandbox.spec.region)
    # Named after the sandbox's own newest file (named by the end of its 5-minute
    # interval), so that it is the newest: same second of LastModified, later name.
    key = newest_key(sandbox, datetime.now(timezone.utc) + timedelta(minutes=8), "hostile")
    s3.put_object(Bucket=sandbox.spec.log_bucket, Key=key, Body=body)
    try:
        run = run_audit(tmp_path / "reports", "--target", str(target), *LOG_06, timeout=AUDIT_BOUND_SECONDS)
    finally:
        s3.delete_object(Bucket=sandbox.spec.log_bucket, Key=key)
    (check,) = run.checks
    print(f"| {case} ({len(body)} bytes) | {AUDIT_BOUND_SECONDS} s | {run.seconds:.2f} s | {check['outcome']}: {check['message'][:160]} |")
    assert check["id"] == "LOG-06" and check["outcome"] == "failed", (key, check["evidence"])
    assert key.rsplit("/", 1)[-1] in check["message"] and says in check["message"], check["message"]
    assert run.seconds < AUDIT_BOUND_SECONDS


def test_reading_a_gzip_bomb_is_bounded_in_time_and_memory(deployment):
    import tracemalloc

    sandbox, target = deployment
    s3 = sandbox_client("s3", sandbox.endpoint_url, sandbox.spec.region)
    bomb = gzip_bomb(1 << 30)
    s3.put_object(Bucket=sandbox.spec.log_bucket, Key="edgeproof-test/bomb.log.gz", Body=bomb)
    reader = AwsReader(load_target(target))
    tracemalloc.start()
    started = time.monotonic()
    lines, unreadable = read_log_lines(reader, sandbox.spec.log_bucket, "edgeproof-test/bomb.log.gz", len(bomb))
    wall = time.monotonic() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"| gzip bomb read directly | {call_bound_seconds(3):g} s | {wall:.2f} s | unreadable, peak {peak >> 20} MiB |")
    assert lines == [] and "gzip bomb" in unreadable
    # The process holds the bomb itself and moto's copies of it too (moto runs in
    # this process); the inflated gigabyte never exists.
    assert peak < 64 << 20, peak
    assert wall < call_bound_seconds(3)


def put_many_keys(sandbox: Sandbox, count: int, newest: datetime) -> list[str]:
    """`count` log-file keys of this ALB, one a second back from `newest`, straight into moto's backend.

    Through the S3 API this takes minutes; moto's in-process backend takes
    copies of one stored key (its value is shared: only names and dates differ).
    """
    from moto.s3.models import s3_backends

    bucket = s3_backends[sandbox.control.account]["global"].buckets[sandbox.spec.log_bucket]
    template_key = newest_key(sandbox, newest, "template")
    sandbox_client("s3", sandbox.endpoint_url, sandbox.spec.region).put_object(
        Bucket=sandbox.spec.log_bucket, Key=template_key, Body=ALB_LINES
    )
    template = bucket.keys[template_key]
    names = []
    for number in range(count):
        when = newest - timedelta(seconds=number)
        name = newest_key(sandbox, when, f"{number:08x}")
        stored = object.__new__(type(template))  # FakeKey's copy protocol reads its value: share the attributes instead
        stored.__dict__.update(template.__dict__)
        stored.name = name
        stored.disposed = True  # no "not disposed of" warning when a copy is collected
        stored.last_modified = when.replace(tzinfo=None)  # moto keeps naive UTC
        bucket.keys[name] = stored
        names.append(name)
    return names + [template_key]


def test_a_partition_of_100000_keys_is_not_listed_whole(deployment, tmp_path: Path):
    sandbox, target = deployment
    started = time.monotonic()
    # 100 000 older files of this ALB (27 hours of them), the sandbox's own fresh file newest.
    names = put_many_keys(sandbox, 100_000, datetime.now(timezone.utc) - timedelta(hours=2))
    populated = time.monotonic() - started
    try:
        run = run_audit(tmp_path / "fresh", "--target", str(target), *LOG_06, timeout=AUDIT_BOUND_SECONDS)
        listings = run.report["stats"]["aws_api_calls_by_operation"].get("s3:ListObjectsV2", 0)
        (check,) = run.checks
        print(f"| 100 000 older keys + a fresh file (populated in {populated:.1f} s) | {AUDIT_BOUND_SECONDS} s | {run.seconds:.2f} s | {check['outcome']}, {listings} listings |")
        assert check["outcome"] == "passed", check["message"]
        assert listings <= 3, listings  # the freshness window only: 1 000 keys a page would be 100 pages
        assert run.seconds < AUDIT_BOUND_SECONDS
    finally:
        from moto.s3.models import s3_backends

        bucket = s3_backends[sandbox.control.account]["global"].buckets[sandbox.spec.log_bucket]
        for name in names:
            del bucket.keys[name]
