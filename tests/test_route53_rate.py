"""The audit's own Route 53 requests keep to the account's documented five a second.

A real AwsReader against moto's server: fifteen calls from ten threads at once (as
the fact graph asks them) are sent no more than five in any second, and a call
that cannot get a slot within its bound is refused, never held past it.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from fixtures.probes.aws import AwsReader
from fixtures.probes.aws_rate import ROUTE53_REQUESTS_PER_SECOND, RequestRate
from fixtures.probes.errors import ProbeError
from fixtures.target.file import load_target

TARGET = """
[site]
domain = "example.org"

[aws]
region = "us-east-1"
alb_name = "alb"
cluster = "c"
endpoint_url = "{url}"
sandbox_credentials = true

[network]
timeout_seconds = {timeout}
"""


@pytest.fixture(scope="module")
def moto_url():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def reader(tmp_path, url: str, timeout: float) -> AwsReader:
    path = tmp_path / "target.toml"
    path.write_text(TARGET.format(url=url, timeout=timeout), encoding="utf-8")
    return AwsReader(load_target(path))


def test_concurrent_route53_calls_are_spaced_at_five_a_second(tmp_path, moto_url):
    aws = reader(tmp_path, moto_url, timeout=5)
    sent: list[float] = []
    lock = threading.Lock()

    def note(**_kwargs) -> None:
        with lock:
            sent.append(time.monotonic())

    # Among the first handlers, after the rate's own (registered when the client was made)
    # and before the one that sends: the moment each request leaves.
    aws.client("route53").meta.events.register_first("before-send", note)
    try:
        with ThreadPoolExecutor(10) as pool:
            # call_fresh: each asked for real, as a waiter's polls are (call() would memoise).
            list(pool.map(lambda _n: aws.call_fresh("route53", "list_hosted_zones_by_name", DNSName="example.org"), range(15)))
    finally:
        aws.close()
    assert len(sent) == 15
    # The rate keeps 1.1 s windows; 0.9 s here leaves 0.2 s for a busy machine's thread
    # scheduling between a slot and the send (unspaced, all 15 leave within 0.05 s).
    busiest = max(sum(1 for other in sent if start <= other < start + 0.9) for start in sent)
    assert busiest <= ROUTE53_REQUESTS_PER_SECOND, sorted(round(t - sent[0], 2) for t in sent)
    assert max(sent) - min(sent) >= 2.0  # 15 requests at 5 a second: three windows at least


def test_a_call_that_gets_no_slot_within_its_bound_is_refused(tmp_path, moto_url, monkeypatch):
    rate = RequestRate(1)
    rate.wait_for_slot()  # the only slot of this second is taken
    monkeypatch.setattr("fixtures.probes.aws_rate.ROUTE53_RATE", rate)  # before the client is made
    aws = reader(tmp_path, moto_url, timeout=0.2)  # the call's bound: 2 x 0.2 s, under the second's wait
    started = time.monotonic()
    try:
        with pytest.raises(ProbeError, match="Route 53 allows 1 API requests a second"):
            aws.call_fresh("route53", "list_hosted_zones_by_name", DNSName="example.org")
    finally:
        aws.close()
    assert time.monotonic() - started < 1.0
