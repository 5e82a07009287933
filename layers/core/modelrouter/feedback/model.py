"""The body of ``POST /v1/feedback``, validated strictly: unknown fields, wrong types, a score out of
range, both or neither of ``score`` and ``thumbs`` are 400s naming the field at fault."""

from __future__ import annotations

from typing import Final, Literal, Self

from pydantic import Field, ValidationError, field_validator, model_validator

from modelrouter.errors import InvalidRequestError
from modelrouter.jsonlimits import load_request_object
from modelrouter.problems import Problem, problems_from_validation_error
from modelrouter.request_parts import StrictModel

__all__ = [
    "LABEL_PATTERN",
    "MAX_COMMENT_CHARS",
    "MAX_LABEL_CHARS",
    "MAX_REQUEST_ID_CHARS",
    "FeedbackRequest",
    "parse_feedback",
]

MAX_REQUEST_ID_CHARS: Final = 128
"""Longest ``request_id`` accepted (API Gateway's are 36-character UUIDs)."""
MAX_LABEL_CHARS: Final = 64
"""Longest ``label``."""
LABEL_PATTERN: Final = r"^[A-Za-z0-9_.:-]+$"
"""What a ``label`` may hold: letters, digits and ``_ . : -`` (a tag for grouping, never free text)."""
MAX_COMMENT_CHARS: Final = 2_000
"""Longest ``comment``."""
_ONE_OF: Final = "give exactly one of 'score' (a number in [0, 1]) or 'thumbs' ('up' or 'down')"


class FeedbackRequest(StrictModel):
    """What a client says about one answer: a score or a thumb, and optionally a label and a comment."""

    request_id: str = Field(min_length=1, max_length=MAX_REQUEST_ID_CHARS, pattern=r"^[\x21-\x7e]+$")
    """The ``router.request_id`` of the answer rated (a chat completion's or a Message's)."""
    score: float | None = Field(default=None, ge=0.0, le=1.0, allow_inf_nan=False)
    """Quality in [0, 1] (1 best); exclusive with ``thumbs``."""
    thumbs: Literal["up", "down"] | None = None
    """``up`` (counts as 1) or ``down`` (counts as 0); exclusive with ``score``."""
    label: str | None = Field(default=None, min_length=1, max_length=MAX_LABEL_CHARS, pattern=LABEL_PATTERN)
    """A short tag for grouping (``wrong_language``, ``hallucination``), stored with the feedback."""
    comment: str | None = Field(default=None, max_length=MAX_COMMENT_CHARS)
    """Free text; stored only for tenants whose ``store_prompts`` allows text."""

    @model_validator(mode="after")
    def _one_rating(self) -> Self:
        if (self.score is None) == (self.thumbs is None):
            raise ValueError(_ONE_OF)
        return self

    @field_validator("score")
    @classmethod
    def _no_negative_zero(cls, score: float | None) -> float | None:
        return None if score is None else score + 0.0  # -0.0 is stored and answered as 0.0


def parse_feedback(body: bytes) -> FeedbackRequest:
    """Validate an untrusted ``POST /v1/feedback`` body.

    Raises:
        InvalidRequestError: not JSON, not an object, or not valid; each problem names its field
            (``score``; ``score`` too when both or neither of ``score`` and ``thumbs`` are given).
    """
    document = load_request_object(body)
    try:
        return FeedbackRequest.model_validate(document)
    except ValidationError as error:
        problems = problems_from_validation_error(error, model=FeedbackRequest)
        raise InvalidRequestError([_located(problem) for problem in problems]) from None


def _located(problem: Problem) -> Problem:
    """The "exactly one of" problem (reported for the whole body) at the field it is about."""
    if problem.path or problem.message != _ONE_OF:
        return problem
    return Problem("score", problem.message)
