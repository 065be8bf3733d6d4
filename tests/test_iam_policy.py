"""The IAM policy shipped in iam/ is generated from the AWS reader's table, and it is exactly enough.

With moto's IAM enforcement switched on (the sandbox's `enforce_iam`, which
sets moto's INITIAL_NO_AUTH_ACTION_COUNT to 0 through its server's
/moto-api/reset-auth), the reference deployment is audited as an IAM user
holding exactly iam/edgeproof-audit-policy.json: no AccessDenied. With any one
action removed, the operation that needs it errors naming the action (every
action, through the reader: cheap); and a whole audit without one action
ends with the checks that need it as errors naming it.

moto enforces IAM for five of the six services the audit reads (Elastic
Load Balancing v2, ACM, ECS, EC2, S3). Its server rejects every signed Route 53
request once enforcement is on (SignatureDoesNotMatch, whatever the keys), so
the sandbox leaves Route 53 unenforced; the operation recorder covers it: the
audit's recorded operations must equal the table the policy is generated from
(test below), so an action missing from the policy would be an operation
missing from the table. moto 5.2.6 asks S3 callers for `s3:<operation name>`
(`s3:ListObjectsV2`), which no AWS policy grants; the sandbox has it ask for
the IAM action AWS asks for (fixtures/sandbox/moto_patches.py), which also
enforces GetPublicAccessBlock and GetBucketEncryption, unenforced before.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from fixtures.probes.iam_policy import POLICY_FILE, policy_document, render
from fixtures.probes.aws import AwsReader, call_bound_seconds
from fixtures.probes.aws_operations import AUDIT_OPERATIONS, DISCOVER_ONLY, READ_ONLY_PREFIXES, iam_actions
from fixtures.probes.errors import ProbeError
from fixtures.sandbox.control_plane import sandbox_client
from fixtures.sandbox.deployment import Sandbox
from fixtures.target import load_target
from tests.audit_runner import run_audit
from tests.hostile import set_target_key

FULL = "edgeproof-auditor"
ONLY_FOR_VALUES_IN_SSM = {("ssm", "GetParameters")}
# sts:GetCallerIdentity needs no permission in AWS either ("No permissions are required to
# perform this operation", STS API reference): a policy without it cannot deny it.
UNENFORCED_BY_MOTO = {("route53", op) for _s, op in AUDIT_OPERATIONS if _s == "route53"} | {("sts", "GetCallerIdentity")}
ENFORCED = sorted(set(AUDIT_OPERATIONS) - UNENFORCED_BY_MOTO)


def minus(action: str) -> str:
    return "edgeproof-auditor-without-" + action.replace(":", "-")


def test_the_policy_file_is_generated_from_the_readers_table():
    assert POLICY_FILE.read_text(encoding="utf-8") == render(), "run: python -m fixtures.probes.iam_policy"
    assert json.loads(POLICY_FILE.read_text(encoding="utf-8")) == policy_document()


def test_the_policy_grants_reads_only_each_action_once():
    actions = policy_document()["Statement"][0]["Action"]
    assert actions == sorted(set(actions)) == iam_actions()
    assert all(action.split(":", 1)[1].startswith(READ_ONLY_PREFIXES) for action in actions), actions
    assert policy_document()["Statement"][0]["Effect"] == "Allow" and len(policy_document()["Statement"]) == 1


@pytest.fixture(scope="module")
def enforced(tmp_path_factory):
    """The reference deployment with IAM enforced, one user with the policy, and one per action without it."""
    with Sandbox(enforce_iam=True) as sandbox:
        iam = sandbox_client("iam", sandbox.endpoint_url, sandbox.spec.region)
        keys: dict[str, tuple[str, str]] = {}
        for user, actions in [(FULL, iam_actions())] + [(minus(a), [x for x in iam_actions() if x != a]) for a in iam_actions()]:
            iam.create_user(UserName=user)
            iam.put_user_policy(UserName=user, PolicyName="edgeproof-audit", PolicyDocument=render(actions))
            key = iam.create_access_key(UserName=user)["AccessKey"]
            keys[user] = (key["AccessKeyId"], key["SecretAccessKey"])
        target = sandbox.write_target(tmp_path_factory.mktemp("iam") / "target.toml")
        set_target_key(target, "sandbox_credentials", "false")
        yield sandbox, target, keys


def as_user(monkeypatch, keys: tuple[str, str]) -> None:
    """The standard credential chain of this process and of the audits it starts: that user's keys only."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys[1])
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/edgeproof-credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/edgeproof-config")


def test_moto_enforces_iam_here(enforced, monkeypatch):
    """The control: a user with no policy at all is denied (else nothing below proves anything)."""
    sandbox, target, _keys = enforced
    iam = sandbox_client("iam", sandbox.endpoint_url, sandbox.spec.region)
    iam.create_user(UserName="nobody")
    key = iam.create_access_key(UserName="nobody")["AccessKey"]
    as_user(monkeypatch, (key["AccessKeyId"], key["SecretAccessKey"]))
    with pytest.raises(ProbeError, match="access denied: the audit role needs elasticloadbalancing:DescribeLoadBalancers"):
        AwsReader(load_target(target)).call("elbv2", "describe_load_balancers")


def test_an_audit_holding_exactly_the_policy_meets_no_access_denied(enforced, monkeypatch, tmp_path: Path):
    _sandbox, target, keys = enforced
    as_user(monkeypatch, keys[FULL])
    run = run_audit(tmp_path / "reports", "--target", str(target))
    not_passed = {c["id"]: c["message"] for c in run.checks if c["outcome"] != "passed"}
    assert not not_passed, not_passed
    assert run.report["summary"]["verdict"] == "compliant" and run.exit_code == 0
    assert "access denied" not in run.output.lower()
    made = {tuple(op.split(":", 1)) for op in run.report["stats"]["aws_operations"]}
    # ssm:GetParameters is asked only of a deployment that keeps its URLs in SSM parameters
    # (the trap trap-urls-from-ssm-parameters); the reference deployment keeps them in `environment`.
    # ecs:ListClusters and ecs:ListServices are asked by `./run discover` only (tests/test_discover.py
    # holds discover to the same policy): an audit's target names the cluster and the services.
    made |= ONLY_FOR_VALUES_IN_SSM | DISCOVER_ONLY
    assert made == set(AUDIT_OPERATIONS), "the policy table and what the audit asks differ: " + str(made ^ set(AUDIT_OPERATIONS))


def _arguments(sandbox: Sandbox) -> dict[tuple[str, str], tuple[str, dict]]:
    """For each operation of the table: the reader method and real arguments from the running deployment."""
    control, spec = sandbox.control, sandbox.spec
    elbv2, ecs, s3 = (sandbox_client(name, sandbox.endpoint_url, spec.region) for name in ("elbv2", "ecs", "s3"))
    listener = elbv2.describe_listeners(LoadBalancerArn=control.alb_arn)["Listeners"][0]["ListenerArn"]
    group = next(iter(control.target_group_arns.values()))
    service = ecs.describe_services(cluster=spec.cluster, services=[s.name for s in spec.services])["services"][0]
    tasks = ecs.list_tasks(cluster=spec.cluster)["taskArns"]
    log_key = next(o["Key"] for o in s3.list_objects_v2(Bucket=spec.log_bucket)["Contents"] if o["Key"].endswith(".log.gz"))
    bucket = {"Bucket": spec.log_bucket}
    return {
        ("sts", "GetCallerIdentity"): ("get_caller_identity", {}),
        ("elbv2", "DescribeLoadBalancers"): ("describe_load_balancers", {"Names": [spec.alb_name]}),
        ("elbv2", "DescribeLoadBalancerAttributes"): ("describe_load_balancer_attributes", {"LoadBalancerArn": control.alb_arn}),
        ("elbv2", "DescribeListeners"): ("describe_listeners", {"LoadBalancerArn": control.alb_arn}),
        ("elbv2", "DescribeListenerAttributes"): ("describe_listener_attributes", {"ListenerArn": listener}),
        ("elbv2", "DescribeListenerCertificates"): ("describe_listener_certificates", {"ListenerArn": listener}),
        ("elbv2", "DescribeRules"): ("describe_rules", {"ListenerArn": listener}),
        ("elbv2", "DescribeTargetGroups"): ("describe_target_groups", {"LoadBalancerArn": control.alb_arn}),
        ("elbv2", "DescribeTargetHealth"): ("describe_target_health", {"TargetGroupArn": group}),
        ("elbv2", "DescribeSSLPolicies"): ("describe_ssl_policies", {}),
        ("acm", "DescribeCertificate"): ("describe_certificate", {"CertificateArn": control.certificate_arn}),
        ("acm", "GetCertificate"): ("get_certificate", {"CertificateArn": control.certificate_arn}),
        ("route53", "ListHostedZonesByName"): ("list_hosted_zones_by_name", {"DNSName": spec.domain}),
        ("route53", "GetHostedZone"): ("get_hosted_zone", {"Id": control.hosted_zone_id}),
        ("route53", "ListResourceRecordSets"): ("list_resource_record_sets", {"HostedZoneId": control.hosted_zone_id}),
        ("ecs", "DescribeServices"): ("describe_services", {"cluster": spec.cluster, "services": [service["serviceName"]]}),
        ("ecs", "DescribeTaskDefinition"): ("describe_task_definition", {"taskDefinition": service["taskDefinition"]}),
        ("ecs", "ListTasks"): ("list_tasks", {"cluster": spec.cluster}),
        ("ecs", "DescribeTasks"): ("describe_tasks", {"cluster": spec.cluster, "tasks": tasks[:1]}),
        ("ecs", "ListClusters"): ("list_clusters", {}),
        ("ecs", "ListServices"): ("list_services", {"cluster": spec.cluster}),
        ("ssm", "GetParameters"): ("get_parameters", {"Names": ["/cruddur/backend-flask/FRONTEND_URL"], "WithDecryption": False}),
        ("ec2", "DescribeSecurityGroups"): ("describe_security_groups", {"GroupIds": [control.service_security_group]}),
        ("ec2", "DescribeNetworkInterfaces"): ("describe_network_interfaces", {}),
        ("s3", "GetBucketLocation"): ("get_bucket_location", bucket),
        ("s3", "GetBucketPolicy"): ("get_bucket_policy", bucket),
        ("s3", "GetPublicAccessBlock"): ("get_public_access_block", bucket),
        ("s3", "GetBucketEncryption"): ("get_bucket_encryption", bucket),
        ("s3", "ListObjectsV2"): ("list_objects_v2", bucket),
        ("s3", "GetObject"): ("read_object", {**bucket, "key": log_key}),
    }


def _ask(reader: AwsReader, service: str, method: str, arguments: dict) -> None:
    if method == "read_object":
        reader.read_object(arguments["Bucket"], arguments["key"], 1024)
    else:
        reader.call(service, method, **arguments)


@pytest.mark.parametrize("operation", ENFORCED, ids=lambda op: f"{op[0]}:{op[1]}")
def test_without_one_action_its_operation_errors_naming_it(enforced, monkeypatch, operation):
    sandbox, target, keys = enforced
    action = AUDIT_OPERATIONS[operation]
    method, arguments = _arguments_cached(sandbox)[operation]
    as_user(monkeypatch, keys[FULL])
    _ask(AwsReader(load_target(target)), operation[0], method, arguments)  # allowed with the whole policy
    as_user(monkeypatch, keys[minus(action)])
    reader = AwsReader(load_target(target))
    reader.client(operation[0])  # loading the service model is not the call's time
    started = time.monotonic()
    with pytest.raises(ProbeError) as denied:
        _ask(reader, operation[0], method, arguments)
    assert denied.value.why == f"access denied: the audit role needs {action}", denied.value
    assert time.monotonic() - started < call_bound_seconds(load_target(target).timeout_seconds)


_CACHE: dict[int, dict] = {}


def _arguments_cached(sandbox: Sandbox) -> dict:
    if id(sandbox) not in _CACHE:
        _CACHE[id(sandbox)] = _arguments(sandbox)
    return _CACHE[id(sandbox)]


def test_an_audit_without_one_action_errors_the_checks_that_need_it_naming_it(enforced, monkeypatch, tmp_path: Path):
    """One whole audit (control plane) without acm:DescribeCertificate; the reader-level test above covers every action."""
    _sandbox, target, keys = enforced
    as_user(monkeypatch, keys[minus("acm:DescribeCertificate")])
    run = run_audit(tmp_path / "reports", "--target", str(target), "-m", "control")
    errors = {c["id"]: c["message"] for c in run.checks if c["outcome"] == "error"}
    assert errors, run.output[-3000:]
    assert all("acm:DescribeCertificate" in message for message in errors.values()), errors
    assert {c["id"] for c in run.checks if c["requirement"] == "certificate" and c["plane"] == "control"} - run.ids_with("skipped") >= set(errors)
    assert not run.ids_with("failed"), run.ids_with("failed")
    assert run.report["summary"]["verdict"] == "incomplete" and run.exit_code != 0


def test_discover_holding_exactly_the_policy_meets_no_access_denied_and_without_one_says_which(enforced, monkeypatch, tmp_path: Path, capsys):
    """`./run discover` reads with the same policy; without ecs:ListClusters it ends in one line naming the action."""
    from fixtures.discover.__main__ import main

    sandbox, _target, keys = enforced
    arguments = [sandbox.spec.domain, "--region", sandbox.spec.region, "--endpoint-url", sandbox.endpoint_url]
    as_user(monkeypatch, keys[FULL])
    assert main([*arguments, "-o", str(tmp_path / "discovered.toml")]) == 0, capsys.readouterr().err
    assert load_target(tmp_path / "discovered.toml").cluster == sandbox.spec.cluster
    capsys.readouterr()
    as_user(monkeypatch, keys[minus("ecs:ListClusters")])
    assert main([*arguments, "-o", str(tmp_path / "denied.toml")]) == 7
    assert capsys.readouterr().err == "discover: could not read the account: ecs:ListClusters: access denied: the audit role needs ecs:ListClusters\n"
    assert not (tmp_path / "denied.toml").exists()
