"""What the CORS survey asks: every answer class of the API, from every origin (issue 22)."""

from __future__ import annotations

from dataclasses import replace

from fixtures.facts.cors import ANSWER_CLASSES, CLIENT_ERROR_BODY, SERVER_ERROR_BODY, survey_questions
from fixtures.target import Target


def target(**changes) -> Target:
    base = Target("test", "test", "example.test", "api.example.test", "example.test", "us-east-1", "alb", "cluster", "b", "f")
    return replace(base, **changes)


def test_every_answer_class_is_asked():
    questions = survey_questions(target())
    assert {q.answer_class for q in questions} == set(ANSWER_CLASSES)
    by_class = {q.answer_class: q for q in questions}
    # Under the API prefix, so the app's CORS resources (/api/*) cover the 404 too.
    assert by_class["unknown-path"].path == "/api/edgeproof-missing-path"
    assert (by_class["other-method"].path, by_class["other-method"].method) == ("/api/health-check", "DELETE")
    assert (by_class["client-error"].method, by_class["client-error"].path) == ("POST", "/api/activities")
    assert by_class["client-error"].body == CLIENT_ERROR_BODY and by_class["server-error"].body == SERVER_ERROR_BODY
    assert [q.path for q in questions if q.answer_class == "configured"] == ["/api/health-check", "/api/activities/home"]


def test_the_unknown_path_has_no_common_prefix_when_the_paths_share_none():
    questions = survey_questions(target(api_paths=("/health", "/api/items")))
    assert [q.path for q in questions if q.answer_class == "unknown-path"] == ["/edgeproof-missing-path"]


def test_preflights_ask_as_a_browser_does():
    questions = {q.answer_class: q for q in survey_questions(target())}
    origin = "https://attacker.example"
    assert dict(questions["other-method"].headers(origin, "preflight")) == {
        "Origin": origin, "Access-Control-Request-Method": "DELETE",
    }  # fmt: skip
    assert dict(questions["server-error"].headers(origin, "preflight"))["Access-Control-Request-Headers"] == "content-type"
    assert dict(questions["server-error"].headers(origin, "simple")) == {"Origin": origin, "Content-Type": "application/json"}
    assert dict(questions["configured"].headers(origin, "simple")) == {"Origin": origin}
