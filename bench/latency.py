"""How an audit's wall time grows with the round-trip time to the deployment.

    .venv/bin/python bench/latency.py [--rounds 3] [--latencies 0,50,100] [--concurrent 10] [--targets 10]

For each latency it starts the reference deployment in a process of its own
(`python -m fixtures.sandbox --latency-ms N --write-target ...`), audits it
`--rounds` times as an external target (`pytest --target FILE`, one process
per audit) and prints:

- wall: the audit process's wall time, min and median, and the run's own
  (compliance.json `duration_seconds`: without the interpreter's start and
  the collection, which do not depend on the latency but are noisy on a
  loaded machine);
- peak RSS of the audit process (the operating system's accounting, wait4);
- sequential round trips: the slope of the median wall over the latency;
- TCP connections, TLS handshakes, HTTP requests, AWS calls: from the run's
  compliance.json (`stats.wire`, `stats.aws_api_calls`);
- the critical path: the longest chain of dependent facts in the fact graph
  (`stats.fact_graph`), each fact weighted by its own round trips (how much
  longer it took at the highest latency than at 0, over that latency);
- with `--concurrent N`: N audits of the same deployment at once next to one,
  at the highest latency;
- with `--targets N`: one run of N targets (`--target FOLDER`, several targets
  in one run) next to the audits of one, at the highest latency. The N target
  files describe the same deployment under N names (one reference deployment
  per process, and N of them would not fit the machine): each target still has
  its own AWS reader, connections and facts, so the deployment serves N
  audits' worth of requests.

Nothing here judges: it prints the figures and the issue's goals beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the project's own modules

from fixtures.sandbox.process import sandbox_process  # noqa: E402
SANDBOX_START_SECONDS = 300
AUDIT_SECONDS = 600


@dataclass
class Audit:
    wall: float
    peak_rss_mb: float
    report: dict

    @property
    def stats(self) -> dict:
        return self.report.get("stats", {})


@dataclass
class Level:
    latency_ms: int
    audits: list[Audit] = field(default_factory=list)

    def median(self, value) -> float:
        return statistics.median(value(audit) for audit in self.audits)


def start_audit(target: Path, report_dir: Path) -> tuple[subprocess.Popen, float]:
    # Each audit keeps its run history as a real one does (its cost is in the figures),
    # in a store of its own beside its reports: never in the user's store.
    history = report_dir.parent / f"{report_dir.name}-history.sqlite"
    command = [
        sys.executable, "-m", "pytest", "checks", "-q", "-p", "no:cacheprovider",
        "--target", str(target), "--report-dir", str(report_dir), "--history", str(history),
    ]
    started = time.monotonic()
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), started


def finish_audit(process: subprocess.Popen, started: float, report_dir: Path) -> Audit:
    ends = time.monotonic() + AUDIT_SECONDS
    while True:  # wait4 for this child's own peak RSS; polled so the bound holds
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > ends:
            process.kill()
            raise RuntimeError("an audit did not finish in time")
        time.sleep(0.02)
    wall = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    report = json.loads((report_dir / "compliance.json").read_text(encoding="utf-8"))
    return Audit(wall, usage.ru_maxrss / 1024, report)


def audit(target: Path, report_dir: Path) -> Audit:
    return finish_audit(*start_audit(target, report_dir), report_dir)


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    mean_x = statistics.fmean(x for x, _ in points)
    mean_y = statistics.fmean(y for _, y in points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def fact_seconds(level: Level) -> dict[str, float]:
    """Each fact's median own time at one latency (from the start of its evaluation)."""
    names = {name for audit in level.audits for name in audit.stats.get("fact_graph", {}).get("facts", {})}
    return {
        name: statistics.median(a.stats["fact_graph"]["facts"][name]["seconds"] for a in level.audits if name in a.stats["fact_graph"]["facts"])
        for name in names
    }


def critical_path(low: Level, high: Level) -> tuple[float, list[str]]:
    """The longest chain of dependent facts, in round trips, and the chain."""
    latency = (high.latency_ms - low.latency_ms) / 1000
    at_low, at_high = fact_seconds(low), fact_seconds(high)
    depends = {name: facts["depends_on"] for name, facts in high.audits[0].stats["fact_graph"]["facts"].items()}
    own = {name: max(0.0, (at_high[name] - at_low.get(name, 0.0)) / latency) for name in at_high}
    best: dict[str, tuple[float, list[str]]] = {}

    def longest(name: str) -> tuple[float, list[str]]:
        if name not in best:
            before = max((longest(d) for d in depends.get(name, ()) if d in own), default=(0.0, []))
            best[name] = (before[0] + own[name], before[1] + [name])
        return best[name]

    return max((longest(name) for name in own), default=(0.0, []))


def target_folder(target: Path, count: int, folder: Path) -> Path:
    """`count` copies of the target file, each under its own [site] name, with the CA bundle it names."""
    folder.mkdir(parents=True)
    text = target.read_text(encoding="utf-8")
    for bundle in target.parent.glob(f"{target.stem}-ca.pem"):
        (folder / bundle.name).write_bytes(bundle.read_bytes())
    for number in range(1, count + 1):
        renamed = text.replace('name = "reference deployment"', f'name = "target-{number:02d}"')
        (folder / f"target-{number:02d}.toml").write_text(renamed, encoding="utf-8")
    return folder


def run_seconds(audit: Audit) -> float:
    return audit.report.get("duration_seconds", audit.wall)


def wire_figure(audit: Audit, key: str) -> int:
    return audit.stats.get("wire", {}).get(key, 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latencies", default="0,50,100", help="milliseconds, comma-separated (default 0,50,100)")
    parser.add_argument("--concurrent", type=int, default=0, metavar="N", help="also run N audits at once at the highest latency")
    parser.add_argument("--targets", type=int, default=0, metavar="N", help="also audit N targets in one run at the highest latency")
    parser.add_argument("--fault", metavar="NAME", help="the reference deployment with this fault or trap (e.g. trap-alb-http2-disabled: HTTP/1.1 only)")
    arguments = parser.parse_args(argv)
    latencies = [int(value) for value in arguments.latencies.split(",")]
    if len(set(latencies)) < 2:
        parser.error("--latencies needs at least two different values: the round trips are the slope between them")
    levels: list[Level] = []
    concurrent: list[Audit] = []
    several: list[Audit] = []
    with tempfile.TemporaryDirectory(prefix="edgeproof-bench-") as scratch:
        workdir = Path(scratch)
        for latency in latencies:
            with sandbox_process(workdir / f"target-{latency}.toml", fault=arguments.fault, latency_ms=latency, start_seconds=SANDBOX_START_SECONDS) as target:
                level = Level(latency)
                for round_number in range(arguments.rounds):
                    level.audits.append(audit(target, workdir / f"r{latency}-{round_number}"))
                    print(f"  {latency:>4} ms round {round_number + 1}: {level.audits[-1].wall:.2f}s", file=sys.stderr, flush=True)
                levels.append(level)
                if arguments.concurrent and latency == max(latencies):
                    started = [start_audit(target, workdir / f"c{n}") for n in range(arguments.concurrent)]
                    concurrent = [finish_audit(p, s, workdir / f"c{n}") for n, (p, s) in enumerate(started)]
                if arguments.targets and latency == max(latencies):
                    folder = target_folder(target, arguments.targets, workdir / "targets")
                    for round_number in range(arguments.rounds):
                        several.append(audit(folder, workdir / f"t{round_number}"))
                        print(f"  {latency:>4} ms, {arguments.targets} targets, round {round_number + 1}: {several[-1].wall:.2f}s", file=sys.stderr, flush=True)
    report(levels, concurrent, several)
    return 0


def report(levels: list[Level], concurrent: list[Audit], several: list[Audit]) -> None:
    print(
        f"{'latency':>8} {'wall min':>9} {'wall med':>9} {'run min':>8} {'run med':>8} {'peak RSS':>9} "
        f"{'TCP conns':>9} {'TLS hs':>7} {'HTTP req':>8} {'AWS calls':>9}"
    )
    for level in levels:
        walls = [a.wall for a in level.audits]
        runs = [run_seconds(a) for a in level.audits]
        first = level.audits[0]
        print(
            f"{level.latency_ms:>6}ms {min(walls):>8.2f}s {statistics.median(walls):>8.2f}s "
            f"{min(runs):>7.2f}s {statistics.median(runs):>7.2f}s "
            f"{max(a.peak_rss_mb for a in level.audits):>7.0f}MB {wire_figure(first, 'tcp_connections_opened'):>9} "
            f"{wire_figure(first, 'tls_handshakes'):>7} {wire_figure(first, 'http_requests'):>8} {first.stats.get('aws_api_calls', 0):>9}"
        )
    low, high = levels[0], levels[-1]
    sequential = slope([(level.latency_ms / 1000, level.median(lambda a: a.wall)) for level in levels])
    sequential_run = slope([(level.latency_ms / 1000, level.median(run_seconds)) for level in levels])
    path, chain = critical_path(low, high)
    latency = high.latency_ms / 1000
    bound = 1.5 * (low.median(lambda a: a.wall) + path * latency)
    print(f"sequential round trips (slope of the median wall over latency): {sequential:.1f}   goal <= 20")
    print(f"sequential round trips (slope of the median run time over latency): {sequential_run:.1f}")
    print(f"critical path of the fact graph: {path:.1f} round trips: {' -> '.join(chain)}")
    print(
        f"at {high.latency_ms} ms: wall {high.median(lambda a: a.wall):.2f}s; "
        f"1.5 x (wall at {low.latency_ms} ms + critical path) = {bound:.2f}s"
    )
    run_bound = 1.5 * (low.median(run_seconds) + path * latency)
    print(f"at {high.latency_ms} ms: run {high.median(run_seconds):.2f}s; 1.5 x (run at {low.latency_ms} ms + critical path) = {run_bound:.2f}s")
    sessions = high.audits[0].stats.get("wire", {}).get("http_connections_by_session", {})
    print(f"HTTP connections per session (endpoint and TLS settings): max {max(sessions.values(), default=0)}   goal <= 2; {sessions}")
    print(f"peak RSS of an audit of an external target: {max(a.peak_rss_mb for l in levels for a in l.audits):.0f} MB   goal < 150 MB")
    if concurrent:
        walls = [a.wall for a in concurrent]
        print(
            f"{len(concurrent)} concurrent audits at {high.latency_ms} ms (stand-in for {len(concurrent)} targets in one run): "
            f"slowest {max(walls):.2f}s vs one audit {high.median(lambda a: a.wall):.2f}s "
            f"(ratio {max(walls) / high.median(lambda a: a.wall):.2f}; goal <= 2)"
        )

    if several:
        targets = len(several[0].report.get("targets") or {})
        checks = len(several[0].report.get("checks") or [])
        errors = max(a.report.get("summary", {}).get("error", 0) for a in several)  # a saturated deployment shows here
        one_wall, one_run = high.median(lambda a: a.wall), high.median(run_seconds)
        wall, run = statistics.median(a.wall for a in several), statistics.median(run_seconds(a) for a in several)
        print(
            f"{targets} targets in one run at {high.latency_ms} ms ({checks} checks, "
            f"{several[0].stats.get('aws_api_calls', 0)} AWS calls, at most {errors} could not verify): wall median {wall:.2f}s vs one target {one_wall:.2f}s "
            f"(ratio {wall / one_wall:.2f}; goal <= 2); run {run:.2f}s vs {one_run:.2f}s (ratio {run / one_run:.2f}); "
            f"peak RSS {max(a.peak_rss_mb for a in several):.0f} MB"
        )


if __name__ == "__main__":
    sys.exit(main())
