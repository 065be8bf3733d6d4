"""AWS endpoints that misbehave: every call, retries included, and every S3
object read ends within its bound; throttling and 5xx are retried 3 times in
all and then name what happened; an endpoint that dies mid-run errors the
checks that still needed it while the wire checks run on.

Calls go through tests/aws_proxy.py in front of the reference deployment's
moto server (moto itself always answers at once).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from fixtures.probes.aws import MAX_ATTEMPTS, AwsReader, call_bound_seconds
from fixtures.probes.errors import ProbeError
from fixtures.sandbox.deployment import Sandbox
from fixtures.target import load_target
from tests.audit_runner import run_audit
from tests.aws_proxy import AwsProxy
from tests.hostile import set_target_key
from tests.sandbox_audit import running_sandbox

SLACK = 1.5  # seconds of scheduling on a loaded 2-core machine, beyond the bound itself


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with running_sandbox(tmp_path_factory.mktemp("hostile-aws")) as running:
        yield running.sandbox, running.target


def reader_through(proxy: AwsProxy, target_file: Path) -> AwsReader:
    set_target_key(target_file, "endpoint_url", f'"{proxy.url}"')
    reader = AwsReader(load_target(target_file))
    for service in ("elbv2", "s3", "ecs"):
        reader.client(service)  # model loading is not the endpoint's time
    return reader


def timed(action) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        action()
    except ProbeError as error:
        return time.monotonic() - started, error
    return time.monotonic() - started, None


def always(fault: str):
    return lambda _method, _path, _headers: fault


def no_watchdog_left() -> bool:
    return not [t for t in threading.enumerate() if isinstance(t, threading.Timer) and t.is_alive()]


CASES = [
    # (case, fault, service call, expected message start, requests the endpoint sees)
    ("elbv2 throttles for ever", "throttle", ("elbv2", "describe_load_balancers", {}), "throttled: AWS answered Throttling after 3 attempts", MAX_ATTEMPTS),
    ("ecs throttles for ever (JSON)", "throttle", ("ecs", "describe_services", {"cluster": "cruddur", "services": ["backend-flask"]}), "throttled: AWS answered Throttling after 3 attempts", MAX_ATTEMPTS),
    ("route53 throttles for ever: the account's shared rate is named", "throttle", ("route53", "list_hosted_zones_by_name", {"DNSName": "cloudproject.test"}), "throttled: AWS answered Throttling after 3 attempts; Route 53 allows five API requests a second per account", MAX_ATTEMPTS),
    ("s3 answers 503 SlowDown for ever", "throttle", ("s3", "get_bucket_location", {"Bucket": "BUCKET"}), "throttled: AWS answered SlowDown after 3 attempts", MAX_ATTEMPTS),
    ("elbv2 answers 500 for ever", "error-500", ("elbv2", "describe_load_balancers", {}), "AWS answered HTTP 500 InternalFailure after 3 attempts", MAX_ATTEMPTS),
    ("elbv2 accepts and never answers", "stall", ("elbv2", "describe_load_balancers", {}), "no answer: 2 attempts within the call's bound", 2),
    ("elbv2 trickles its headers", "trickle", ("elbv2", "describe_load_balancers", {}), "no answer: 1 attempt within the call's bound", 1),
]


@pytest.mark.parametrize("case, fault, call, message, requests", CASES, ids=[c[0] for c in CASES])
def test_a_misbehaving_endpoint_ends_within_the_calls_bound_as_an_error_that_says_so(sandbox, case, fault, call, message, requests):
    running, target_file = sandbox
    service, method, arguments = call
    arguments = {k: (running.spec.log_bucket if v == "BUCKET" else v) for k, v in arguments.items()}
    with AwsProxy(running.endpoint_url, always(fault)) as proxy:
        reader = reader_through(proxy, target_file)
        wall, error = timed(lambda: reader.call(service, method, **arguments))
        reader.close()
    bound = call_bound_seconds(load_target(target_file).timeout_seconds)
    print(f"| {case} | {bound:g} s | {wall:.2f} s | error: {error.why if error else 'none'} |")
    assert error is not None and error.why.startswith(message), error
    assert len(proxy.requests) == requests, proxy.requests
    assert wall <= bound + SLACK, (wall, bound)
    assert no_watchdog_left()


def test_a_trickled_s3_object_body_ends_within_the_calls_bound(sandbox):
    running, target_file = sandbox
    s3 = running_client(running, "s3")
    s3.put_object(Bucket=running.spec.log_bucket, Key="edgeproof-test/trickled.bin", Body=b"x" * 4096)
    get_object = lambda method, path, _headers: "trickle-body" if method == "GET" and path.endswith("/trickled.bin") else None
    with AwsProxy(running.endpoint_url, get_object) as proxy:
        reader = reader_through(proxy, target_file)
        wall, error = timed(lambda: reader.read_object(running.spec.log_bucket, "edgeproof-test/trickled.bin", 4096))
        reader.close()
    bound = call_bound_seconds(load_target(target_file).timeout_seconds)
    print(f"| S3 object body trickled | {bound:g} s | {wall:.2f} s | error: {error.why if error else 'none'} |")
    assert error is not None and "reading the body failed: no body within the call's bound" in error.why, error
    assert wall <= bound + SLACK
    assert no_watchdog_left()


def test_throttling_that_stops_is_retried_to_an_answer(sandbox):
    running, target_file = sandbox
    seen: list[str] = []

    def twice_then_forward(method, path, _headers):
        seen.append(path)
        return "throttle" if len(seen) <= 2 else None

    with AwsProxy(running.endpoint_url, twice_then_forward) as proxy:
        reader = reader_through(proxy, target_file)
        answer = reader.call("elbv2", "describe_load_balancers", Names=[running.spec.alb_name])
        reader.close()
    assert answer["LoadBalancers"][0]["LoadBalancerName"] == running.spec.alb_name
    assert len(proxy.requests) == 3 and reader.stats()["aws_http_attempts"] == 3


def test_a_stalled_endpoint_costs_one_bound_per_run(sandbox):
    running, target_file = sandbox
    with AwsProxy(running.endpoint_url, always("stall")) as proxy:
        reader = reader_through(proxy, target_file)
        first, first_error = timed(lambda: reader.call("elbv2", "describe_load_balancers"))
        second, second_error = timed(lambda: reader.call("ecs", "list_tasks", cluster="cruddur"))
        reader.close()
    print(f"| stalled endpoint, second call | 0 s | {second:.2f} s | error: {second_error.why} |")
    assert first_error is not None and second_error is not None
    assert "stopped answering earlier in this run (no answer: 2 attempts" in second_error.why, second_error
    assert second < 0.5, second
    assert len(proxy.requests) == 2  # the second call never reached it


def test_an_endpoint_that_dies_mid_run_errors_what_still_needed_it_and_the_wire_checks_run(sandbox, tmp_path: Path):
    running, target_file = sandbox
    with AwsProxy(running.endpoint_url, die_after=8) as proxy:
        set_target_key(target_file, "endpoint_url", f'"{proxy.url}"')
        run = run_audit(tmp_path / "reports", "--target", str(target_file), timeout=120)
    set_target_key(target_file, "endpoint_url", f'"{running.endpoint_url}"')
    errors = {c["id"]: c["message"] for c in run.checks if c["outcome"] == "error"}
    print(f"| AWS endpoint dies after 8 requests (whole audit) | 120 s | {run.seconds:.2f} s | {run.report['summary']['verdict']}: {len(errors)} errors |")
    assert proxy.died.is_set()
    assert errors, run.output[-3000:]
    assert all("AWS endpoint" in message for message in errors.values()), errors
    wire = [c for c in run.checks if c["plane"] == "wire"]
    assert wire and all(c["outcome"] == "passed" for c in wire), [(c["id"], c["outcome"]) for c in wire if c["outcome"] != "passed"]
    assert not run.ids_with("failed"), run.ids_with("failed")
    assert all(c["plane"] != "wire" for c in run.checks if c["outcome"] == "error")
    assert run.report["summary"]["verdict"] == "incomplete" and run.exit_code != 0
    assert run.seconds < 60, run.seconds


def running_client(running: Sandbox, service: str):
    from fixtures.sandbox.control_plane import sandbox_client

    return sandbox_client(service, running.endpoint_url, running.spec.region)
