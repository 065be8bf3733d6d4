"""Hostile and dead endpoints for the tests, and target-file edits that point an audit at them."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import dns.flags
import dns.message


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# How a hostile server behaves on one accepted connection: it gets the socket and
# an event set when the server stops (every loop below checks it, so that stopping
# is prompt), and may return at any time (the connection is then closed).
Behaviour = Callable[[socket.socket, threading.Event], None]


class HostileServer:
    """Accepts TCP connections on 127.0.0.1 and runs one Behaviour per connection,
    each in a thread of its own: the suite's one loopback accept loop (the silent
    server below, the TLS and HTTP servers of the probes' tests use it too)."""

    def __init__(self, behaviour: Behaviour):
        self._behaviour = behaviour
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.1)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._held: list[socket.socket] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            self.connections += 1
            self._held.append(connection)
            worker = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self._threads.append(worker)
            worker.start()

    def _serve(self, connection: socket.socket) -> None:
        connection.settimeout(5)
        try:
            self._behaviour(connection, self._stop)
        except OSError:
            pass  # the client gave up or hung up: that is what the probes do

    def __enter__(self) -> HostileServer:
        self._accepting.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._accepting.join(2)
        for held in self._held:
            try:
                held.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for worker in self._threads:
            worker.join(2)
        for held in self._held:
            held.close()
        self.socket.close()


def _drip(connection: socket.socket, data: bytes, interval: float, stopped: threading.Event) -> None:
    for index in range(len(data)):
        if stopped.wait(interval):
            return
        connection.sendall(data[index : index + 1])


def _hold(stopped: threading.Event) -> None:
    stopped.wait(60)


def trickled_headers(interval: float = 0.5) -> Behaviour:
    """A status line at once, then one header byte every `interval`, for ever."""

    def behave(connection: socket.socket, stopped: threading.Event) -> None:
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 200 OK\r\n")
        _drip(connection, b"X-Slow: " + b"a" * 100000, interval, stopped)

    return behave


def endless_headers(connection: socket.socket, stopped: threading.Event) -> None:
    """A status line, then headers as fast as the client takes them, for ever."""
    connection.recv(65536)
    connection.sendall(b"HTTP/1.1 200 OK\r\n")
    count = 0
    while not stopped.is_set():
        connection.sendall(b"".join(b"X-Endless-%d: more\r\n" % (count + i) for i in range(100)))
        count += 100


def huge_body(size: int = 50 * 1024 * 1024) -> Behaviour:
    """A complete answer whose body is `size` bytes, sent as fast as the client reads."""

    def behave(connection: socket.socket, stopped: threading.Event) -> None:
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % size)
        block = b"x" * 65536
        sent = 0
        while sent < size and not stopped.is_set():
            connection.sendall(block[: size - sent])
            sent += len(block)

    return behave


def trickled_body(interval: float = 0.5) -> Behaviour:
    """Complete headers at once, then the promised body one byte every `interval`."""

    def behave(connection: socket.socket, stopped: threading.Event) -> None:
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        _drip(connection, b"b" * 1000, interval, stopped)

    return behave


def answers(raw: bytes) -> Behaviour:
    """Reads the request, sends `raw` as the whole answer and closes its side."""

    def behave(connection: socket.socket, _stopped: threading.Event) -> None:
        connection.recv(65536)
        connection.sendall(raw)
        connection.shutdown(socket.SHUT_WR)  # the end of the answer, when no header gives its length

    return behave


def tls_garbage(connection: socket.socket, stopped: threading.Event) -> None:
    """Answers a ClientHello with bytes that are no TLS record, then holds the connection."""
    connection.recv(65536)
    connection.sendall(b"\x00\xffthis is not TLS\r\n" * 8)
    _hold(stopped)


# The start of a TLS 1.2 record carrying a ServerHello: record header (handshake,
# TLS 1.2, 90 bytes), handshake header (ServerHello, 86 bytes), version, and the
# first bytes of the server random. The rest never comes.
PARTIAL_SERVER_HELLO = b"\x16\x03\x03\x00\x5a" + b"\x02\x00\x00\x56" + b"\x03\x03" + b"\x5e" * 8


def partial_server_hello(connection: socket.socket, stopped: threading.Event) -> None:
    """Sends part of a ServerHello, then nothing."""
    connection.recv(65536)
    connection.sendall(PARTIAL_SERVER_HELLO)
    _hold(stopped)


def trickled_handshake(interval: float = 0.3) -> Behaviour:
    """A ServerHello record announced at full size (16 KiB), then one byte every `interval`."""

    def behave(connection: socket.socket, stopped: threading.Event) -> None:
        connection.recv(65536)
        _drip(connection, b"\x16\x03\x03\x40\x00\x02\x00\x3f\xfc\x03\x03" + b"\x5e" * 16000, interval, stopped)

    return behave


class FullBacklog:
    """A listening port whose accept queue is full: the system drops further SYNs, so a
    connect neither succeeds nor is refused, it times out (as behind a firewall that
    drops packets), without leaving 127.0.0.1."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(0)
        self.port = self.socket.getsockname()[1]
        self._fillers: list[socket.socket] = []

    def __enter__(self) -> FullBacklog:
        # Fill the queue until a connect no longer completes.
        for _ in range(8):
            filler = socket.socket()
            filler.settimeout(0.3)
            try:
                filler.connect(("127.0.0.1", self.port))
            except OSError:
                filler.close()
                break
            self._fillers.append(filler)
        return self

    def __exit__(self, *_exc) -> None:
        for filler in self._fillers:
            filler.close()
        self.socket.close()


class HostileResolver:
    """A DNS server on 127.0.0.1, one port for UDP and TCP, that misbehaves.

    udp: "silent" (never answers), "garbage" (answers bytes that are no DNS
    message), "truncated" (a valid empty answer with the TC bit, which sends
    the client to TCP). tcp: "silent", "garbage" (a length prefix and bytes that
    are no DNS message), "trickle" (a valid answer, one byte every 0.3 s).
    """

    def __init__(self, udp: str, tcp: str = "silent"):
        self.udp_mode, self.tcp_mode = udp, tcp
        self.tcp_connections = 0
        self._tcp = HostileServer(self._tcp_behaviour)
        # One port for both, as a resolver has: UDP on the TCP server's port, which
        # may be taken for UDP; then try another.
        for _ in range(20):
            self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                self._udp.bind(("127.0.0.1", self._tcp.port))
                break
            except OSError:
                self._udp.close()
                self._tcp.socket.close()
                self._tcp = HostileServer(self._tcp_behaviour)
        self._udp.settimeout(0.1)
        self.port = self._tcp.port
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve_udp, daemon=True)

    def _serve_udp(self) -> None:
        while not self._stop.is_set():
            try:
                packet, client = self._udp.recvfrom(65535)
            except OSError:
                continue
            if self.udp_mode == "garbage":
                self._udp.sendto(packet[:2] + b"\xff" * 40, client)  # the query's id, then nonsense
            elif self.udp_mode == "truncated":
                answer = dns.message.make_response(dns.message.from_wire(packet))
                answer.flags |= dns.flags.TC
                self._udp.sendto(answer.to_wire(), client)

    def _tcp_behaviour(self, connection: socket.socket, stopped: threading.Event) -> None:
        self.tcp_connections += 1
        length = int.from_bytes(connection.recv(2), "big")
        query = connection.recv(length)
        if self.tcp_mode == "garbage":
            connection.sendall(b"\x00\x20" + query[:2] + b"\xff" * 30)
            _hold(stopped)
        elif self.tcp_mode == "trickle":
            answer = dns.message.make_response(dns.message.from_wire(query)).to_wire()
            _drip(connection, len(answer).to_bytes(2, "big") + answer, 0.3, stopped)
        else:
            _hold(stopped)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> HostileResolver:
        self._thread.start()
        self._tcp.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(2)
        self._tcp.__exit__(*exc)
        self._udp.close()


def within(seconds: float, operation: Callable[[], object]) -> tuple[object, float]:
    """Run `operation` in a thread and return (its result or the exception it raised,
    its wall time); fail the test if it has not ended after `seconds`, so that a
    regression fails instead of hanging the suite."""
    outcome: dict[str, object] = {}

    def run() -> None:
        started = time.monotonic()
        try:
            outcome["result"] = operation()
        except BaseException as error:  # handed to the test, which asserts on it
            outcome["result"] = error
        outcome["wall"] = time.monotonic() - started

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds:g}s: the operation is not bounded"
    return outcome["result"], outcome["wall"]  # type: ignore[return-value]


def set_target_key(target: Path, key: str, value: str) -> None:
    """Replace `key = ...` in a target file written by the sandbox (value as TOML text)."""
    text = target.read_text(encoding="utf-8")
    changed, count = re.subn(rf"(?m)^{re.escape(key)} = .*$", lambda _: f"{key} = {value}", text)
    assert count == 1, f"{target} has no single {key} line"
    target.write_text(changed, encoding="utf-8")


class SilentServer(HostileServer):
    """Accepts TCP connections and never says a word: a server that hangs, or a TLS
    handshake that never completes."""

    def __init__(self):
        super().__init__(lambda _connection, stopping: stopping.wait())


def names_the_bound(message: str, seconds: float) -> bool:
    """names_the_one_second_bound, for a timeout of `seconds`."""
    return f"no answer within {seconds:g}s" in message or f"{seconds:g}s (the bound of one exchange" in message


def names_the_one_second_bound(message: str) -> bool:
    """A silent endpoint's error, as a check reports it: its own probe's timeout ("no answer
    within 1s"), or an exchange's bound, its own or the endpoint's first failure not retried
    (whichever probe reached it first: an HTTP/2 batch, a TLS handshake, a request)."""
    return names_the_bound(message, 1)
