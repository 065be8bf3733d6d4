"""Redact before cut: no piece of a secret survives any cut a report makes.

The canary audit (tests/test_canaries.py) proves it end to end; these prove
each piece alone, fast: pieces of known secrets, credential-bearing query
parameters and headers, the HTTP body's excerpt, and pytest's own assertion
and traceback reprs, which pytest cuts before any plugin sees them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fixtures.probes.http import EXCERPT_CHARS, HttpResponse
from fixtures.redaction.secrets import REDACTED, redact_text, remember_secret

PROJECT = Path(__file__).resolve().parents[1]
PIECE = 16  # no run of this many characters of a secret may be left
SECRET = "PieceTokenQ7" + "".join(f"{n:03d}k" for n in range(300)) + "Tail"


def pieces_of(secret: str, text: str) -> list[str]:
    return sorted({secret[i : i + PIECE] for i in range(len(secret) - PIECE + 1) if secret[i : i + PIECE] in text})


def test_a_known_secret_cut_anywhere_leaves_no_piece():
    remember_secret(SECRET)
    text = f"before {SECRET} after"
    for cut in range(10, len(text) - 5, 97):
        head, tail = text[:cut], text[cut:]
        for part in (head, tail, f"{head}...", f"...{tail}", f"x {head[-300:]} [truncated: 10 bytes]"):
            assert pieces_of(SECRET, redact_text(part)) == [], (cut, part[:80])
    assert "before" in redact_text(text[:40]) and REDACTED in redact_text(text[:40])


def test_ordinary_text_is_not_taken_for_a_piece():
    remember_secret("Padding////////////////" + "ZZ" * 10)  # runs of one character are no piece
    text = "GET /a/b/c ////////////////// 200 OK; max-age=31536000; includeSubDomains"
    assert redact_text(text) == text


@pytest.mark.parametrize(
    "url, kept",
    [
        ("https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAX%2F2026&X-Amz-Security-Token=FwoGTok&X-Amz-Signature=9f8e7d", "X-Amz-Algorithm=AWS4-HMAC-SHA256"),
        ("https://app.test/callback?code=SplxlOBeZQQYbYS6WxSbIA&state=xyz", "state=xyz"),
        ("https://files.test/a?sv=2024&sig=Zm9vYmFy%3D&sid=abc123#access_token=tok123&token_type=bearer", "sv=2024"),
        ("https://app.test/?id_token=eyJ0.eyJ1.c2ln&refresh_token=r1&client_secret=s1", "https://app.test/?"),
    ],
)
def test_credentials_in_query_parameters_are_redacted(url, kept):
    redacted = redact_text(f"Location: {url}".replace("Location", "Content-Location"))
    assert kept in redacted
    for value in ("ASIAX%2F2026", "FwoGTok", "9f8e7d", "SplxlOBeZQQYbYS6WxSbIA", "Zm9vYmFy", "abc123", "tok123", "eyJ0", "r1&", "s1"):
        assert value not in redacted, redacted


@pytest.mark.parametrize(
    "text",
    [
        "X-Session: 8c1f0e2a9b7d4c3e",
        "{'X-Session': '8c1f0e2a9b7d4c3e', 'x': 1}",
        '"x-session-token": "8c1f0e2a9b7d4c3e"',
        "X-Auth-Token: 8c1f0e2a9b7d4c3e",
        "session_id=8c1f0e2a9b7d4c3e; Path=/",
    ],
)
def test_session_and_token_headers_echoed_into_text_are_redacted(text):
    assert "8c1f0e2a9b7d4c3e" not in redact_text(text)


def test_a_cookie_echoed_across_the_excerpts_end_leaves_no_piece():
    cookie = "CutCookieV4" + "".join(f"{n:04d}c" for n in range(400))  # 2,011 characters
    body = ("." * (EXCERPT_CHARS - 50) + f" echo {cookie} end").encode()
    response = HttpResponse(200, "OK", (("Set-Cookie", f"sid={cookie}; Path=/"),), body, False, 0.1)
    excerpt = response.as_evidence()["body_excerpt"]
    assert excerpt.startswith("....") and pieces_of(cookie, excerpt) == [], excerpt[-120:]


ASSERTING = '''
import os

def test_a_long_secret_in_a_failed_comparison():
    token = os.environ["EDGEPROOF_TEST_API_TOKEN"]
    body = "x" * 300 + " you sent " + token + " and more " + "y" * 300
    headers = {"X-Session": ("Unknown" + "SessionV9") * 30, "a": "b" * 400}
    assert body == "the body expected"

def test_a_long_secret_in_a_dict_comparison():
    assert {"X-Session": ("Unknown" + "SessionV9") * 30, "z": "q" * 500} == {"X-Session": "no"}

def test_a_long_secret_in_an_assertion_message():
    token = os.environ["EDGEPROOF_TEST_API_TOKEN"]
    assert False, ["the server echoed", token * 2]
'''


def test_pytests_assertion_and_traceback_reprs_are_redacted_before_pytest_cuts_them(tmp_path: Path):
    """pytest cuts operands at 240 characters, in the middle, and locals alike: the
    head and the tail of a secret would be left in the terminal and in JUnit."""
    (tmp_path / "test_asserting.py").write_text(ASSERTING, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["EDGEPROOF_TEST_API_TOKEN"] = SECRET
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "fixtures.report.assertion_repr", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(tmp_path / "test_asserting.py"), "-q", "--showlocals", "-rA",
         "--junitxml", str(tmp_path / "junit.xml")],
        cwd=PROJECT, env={**env, "PYTHONPATH": str(PROJECT)}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    seconds = time.monotonic() - started
    output = result.stdout + result.stderr + (tmp_path / "junit.xml").read_text(encoding="utf-8")
    assert "3 failed" in result.stdout, result.stdout[-2000:]
    assert pieces_of(SECRET, output) == [], [p for p in pieces_of(SECRET, output)][:5]
    assert pieces_of("UnknownSessionV9" * 30, output) == []
    assert "[redacted]" in output
    print(f"| pytest reprs of 3 failed asserts, --showlocals | {seconds:.1f} s | no piece left |")
    assert seconds < 60
