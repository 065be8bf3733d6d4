"""The target file: every key parses, every mistake names file, key and problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.target import Resolver, TargetError, load_target

PROJECT = Path(__file__).resolve().parents[1]

MINIMAL = """
[site]
domain = "example.org"

[aws]
region = "eu-west-1"
alb_name = "web-alb"
cluster = "web"
"""


def write(tmp_path: Path, text: str, name: str = "target.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_target_takes_documented_defaults(tmp_path):
    target = load_target(write(tmp_path, MINIMAL))
    assert target.domain == "example.org"
    assert target.public_hosts == ("example.org", "api.example.org")
    assert (target.http_port, target.https_port) == (80, 443)
    assert target.resolvers == ()
    assert target.ca_bundle is None
    assert target.cors_allowed_origins == ("https://example.org", "https://api.example.org")
    assert target.thresholds.certificate_fail_days == 14


def test_every_key_is_read(tmp_path):
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.pem").write_text("pem")
    text = MINIMAL.replace('domain = "example.org"', 'domain = "Example.ORG."\napi_host = "api.example.org"\nname = "prod"') + """
profile = "audit"
endpoint_url = "https://elasticloadbalancing.eu-west-1.amazonaws.com"
backend_service = "api"
frontend_service = "web"

[network]
resolvers = ["1.1.1.1", "127.0.0.1:5353", "[::1]:53"]
http_port = 8080
https_port = 8443
ca_bundle = "certs/ca.pem"
timeout_seconds = 2.5

[api]
health_check_path = "/health"
paths = ["/health", "/v1/items"]
cors_allowed_origins = ["https://example.org"]

[thresholds]
certificate_fail_days = 7
certificate_warn_days = 21
"""
    target = load_target(write(tmp_path, text))
    assert target.domain == "example.org"
    assert target.profile == "audit"
    assert target.resolvers == (Resolver("1.1.1.1", 53), Resolver("127.0.0.1", 5353), Resolver("::1", 53))
    assert (target.http_port, target.https_port, target.timeout_seconds) == (8080, 8443, 2.5)
    assert target.ca_bundle == str((tmp_path / "certs" / "ca.pem").resolve())
    assert target.api_paths == ("/health", "/v1/items")
    assert target.thresholds.certificate_warn_days == 21
    assert "secret" not in str(target.summary()).lower()


@pytest.mark.parametrize(
    "change, key, problem",
    [
        (("[site]\n", "[site]\n"), "aws.region", "required"),
        (('domain = "example.org"', 'domain = "localhost"'), "site.domain", "fully qualified"),
        (('domain = "example.org"', 'domain = "example.org"\napi_host = "api.other.org"'), "site.api_host", "not the domain"),
        (('cluster = "web"', 'cluster = "web"\nregoin = "x"'), "aws.regoin", "not a known key"),
        (('cluster = "web"', 'cluster = 5'), "aws.cluster", "must be a string"),
        (('cluster = "web"', 'cluster = "web"\nsandbox_credentials = true'), "aws.sandbox_credentials", "loopback"),
        (("", "[network]\nresolvers = ['dns.example']\n"), "network.resolvers", "ip[:port]"),
        (("", "[network]\nhttps_port = 70000\n"), "network.https_port", "between"),
        (("", "[network]\ntimeout_seconds = true\n"), "network.timeout_seconds", "a number"),
        (("", "[network]\nca_bundle = 'nope.pem'\n"), "network.ca_bundle", "does not exist"),
        (("", "[api]\npaths = ['api/x']\n"), "api.paths", "start with /"),
        (("", "[api]\ncors_allowed_origins = ['https://example.org/app']\n"), "api.cors_allowed_origins", "origin"),
        (("", "[thresholds]\ncertificate_warn_days = 5\n"), "thresholds.certificate_warn_days", "below"),
    ],
)
def test_a_bad_key_is_named_with_its_problem(tmp_path, change, key, problem):
    old, new = change
    if key == "aws.region":
        text = MINIMAL.replace('region = "eu-west-1"\n', "")
    elif old:
        text = MINIMAL.replace(old, new)
    else:
        text = MINIMAL + new
    with pytest.raises(TargetError) as raised:
        load_target(write(tmp_path, text))
    assert raised.value.key == key
    assert problem in raised.value.problem
    assert str(tmp_path / "target.toml") in str(raised.value)


def test_unreadable_or_invalid_toml_names_the_file(tmp_path):
    with pytest.raises(TargetError, match="does not exist"):
        load_target(tmp_path / "missing.toml")
    with pytest.raises(TargetError, match="not valid TOML"):
        load_target(write(tmp_path, "[site\n"))


def test_pytest_with_a_bad_target_is_a_usage_error_and_runs_no_check(tmp_path):
    path = write(tmp_path, MINIMAL.replace('cluster = "web"', "cluster = 5"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "checks", "--target", str(path), "--report-dir", str(tmp_path / "reports")],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert "aws.cluster" in result.stderr and "must be a string" in result.stderr
    assert not (tmp_path / "reports" / "compliance.json").exists()


def test_an_unknown_sandbox_fault_lists_the_known_ones(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "checks", "--sandbox-fault", "no-such-fault", "--report-dir", str(tmp_path)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "no-such-fault" in result.stderr and "redirect-drops-path" in result.stderr


def test_the_error_probe_keys(tmp_path):
    target = load_target(write(tmp_path, MINIMAL))
    assert (target.error_probe_method, target.error_probe_path) == ("POST", "/api/activities")
    chosen = load_target(write(tmp_path, MINIMAL + '\n[api]\nerror_probe_method = "put"\nerror_probe_path = "/v1/items"\n'))
    assert (chosen.error_probe_method, chosen.error_probe_path) == ("PUT", "/v1/items")
    for bad, key, problem in (
        ('error_probe_method = "TRACE"', "api.error_probe_method", "is not one of"),
        ('error_probe_path = "api/x"', "api.error_probe_path", "start with /"),
    ):
        with pytest.raises(TargetError) as raised:
            load_target(write(tmp_path, MINIMAL + f"\n[api]\n{bad}\n"))
        assert (raised.value.key, problem in raised.value.problem) == (key, True)


# --- intent: what the deployment must be, not just where to look --------------

INTENT = MINIMAL.replace('cluster = "web"', '''cluster = "web"
alb_security_groups = ["sg-0123456789abcdef0"]
backend_task_family = "api"
frontend_task_family = "web_app"''') + """
[site.extra_hosts]
"WWW.example.org" = "frontend"
"api2.example.org" = "api"

[access_logs]
bucket = "web-alb-logs"
prefix = "/edge/alb/"

[hsts]
min_max_age_seconds = 63072000
include_subdomains = false
set_by = "application"

[checks]
extra = ["team-checks"]
"""


def test_intent_keys_take_documented_defaults(tmp_path):
    target = load_target(write(tmp_path, MINIMAL))
    assert target.extra_hosts == ()
    assert (target.access_logs.bucket, target.access_logs.prefix) == (None, None)  # what the ALB says
    assert (target.hsts.min_max_age_seconds, target.hsts.include_subdomains, target.hsts.set_by) == (31536000, True, "alb")
    assert target.pins.alb_security_groups == () and target.pins.backend_task_family is None
    assert target.extra_check_dirs == ()


def test_every_intent_key_is_read(tmp_path):
    (tmp_path / "team-checks").mkdir()
    target = load_target(write(tmp_path, INTENT))
    assert target.public_hosts == ("example.org", "api.example.org", "www.example.org", "api2.example.org")
    assert target.hosts_of("frontend") == ("example.org", "www.example.org")
    assert target.hosts_of("api") == ("api.example.org", "api2.example.org")
    assert (target.access_logs.bucket, target.access_logs.prefix) == ("web-alb-logs", "edge/alb")
    assert (target.hsts.min_max_age_seconds, target.hsts.include_subdomains, target.hsts.set_by) == (63072000, False, "application")
    assert target.pins.alb_security_groups == ("sg-0123456789abcdef0",)
    assert (target.pins.backend_task_family, target.pins.frontend_task_family) == ("api", "web_app")
    assert target.extra_check_dirs == (str((tmp_path / "team-checks").resolve()),)
    assert target.summary()["host_services"]["www.example.org"] == "frontend"


def test_an_empty_prefix_is_an_intent_of_its_own(tmp_path):
    target = load_target(write(tmp_path, MINIMAL + '\n[access_logs]\nprefix = ""\n'))
    assert target.access_logs.prefix == ""  # logs at the bucket's root, not "whatever the ALB says"


@pytest.mark.parametrize(
    "old, new, key, problem",
    [
        ('"WWW.example.org" = "frontend"', '"www.example.org" = "admin"', 'site.extra_hosts."www.example.org"', "must be one of frontend, api"),
        ('"WWW.example.org" = "frontend"', '"www.other.org" = "frontend"', 'site.extra_hosts."www.other.org"', "not the domain"),
        ('"WWW.example.org" = "frontend"', '"api.example.org" = "api"', 'site.extra_hosts."api.example.org"', "already a public host"),
        ('bucket = "web-alb-logs"', 'bucket = "Web_Logs"', "access_logs.bucket", "not an S3 bucket name"),
        ('prefix = "/edge/alb/"', 'prefix = "edge/AWSLogs"', "access_logs.prefix", "AWSLogs"),
        ('prefix = "/edge/alb/"', "prefix = 3", "access_logs.prefix", "must be a string"),
        ('prefix = "/edge/alb/"', 'prefix = "x"\nregion = "y"', "access_logs.region", "not a known key"),
        ("min_max_age_seconds = 63072000", "min_max_age_seconds = 300", "hsts.min_max_age_seconds", "between"),
        ('set_by = "application"', 'set_by = "cloudfront"', "hsts.set_by", "is not one of alb, application"),
        ("include_subdomains = false", 'include_subdomains = "no"', "hsts.include_subdomains", "true or false"),
        ('alb_security_groups = ["sg-0123456789abcdef0"]', 'alb_security_groups = ["cruddur-alb-sg"]', "aws.alb_security_groups", "security group ID"),
        ('backend_task_family = "api"', 'backend_task_family = "api:3"', "aws.backend_task_family", "task-definition family"),
        ('extra = ["team-checks"]', 'extra = ["no-such-folder"]', "checks.extra", "is not a folder"),
    ],
)
def test_a_bad_intent_value_is_named_with_its_problem(tmp_path, old, new, key, problem):
    (tmp_path / "team-checks").mkdir()
    assert old in INTENT
    with pytest.raises(TargetError) as raised:
        load_target(write(tmp_path, INTENT.replace(old, new)))
    assert raised.value.key == key
    assert problem in raised.value.problem
