"""Fixtures shared by the suite's own tests."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator

import pytest

from tests.hostile import SilentServer

# The suite's audits write no run history unless a test asks (--history URL): they
# would otherwise land in the developer's own store (~/.local/state/edgeproof/).
# Child processes (the audits) inherit it.
os.environ["EDGEPROOF_HISTORY"] = "off"
# The suite starts about 130 audit processes; with PYTHONDONTWRITEBYTECODE set (as on
# some CI images) each would compile and assertion-rewrite every module of the project
# again, about a second apiece. Caches go to __pycache__/, which git ignores.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers."""
    with SilentServer() as server:
        yield server.port


@pytest.fixture
def sandbox_audit(tmp_path) -> Callable:
    """`sandbox_audit(*OPTIONS, spec=None, fault=None, timeout=180)`: start the reference deployment,
    write its target file, audit it with OPTIONS, stop it; returns the AuditRun (tests.sandbox_audit)."""
    from tests.sandbox_audit import audit_sandbox  # moto and the sandbox: only for the tests that audit one

    return functools.partial(audit_sandbox, tmp_path)
