"""`./run discover` against the reference deployment: the target it writes is what the control plane says.

Each case starts the reference deployment (moto, the DNS servers, the ALB
stand-in) and runs `python -m fixtures.discover` in a child process, as an
operator runs it. What the written target pins is compared, key by key, with
what moto answers when asked directly (boto3, not edgeproof's reader): the ALB
the zone's aliases name, the service behind the target group each host's rule
forwards to, that service's task family, the ALB's log attributes. On the
compliant deployment the target, with the wire settings only the operator
knows ([network]: loopback ports, resolvers, the local CA), audits compliant.
On a faulted one it writes the fault down: discover does not judge.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from fixtures.discover.discovery import Discovery
from fixtures.discover.writer import Connection, render
from fixtures.gate.exit_codes import ExitCode
from fixtures.model.arn import task_definition_family
from fixtures.sandbox.control_plane import sandbox_client
from fixtures.sandbox.deployment import Sandbox
from fixtures.target import Target, TargetError, load_target, parse_target
from tests.audit_runner import PROJECT
from tests.sandbox_audit import RunningSandbox, running_sandbox

DISCOVER_TIMEOUT = 60
# Keys of the standard credential chain a canary run sets; none may reach the file or the terminal.
CANARY_KEY_ID = "AKIADISCOVERCANARY01"
CANARY_SECRET = "discover-canary-secret-0123456789abcdefABCD"


def discover(sandbox: Sandbox, output: Path | None, *options: str, domain: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m fixtures.discover DOMAIN --region R --endpoint-url MOTO [--sandbox-credentials] -o OUTPUT OPTIONS`."""
    arguments = [sys.executable, "-m", "fixtures.discover", domain or sandbox.spec.domain, "--region", sandbox.spec.region]
    arguments += ["--endpoint-url", sandbox.endpoint_url, *options]
    if output is not None:
        arguments += ["-o", str(output)]
    return subprocess.run(arguments, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=DISCOVER_TIMEOUT)


def control_plane_says(sandbox: Sandbox) -> dict:
    """What moto answers, asked directly: the ALB, the service behind each host's 443 rule, its family, the log attributes."""
    spec = sandbox.spec
    elbv2, ecs = (sandbox_client(name, sandbox.endpoint_url, spec.region) for name in ("elbv2", "ecs"))
    alb = elbv2.describe_load_balancers(Names=[spec.alb_name])["LoadBalancers"][0]
    attributes = {a["Key"]: a["Value"] for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=alb["LoadBalancerArn"])["Attributes"]}
    https = next(l for l in elbv2.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"] if l["Port"] == 443)
    rules = sorted(elbv2.describe_rules(ListenerArn=https["ListenerArn"])["Rules"], key=lambda r: (r["Priority"] == "default", r["Priority"].zfill(6)))

    def group_for(host: str) -> str:
        for rule in rules:
            conditions = [c for c in rule["Conditions"] if c["Field"] == "host-header"]
            hosts = [v.lower() for c in conditions for v in c.get("Values", []) + c.get("HostHeaderConfig", {}).get("Values", [])]
            if rule["IsDefault"] or host in hosts:
                return rule["Actions"][-1]["TargetGroupArn"]
        raise AssertionError(f"no rule for {host}")

    services = ecs.describe_services(cluster=spec.cluster, services=[s.name for s in spec.services])["services"]
    behind = {lb["targetGroupArn"]: s for s in services for lb in s["loadBalancers"]}
    backend, frontend = behind[group_for(spec.api_host)], behind[group_for(spec.domain)]
    return {
        "alb_name": alb["LoadBalancerName"],
        "cluster": spec.cluster,
        "backend_service": backend["serviceName"],
        "frontend_service": frontend["serviceName"],
        "alb_security_groups": tuple(alb["SecurityGroups"]),
        "backend_task_family": task_definition_family(backend["taskDefinition"]),
        "frontend_task_family": task_definition_family(frontend["taskDefinition"]),
        "log_bucket": attributes["access_logs.s3.bucket"],
        "log_prefix": attributes["access_logs.s3.prefix"],
    }


def pinned(target: Target) -> dict:
    return {
        "alb_name": target.alb_name,
        "cluster": target.cluster,
        "backend_service": target.backend_service,
        "frontend_service": target.frontend_service,
        "alb_security_groups": target.pins.alb_security_groups,
        "backend_task_family": target.pins.backend_task_family,
        "frontend_task_family": target.pins.frontend_task_family,
        "log_bucket": target.access_logs.bucket,
        "log_prefix": target.access_logs.prefix,
    }


def with_wire_settings(discovered: Path, running: RunningSandbox) -> Path:
    """The discovered target with the reference deployment's [network] table: what the operator fills in."""
    network = re.search(r"(?ms)^\[network\]\n(.*?)\n\n", running.target.read_text(encoding="utf-8")).group(1)
    text = discovered.read_text(encoding="utf-8")
    assert text.count("[network]\n") == 1
    completed = discovered.with_name("completed.toml")
    completed.write_text(text.replace("[network]\n", f"[network]\n{network}\n"), encoding="utf-8")
    return completed


@pytest.fixture
def compliant(tmp_path):
    """The compliant reference deployment, one per test: moto's state is the process's, so one sandbox at a time."""
    with running_sandbox(tmp_path / "sandbox") as running:
        yield running


def test_discover_pins_what_the_control_plane_says_and_the_target_audits_compliant(compliant, tmp_path):
    written = compliant.directory / "discovered.toml"
    result = discover(compliant.sandbox, written, "--sandbox-credentials")
    assert result.returncode == ExitCode.COMPLIANT, result.stderr
    assert "# UNDECIDED:" not in written.read_text(encoding="utf-8")
    target = load_target(written)
    assert pinned(target) == control_plane_says(compliant.sandbox)
    # The same keys the reference deployment's own target states (its design).
    own = load_target(compliant.target)
    for key in ("domain", "api_host", "frontend_host", "extra_hosts", "region", "endpoint_url", "sandbox_credentials"):
        assert getattr(target, key) == getattr(own, key), key
    assert pinned(target) == pinned(own)
    assert result.stderr.strip() == f"discover: wrote {written}: {own.domain} on {own.alb_name}, cluster {own.cluster}"

    run = compliant.audit(target=with_wire_settings(written, compliant))
    not_passed = {c["id"]: c["outcome"] for c in run.checks if c["outcome"] != "passed"}
    assert not not_passed and run.exit_code == ExitCode.COMPLIANT, f"{not_passed}\n{run.output[-3000:]}"


def test_a_domain_with_no_zone_is_one_line_and_a_usage_error(compliant, tmp_path):
    result = discover(compliant.sandbox, tmp_path / "none.toml", "--sandbox-credentials", domain="nowhere.test")
    assert result.returncode == ExitCode.USAGE_ERROR
    assert result.stderr == "discover: no public Route 53 hosted zone named nowhere.test in this account\n"
    assert result.stdout == "" and not (tmp_path / "none.toml").exists()


def test_no_credentials_is_one_line_naming_the_cause(compliant, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials", "AWS_CONFIG_FILE": "/nonexistent/config", "AWS_EC2_METADATA_DISABLED": "true"}
    result = discover(compliant.sandbox, tmp_path / "t.toml", env=env)
    assert result.returncode == ExitCode.INCOMPLETE
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("discover: could not read the account: route53:ListHostedZonesByName")
    assert result.stderr.rstrip().endswith("no AWS credentials found in the standard chain"), result.stderr


def test_the_written_target_holds_no_credentials(compliant, tmp_path):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": CANARY_KEY_ID, "AWS_SECRET_ACCESS_KEY": CANARY_SECRET, "AWS_SESSION_TOKEN": CANARY_SECRET + "token"}
    result = discover(compliant.sandbox, None, env=env)  # the standard chain's keys, to standard output
    assert result.returncode == ExitCode.COMPLIANT, result.stderr
    load_target_text = result.stdout
    assert "[aws]" in load_target_text and "sandbox_credentials" not in load_target_text
    for secret in (CANARY_KEY_ID, CANARY_SECRET, CANARY_SECRET[:16], "aws_secret_access_key", "testing"):
        assert secret not in result.stdout + result.stderr, secret


def test_an_existing_file_is_kept_unless_forced(compliant, tmp_path):
    written = tmp_path / "kept.toml"
    written.write_text("# the team's own edits\n", encoding="utf-8")
    result = discover(compliant.sandbox, written, "--sandbox-credentials")
    assert result.returncode == ExitCode.USAGE_ERROR and result.stderr == f"discover: {written} exists; --force overwrites it\n"
    assert written.read_text(encoding="utf-8") == "# the team's own edits\n"
    assert discover(compliant.sandbox, written, "--sandbox-credentials", "--force").returncode == ExitCode.COMPLIANT
    assert load_target(written).alb_name == compliant.sandbox.spec.alb_name


# Faults discover must write down as they are: each changes a key the target pins.
FAULTED_KEYS = {
    # The api. rule forwards to the frontend's target group: the api.'s service is the frontend's.
    "api-rule-to-frontend": {"backend_service": "frontend-react-js", "backend_task_family": "frontend-react-js"},
    # The ALB's log prefix is a typo: discover pins the typo (the audit then holds the ALB to it).
    "logs-prefix-typo": {"log_prefix": "abl"},
    # The backend runs a family nobody releases to: discover pins that family.
    "service-other-family": {"backend_task_family": "backend-flask-debug"},
}


@pytest.mark.parametrize("fault", sorted(FAULTED_KEYS))
def test_against_a_faulted_deployment_it_writes_what_it_sees(fault, tmp_path):
    with Sandbox(fault=fault) as sandbox:
        written = tmp_path / "discovered.toml"
        result = discover(sandbox, written, "--sandbox-credentials")
        says = control_plane_says(sandbox)
    assert result.returncode == ExitCode.COMPLIANT, result.stderr
    target = load_target(written)
    assert pinned(target) == says
    for key, value in FAULTED_KEYS[fault].items():
        assert pinned(target)[key] == value, key
    if fault == "api-rule-to-frontend":
        text = written.read_text(encoding="utf-8")
        assert "#   backend-flask (cluster cruddur) registers a target group no public host of cloudproject.test reaches" in text


# Where the chain forks or breaks: the file says UNDECIDED above the key, the run exits 7, the rest is still pinned.
UNDECIDED_CASES = {
    "dns-api-missing": ("site.api_host", "api.cloudproject.test has no alias record to a load balancer of this region (no record)"),
    "dns-api-cname": ("site.api_host", "api.cloudproject.test has no alias record to a load balancer of this region (its records: CNAME)"),
    "dns-alias-other-alb": ("aws.alb_name", "the zone's aliases designate more than one load balancer: cruddur-alb-old (1 host(s)) besides cruddur-alb"),
}


@pytest.mark.parametrize("fault", sorted(UNDECIDED_CASES))
def test_what_it_cannot_decide_is_marked_and_the_rest_pinned(fault, tmp_path):
    key, why = UNDECIDED_CASES[fault]
    with Sandbox(fault=fault) as sandbox:
        written = tmp_path / "discovered.toml"
        result = discover(sandbox, written, "--sandbox-credentials")
        says = control_plane_says(sandbox)
    assert result.returncode == ExitCode.INCOMPLETE, result.stderr
    assert result.stderr.splitlines()[1].startswith(f"  {key}: {why}"), result.stderr
    assert f"# UNDECIDED: {why}" in written.read_text(encoding="utf-8")
    assert pinned(load_target(written)) == says  # the routing is the ALB's, whatever the zone lacks


def test_with_no_alb_found_the_file_does_not_load_until_someone_names_it():
    found = Discovery(domain="example.com", api_host="api.example.com", frontend_host="example.com")
    found.undecided["aws.alb_name"] = "no record in the zone aliases a load balancer of this region"
    text = render(found, Connection("eu-west-1"), "now")
    assert "# UNDECIDED: no record in the zone aliases a load balancer of this region\n# alb_name = \"?\"" in text
    with pytest.raises(TargetError, match="aws.alb_name: is required but missing"):
        parse_target(tomllib.loads(text), Path("discovered.toml"))
