"""Personal data everywhere a request sends text to a model: tools, the answer's schema, stop, names."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrouter.features import pii
from modelrouter.features.pii import find_pii
from modelrouter.features.pii_sources import Piece, place_name, request_pieces
from modelrouter.features.records import PiiFinding, PiiKind
from modelrouter.request import (
    ChatRequest,
    FunctionDefinition,
    ToolDefinition,
    UserMessage,
    parse_chat_request,
)

CARD = "4111 1111 1111 1111"


def _request(**fields: Any) -> ChatRequest:
    return parse_chat_request({"messages": [{"role": "user", "content": "Hello"}], **fields})


def _tool(description: str | None = None, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    function: dict[str, Any] = {"name": "lookup"}
    if description is not None:
        function["description"] = description
    if parameters is not None:
        function["parameters"] = parameters
    return {"type": "function", "function": function}


def _value(request: ChatRequest, finding: PiiFinding) -> str:
    """The text a finding points at, read from the request's pieces."""
    pieces = {place_name(piece.place): piece.text for piece in request_pieces(request)}
    assert finding.location is not None
    return pieces[finding.location][finding.start : finding.end]


def test_finds_personal_data_in_every_place_sent_to_a_model() -> None:
    # Given personal data in tool definitions, the answer's schema, stop sequences and message fields
    schema = {
        "type": "object",
        "properties": {
            "card": {"type": "string", "const": CARD, "description": "IBAN de89370400440532013000"}
        },
    }
    request = parse_chat_request(
        {
            "messages": [
                {"role": "user", "name": "jane@example.com", "content": "Hello"},
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "555-123-4567",
                            "type": "function",
                            "function": {"name": "x", "arguments": "{}"},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "555-123-4567", "content": "done"},
            ],
            "tools": [
                _tool(
                    "Pay with 4111.1111.1111.1111",
                    {"type": "object", "properties": {"ssn": {"type": "string", "enum": ["123-45-6789"]}}},
                )
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "answer", "description": "Mail ops@example.com", "schema": schema},
            },
            "stop": ["END", "+44 20 7946 0958"],
        }
    )

    # When scanned
    findings = find_pii(request)

    # Then each is found, with the message it belongs to (if any) and a path naming the place
    assert [(f.kind, f.message_index, f.location) for f in findings] == [
        (PiiKind.EMAIL, 0, "messages[0].name"),
        (PiiKind.PHONE, 1, "messages[1].tool_calls[0].id"),
        (PiiKind.PHONE, 2, "messages[2].tool_call_id"),
        (PiiKind.PAYMENT_CARD, None, "tools[0].function.description"),
        (PiiKind.US_SSN, None, "tools[0].function.parameters.properties.*.enum[0]"),
        (PiiKind.EMAIL, None, "response_format.json_schema.description"),
        (PiiKind.PAYMENT_CARD, None, "response_format.json_schema.schema.properties.*.const"),
        (PiiKind.IBAN, None, "response_format.json_schema.schema.properties.*.description"),
        (PiiKind.PHONE, None, "stop[1]"),
    ]
    # and the offsets point at the value within that string
    assert _value(request, findings[3]) == "4111.1111.1111.1111"
    assert _value(request, findings[7]) == "de89370400440532013000"


def test_keys_and_whole_numbers_of_a_schema_are_scanned_but_never_quoted() -> None:
    # Given a card number as a property name and another as a whole number in const
    parameters = {"type": "object", "properties": {"4111111111111111": {"const": 5555555555554444}}}
    request = _request(tools=[_tool(parameters=parameters)])

    # When scanned
    findings = find_pii(request)

    # Then both are found, and no path or finding repeats the values
    assert [(f.kind, f.location) for f in findings] == [
        (PiiKind.PAYMENT_CARD, "tools[0].function.parameters.properties.<key>"),
        (PiiKind.PAYMENT_CARD, "tools[0].function.parameters.properties.*.const"),
    ]
    dumped = "".join(finding.model_dump_json() for finding in findings)
    assert "4111" not in dumped
    assert "5555" not in dumped


def test_a_string_stop_and_a_tool_name_are_scanned() -> None:
    # Given a single stop string and a tool name holding card numbers
    request = _request(
        stop=f"card {CARD}", tools=[{"type": "function", "function": {"name": "c_4111_1111_1111_1111"}}]
    )

    # When scanned / Then both are found where they are
    assert [(f.kind, f.location, f.start) for f in find_pii(request)] == [
        (PiiKind.PAYMENT_CARD, "tools[0].function.name", 2),
        (PiiKind.PAYMENT_CARD, "stop", 5),
    ]


def test_data_urls_are_not_scanned_but_other_image_urls_are() -> None:
    # Given an image as a data URL and another whose URL holds an e-mail address
    content = [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,NDExMSAxMTExIDExMTEgMTExMQ=="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/u/jane@example.com/avatar.png"}},
    ]
    request = parse_chat_request({"messages": [{"role": "user", "content": content}]})

    # When scanned / Then only the address in the second URL is found
    assert [(f.kind, f.location) for f in find_pii(request)] == [
        (PiiKind.EMAIL, "messages[0].content[1].image_url.url")
    ]


def test_a_schema_nested_ten_thousand_deep_is_walked_without_recursion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given tool parameters nested 10,000 levels deep with a card number at the bottom (built without
    # the parser, whose own depth limit would refuse it)
    parameters: dict[str, Any] = {"const": CARD}
    for _ in range(10_000):
        parameters = {"anyOf": [parameters]}
    tool = ToolDefinition.model_construct(
        type="function", function=FunctionDefinition.model_construct(name="deep", parameters=parameters)
    )
    request = ChatRequest.model_construct(messages=[UserMessage(role="user", content="Hello")], tools=[tool])

    # When scanned, every path spelled out counted
    spelled = _counting(monkeypatch, "place_name")
    findings = find_pii(request)

    # Then the card is found, and only its path is spelled out (the other 10,000 places stay chains:
    # spelling each would cost time in the square of the depth), keeping only the ends of the chain
    assert spelled == [1]
    ((finding,),) = [findings]
    assert finding.kind is PiiKind.PAYMENT_CARD
    assert finding.location is not None
    assert finding.location.startswith("tools[0].function.parameters.anyOf[0]")
    assert ".…" in finding.location
    assert finding.location.endswith(".const")
    assert len(finding.location) < 150


def test_a_large_schema_of_many_strings_is_scanned_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a 1 MB schema of 20,000 properties with descriptions
    properties = {
        f"field_{n}": {"type": "string", "description": f"Field number {n} of the form."}
        for n in range(20_000)
    }
    request = _request(tools=[_tool(parameters={"type": "object", "properties": properties})])

    # When scanned, every pass of the detectors counted
    scans = _counting(monkeypatch, "scan_text")
    findings = find_pii(request)

    # Then nothing is flagged, and the detectors ran twice: once over the message, once over all the
    # schema's strings (keys included) joined, not once per string
    assert findings == ()
    assert scans == [2]


def _counting(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Count the calls of ``modelrouter.features.pii.<name>`` (still called): a one-item list."""
    calls = [0]
    original = getattr(pii, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(pii, name, counted)
    return calls


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet="0123456789 -.@abDE", max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=150)
@given(
    parameters=st.dictionaries(st.text(max_size=8), _JSON, max_size=5),
    stop=st.lists(st.text(max_size=20), max_size=4),
)
def test_every_finding_points_into_the_string_it_names(parameters: dict[str, Any], stop: list[str]) -> None:
    # Given any JSON as tool parameters and any stop sequences
    request = _request(tools=[_tool(parameters=parameters)], stop=stop or None)
    pieces: dict[str, list[Piece]] = {}
    for piece in request_pieces(request):
        pieces.setdefault(place_name(piece.place), []).append(piece)

    # When scanned
    # Then each finding lies within a string at the place it names
    for finding in find_pii(request):
        assert finding.location is not None
        assert any(finding.start < finding.end <= len(piece.text) for piece in pieces[finding.location])
