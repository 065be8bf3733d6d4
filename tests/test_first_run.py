"""A first run, as a new user makes it (issue 20): mistakes named all at once with the name meant,
a terminal that reads as a CI log, commands that end quietly when their reader goes away, and
pytest's own command line taking `--target PATH` as `./run` does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from fixtures.gate.exit_codes import ExitCode
from fixtures.gate.waivers import WaiverError, load_waivers
from fixtures.probes.errors import ProbeError, fresh
from fixtures.report import ci_log
from fixtures.runtime import rooting
from fixtures.target import TargetError, parse_target
from fixtures.target.suggest import did_you_mean
from tests.audit_runner import PROJECT

GOOD = {
    "site": {"domain": "example.com"},
    "aws": {"region": "us-east-1", "alb_name": "edge", "cluster": "web"},
}


def _run(*arguments: str, cwd: Path = PROJECT, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *arguments], cwd=cwd, capture_output=True, text=True, timeout=timeout, **kwargs)


# -- the target file: every mistake at once, and the key meant


def test_a_target_file_reports_every_mistake_at_once_with_the_key_meant(tmp_path: Path):
    data = {
        "site": {"domain": "example.com", "nmae": "prod"},
        "aws": {"region": "us-east-1", "alb_name": 5, "cluser": "web"},
        "network": {"timeout_secnds": 5},
    }
    with pytest.raises(TargetError) as raised:
        parse_target(data, tmp_path / "prod.toml")
    text = str(raised.value)
    assert text.startswith(f"{tmp_path / 'prod.toml'}: 5 problems:"), text
    for line in (
        "site.nmae: is not a known key (did you mean `name`?)",
        "aws.alb_name: must be a string, got int 5",
        "aws.cluster: is required but missing",
        "aws.cluser: is not a known key (did you mean `cluster`?)",
        "network.timeout_secnds: is not a known key (did you mean `timeout_seconds`?)",
    ):
        assert f"\n  {line}" in text, text


def test_one_mistake_reads_as_it_always_did(tmp_path: Path):
    with pytest.raises(TargetError) as raised:
        parse_target({**GOOD, "aws": {**GOOD["aws"], "cluster": 5}}, tmp_path / "prod.toml")
    assert str(raised.value) == f"{tmp_path / 'prod.toml'}: aws.cluster: must be a string, got int 5"
    assert raised.value.key == "aws.cluster"


def test_an_unknown_key_far_from_every_known_one_guesses_nothing(tmp_path: Path):
    with pytest.raises(TargetError, match=r"aws.colour: is not a known key \(a typo\?\)$"):
        parse_target({**GOOD, "aws": {**GOOD["aws"], "colour": "blue"}}, tmp_path / "prod.toml")


@pytest.mark.parametrize(
    ("typed", "known", "meant"),
    [
        ("cluser", ["cluster", "region", "alb_name"], "cluster"),
        ("hihg", ["critical", "high", "medium", "low", "info"], "high"),
        ("LOG-1", ["LOG-01", "LOG-02", "DNS-01"], "LOG-01"),
        ("redirect-temprary", ["redirect-temporary", "redirect-to-http"], "redirect-temporary"),
        ("zzz", ["cluster", "region"], None),
    ],
)
def test_did_you_mean(typed, known, meant):
    assert did_you_mean(typed, known) == (f" (did you mean `{meant}`?)" if meant else "")


def test_a_waiver_of_a_mistyped_check_id_names_the_id_meant(tmp_path: Path):
    path = tmp_path / "waivers.toml"
    path.write_text('[[waiver]]\ncheck = "LOG-1"\nreason = "r"\nowner = "o"\nexpires = 2099-01-01\n', encoding="utf-8")
    with pytest.raises(WaiverError, match=r"unknown check ID 'LOG-1' \(did you mean `LOG-01`\?\)"):
        load_waivers(path, ["LOG-01", "LOG-02"])


@pytest.mark.parametrize(
    ("option", "said"),
    [
        (["--fail-on", "hihg"], "unknown severity 'hihg' (did you mean `high`?)"),
        (["--sandbox-fault", "redirect-temprary"], "unknown --sandbox-fault 'redirect-temprary' (did you mean `redirect-temporary`?)"),
    ],
)
def test_a_mistyped_option_value_is_a_usage_error_naming_the_value_meant(option, said):
    result = _run("-m", "pytest", "checks", "-q", "-p", "no:randomly", *option)
    assert result.returncode == ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert said in result.stdout + result.stderr


# -- the terminal as a CI log


def test_a_memoised_error_raised_again_and_again_does_not_grow():
    def depth(traceback) -> int:
        count = 0
        while traceback is not None:
            count, traceback = count + 1, traceback.tb_next
        return count

    shared = ProbeError("ec2:DescribeSecurityGroups", "no AWS credentials")
    try:
        raise shared
    except ProbeError:
        pass
    depths = []
    for _ in range(50):
        try:
            raise fresh(shared)
        except ProbeError as raised:
            assert (raised.tried, raised.why, str(raised)) == (shared.tried, shared.why, str(shared))
            depths.append(depth(raised.__traceback__))
    assert len(set(depths)) == 1 and depth(shared.__traceback__) == 1, depths


def _report(check_id: str, parameter: str | None, tried: str, why: str) -> SimpleNamespace:
    report = SimpleNamespace(nodeid=f"checks/test_x.py::test_{check_id}", user_properties=[])
    setattr(report, ci_log.RECORD_ATTR, {"id": check_id, "parameter": parameter, "target": "prod"})
    setattr(report, ci_log.CAUSE_ATTR, {"tried": tried, "why": why})
    return report


def test_85_errors_of_one_cause_fit_in_one_screen_and_a_rare_cause_is_one_line_per_check():
    reports = [_report(f"CHK-{n:02d}", None, "ecs:DescribeServices (cluster=web)", "no AWS credentials") for n in range(80)]
    reports += [_report("DNS-01", f"h{n}.example.com", "route53:ListHostedZonesByName", "no AWS credentials") for n in range(5)]
    reports += [_report("LOG-03", None, "s3:GetBucketPolicy (Bucket=logs)", "access denied: the audit role needs s3:GetBucketPolicy")]
    lines = ci_log.lines_for(reports)
    assert len(lines) < 20, "\n".join(lines)
    assert lines[0] == "85 check(s): no AWS credentials"
    assert sum("no AWS credentials" in line for line in lines) == 1
    assert lines[-1] == "LOG-03: needed s3:GetBucketPolicy (Bucket=logs): access denied: the audit role needs s3:GetBucketPolicy"
    assert any("DNS-01[h0.example.com]" in line for line in lines)


# -- commands end quietly when their reader goes away


def test_history_piped_to_a_reader_that_went_away_ends_quietly(tmp_path: Path):
    from fixtures.history.store import open_store

    url = f"sqlite:///{tmp_path / 'history.sqlite'}"
    open_store(url).dispose()  # an empty store: the command still prints its heading
    read, write = os.pipe()
    os.close(read)  # `| head -1` that has already gone
    try:
        result = subprocess.run(
            [sys.executable, "-m", "fixtures.history", "--history", url],
            cwd=PROJECT, stdout=write, stderr=subprocess.PIPE, text=True, timeout=120,
        )
    finally:
        os.close(write)
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stderr


# -- pytest's own command line: `--target PATH`, a space before a path outside the checkout


def _target_beside_no_checkout(tmp_path: Path) -> Path:
    folder = tmp_path / "infra targets"  # a space in the path, too
    folder.mkdir()
    target = folder / "prod.toml"
    target.write_text('[site]\ndomain = "example.com"\n[aws]\nregion = "us-east-1"\nalb_name = "edge"\ncluster = "web"\n', encoding="utf-8")
    return target


def _collects_the_targets_checks(arguments: list[str], cwd: Path) -> None:
    result = _run(*arguments, "--collect-only", "-q", "-p", "no:randomly", cwd=cwd)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "test_host_has_an_alias_record_to_the_alb[api.example.com]" in output, output


def test_target_after_a_space_from_a_cwd_outside_the_checkout(tmp_path: Path):
    target = _target_beside_no_checkout(tmp_path)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    for arguments, cwd in (
        (["-m", "pytest", str(PROJECT / "checks"), "--target", str(target)], elsewhere),
        (["-m", "pytest", "checks", "--target", str(target)], PROJECT),
        (["-m", "pytest", str(PROJECT / "checks"), f"--target={target}"], elsewhere),
    ):
        _collects_the_targets_checks(arguments, cwd)


@pytest.mark.parametrize("form", ["--target PATH", "--target=PATH"])
@pytest.mark.parametrize("where", ["checkout", "elsewhere"])
def test_target_without_a_test_path_audits_with_this_checkout(tmp_path: Path, form: str, where: str):
    # Without a test path pytest roots the run at the target file (or at an existing
    # --report-dir) before any of the checkout is loaded; the installed entry point
    # (fixtures/runtime/rooting.py) starts it again with the checkout's configuration.
    target = _target_beside_no_checkout(tmp_path)
    reports = tmp_path / "existing reports"
    reports.mkdir()
    cwd = PROJECT if where == "checkout" else tmp_path
    given = ["--target", str(target)] if form == "--target PATH" else [f"--target={target}"]
    for arguments in (given, [*given, "--report-dir", str(reports)]):
        _collects_the_targets_checks(["-m", "pytest", *arguments], cwd)


def test_only_a_command_line_naming_a_target_outside_the_configuration_is_started_again(tmp_path: Path):
    installed = rooting.CHECKOUT
    configuration, checks = installed / "pyproject.toml", str(installed / "checks")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = rooting.arguments_to_run
    assert run(["--target", "/t/prod.toml"], None, elsewhere) == [f"--config-file={configuration}", checks, "--target", "/t/prod.toml"]
    assert run(["-q", "--target=/t/prod.toml"], tmp_path / "tox.ini", elsewhere) == [f"--config-file={configuration}", checks, "-q", "--target=/t/prod.toml"]
    assert run(["--target", "/t/prod.toml"], configuration, installed) is None  # rooted here already
    assert run(["tests", "-k", "target"], None, elsewhere) is None  # no target: not ours to redo
    assert run(["--", "--target", "/t/prod.toml"], None, elsewhere) is None  # after --: a free argument
    assert run(["--targets", "x"], None, elsewhere) is None
    # The process's own command line keeps the interpreter and its flags; a pytest.main()
    # from other code (its arguments are not the process's) is never restarted.
    argv = ["python", "-X", "dev", "-m", "pytest", "--target", "/t/prod.toml"]
    assert rooting.restart_command(argv, argv[5:], ["A", "B"]) == ["python", "-X", "dev", "-m", "pytest", "A", "B"]
    assert rooting.restart_command(["python", "script.py"], ["--target", "/t/prod.toml"], ["A"]) is None


def test_a_second_checkout_sharing_the_venv_runs_its_own_checks(tmp_path: Path):
    # A worktree or a copy whose .venv is this one: its own configuration is left alone, and
    # a run from inside it that pytest rooted elsewhere is redone with its checks, never the
    # installed checkout's.
    second = tmp_path / "worktree"
    (second / "checks" / "deep").mkdir(parents=True)
    (second / "pyproject.toml").write_text('[project]\nname = "edgeproof"\n', encoding="utf-8")
    assert rooting.arguments_to_run(["--target", "/t/prod.toml"], second / "pyproject.toml", second) is None
    assert rooting.arguments_to_run(["--target", "/t/prod.toml"], None, second / "checks" / "deep") == [
        f"--config-file={second / 'pyproject.toml'}", str(second / "checks"), "--target", "/t/prod.toml",
    ]
    other = tmp_path / "other-project"
    (other / "checks").mkdir(parents=True)
    (other / "pyproject.toml").write_text('[project]\nname = "someone-else"\n', encoding="utf-8")
    assert rooting.arguments_to_run(["--target", "/t/prod.toml"], other / "pyproject.toml", other)[0] == (
        f"--config-file={rooting.CHECKOUT / 'pyproject.toml'}"
    )
