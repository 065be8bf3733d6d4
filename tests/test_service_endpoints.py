"""Per-service endpoints ([aws.endpoints]): a VPC interface endpoint serves one AWS service."""

from __future__ import annotations

import pytest

from fixtures.probes.aws import AwsReader
from fixtures.probes.aws_operations import AUDIT_OPERATIONS
from fixtures.target.endpoints import AWS_SERVICES
from fixtures.target.file import TargetError, load_target

TARGET = """
[site]
domain = "example.org"

[aws]
region = "eu-west-1"
alb_name = "alb"
cluster = "c"
endpoint_url = "https://general.example.org"
{extra}
"""


def write(tmp_path, extra: str):
    path = tmp_path / "target.toml"
    path.write_text(TARGET.format(extra=extra), encoding="utf-8")
    return path


def test_each_service_reaches_its_own_endpoint_and_the_rest_the_general_one(tmp_path):
    target = load_target(write(tmp_path, '[aws.endpoints]\nelbv2 = "https://vpce-0a1-elb.elasticloadbalancing.eu-west-1.vpce.amazonaws.com"\n'))
    reader = AwsReader(target)
    try:
        # botocore's own clients, as the audit makes them: the URL each will send to.
        assert reader.client("elbv2").meta.endpoint_url == "https://vpce-0a1-elb.elasticloadbalancing.eu-west-1.vpce.amazonaws.com"
        assert reader.client("ecs").meta.endpoint_url == "https://general.example.org"
    finally:
        reader.close()
    assert target.summary()["endpoint_urls"] == {"elbv2": "https://vpce-0a1-elb.elasticloadbalancing.eu-west-1.vpce.amazonaws.com"}


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ('[aws.endpoints]\nelb = "https://x.example.org"\n', "not a service the audit reads"),
        ('[aws.endpoints]\necs = "ftp://x.example.org"\n', r"is not an http\(s\) URL"),
        ('sandbox_credentials = true\n[aws.endpoints]\necs = "https://x.example.org"\n', "only allowed with a loopback"),
    ],
)
def test_a_wrong_endpoint_is_named(tmp_path, extra, problem):
    text = TARGET.format(extra=extra).replace('endpoint_url = "https://general.example.org"', 'endpoint_url = "http://127.0.0.1:5000"')
    path = tmp_path / "target.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TargetError, match=problem):
        load_target(path)


def test_every_service_the_audit_reads_may_have_its_endpoint():
    assert {service for service, _operation in AUDIT_OPERATIONS} <= set(AWS_SERVICES)
