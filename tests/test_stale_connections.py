"""A kept-alive TLS connection the server closes between requests without a
close_notify (as load balancers and servers on idle timeout do): every
idempotent request is retried once on a new connection, and a request with a
body (a POST) never rides on a kept-alive connection, so it is never sent twice
and never lost. 10 of 10 must succeed, each within its exchange's bound.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time

import pytest

from fixtures.probes import http
from fixtures.probes.connections import Connections
from fixtures.probes.deadline import http_exchange_bound
from fixtures.sandbox.pki import LeafOptions, make_pki

TIMEOUT = 2.0
SLACK = 1.5
# The server closes an idle kept-alive connection after this; the client waits longer between requests.
IDLE_CLOSE_SECONDS = 0.05
BETWEEN_REQUESTS_SECONDS = 0.2


class ClosesIdleWithoutCloseNotify:
    """A TLS server answering HTTP/1.1 with keep-alive, which then drops each connection
    once it has been idle IDLE_CLOSE_SECONDS: the TCP socket is closed, no TLS close_notify."""

    def __init__(self, context: ssl.SSLContext):
        self.context = context
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.1)
        self.port = self.server.getsockname()[1]
        self.requests: list[str] = []
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self.server.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        try:
            raw.settimeout(TIMEOUT)
            tls = self.context.wrap_socket(raw, server_side=True)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = tls.recv(4096)
                if not chunk:
                    return
                head += chunk
            header_block, _, body = head.partition(b"\r\n\r\n")
            length = 0
            for line in header_block.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(body) < length:
                body += tls.recv(4096)
            self.requests.append(header_block.split(b"\r\n", 1)[0].decode() + f" body={body.decode()}")
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")
            time.sleep(IDLE_CLOSE_SECONDS)
            # No tls.unwrap(): the TCP connection ends without a close_notify, and with a reset
            # (SO_LINGER 0) for any bytes the client sends afterwards.
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            raw.close()
        except (OSError, ValueError):
            pass

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_exc):
        self._stop.set()
        self._thread.join()
        self.server.close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    files = make_pki(LeafOptions(names=("cloudproject.test", "*.cloudproject.test"))).write(tmp_path_factory.mktemp("pki"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.cert_chain, files.key)
    return context, str(files.ca_bundle)


@pytest.mark.parametrize("method, body", [("POST", b'{"n": 1}'), ("GET", None), ("OPTIONS", None), ("HEAD", None)])
def test_ten_requests_over_connections_closed_without_close_notify_all_succeed(pki, method, body):
    context, bundle = pki
    connections = Connections()
    bound = http_exchange_bound(TIMEOUT)
    with ClosesIdleWithoutCloseNotify(context) as server:
        outcomes, walls = [], []
        for number in range(10):
            request = http.HttpRequest(method, "https", "api.cloudproject.test", server.port, f"/{number}", "127.0.0.1")
            started = time.monotonic()
            try:
                exchange = http.fetch(request, timeout=TIMEOUT, max_body_bytes=1024, ca_bundle=bundle, body=body, connections=connections)
                outcomes.append(exchange.response.status)
            except Exception as error:  # noqa: BLE001 - the point is to count them
                outcomes.append(repr(error))
            walls.append(time.monotonic() - started)
            time.sleep(BETWEEN_REQUESTS_SECONDS)
    connections.close()
    print(f"| {method} x10, kept-alive TLS closed without close_notify | {bound:g} s each | max {max(walls):.2f} s | {outcomes.count(200)}/10 |")
    assert outcomes == [200] * 10, outcomes
    assert max(walls) <= bound + SLACK, walls
    # Each request reached the server exactly once: nothing was sent twice.
    assert sorted(line.split()[1] for line in server.requests) == sorted(f"/{n}" for n in range(10)), server.requests
