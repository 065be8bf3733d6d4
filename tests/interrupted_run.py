"""Start an audit as a child process, stop it at a pause point with a signal, and see what it left.

The child runs `python -m pytest checks --report-dir DIR` (as tests/audit_runner.py
does) with EDGEPROOF_PAUSE_AT naming the moment (fixtures/runtime/pause.py);
it writes the pause file when it gets there. The child has its own session
(process group) and its own TMPDIR, so what it leaves behind can be counted:
processes in its group, its temporary directories, and the ports its sockets
were listening on while it was paused (read from /proc: Linux only).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.audit_runner import PROJECT

PAUSE_BOUND_SECONDS = 180  # the child reaches its pause point within this (a sandbox start on a busy machine)
EXIT_BOUND_SECONDS = 60  # a stuck child is killed after this; the test then fails
HAS_PROC = Path("/proc/self/fd").is_dir()


@dataclass(frozen=True)
class InterruptedRun:
    exit_code: int
    output: str
    report_dir: Path
    seconds_after_signal: float  # until the child exited
    seconds_to_reports: float  # until the last of the three reports was written
    ports_while_paused: set[tuple[str, str, int]]  # ("tcp" | "udp", address, port) the child listened on
    ports_still_bound: set[tuple[str, str, int]]
    processes_left: list[int]
    temporary_left: list[str]

    @property
    def report(self) -> dict:
        return json.loads((self.report_dir / "compliance.json").read_text(encoding="utf-8"))


def interrupt_audit(
    workdir: Path, moment: str, signals: tuple[int, ...], *options: str, between_signals: float = 0.1
) -> InterruptedRun:
    report_dir, temporary, marker = workdir / "reports", workdir / "tmp", workdir / "paused"
    temporary.mkdir(parents=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env.update(EDGEPROOF_PAUSE_AT=moment, EDGEPROOF_PAUSE_FILE=str(marker), TMPDIR=str(temporary))
    child = subprocess.Popen(
        [sys.executable, "-m", "pytest", "checks", "-q", "--report-dir", str(report_dir), *options],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        waited = time.monotonic() + PAUSE_BOUND_SECONDS
        while not marker.exists() and child.poll() is None and time.monotonic() < waited:
            time.sleep(0.05)
        if not marker.exists():
            child.kill()
            raise AssertionError(f"the audit never reached {moment!r}:\n{child.communicate(timeout=10)[0][-3000:]}")
        ports = listening_ports(child.pid)
        signalled, signalled_wall = time.monotonic(), time.time()
        for index, signum in enumerate(signals):
            if index:
                time.sleep(between_signals)
            child.send_signal(signum)
        output, _ = child.communicate(timeout=EXIT_BOUND_SECONDS)
        seconds = time.monotonic() - signalled
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate(timeout=10)
    return InterruptedRun(
        exit_code=child.returncode,
        output=output,
        report_dir=report_dir,
        seconds_after_signal=seconds,
        seconds_to_reports=max(
            ((report_dir / name).stat().st_mtime - signalled_wall if (report_dir / name).exists() else float("inf"))
            for name in ("compliance.json", "compliance.html", "junit.xml")
        ),
        ports_while_paused=ports,
        ports_still_bound={port for port in ports if _still_bound(*port)},
        processes_left=processes_in_group(child.pid),
        temporary_left=sorted(path.name for path in temporary.iterdir()),
    )


def listening_ports(pid: int) -> set[tuple[str, str, int]]:
    """The TCP ports process `pid` listens on and the UDP ports it has bound, on loopback."""
    if not HAS_PROC:
        return set()
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports: set[tuple[str, str, int]] = set()
    for kind in _LISTENING:
        ports |= _listening(Path(f"/proc/{pid}/net/{kind}"), kind, inodes)
    return ports


def _still_bound(kind: str, address: str, port: int) -> bool:
    """Whether a socket still listens on (address, port), whoever holds it.

    Read from /proc/net rather than by binding the port: once the child is
    gone another process's outgoing connection may take the same ephemeral
    port, which is no leftover of the audit.
    """
    return (kind, address, port) in _listening(Path(f"/proc/net/{kind}"), kind)


def _listening(table: Path, kind: str, inodes: set[str] | None = None) -> set[tuple[str, str, int]]:
    found = set()
    for line in table.read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == _LISTENING[kind] and (inodes is None or inode in inodes):
            address, port = local.split(":")
            found.add((kind, socket.inet_ntoa(bytes.fromhex(address)[::-1]), int(port, 16)))
    return found


# /proc/net/{tcp,udp} states: TCP_LISTEN; an unconnected, bound UDP socket.
_LISTENING = {"tcp": "0A", "udp": "07"}


def processes_in_group(group: int) -> list[int]:
    """Processes still alive in the child's process group (its session)."""
    if not HAS_PROC:
        return []
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after ")".
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == group and fields[0] != "Z":
            alive.append(int(entry.name))
    return alive
