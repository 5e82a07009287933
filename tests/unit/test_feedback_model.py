"""The ``POST /v1/feedback`` body: strict types, exactly one of score and thumbs, the field at fault named."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelrouter.api.errors import http_error
from modelrouter.errors import InvalidRequestError
from modelrouter.feedback.model import MAX_COMMENT_CHARS, MAX_LABEL_CHARS, parse_feedback


def _body(**fields: Any) -> bytes:
    return json.dumps({"request_id": "req-1", **fields}).encode()


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"score": 0.25}, (0.25, None)),
        ({"score": 0}, (0.0, None)),  # an integer is a number
        ({"score": 1}, (1.0, None)),
        ({"thumbs": "up"}, (None, "up")),
        ({"thumbs": "down", "label": "wrong_language", "comment": "Answered in French."}, (None, "down")),
    ],
)
def test_a_valid_body_gives_its_score_or_thumbs(fields: dict[str, Any], expected: tuple[Any, Any]) -> None:
    # Given a body with one rating
    # When it is parsed
    request = parse_feedback(_body(**fields))
    # Then the rating is kept as given
    assert (request.score, request.thumbs) == expected
    assert request.request_id == "req-1"


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        (_body(score=1.5), "score", "less than or equal to 1"),
        (_body(score=-0.01), "score", "greater than or equal to 0"),
        (_body(score=True), "score", "valid number"),
        (_body(score="0.5"), "score", "valid number"),
        (b'{"request_id": "req-1", "score": NaN}', "score", "finite"),
        (b'{"request_id": "req-1", "score": 1e999}', "score", "finite"),
        (_body(score=0.5, thumbs="up"), "score", "exactly one of"),
        (_body(), "score", "exactly one of"),
        (_body(thumbs="sideways"), "thumbs", "'up' or 'down'"),
        (_body(thumbs=True), "thumbs", "'up' or 'down'"),
        (_body(thumbs="up", scor=1), "scor", "did you mean 'score'"),
        (_body(thumbs="up", label="two words"), "label", "pattern"),
        (_body(thumbs="up", label=""), "label", "at least 1"),
        (_body(thumbs="up", label="x" * (MAX_LABEL_CHARS + 1)), "label", "at most 64"),
        (_body(thumbs="up", comment="x" * (MAX_COMMENT_CHARS + 1)), "comment", "at most 2000"),
        (_body(thumbs="up", comment=["not", "text"]), "comment", "valid string"),
        (json.dumps({"thumbs": "up"}).encode(), "request_id", "required"),
        (_body(thumbs="up", request_id=7), "request_id", "valid string"),
        (_body(thumbs="up", request_id="has space"), "request_id", "pattern"),
        (b"thumbs up", "", "not valid JSON"),
        (b'["req-1", "up"]', "", "JSON object"),
    ],
)
def test_an_invalid_body_is_a_400_naming_the_field(body: bytes, param: str, words: str) -> None:
    # Given a body with one thing wrong
    # When it is parsed
    with pytest.raises(InvalidRequestError) as raised:
        parse_feedback(body)
    # Then the error is a 400 OpenAI error whose param is the field at fault, saying what is wrong
    mapped = http_error(raised.value)
    assert mapped.status == 400
    assert mapped.body["error"]["code"] == "invalid_request"
    assert mapped.body["error"]["param"] == (param or None)
    assert words in mapped.body["error"]["message"]


def test_every_problem_is_listed_with_its_field() -> None:
    # Given a body with an unknown field and a score out of range
    body = _body(score=2, extra=1)
    # When it is parsed
    with pytest.raises(InvalidRequestError) as raised:
        parse_feedback(body)
    # Then both are reported, each at its field
    assert sorted(problem.path for problem in raised.value.problems) == ["extra", "score"]


def test_a_score_of_negative_zero_is_zero() -> None:
    # Given a score written -0.0 (valid JSON, within [0, 1])
    # When it is parsed
    parsed = parse_feedback(b'{"request_id": "r-1", "score": -0.0}')
    # Then it is stored and answered as 0.0, never "-0.0"
    assert parsed.score == 0.0
    assert str(parsed.score) == "0.0"
