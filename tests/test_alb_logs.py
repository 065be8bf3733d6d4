"""The ALB access-log parser, on lines the sandbox's formatter makes and on lines written by hand."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from fixtures.rules.alb_logs import FIELDS, REQUIRED_FIELDS, AlbLogLineError, parse_line, tokens
from fixtures.sandbox.access_logs import AccessLogEntry, format_alb_log_line

WHEN = datetime(2026, 3, 1, 12, 34, 56, 789012, tzinfo=timezone.utc)
ALB = "app/cruddur-alb/50dc6c495c0c9188"
TARGET_GROUP = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/cruddur-backend-flask-tg/73e2d6bc24d8a067"

# An https line laid out as AWS's documentation shows one, every field present.
DOCUMENTED_HTTPS = (
    'https 2026-03-01T12:34:56.789012Z app/cruddur-alb/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 '
    '0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" '
    "ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 "
    f"{TARGET_GROUP} "
    '"Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" '
    '"arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 '
    '2026-03-01T12:34:56.700000Z "authenticate,forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234abcd'
)


def entry(**changes) -> AccessLogEntry:
    values = dict(
        type="https",
        time=WHEN,
        elb=ALB,
        client_ip="203.0.113.9",
        client_port=50123,
        request="GET https://api.cloudproject.test:443/api/health-check?x=1 HTTP/1.1",
        request_creation_time=WHEN,
        elb_status_code=200,
        received_bytes=120,
        sent_bytes=345,
        target_ip="10.0.1.10",
        target_port=4567,
        request_processing_time=0.001,
        target_processing_time=0.012,
        response_processing_time=0.0,
        target_status_code=200,
        user_agent="edgeproof/0.1 (+compliance audit)",
        ssl_cipher="TLS_AES_128_GCM_SHA256",
        ssl_protocol="TLSv1.3",
        target_group_arn=TARGET_GROUP,
        trace_id="Root=1-65e1c2d0-0123456789abcdef01234567",
        domain_name="api.cloudproject.test",
        chosen_cert_arn="arn:aws:acm:us-east-1:123456789012:certificate/abc",
        matched_rule_priority=1,
        actions_executed=("forward",),
        target_port_list=("10.0.1.10:4567",),
        target_status_code_list=("200",),
        conn_trace_id="TID_0123456789abcdef",
    )
    values.update(changes)
    return AccessLogEntry(**values)


def test_a_line_of_the_sandbox_formatter_parses_back_to_its_entry():
    line = parse_line(format_alb_log_line(entry()))
    assert (line.type, line.time, line.elb) == ("https", WHEN, ALB)
    assert line.client == "203.0.113.9:50123" and line.target == "10.0.1.10:4567"
    assert (line.elb_status_code, line.target_status_code, line.received_bytes, line.sent_bytes) == (200, 200, 120, 345)
    assert line.method == "GET" and line.url == "https://api.cloudproject.test:443/api/health-check?x=1"
    assert line.user_agent == "edgeproof/0.1 (+compliance audit)"
    assert line.target_group_arn == TARGET_GROUP and line.matched_rule_priority == 1
    assert line.actions_executed == ("forward",) and line.target_port_list == ("10.0.1.10:4567",)
    assert line.request_creation_time == WHEN and line.conn_trace_id == "TID_0123456789abcdef"
    assert line.extra == ()


def test_a_redirect_the_alb_answered_itself_parses_with_absent_target_fields():
    line = parse_line(
        format_alb_log_line(
            entry(
                type="http",
                target_ip=None,
                target_port=None,
                target_status_code=None,
                elb_status_code=301,
                request_processing_time=-1,
                target_processing_time=-1,
                response_processing_time=-1,
                ssl_cipher=None,
                ssl_protocol=None,
                target_group_arn=None,
                domain_name=None,
                chosen_cert_arn=None,
                actions_executed=("redirect",),
                redirect_url="https://cloudproject.test:443/",
                target_port_list=(),
                target_status_code_list=(),
            )
        )
    )
    assert line.target is None and line.target_status_code is None and line.elb_status_code == 301
    assert line.target_processing_time == -1 and line.ssl_cipher is None and line.domain_name is None
    assert line.redirect_url == "https://cloudproject.test:443/" and line.actions_executed == ("redirect",)


def test_quotes_spaces_backslashes_and_non_ascii_survive_the_escaping():
    agent = 'Mozilla/5.0 "quoted" back\\slash café'
    line = parse_line(format_alb_log_line(entry(user_agent=agent, request='GET https://x:443/a?q="1" HTTP/1.1')))
    assert line.user_agent == agent
    assert line.request == 'GET https://x:443/a?q="1" HTTP/1.1'


def test_an_unparseable_request_is_logged_as_three_dashes():
    line = parse_line(format_alb_log_line(entry(request="- - -", elb_status_code=400)))
    assert line.request == "- - -" and line.method is None and line.url is None


def test_the_documented_example_line_parses():
    line = parse_line(DOCUMENTED_HTTPS)
    assert line.client == "192.168.131.39:2817" and line.target_processing_time == 0.048
    assert line.actions_executed == ("authenticate", "forward") and line.classification is None
    assert line.conn_trace_id == "TID_1234abcd"


def test_fields_aws_adds_after_the_documented_ones_are_kept_as_extra():
    line = parse_line(DOCUMENTED_HTTPS + ' "api.example.com" "/rewritten" "TransformSuccess"')
    assert line.extra == ("api.example.com", "/rewritten", "TransformSuccess")
    assert line.conn_trace_id == "TID_1234abcd"


def test_an_older_line_without_the_later_fields_parses():
    older = " ".join(DOCUMENTED_HTTPS.split(" ")[: REQUIRED_FIELDS + 2])  # the request holds two spaces
    assert len(tokens(older)) == REQUIRED_FIELDS
    line = parse_line(older)
    assert line.trace_id == "Root=1-58337281-1d84f3d73c47ec4e58577259"
    assert line.domain_name is None and line.request_creation_time is None and line.actions_executed == ()


def test_the_field_list_is_the_documented_one():
    assert len(FIELDS) == 30
    assert [name for name, _quoted in FIELDS][:4] == ["type", "time", "elb", "client:port"]
    assert FIELDS[-1] == ("conn_trace_id", False)


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("", "(line)"),
        ("Enable AccessLog for ELB: cruddur-alb at 2026-03-01-12-00-00", "(line)"),
        (DOCUMENTED_HTTPS.replace("https 2026", "ftp 2026", 1), "type"),
        (DOCUMENTED_HTTPS.replace("2026-03-01T12:34:56.789012Z", "yesterday", 1), "time"),
        (DOCUMENTED_HTTPS.replace("app/cruddur-alb/50dc6c495c0c9188", "net/cruddur-nlb/50dc6c495c0c9188"), "elb"),
        (DOCUMENTED_HTTPS.replace(" 200 200 ", " 2000 200 ", 1), "elb_status_code"),
        (DOCUMENTED_HTTPS.replace(" 0 57 ", " 0 lots ", 1), "sent_bytes"),
        (DOCUMENTED_HTTPS.replace('"curl/7.46.0"', "curl/7.46.0"), "user_agent"),
        (DOCUMENTED_HTTPS.replace('"GET https://www.example.com:443/ HTTP/1.1"', "GET"), "request"),
        (DOCUMENTED_HTTPS.replace(' "curl/7.46.0"', ' "curl/7.46.0'), "unbalanced quote"),
    ],
    ids=["empty", "test-file", "type", "time", "elb", "status", "bytes", "unquoted", "request", "quote"],
)
def test_a_line_that_is_not_an_alb_log_line_is_refused_naming_the_field(line, field):
    with pytest.raises(AlbLogLineError) as raised:
        parse_line(line)
    assert raised.value.field == field or field in str(raised.value)
