"""The AWS preflight on the reference deployment: each way of not being able to look is one cause line.

Each audit is a fresh `python -m pytest checks --target FILE` with an environment
of its own (no AWS variable of this machine, no ~/.aws, no instance metadata), as
an operator's first run is. Moto's STS answers GetCallerIdentity and AssumeRole;
tests/aws_proxy.py, between the audit and moto, answers what moto never does: an
AssumeRole denied by the role's trust policy (or its ExternalId condition) and an
expired session token.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.gate.exit_codes import ExitCode
from tests.audit_runner import PROJECT
from tests.aws_proxy import BODY_KEY, AwsProxy
from tests.hostile import set_target_key
from tests.sandbox_audit import RunningSandbox, running_sandbox

MAX_LINES = 40
MOTO_ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator[RunningSandbox]:
    with running_sandbox(tmp_path_factory.mktemp("preflight")) as running:
        yield running


def _target(sandbox: RunningSandbox, directory: Path, *, endpoint_url: str | None = None, sandbox_keys: bool = False, **keys: str) -> Path:
    """A copy of the deployment's target file (its CA bundle beside it), with [aws] keys changed."""
    target = directory / "target.toml"
    text = sandbox.target.read_text(encoding="utf-8")
    target.write_text(text, encoding="utf-8")
    (directory / "target-ca.pem").write_bytes((sandbox.target.parent / "target-ca.pem").read_bytes())
    set_target_key(target, "sandbox_credentials", "true" if sandbox_keys else "false")
    if endpoint_url:
        set_target_key(target, "endpoint_url", f'"{endpoint_url}"')
    extra = "".join(f'{key} = "{value}"\n' for key, value in keys.items())
    target.write_text(target.read_text(encoding="utf-8").replace("[aws]\n", f"[aws]\n{extra}", 1), encoding="utf-8")
    return target


def _environment(directory: Path, **more: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    config, credentials = directory / "aws-config", directory / "aws-credentials"
    for path in (config, credentials):
        if not path.exists():
            path.write_text("", encoding="utf-8")
    env.update(
        AWS_CONFIG_FILE=str(config),
        AWS_SHARED_CREDENTIALS_FILE=str(credentials),
        AWS_EC2_METADATA_DISABLED="true",  # no instance-metadata lookup: the machine's role is not the test's
        **more,
    )
    return env


def _audit(target: Path, directory: Path, env: dict[str, str], *options: str, cwd: Path = PROJECT) -> tuple[int, list[str], dict | None]:
    reports = directory / "reports"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "checks", "-q", "--target", str(target), "--report-dir", str(reports), "--no-history", *options],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=240,
    )
    output = (result.stdout + result.stderr).splitlines()
    report = reports / "compliance.json"
    return result.returncode, output, json.loads(report.read_text(encoding="utf-8")) if report.is_file() else None


def _one_cause(code: int, output: list[str], report: dict | None, cause: str) -> None:
    text = "\n".join(output)
    assert code == ExitCode.INCOMPLETE, text
    assert len(output) <= MAX_LINES, f"{len(output)} lines:\n{text}"
    assert "Traceback" not in text and "concurrent/futures" not in text and "graph.py" not in text, text
    header = [line for line in output if line.startswith("AWS PREFLIGHT FAILED")]
    assert len(header) == 1 and cause in header[0], text
    assert report is not None and [error["cause"] for error in report["preflight_errors"]] == [header[0].split(": ", 1)[1]]
    aws_errors = [check for check in report["checks"] if check["outcome"] == "error"]
    assert aws_errors and all(check["message"] == f"PreflightFailed: could not verify: {report['preflight_errors'][0]['cause']}" for check in aws_errors)
    assert not [check for check in report["checks"] if check["outcome"] == "failed"]


def test_no_credentials_is_one_cause_line_and_exit_7(sandbox, tmp_path: Path):
    target = _target(sandbox, tmp_path)
    code, output, report = _audit(target, tmp_path, _environment(tmp_path))
    _one_cause(code, output, report, "no AWS credentials found in the standard chain")
    assert report["preflight_errors"][0]["fix"].startswith("set AWS_PROFILE")
    entry = report["who_looked"]["targets"]["reference deployment"]
    assert entry["account_id"] is None and entry["target_file_sha256"]
    html = (tmp_path / "reports" / "compliance.html").read_text(encoding="utf-8")
    alert = html.index("AWS preflight failed: no AWS credentials found")
    assert alert < html.index('id="verdict"') < html.index("Who looked"), "the preflight's cause heads the report"
    # --no-history: the store was not read, so "no previous run" would be a guess.
    assert any("history off with --no-history, and no --baseline" in line for line in output), output
    assert "no previous run" not in "\n".join(output) and "Not compared: the history was off for this run" in html
    # The wire checks still ran: the preflight costs the AWS checks only.
    assert any(check["outcome"] == "passed" and check["plane"] == "wire" for check in report["checks"])


def _sts_action(headers: dict[str, str]) -> str:
    body = headers.get(BODY_KEY, "")
    target = headers.get("X-Amz-Target", "")
    for action in ("AssumeRoleWithWebIdentity", "AssumeRole", "GetCallerIdentity"):
        if f"Action={action}&" in body + "&" or target.endswith("." + action):
            return action
    return ""


def test_a_denied_assume_role_names_the_trust_policy_and_the_external_id(sandbox, tmp_path: Path):
    role = f"arn:aws:iam::{MOTO_ACCOUNT}:role/edgeproof-audit"
    (tmp_path / "aws-config").write_text(
        f"[profile audit]\nrole_arn = {role}\nsource_profile = base\nexternal_id = not-what-the-trust-policy-says\n\n"
        "[profile base]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
        encoding="utf-8",
    )

    def deny_assume_role(_method: str, _path: str, headers: dict[str, str]) -> str | None:
        return "sts-error:AccessDenied" if _sts_action(headers) == "AssumeRole" else None

    with AwsProxy(sandbox.sandbox.endpoint_url, deny_assume_role) as proxy:
        target = _target(sandbox, tmp_path, endpoint_url=proxy.url, profile="audit")
        # botocore's own STS client for the AssumeRole goes to the proxy too, never to AWS.
        code, output, report = _audit(target, tmp_path, _environment(tmp_path, AWS_ENDPOINT_URL=proxy.url))
    assert proxy.faulted, "\n".join(output)
    _one_cause(code, output, report, f"AssumeRole into {role} was denied (AccessDenied)")
    fix = report["preflight_errors"][0]["fix"]
    assert "trust policy" in fix and "external_id" in fix and "sts:ExternalId" in fix, fix
    assert "elasticloadbalancing" not in "\n".join(output)  # no AWS check blames its own permission


def test_an_expired_session_token_is_one_cause_line(sandbox, tmp_path: Path):
    def expired(_method: str, _path: str, headers: dict[str, str]) -> str | None:
        return "sts-error:ExpiredToken" if _sts_action(headers) == "GetCallerIdentity" else None

    with AwsProxy(sandbox.sandbox.endpoint_url, expired) as proxy:
        target = _target(sandbox, tmp_path, endpoint_url=proxy.url)
        env = _environment(tmp_path, AWS_ACCESS_KEY_ID="AKIAEDGEPROOFTEST000", AWS_SECRET_ACCESS_KEY="testing-secret-0123456789", AWS_SESSION_TOKEN="edgeproof-expired-session-token-0123456789")
        code, output, report = _audit(target, tmp_path, env)
    assert proxy.faulted, "\n".join(output)
    _one_cause(code, output, report, "the AWS credentials (environment variables) have expired (ExpiredToken)")
    everything = "\n".join(output) + json.dumps(report) + (tmp_path / "reports" / "compliance.html").read_text(encoding="utf-8")
    assert "edgeproof-expired-session-token" not in everything and "testing-secret-0123456789" not in everything


def test_a_target_of_another_account_is_a_usage_error_before_anything_is_read(sandbox, tmp_path: Path):
    actions: list[str] = []

    def record(_method: str, _path: str, headers: dict[str, str]) -> None:
        actions.append(_sts_action(headers) or headers.get("X-Amz-Target", "") or _path)

    with AwsProxy(sandbox.sandbox.endpoint_url, record) as proxy:
        target = _target(sandbox, tmp_path, endpoint_url=proxy.url, sandbox_keys=True, account_id="111111111111")
        code, output, _report = _audit(target, tmp_path, _environment(tmp_path))
    text = "\n".join(output)
    assert code == ExitCode.USAGE_ERROR, text
    assert len(output) <= MAX_LINES, text
    assert "aws.account_id is 111111111111" in text and f"of account {MOTO_ACCOUNT}" in text, text
    assert actions == ["GetCallerIdentity"], actions  # nothing of the deployment was read


def test_the_right_account_audits_compliant_and_says_who_looked(sandbox, tmp_path: Path):
    target = _target(sandbox, tmp_path, sandbox_keys=True, account_id=MOTO_ACCOUNT)
    code, output, report = _audit(target, tmp_path, _environment(tmp_path))
    assert code == ExitCode.COMPLIANT, "\n".join(output[-30:])
    who = report["who_looked"]
    entry = who["targets"]["reference deployment"]
    assert entry["account_id"] == MOTO_ACCOUNT and entry["principal_arn"].startswith(f"arn:aws:sts::{MOTO_ACCOUNT}:")
    assert entry["region"] == "us-east-1" and entry["identity_source"] == "explicit" and entry["preflight_error"] is None
    assert len(entry["target_file_sha256"]) == 64 and who["edgeproof_version"] and who["edgeproof_commit"]
    assert report["preflight_errors"] == []
    assert f"who looked: account {MOTO_ACCOUNT}" in "\n".join(output[:5])
    html = (tmp_path / "reports" / "compliance.html").read_text(encoding="utf-8")
    assert "Who looked" in html and MOTO_ACCOUNT in html and entry["target_file_sha256"] in html
    junit = (tmp_path / "reports" / "junit.xml").read_text(encoding="utf-8")
    assert f'name="edgeproof_account_id" value="{MOTO_ACCOUNT}"' in junit
    everything = json.dumps(who) + html
    assert "testing" not in json.dumps(who)  # the sandbox's dummy key is not in who-looked
    assert "aws_secret_access_key" not in everything.lower()


# -- the causes the reference deployment cannot produce, from botocore's own errors


class _Session:
    """A boto3-like session whose credentials fail as botocore's providers fail."""

    def __init__(self, error: BaseException | None = None, config: dict | None = None):
        self._error, self._config = error, config or {}

    def get_credentials(self):
        if self._error is not None:
            raise self._error
        return None

    def get_scoped_config(self) -> dict:
        return self._config


def _never_asked():
    raise AssertionError("GetCallerIdentity is not asked when the credentials did not resolve")


def test_an_expired_sso_login_names_aws_sso_login():
    import botocore.exceptions

    from fixtures.probes.preflight import PreflightFailed, check

    error = botocore.exceptions.UnauthorizedSSOTokenError()
    with pytest.raises(PreflightFailed) as failed:
        check(_Session(error), "us-east-1", "audit", 5, _never_asked)
    assert failed.value.cause == "the SSO login has expired or is missing (UnauthorizedSSOTokenError)"
    assert failed.value.fix == "run `aws sso login --profile audit`"
    assert str(failed.value) == f"could not verify: {failed.value.cause}"


def test_a_missing_web_identity_token_file_names_the_file(tmp_path: Path, monkeypatch):
    import boto3

    from fixtures.probes.preflight import PreflightFailed, check

    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    missing = tmp_path / "token"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ROLE_ARN", f"arn:aws:iam::{MOTO_ACCOUNT}:role/ci")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(missing))
    # botocore reads the token file before it would ask STS: nothing leaves the machine.
    session = boto3.session.Session(region_name="us-east-1")
    with pytest.raises(PreflightFailed) as failed:
        check(session, "us-east-1", None, 5, _never_asked)
    assert failed.value.cause == f"the web identity token file {missing} cannot be read (FileNotFoundError)"
    assert "id-token: write" in failed.value.fix and "IRSA" in failed.value.fix


def test_credentials_that_never_resolve_end_at_the_bound():
    import threading
    import time

    from fixtures.probes.preflight import PreflightFailed, check

    release = threading.Event()

    class Stalling(_Session):
        def get_credentials(self):
            release.wait(30)

    started = time.monotonic()
    with pytest.raises(PreflightFailed, match="did not resolve within 0.5 s"):
        check(Stalling(), "us-east-1", None, 0.5, _never_asked)
    release.set()
    assert time.monotonic() - started < 2


def test_an_sts_endpoint_that_does_not_answer_leaves_the_identity_unknown_and_the_run_going():
    from fixtures.probes.errors import ProbeError
    from fixtures.probes.preflight import IdentityUnknown, PreflightFailed, check

    class Keys(_Session):
        def get_credentials(self):
            return type("Credentials", (), {"method": "env", "get_frozen_credentials": lambda self: None})()

    def unreachable():
        raise ProbeError("sts:GetCallerIdentity", "AWS endpoint unreachable: connection refused")

    with pytest.raises(IdentityUnknown, match="did not answer: AWS endpoint unreachable"):
        check(Keys(), "eu-west-1", None, 5, unreachable)

    def expired():
        error = ProbeError("sts:GetCallerIdentity", "AWS rejected the credentials: ExpiredToken")
        error.code = "ExpiredToken"
        raise error

    with pytest.raises(PreflightFailed, match=r"have expired \(ExpiredToken\)"):
        check(Keys(), "eu-west-1", None, 5, expired)
