"""A log file delivered just after midnight UTC lives in the next day's folder, and is found.

AWS names a log file after the end of its 5-minute interval but files it under
the date it is delivered: the file of the interval ending 23:55 lands at 00:02
in the next day's folder, where a per-day listing that starts at that day's
midnight passes over it (issue 19, case 7). Against the reference deployment's
S3 (moto), with the listing's window put around a midnight.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from fixtures.probes.aws import AwsReader
from fixtures.probes.log_files import LogLocation, list_log_files
from fixtures.sandbox.access_logs import log_object_key
from fixtures.sandbox.control_plane import sandbox_client
from fixtures.target import load_target
from tests.sandbox_audit import running_sandbox

MIDNIGHT = datetime(2026, 12, 7, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    with running_sandbox(tmp_path_factory.mktemp("midnight")) as running:
        yield running.sandbox, running.target


def test_a_file_named_before_midnight_and_delivered_after_it_is_listed(deployment):
    sandbox, target = deployment
    spec, control = sandbox.spec, sandbox.control
    interval_end = MIDNIGHT - timedelta(minutes=5)  # 23:55, delivered at 00:02 the next day
    key = log_object_key(
        prefix=spec.log_prefix, account=control.account, region=spec.region, alb_resource_id=control.alb_resource_id,
        end_time=interval_end, ip="127.0.0.1", random_string="midnight", delivered=MIDNIGHT + timedelta(minutes=2),
    )  # fmt: skip
    assert "/2026/12/07/" in key and "_20261206T2355Z_" in key
    sandbox_client("s3", sandbox.endpoint_url, spec.region).put_object(Bucket=spec.log_bucket, Key=key, Body=b"")
    location = LogLocation.of(spec.log_bucket, spec.log_prefix, spec.region, control.alb_arn)
    searched: list[str] = []
    found = list_log_files(
        AwsReader(load_target(target)), location, MIDNIGHT - timedelta(minutes=20), MIDNIGHT + timedelta(minutes=10), searched
    )
    assert key in [file.key for file in found], searched
    # The next day's folder is listed from before its own midnight.
    assert any("/2026/12/07/ (from 23:40Z)" in where for where in searched), searched
