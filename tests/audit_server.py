"""A warm start for the suite's audit processes.

The suite audits about 130 deployments, each in a process of its own
(`pytest checks OPTIONS`, as an operator runs it). About a second of each
audit's start is the same every time: the interpreter importing pytest, its
plugins, boto3, dnspython, cryptography, requests, Jinja and the OCSF models.
This server imports them once; for each audit it forks, and the child runs
pytest's own console entry point with the audit's arguments, working directory
and environment, its output in a file. Nothing of edgeproof is imported before
the fork: conftest.py, the plugins and the checks load (and are assertion-
rewritten) in the child exactly as in a cold `python -m pytest`.

Protocol, one JSON line each way: the client sends {"args", "cwd", "env",
"output"}; the server answers {"pid"} at once and {"exit"} when the child ends.

    python -m tests.audit_server      (started by tests.audit_runner, one per test process)
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import sys
import traceback

# Third-party modules every audit imports; none of them starts a thread on import
# (a fork copies only the forking thread).
PRELOAD = (
    "pytest",
    "_pytest.python",
    "_pytest.terminal",
    "_pytest.junitxml",
    "_pytest.assertion.rewrite",
    # Not the plugins themselves (pytest_html, pytest_metadata, xdist): pytest marks
    # an installed plugin for assertion rewriting and warns when it is already imported.
    "execnet",
    "boto3",
    "botocore.session",
    "botocore.config",
    "dns.resolver",
    "dns.message",
    "cryptography.x509",
    "requests",
    "urllib3",
    "jinja2",
    "py_ocsf_models.events.findings.compliance_finding",
)


def _reply(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _run_child(request: dict) -> None:
    """In the forked child: become `pytest ARGS` and exit with its code. Never returns."""
    code = 3
    try:
        os.setsid()  # its own process group: a timeout kills the audit and whatever it started
        os.chdir(request["cwd"])
        output = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)  # not the server's request pipe
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["pytest", *request["args"]]
        # What `python -m pytest` runs (pytest/__main__.py); the public console_main() is deprecated.
        from _pytest.config import _console_main

        code = _console_main()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve() -> None:
    for name in PRELOAD:
        importlib.import_module(name)
    gc.freeze()  # the preloaded objects stay shared with every child, never copied by a collection
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _run_child(request)
        _reply({"pid": pid})
        _, status = os.waitpid(pid, 0)
        _reply({"exit": os.waitstatus_to_exitcode(status)})


if __name__ == "__main__":
    serve()
