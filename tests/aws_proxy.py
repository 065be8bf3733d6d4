"""A loopback proxy in front of the reference deployment's moto server that
misbehaves as AWS endpoints do: it denies, throttles, answers 5xx, stalls,
trickles its answer a byte at a time, or dies after N requests.

Moto answers everything promptly; the audit's bounds are only proven against
an endpoint that does not. `rule(method, path, headers)` picks, per request,
one of the FAULTS or None (forward unchanged).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection", "content-length"}
FAULTS = (
    "deny", "throttle", "error-500", "stall", "trickle", "trickle-body",
    "method-not-allowed",  # S3's 405 to a bucket policy read from another account
    "validation-error",  # 400 ValidationError: an operation this region's endpoint does not offer
    # an answer's size: 200 with a body without end (as fast as it is read), or with
    # a Content-Length of 400 MB; 200 with an empty body; 200 with a body that is not
    # XML or JSON and echoes the request's headers (its session token included);
    # 200 with a body of many small items (past the listing cap, or just under it)
    "flood", "flood-declared", "flood-slow", "empty-200", "echo-garbage", "items", "items-under-cap",
    "sts-error:CODE",  # an STS error answer with that code (AccessDenied, ExpiredToken ...)
)  # fmt: skip
FLOOD_CHUNK = b"<member><Key>" + b"x" * 65000 + b"</Key></member>"

ACCESS_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message>"
    b"<RequestId>EDGEPROOFTEST</RequestId><HostId>edgeproof</HostId></Error>"
)
# What S3 answers GetBucketPolicy from an identity of another account than the bucket owner's
# (S3 API reference, GetBucketPolicy: "405 Method Not Allowed"), in S3's error shape.
METHOD_NOT_ALLOWED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>MethodNotAllowed</Code><Message>The specified method is not allowed against this resource.</Message>"
    b"<Method>GET</Method><ResourceType>BUCKETPOLICY</ResourceType><RequestId>EDGEPROOFTEST</RequestId></Error>"
)
TRICKLE_INTERVAL_SECONDS = 0.5
BODY_KEY = "x-edgeproof-proxy-body"  # the request body, as the rule sees it (never sent on)

Rule = Callable[[str, str, dict[str, str]], "str | None"]


def query_action(headers: dict[str, str]) -> str | None:
    """The operation of a Query-protocol request (ELBv2, EC2, STS): its form body's `Action`."""
    return parse_qs(headers.get(BODY_KEY, "")).get("Action", [None])[0]


def is_get_bucket_policy(method: str, path: str) -> bool:
    parts = urlsplit(path)
    return method == "GET" and "policy" in parse_qs(parts.query, keep_blank_values=True) and parts.path.count("/") == 1


def is_json_protocol(headers: dict[str, str]) -> bool:
    return "X-Amz-Target" in headers or "json" in headers.get("Content-Type", "")


def error_body(headers: dict[str, str], code: str, message: str) -> tuple[str, bytes]:
    """An error in the protocol of the request (JSON for ECS/ACM, XML for the others)."""
    if is_json_protocol(headers):
        return "application/x-amz-json-1.1", json.dumps({"__type": code, "message": message}).encode()
    body = f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>EDGEPROOF</RequestId></ErrorResponse>"
    return "text/xml", body.encode()


class AwsProxy:
    """Forwards to `upstream`, except where `rule` names a fault; `die_after`: stop listening after that many requests."""

    def __init__(self, upstream: str, rule: Rule | None = None, *, die_after: int | None = None):
        target = urlsplit(upstream)
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request seen
        self.faulted: list[tuple[str, str]] = []  # (fault, path)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.died = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = dict(self.headers.items())
                with proxy._lock:
                    proxy.requests.append((self.command, self.path))
                    number = len(proxy.requests)
                if die_after is not None and number >= die_after:
                    proxy._die()
                # A rule may read the request's form body (STS and the other query APIs name the
                # action there) under BODY_KEY; the request forwarded is the one received.
                fault = rule(self.command, self.path, {**headers, BODY_KEY: body.decode("latin-1")}) if rule else None
                if fault is None:
                    self._forward(body)
                    return
                proxy.faulted.append((fault, self.path))
                if fault == "deny":
                    self._answer(403, [("Content-Type", "application/xml")], ACCESS_DENIED)
                elif fault.startswith("sts-error:"):  # an STS error in its query-protocol shape, e.g. sts-error:ExpiredToken
                    kind, answer = error_body(headers, fault.split(":", 1)[1], "edgeproof's test proxy answered this error")
                    self._answer(403, [("Content-Type", kind)], answer)
                elif fault == "method-not-allowed":
                    self._answer(405, [("Content-Type", "application/xml")], METHOD_NOT_ALLOWED)
                elif fault == "validation-error":
                    kind, answer = error_body(headers, "ValidationError", "The requested operation is not supported in this Region")
                    self._answer(400, [("Content-Type", kind)], answer)
                elif fault == "throttle":
                    if is_json_protocol(headers) or "Authorization" not in headers or "/s3/" not in headers["Authorization"]:
                        kind, answer = error_body(headers, "Throttling", "Rate exceeded")
                        self._answer(400, [("Content-Type", kind)], answer)
                    else:  # S3 slows callers down with 503 SlowDown
                        self._answer(503, [("Content-Type", "application/xml")], b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>")
                elif fault == "error-500":
                    kind, answer = error_body(headers, "InternalFailure", "We encountered an internal error")
                    self._answer(500, [("Content-Type", kind)], answer)
                elif fault == "stall":
                    proxy._stop.wait()
                elif fault in ("flood", "flood-declared", "flood-slow"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/xml")
                    if fault == "flood-declared":
                        self.send_header("Content-Length", str(400 * 1024 * 1024))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    while not proxy._stop.is_set():
                        self.wfile.write(FLOOD_CHUNK)
                        if fault == "flood-slow":  # about 6 MB a second: a cap is reached in seconds, not at once
                            time.sleep(0.01)
                elif fault == "empty-200":
                    kind = "application/x-amz-json-1.1" if is_json_protocol(headers) else "text/xml"
                    self._answer(200, [("Content-Type", kind)], b"")
                elif fault == "echo-garbage":
                    echoed = "\n".join(f"{k}: {v}" for k, v in headers.items() if k != BODY_KEY)
                    self._answer(200, [("Content-Type", "text/xml")], f"<<not xml {{ {echoed}".encode())
                elif fault in ("items", "items-under-cap"):
                    count = 300_000 if fault == "items" else 90_000
                    if is_json_protocol(headers):
                        self._answer(200, [("Content-Type", "application/x-amz-json-1.1")], b'{"tasks":[' + b"{}," * count + b"{}]}")
                    else:
                        self._answer(200, [("Content-Type", "text/xml")], b"<DescribeLoadBalancersResponse><DescribeLoadBalancersResult><LoadBalancers>" + b"<member/>" * count + b"</LoadBalancers></DescribeLoadBalancersResult></DescribeLoadBalancersResponse>")
                elif fault == "trickle-body":
                    self._forward(body, trickle=True)
                elif fault == "trickle":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    self.wfile.flush()
                    while not proxy._stop.wait(TRICKLE_INTERVAL_SECONDS):
                        self.wfile.write(b"X")  # an endless header name, one byte at a time
                        self.wfile.flush()

            def _forward(self, body: bytes, trickle: bool = False) -> None:
                connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                    connection.request(self.command, self.path, body=body or None, headers=headers)
                    response = connection.getresponse()
                    answer = response.read()
                    self._answer(response.status, [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP], answer, trickle)
                finally:
                    connection.close()

            def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes, trickle: bool = False) -> None:
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command == "HEAD":
                    return
                if not trickle:
                    self.wfile.write(body)
                    return
                self.wfile.flush()
                for byte in body:  # the real answer, one byte per interval
                    if proxy._stop.wait(TRICKLE_INTERVAL_SECONDS):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle

            def handle(self) -> None:
                try:
                    super().handle()
                except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                    pass  # the client gave up: what the tests provoke

            def log_message(self, *_args) -> None:
                pass  # quiet

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def _die(self) -> None:
        """Stop listening: later connections are refused (the endpoint went away)."""
        if not self.died.is_set():
            self.died.set()
            threading.Thread(target=self._close, daemon=True).start()

    def _close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> AwsProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        if not self.died.is_set():
            self.died.set()
            self._close()
        self._thread.join(timeout=5)
        time.sleep(0)  # let stalled handlers see the stop event


def deny_get_bucket_policy(method: str, path: str, _headers: dict[str, str]) -> str | None:
    return "deny" if is_get_bucket_policy(method, path) else None


def bucket_of_another_account(method: str, path: str, _headers: dict[str, str]) -> str | None:
    """GetBucketPolicy answered as S3 answers it for a bucket of another account."""
    return "method-not-allowed" if is_get_bucket_policy(method, path) else None


def listener_attributes_unavailable(_method: str, _path: str, headers: dict[str, str]) -> str | None:
    """DescribeListenerAttributes answered with ValidationError, as where the operation is not offered."""
    return "validation-error" if query_action(headers) == "DescribeListenerAttributes" else None
