"""AccessDenied on one AWS API errors the checks that need it, naming the permission; the rest of the run goes on.

Moto does not enforce IAM, so the audit talks to the reference deployment's
moto server through a loopback proxy that forwards every request unchanged
except S3 GetBucketPolicy, which it answers as S3 answers a caller without
s3:GetBucketPolicy.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from fixtures.gate.exit_codes import ExitCode
from fixtures.sandbox.deployment import Sandbox
from tests.audit_runner import run_audit
from tests.hostile import set_target_key

ACCESS_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message>"
    b"<RequestId>EDGEPROOFTEST</RequestId><HostId>edgeproof</HostId></Error>"
)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection", "content-length"}


def is_get_bucket_policy(method: str, path: str) -> bool:
    parts = urlsplit(path)
    return method == "GET" and "policy" in parse_qs(parts.query, keep_blank_values=True) and parts.path.count("/") == 1


class DenyingProxy:
    """Forwards to `upstream`; answers GetBucketPolicy 403 AccessDenied."""

    def __init__(self, upstream: str):
        target = urlsplit(upstream)
        self.denied: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if is_get_bucket_policy(self.command, self.path):
                    proxy.denied.append(self.path)
                    self._answer(403, [("Content-Type", "application/xml")], ACCESS_DENIED)
                    return
                upstream_connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                    upstream_connection.request(self.command, self.path, body=body or None, headers=headers)
                    response = upstream_connection.getresponse()
                    self._answer(response.status, [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP], response.read())
                finally:
                    upstream_connection.close()

            def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward

            def log_message(self, *_args) -> None:
                pass  # quiet

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def __enter__(self) -> DenyingProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_the_proxy_recognises_get_bucket_policy_only():
    assert is_get_bucket_policy("GET", "/cruddur-alb-access-logs?policy")
    assert is_get_bucket_policy("GET", "/cruddur-alb-access-logs?policy=")
    assert not is_get_bucket_policy("PUT", "/cruddur-alb-access-logs?policy")
    assert not is_get_bucket_policy("GET", "/cruddur-alb-access-logs?location")
    assert not is_get_bucket_policy("GET", "/cruddur-alb-access-logs/alb/AWSLogs/x?policy")


def test_access_denied_on_get_bucket_policy_errors_only_the_policy_check_and_names_the_permission(tmp_path: Path):
    with Sandbox() as sandbox, DenyingProxy(sandbox.endpoint_url) as proxy:
        target = sandbox.write_target(tmp_path / "target.toml")
        set_target_key(target, "endpoint_url", f'"{proxy.url}"')
        run = run_audit(tmp_path / "reports", "--target", str(target))
    assert proxy.denied, "the audit never asked for the bucket policy"
    errors = {check["id"]: check["message"] for check in run.checks if check["outcome"] == "error"}
    assert set(errors) == {"LOG-03"}, run.output[-3000:]
    assert "could not verify" in errors["LOG-03"] and "s3:GetBucketPolicy" in errors["LOG-03"], errors["LOG-03"]
    assert run.ids_with("passed") == {check["id"] for check in run.checks} - {"LOG-03"}
    assert run.report["summary"]["verdict"] == "incomplete"
    assert run.exit_code == ExitCode.INCOMPLETE
