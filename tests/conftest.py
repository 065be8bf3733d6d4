"""Fixtures shared by the suite's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hostile import SilentServer


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers."""
    with SilentServer() as server:
        yield server.port
