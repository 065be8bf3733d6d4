"""Fixtures shared by the suite's own tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.hostile import SilentServer

# The suite's audits write no run history unless a test asks (--history URL): they
# would otherwise land in the developer's own store (~/.local/state/edgeproof/).
# Child processes (the audits) inherit it.
os.environ["EDGEPROOF_HISTORY"] = "off"


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers."""
    with SilentServer() as server:
        yield server.port
