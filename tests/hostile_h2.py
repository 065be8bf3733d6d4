"""Hostile HTTP/2 peers for the tests: a TLS server that selects h2 by ALPN, then misbehaves.

Each is a Behaviour for tests.hostile.HostileServer: it does the TLS handshake
(offering only h2), reads the client's requests with the `h2` library, and
then does what its name says. `answered` streams get a small JSON answer.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable

import h2.config
import h2.connection
import h2.errors
import h2.events

from tests.hostile import Behaviour

# What a misbehaviour gets: the h2 connection, the TLS socket, the stream ids of the
# requests read so far, and the server's stop event.
Misbehaviour = Callable[[h2.connection.H2Connection, ssl.SSLSocket, list[int], threading.Event], None]


def h2_peer(context: ssl.SSLContext, misbehave: Misbehaviour) -> Behaviour:
    def behave(connection: socket.socket, stopped: threading.Event) -> None:
        with context.wrap_socket(connection, server_side=True) as tls:
            peer = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
            peer.initiate_connection()
            tls.sendall(peer.data_to_send())
            streams = _read_requests(peer, tls)
            misbehave(peer, tls, streams, stopped)

    return behave


def server_context(cert_chain: str, key: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_chain, key)
    context.set_alpn_protocols(["h2"])
    return context


def _read_requests(peer: h2.connection.H2Connection, tls: ssl.SSLSocket) -> list[int]:
    """The stream ids of the requests that arrive within a moment of the first."""
    streams: list[int] = []
    tls.settimeout(2)
    while True:
        try:
            data = tls.recv(65536)
        except TimeoutError:
            return streams
        if not data:
            return streams
        for event in peer.receive_data(data):
            if isinstance(event, h2.events.StreamEnded):
                streams.append(event.stream_id)
        tls.sendall(peer.data_to_send())
        if streams:
            tls.settimeout(0.2)  # the rest of a batch arrives together


def answer(peer: h2.connection.H2Connection, tls: ssl.SSLSocket, stream_id: int) -> None:
    body = b'{"ok": true}'
    peer.send_headers(stream_id, [(":status", "200"), ("content-type", "application/json"), ("content-length", str(len(body)))])
    peer.send_data(stream_id, body, end_stream=True)
    tls.sendall(peer.data_to_send())


def trickles(interval: float) -> Misbehaviour:
    """Headers for every stream, then one body byte every `interval` on each, for ever."""

    def misbehave(peer, tls, streams, stopped) -> None:
        for stream_id in streams:
            peer.send_headers(stream_id, [(":status", "200"), ("content-type", "application/json")])
        tls.sendall(peer.data_to_send())
        while not stopped.wait(interval):
            for stream_id in streams:
                peer.send_data(stream_id, b" ")
            tls.sendall(peer.data_to_send())

    return misbehave


def stalls_first_stream(peer, tls, streams, stopped) -> None:
    """Answers every request but the first, which it never answers."""
    for stream_id in streams[1:]:
        answer(peer, tls, stream_id)
    stopped.wait(60)


def goaway_unprocessed(peer, tls, streams, stopped) -> None:
    """GOAWAY without processing any request (last stream id 0), on every connection."""
    peer.close_connection(error_code=h2.errors.ErrorCodes.NO_ERROR, last_stream_id=0)
    tls.sendall(peer.data_to_send())
    stopped.wait(60)


def goaway_error_after_processing(peer, tls, streams, stopped) -> None:
    """GOAWAY (INTERNAL_ERROR) naming every request as processed, and no answer to any."""
    peer.close_connection(error_code=h2.errors.ErrorCodes.INTERNAL_ERROR, last_stream_id=max(streams, default=0))
    tls.sendall(peer.data_to_send())
    stopped.wait(60)


def resets_every_stream(peer, tls, streams, stopped) -> None:
    for stream_id in streams:
        peer.reset_stream(stream_id, h2.errors.ErrorCodes.INTERNAL_ERROR)
    tls.sendall(peer.data_to_send())
    stopped.wait(60)


def settings_flood(peer, tls, streams, stopped) -> None:
    """SETTINGS frames as fast as the client takes them, and no answer (each asks for an ACK)."""
    frame = b"\x00\x00\x06\x04\x00\x00\x00\x00\x00" + b"\x00\x03\x00\x00\x00\x64"  # SETTINGS MAX_CONCURRENT_STREAMS=100
    tls.settimeout(0.05)
    while not stopped.is_set():
        tls.sendall(frame * 200)
        try:
            tls.recv(65536)  # the client's ACKs: read and dropped, so its writes never block for long
        except (TimeoutError, ssl.SSLWantReadError):
            pass


def answers_every_batch(peer, tls, streams, stopped) -> None:
    """A well-behaved server: answers each batch, and the next one on the same connection."""
    while streams and not stopped.is_set():
        for stream_id in streams:
            answer(peer, tls, stream_id)
        streams = _read_requests(peer, tls)


def answers_then_closes(peer, tls, streams, stopped) -> None:
    """Answers one batch, then closes the connection without a word (a server's idle timeout, a restart)."""
    for stream_id in streams:
        answer(peer, tls, stream_id)
    stopped.wait(0.1)
