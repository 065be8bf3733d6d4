"""Refresh the lock files to today's releases, on purpose: `./run lock` (then it runs the tests).

    locks/test.txt      every profile's dependencies: runtime + sandbox + test
    locks/sandbox.txt   runtime + the embedded reference deployment
    locks/runtime.txt   what an audit of a real deployment needs
    locks/tools.txt     uv itself, which writes the three above

Each lock pins every transitive dependency with its hashes, for every platform and
Python from 3.11 on (`uv pip compile --universal`), so a laptop, CI and the container
image install the same files. The test lock is resolved first and the two smaller
ones are resolved within it (`-c`), so the profiles agree on every shared version and
a larger install serves a smaller profile. The script prints what changed; commit
the locks only after `./run tests` passes against them.

    python locks/refresh.py [--check] [PACKAGE ...]

--check: resolve into a temporary folder and exit 1 if a lock would change
(nothing is written). PACKAGE: upgrade only these (default: every one).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

LOCKS = Path(__file__).resolve().parent
PROJECT = LOCKS.parent
# (lock file, pyproject extras), the largest first: the others are resolved within it.
PROFILES = [("test", ["test"]), ("sandbox", ["sandbox"]), ("runtime", [])]
# One resolution reads the package index: bounded, so that a stalled index ends the refresh.
COMPILE_BOUND_SECONDS = 600
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", re.MULTILINE)


def pins(text: str) -> dict[str, str]:
    return {name.lower(): version for name, version in PIN.findall(text)}


def uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if not found:
        sys.exit("uv is not installed: run `./run lock`, which installs it from locks/tools.txt")
    return found


def compile_lock(out: Path, extras: list[str], constraint: Path | None, upgrade: list[str]) -> None:
    command = [uv(), "pip", "compile", "pyproject.toml", "--universal", "--python-version", "3.11"]
    command += ["--generate-hashes", "--no-header", "--quiet", "-o", str(out)]
    for extra in extras:
        command += ["--extra", extra]
    if constraint is not None:
        command += ["-c", os.path.relpath(constraint, PROJECT)]
    command += ["--upgrade"] if not upgrade else [f"--upgrade-package={name}" for name in upgrade]
    # uv reads no pip.conf; UV_NO_CONFIG keeps a user's uv.toml out of the project's locks.
    subprocess.run(command, cwd=PROJECT, check=True, env={**os.environ, "UV_NO_CONFIG": "1"}, timeout=COMPILE_BOUND_SECONDS)


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    lines = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old != new:
            lines.append(f"  {name}: {old or '(new)'} -> {new or '(removed)'}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a lock would change; write nothing")
    parser.add_argument("packages", nargs="*", help="upgrade only these packages")
    arguments = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        written: dict[str, Path] = {}
        for name, extras in PROFILES:
            out = Path(scratch) / f"{name}.txt"
            if (LOCKS / f"{name}.txt").exists():
                shutil.copy(LOCKS / f"{name}.txt", out)  # uv keeps pins it is not asked to upgrade
            compile_lock(out, extras, written.get("test"), arguments.packages)
            written[name] = out
        changed = False
        for name, _extras in PROFILES:
            old = (LOCKS / f"{name}.txt").read_text(encoding="utf-8") if (LOCKS / f"{name}.txt").exists() else ""
            # Name the constraint as it will be after the move, not the scratch folder.
            new = written[name].read_text(encoding="utf-8")
            new = new.replace(os.path.relpath(written["test"], PROJECT), "locks/test.txt")
            diff = changes(pins(old), pins(new))
            print(f"locks/{name}.txt: " + ("unchanged" if not diff else f"{len(diff)} change(s)"))
            print("\n".join(diff)) if diff else None
            changed |= old != new
            if not arguments.check:
                (LOCKS / f"{name}.txt").write_text(new, encoding="utf-8")
    return 1 if arguments.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
