"""Hostile and dead endpoints for the tests, and target-file edits that point an audit at them."""

from __future__ import annotations

import re
import socket
import threading
from pathlib import Path


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SilentServer:
    """Accepts TCP connections and never says a word: a server that hangs, or a TLS
    handshake that never completes."""

    def __init__(self):
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.1)
        self.port = self.socket.getsockname()[1]
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                self._held.append(self.socket.accept()[0])
            except OSError:
                continue

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()
        for held in self._held:
            held.close()
        self.socket.close()


def set_target_key(target: Path, key: str, value: str) -> None:
    """Replace `key = ...` in a target file written by the sandbox (value as TOML text)."""
    text = target.read_text(encoding="utf-8")
    changed, count = re.subn(rf"(?m)^{re.escape(key)} = .*$", lambda _: f"{key} = {value}", text)
    assert count == 1, f"{target} has no single {key} line"
    target.write_text(changed, encoding="utf-8")
