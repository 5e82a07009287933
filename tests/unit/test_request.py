"""The normalized chat request: what is accepted, and how bad input is reported."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelrouter.errors import InvalidRequestError
from modelrouter.request import ChatRequest, ImagePart, parse_chat_request


def error_of(body: Any) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        parse_chat_request(body)
    return caught.value


def test_full_openai_request_is_accepted() -> None:
    # Given a request with every kind of message and part
    body = {
        "model": "auto",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in JSON."}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "42"},
        ],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "tool_choice": {"type": "function", "function": {"name": "f"}},
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "a", "schema": {"type": "object"}},
        },
        "max_tokens": 100,
        "max_completion_tokens": 50,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": ["\n\n"],
        "stream": True,
        "seed": 7,
        "metadata": {"tags": "a,b"},
    }
    # When parsed
    request = parse_chat_request(body)
    # Then everything is typed and the helpers agree
    assert isinstance(request.messages[2].content[1], ImagePart)  # type: ignore[index]
    assert request.messages[2].images() == 1
    assert request.answer_token_limit == 50
    assert request.json_schema == {"type": "object"}
    assert request.last_user_text() == "What is this?"
    assert [index for index, _ in request.iter_texts()] == [0, 1, 2, 4]


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"messages": []}, "messages", "must not be empty"),
        ({}, "messages", "field required"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, "messages[0]", "robot"),
        ({"messages": [{"content": "hi"}]}, "messages[0]", "role"),
        ({"messages": [{"role": "user"}]}, "messages[0].content", "field required"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content", ""),
        ({"messages": [{"role": "assistant"}]}, "messages[0]", "content or tool_calls"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id", "field required"),
        (
            {"messages": [{"role": "user", "content": "hi"}], "temperature": 3},
            "temperature",
            "less than or equal",
        ),
        ({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}, "max_tokens", "greater than"),
        ({"messages": [{"role": "user", "content": "hi"}], "n": 2}, "n", ""),
        (
            {"messages": [{"role": "user", "content": "hi"}], "stop": ["a", "b", "c", "d", "e"]},
            "stop",
            "at most 4",
        ),
        ({"messages": [{"role": "user", "content": "hi"}], "bogus": 1}, "bogus", "unknown field"),
        (
            {"messages": [{"role": "user", "content": [{"type": "text", "text": 1}]}]},
            "messages[0].content[0].text",
            "string",
        ),
        (
            {
                "messages": [{"role": "user", "content": "hi"}],
                "tool_choice": {"type": "function", "function": {"name": "x"}},
            },
            "tool_choice",
            "not in tools",
        ),
        (
            {"messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "xml"}},
            "response_format",
            "xml",
        ),
    ],
)
def test_bad_requests_name_the_field(body: dict[str, Any], field: str, fragment: str) -> None:
    # Given a malformed body, When parsed, Then the error names the field and says what is wrong
    error = error_of(body)
    assert any(p.path == field and fragment in p.message for p in error.problems), error.problems
    assert error.field == error.problems[0].path


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", "[1, 2]", b"null"])
def test_non_json_or_non_object_body(body: bytes | str) -> None:
    error = error_of(body)
    assert error.field == ""
    assert "JSON" in error.message


def test_request_is_immutable() -> None:
    request = ChatRequest.model_validate({"messages": [{"role": "user", "content": "hi"}]})
    with pytest.raises(ValueError, match="frozen"):
        request.model = "x"  # type: ignore[misc]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@given(_JSON)
def test_any_json_value_parses_or_fails_cleanly(body: Any) -> None:
    # Given any JSON value as the messages, When parsed,
    # Then it succeeds or raises InvalidRequestError with problems, never anything else
    problems = []
    try:
        parse_chat_request({"messages": body})
    except InvalidRequestError as error:
        problems = error.problems
        assert problems
