"""A loopback web server whose answers are hostile content, for the report tests.

`RawAnswerServer` answers every request on two ports (plain HTTP and HTTPS with
the reference deployment's certificate) with the same raw bytes: whatever
status line, header block and body a test gives it, byte for byte, NUL bytes
and invalid UTF-8 included. An audit reaches it by pointing the target's
`http_port` / `https_port` at it (the sandbox's resolvers answer 127.0.0.1 for
the site's hosts), so every wire check reads what it sent.
"""

from __future__ import annotations

import re
import socketserver
import ssl
import threading
from pathlib import Path
from types import TracebackType

REQUEST_HEAD_LIMIT = 65536
SOCKET_TIMEOUT = 5.0


def raw_response(status: bytes, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    """An HTTP/1.1 answer as bytes; Content-Length is set, the connection closed."""
    head = [b"HTTP/1.1 " + status]
    head += [name + b": " + value for name, value in headers]
    head += [b"Content-Length: " + str(len(body)).encode(), b"Connection: close"]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


class _Handler(socketserver.BaseRequestHandler):
    server: _RawServer

    def handle(self) -> None:
        connection = self.request
        connection.settimeout(SOCKET_TIMEOUT)
        try:
            if self.server.tls is not None:
                connection = self.server.tls.wrap_socket(connection, server_side=True)
            head = b""
            while b"\r\n\r\n" not in head and len(head) < REQUEST_HEAD_LIMIT:
                chunk = connection.recv(4096)
                if not chunk:
                    return
                head += chunk
            # Read a request's body before answering (the error probe's POST): closing
            # on unread bytes resets the connection and cuts the answer short.
            header, _, body = head.partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length:\s*(\d+)", header)
            missing = int(length[1]) - len(body) if length else 0
            while missing > 0:
                chunk = connection.recv(min(missing, 65536))
                if not chunk:
                    return
                missing -= len(chunk)
            connection.sendall(self.server.answer)
        except (OSError, ssl.SSLError):
            return  # a client that gave up (or a probe that only wanted the handshake)
        finally:
            try:
                connection.close()
            except OSError:
                pass


class _RawServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, answer: bytes, tls: ssl.SSLContext | None):
        self.answer = answer
        self.tls = tls
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def port(self) -> int:
        return self.server_address[1]


class RawAnswerServer:
    """Plain HTTP on `http_port`, HTTPS on `https_port`; both answer `answer` to every request."""

    def __init__(self, answer: bytes, *, cert_chain: Path, key: Path):
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert_chain, key)
        self._servers = [_RawServer(answer, None), _RawServer(answer, tls)]
        self._threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True) for s in self._servers]

    @property
    def http_port(self) -> int:
        return self._servers[0].port

    @property
    def https_port(self) -> int:
        return self._servers[1].port

    def __enter__(self) -> RawAnswerServer:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)


def sandbox_certificate(ca_bundle: Path) -> tuple[Path, Path]:
    """The served chain and key the sandbox wrote beside its CA bundle (fixtures.sandbox.pki.PkiFiles)."""
    directory = ca_bundle.parent
    return directory / "cert-chain.pem", directory / "leaf-key.pem"

