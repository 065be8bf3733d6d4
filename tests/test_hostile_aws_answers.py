"""AWS endpoints that answer too much: a body without end, a Content-Length of
400 MB, 300,000 empty structures, an empty 200, garbage that echoes the
request. Each call ends within its bound as an error naming the cap (never
"no answer"), in bounded memory: the calls run in a child process under an
address-space limit and report their peak RSS.

The endpoint is tests/aws_proxy.py in front of the reference deployment's moto server.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fixtures.probes.aws import call_bound_seconds
from fixtures.probes.aws_answers import LISTING_CAP, SINGLE_CAP
from fixtures.sandbox.deployment import Sandbox
from fixtures.target import load_target
from tests.aws_proxy import AwsProxy
from tests.hostile import set_target_key

PROJECT = Path(__file__).resolve().parents[1]
SLACK = 1.5  # seconds of scheduling on a loaded 2-core machine, beyond the bound itself
# The child's address space (a hard stop should the caps not hold) and what its RSS may reach.
CHILD_ADDRESS_SPACE = 2 * 1024**3
CHILD_RSS_GROWTH_MB = 100  # above the child's RSS once its clients are made

# One reader, its calls, in a child: {"wall", "error", "peak_rss_mb"} per call, as JSON lines.
CHILD = r"""
import json, resource, sys, time
from fixtures.probes.aws import AwsReader
from fixtures.probes.errors import ProbeError
from fixtures.target import load_target

reader = AwsReader(load_target(sys.argv[1]))
for service in ("elbv2", "ecs"):
    reader.client(service)
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
for line in sys.stdin:
    service, method, arguments, key = json.loads(line)
    started = time.monotonic()
    error = None
    try:
        answer = reader.call(service, method, **arguments)
        if key:
            answer[key]
    except ProbeError as caught:
        error = caught.why
    except Exception as caught:
        error = f"NOT A PROBE ERROR: {type(caught).__name__}: {caught}"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall": time.monotonic() - started, "error": error, "peak_rss_mb": peak, "growth_mb": peak - baseline}), flush=True)
"""


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with Sandbox() as running:
        yield running, running.write_target(tmp_path_factory.mktemp("hostile-answers") / "target.toml")


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_ADDRESS_SPACE, CHILD_ADDRESS_SPACE))


def calls_in_a_child(target_file: Path, calls: list[tuple], timeout: float) -> list[dict]:
    feed = "".join(json.dumps(list(call)) + "\n" for call in calls)
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(target_file)],
        input=feed,
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=_limit_address_space,
        env={**os.environ, "MALLOC_ARENA_MAX": "2"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.splitlines()]


DESCRIBE_LBS = ("elbv2", "describe_load_balancers", {}, "LoadBalancers")
DESCRIBE_TASK_DEFINITION = ("ecs", "describe_task_definition", {"taskDefinition": "backend-flask"}, "taskDefinition")
DESCRIBE_TASKS = ("ecs", "describe_tasks", {"cluster": "cruddur", "tasks": ["x"]}, "tasks")

CASES = [
    # (case, fault, call, the error must contain)
    ("a listing without end", "flood", DESCRIBE_LBS, f"passed the cap of {LISTING_CAP.describe()}: more than"),
    ("a listing declaring 400 MB", "flood-declared", DESCRIBE_LBS, f"passed the cap of {LISTING_CAP.describe()}: it declared 419,430,400 bytes"),
    ("one resource without end (JSON)", "flood", DESCRIBE_TASK_DEFINITION, f"passed the cap of {SINGLE_CAP.describe()}: more than"),
    ("300,000 empty XML structures", "items", DESCRIBE_LBS, "items in"),
    ("300,000 empty JSON structures", "items", DESCRIBE_TASKS, "items in"),
    ("an empty 200 (XML)", "empty-200", DESCRIBE_LBS, "AWS answered HTTP 200 with an empty body"),
    ("an empty 200 (JSON)", "empty-200", DESCRIBE_TASK_DEFINITION, "AWS answered HTTP 200 with an empty body (no taskDefinition)"),
]


@pytest.mark.parametrize("case, fault, call, message", CASES, ids=[c[0] for c in CASES])
def test_an_answer_past_its_cap_ends_the_call_within_its_bound_as_an_error_naming_the_cap(sandbox, case, fault, call, message):
    running, target_file = sandbox
    with AwsProxy(running.endpoint_url, lambda _m, _p, _h: fault) as proxy:
        set_target_key(target_file, "endpoint_url", f'"{proxy.url}"')
        try:
            (outcome,) = calls_in_a_child(target_file, [call], timeout=60)
        finally:
            set_target_key(target_file, "endpoint_url", f'"{running.endpoint_url}"')
    bound = call_bound_seconds(load_target(target_file).timeout_seconds)
    print(f"| {case} | {bound:g} s | {outcome['wall']:.2f} s | {outcome['peak_rss_mb']:.0f} MB (+{outcome['growth_mb']:.0f} MB) | {outcome['error']} |")
    assert outcome["error"] and message in outcome["error"], outcome
    assert "no answer" not in outcome["error"]
    assert len(proxy.requests) == 1, proxy.requests  # refused answers are not asked again
    assert outcome["wall"] <= bound + SLACK, outcome
    assert outcome["growth_mb"] < CHILD_RSS_GROWTH_MB, outcome


def test_ten_floods_at_once_stay_in_bounded_memory_and_time(sandbox):
    """The reader's ten concurrent calls, each flooded at once: memory is capped per answer."""
    running, target_file = sandbox
    script = CHILD.replace(
        "for line in sys.stdin:",
        "from concurrent.futures import ThreadPoolExecutor\nlines = sys.stdin.read().splitlines()\n"
        "def one(line):\n"
        "    service, method, arguments, key = json.loads(line)\n"
        "    try:\n        reader.call(service, method, **arguments)\n    except ProbeError as error:\n        return error.why\n"
        "started = time.monotonic()\n"
        "with ThreadPoolExecutor(10) as pool:\n    whys = list(pool.map(one, lines))\n"
        "print(json.dumps({'wall': time.monotonic() - started, 'whys': whys, 'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 'growth_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - baseline}))\n"
        "for line in []:",
    )
    calls = [("elbv2", "describe_load_balancers", {"Names": [f"lb-{n}"]}, None) for n in range(10)]
    with AwsProxy(running.endpoint_url, lambda _m, _p, _h: "flood") as proxy:
        set_target_key(target_file, "endpoint_url", f'"{proxy.url}"')
        try:
            started = time.monotonic()
            result = subprocess.run(
                [sys.executable, "-c", script, str(target_file)],
                input="".join(json.dumps(list(c)) + "\n" for c in calls),
                cwd=PROJECT, capture_output=True, text=True, timeout=60,
                preexec_fn=_limit_address_space, env={**os.environ, "MALLOC_ARENA_MAX": "2"},
            )  # fmt: skip
            elapsed = time.monotonic() - started
        finally:
            set_target_key(target_file, "endpoint_url", f'"{running.endpoint_url}"')
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.splitlines()[-1])
    bound = call_bound_seconds(load_target(target_file).timeout_seconds)
    print(f"| ten floods at once | {bound:g} s | {outcome['wall']:.2f} s (child {elapsed:.2f} s) | {outcome['peak_rss_mb']:.0f} MB (+{outcome['growth_mb']:.0f} MB) |")
    assert all(why and "passed the cap" in why for why in outcome["whys"]), outcome["whys"]
    assert outcome["wall"] <= bound + SLACK, outcome
    assert outcome["growth_mb"] < CHILD_RSS_GROWTH_MB, outcome


AUDIT_PEAK_RSS_MB = 700
# A hard stop for the audit process, should the caps not hold (its threads reserve
# address space far beyond what they use; RSS is what the bound is about).
AUDIT_ADDRESS_SPACE = 4 * 1024**3


def _limit_audit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (AUDIT_ADDRESS_SPACE, AUDIT_ADDRESS_SPACE))


# Runs a command and prints its peak RSS in MB (the largest of it and its children).
PEAK_OF = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
    "print('peak_rss_mb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024); sys.exit(code)"
)


def test_an_audit_against_an_endpoint_that_floods_every_answer_stays_under_700_mb(sandbox, tmp_path: Path):
    """The whole audit, every AWS answer without end: it ends, with its reports, under 700 MB."""
    running, target_file = sandbox
    with AwsProxy(running.endpoint_url, lambda _m, _p, _h: "flood") as proxy:
        set_target_key(target_file, "endpoint_url", f'"{proxy.url}"')
        try:
            started = time.monotonic()
            result = subprocess.run(
                [sys.executable, "-c", PEAK_OF, sys.executable, "-m", "pytest", "checks", "-q", "--target", str(target_file),
                 "--report-dir", str(tmp_path / "reports"), "--max-run-seconds", "120"],
                cwd=PROJECT, capture_output=True, text=True, timeout=180,
                preexec_fn=_limit_audit_address_space, env={**os.environ, "MALLOC_ARENA_MAX": "2"},
            )  # fmt: skip
            elapsed = time.monotonic() - started
        finally:
            set_target_key(target_file, "endpoint_url", f'"{running.endpoint_url}"')
    peak = float(result.stdout.rsplit("peak_rss_mb", 1)[1])
    report = json.loads((tmp_path / "reports" / "compliance.json").read_text())
    errors = [c for c in report["checks"] if c["outcome"] == "error"]
    print(f"| audit, every AWS answer without end | {AUDIT_PEAK_RSS_MB} MB | {elapsed:.1f} s | peak RSS {peak:.0f} MB | {len(errors)} errors, exit {result.returncode} |")
    assert errors and any("passed the cap" in c["message"] for c in errors), [c["message"] for c in errors][:5]
    assert not [c for c in report["checks"] if c["outcome"] == "passed" and c["plane"] != "wire"]
    assert report["summary"]["verdict"] != "compliant" and result.returncode != 0
    assert peak < AUDIT_PEAK_RSS_MB, peak
    assert elapsed < 120, elapsed


def test_an_answer_under_its_cap_that_would_not_parse_in_the_time_left_is_refused(sandbox):
    """90,000 empty structures: within the listing cap, but more parsing than a 1 s budget allows."""
    running, target_file = sandbox
    original = load_target(target_file).timeout_seconds
    with AwsProxy(running.endpoint_url, lambda _m, _p, _h: "items-under-cap") as proxy:
        set_target_key(target_file, "endpoint_url", f'"{proxy.url}"')
        set_target_key(target_file, "timeout_seconds", "0.5")
        try:
            (outcome,) = calls_in_a_child(target_file, [DESCRIBE_LBS], timeout=60)
            bound = call_bound_seconds(load_target(target_file).timeout_seconds)
        finally:
            set_target_key(target_file, "endpoint_url", f'"{running.endpoint_url}"')
            set_target_key(target_file, "timeout_seconds", f"{original:g}")
    print(f"| 90,000 items, 1 s budget | {bound:g} s | {outcome['wall']:.2f} s | {outcome['error']} |")
    assert outcome["error"] and "would not parse in the" in outcome["error"], outcome
    assert outcome["wall"] <= bound + SLACK, outcome



SIGNAL_AFTER_REQUESTS = 3  # the signal lands while answers are being read
EXIT_BOUND_SECONDS = 20  # tests/test_signals.py's bound: within seconds, on a loaded machine


def test_sigterm_while_aws_floods_every_answer_ends_the_run_with_2_and_its_reports(sandbox, tmp_path: Path):
    """The signal handler runs while answers are being read: no read or parse holds it up."""
    running, target_file = sandbox
    report_dir = tmp_path / "reports"
    with AwsProxy(running.endpoint_url, lambda _m, _p, _h: "flood-slow") as proxy:
        set_target_key(target_file, "endpoint_url", f'"{proxy.url}"')
        try:
            child = subprocess.Popen(
                [sys.executable, "-m", "pytest", "-p", "fixtures.runtime.early", "checks", "-q", "--target", str(target_file),
                 "--report-dir", str(report_dir)],
                cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")},
            )  # fmt: skip
            try:
                waited = time.monotonic() + 120
                while len(proxy.requests) < SIGNAL_AFTER_REQUESTS and child.poll() is None and time.monotonic() < waited:
                    time.sleep(0.05)
                reading = len(proxy.requests)
                signalled = time.monotonic()
                child.send_signal(signal.SIGTERM)
                output, _ = child.communicate(timeout=60)
                after = time.monotonic() - signalled
            finally:
                if child.poll() is None:
                    os.killpg(child.pid, signal.SIGKILL)
                    child.communicate(timeout=10)
        finally:
            set_target_key(target_file, "endpoint_url", f'"{running.endpoint_url}"')
    assert (report_dir / "compliance.json").is_file(), (child.returncode, reading, output[-3000:])
    report = json.loads((report_dir / "compliance.json").read_text())
    print(f"| SIGTERM while every AWS answer floods | {EXIT_BOUND_SECONDS} s | exit {child.returncode} {after:.2f} s after the signal | {reading} AWS requests by then |")
    assert reading >= SIGNAL_AFTER_REQUESTS, "the audit had not reached AWS"
    assert child.returncode == 2, output[-3000:]
    assert report["interrupted"] is True and report["summary"]["verdict"] in ("incomplete", "non-compliant")
    assert after < EXIT_BOUND_SECONDS, after
