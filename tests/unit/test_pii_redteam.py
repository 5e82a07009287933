"""Red-team corpus: disguised personal data wherever a request carries text to a model.

``tests/data/pii_redteam.jsonl`` holds evasions (a text, its kind and where in the request it goes);
``tests/data/pii_negatives.jsonl`` holds texts that must not be flagged. Each is placed in a real request,
parsed like any request body, and run through :func:`extract_features`. Print the rates with
``python tests/unit/test_pii_redteam.py``.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from modelrouter.features import PiiKind, extract_features
from modelrouter.request import ChatRequest, parse_chat_request

DATA = Path(__file__).resolve().parent.parent / "data"
KINDS = {
    "card": PiiKind.PAYMENT_CARD,
    "iban": PiiKind.IBAN,
    "email": PiiKind.EMAIL,
    "ssn": PiiKind.US_SSN,
    "phone": PiiKind.PHONE,
}
MIN_DETECTION_RATE = 0.95
MAX_FALSE_POSITIVE_RATE = 0.05
KNOWN_GAP = "(known gap)"

_BASE: dict[str, Any] = {
    "messages": [
        {"role": "system", "content": "You are the billing assistant."},
        {"role": "user", "content": "Please look up my account."},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "lookup_account",
                "description": "Look up an account.",
                "parameters": {
                    "type": "object",
                    "properties": {"account": {"type": "string", "description": "The account."}},
                },
            },
        }
    ],
    "response_format": {
        "type": "json_schema",
        "json_schema": {
            "name": "answer",
            "schema": {"type": "object", "properties": {"status": {"type": "string"}}},
        },
    },
}


def _place(body: dict[str, Any], text: str, where: str) -> None:
    """Put ``text`` where ``where`` says in the request ``body``."""
    messages = body["messages"]
    function = body["tools"][0]["function"]
    account = function["parameters"]["properties"]["account"]
    spec = body["response_format"]["json_schema"]
    status = spec["schema"]["properties"]["status"]
    if where == "message":
        messages[1]["content"] = f"Please look up my account. {text}"
    elif where == "system_message":
        messages[0]["content"] = f"You are the billing assistant. {text}"
    elif where == "message_name":
        messages[1]["name"] = text
    elif where == "image_url":
        messages[1]["content"] = [{"type": "image_url", "image_url": {"url": text}}]
    elif where in ("tool_message", "tool_call_arguments"):
        call = {"id": "call_1", "type": "function", "function": {"name": "lookup_account", "arguments": "{}"}}
        if where == "tool_call_arguments":
            call["function"]["arguments"] = text
        messages += [
            {"role": "assistant", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": text if where == "tool_message" else "ok"},
        ]
    elif where == "tool_name":
        function["name"] = text
    elif where == "tool_description":
        function["description"] = text
    elif where == "tool_parameters":
        account["description"] = text
    elif where == "tool_parameters_key":
        function["parameters"]["properties"][text] = {"type": "string"}
    elif where == "tool_parameters_enum":
        account["enum"] = ["none", text]
    elif where == "tool_parameters_default":
        account["default"] = text
    elif where == "schema_name":
        spec["name"] = text
    elif where == "response_format_description":
        spec["description"] = text
    elif where in ("schema_const", "schema_description", "schema_enum", "schema_examples"):
        keyword = where.removeprefix("schema_")
        status[keyword] = [text] if keyword in ("enum", "examples") else text
    elif where == "schema_const_number":
        spec["schema"]["properties"]["phone"] = {"type": "integer", "const": int(text)}
    elif where == "stop":
        body["stop"] = text
    elif where == "stop_list":
        body["stop"] = ["\n\n", text]
    else:
        raise ValueError(f"unknown place {where!r}")


def build_request(text: str, where: str) -> ChatRequest:
    """A realistic request with ``text`` placed where ``where`` says, parsed like any request body."""
    body = copy.deepcopy(_BASE)
    _place(body, text, where)
    return parse_chat_request(json.dumps(body))


@cache
def load(name: str) -> tuple[dict[str, str], ...]:
    """The cases of ``tests/data/<name>.jsonl``."""
    lines = (DATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return tuple(json.loads(line) for line in lines if line.strip())


def detected(case: dict[str, str]) -> bool:
    """Whether the case's kind is among the request's personal data."""
    features = extract_features(build_request(case["text"], case["where"]))
    return KINDS[case["kind"]] in features.pii_kinds


def detection_rate() -> tuple[float, list[dict[str, str]]]:
    """The share of red-team cases found, and the cases missed."""
    cases = load("pii_redteam")
    missed = [case for case in cases if not detected(case)]
    return 1 - len(missed) / len(cases), missed


def false_positive_rate() -> tuple[float, list[tuple[str, str]]]:
    """The share of (negative text, place) pairs flagged, each text in a message and in a tool."""
    trials = [
        (case["text"], where) for case in load("pii_negatives") for where in ("message", "tool_description")
    ]
    flagged = [trial for trial in trials if extract_features(build_request(*trial)).pii]
    return len(flagged) / len(trials), flagged


def report() -> str:
    """The rates, in a line each, with what was missed or flagged."""
    rate, missed = detection_rate()
    fp_rate, flagged = false_positive_rate()
    lines = [
        f"red-team detection: {rate:.1%} of {len(load('pii_redteam'))} cases",
        *(f"  missed: {case['kind']} in {case['where']}: {case['note']}" for case in missed),
        f"false positives: {fp_rate:.1%} of {2 * len(load('pii_negatives'))} placements",
        *(f"  flagged: {text!r} in {where}" for text, where in flagged),
    ]
    return "\n".join(lines)


def test_base_request_has_no_personal_data() -> None:
    # Given the request every case is placed in / When extracted / Then nothing is flagged
    assert extract_features(parse_chat_request(_BASE)).pii == ()


def test_corpus_is_large_and_covers_every_kind_and_place() -> None:
    # Given the two corpora
    cases, negatives = load("pii_redteam"), load("pii_negatives")

    # Then there are enough of each, every kind is tried, and outside the messages too
    assert len(cases) >= 50
    assert len(negatives) >= 30
    assert {case["kind"] for case in cases} == set(KINDS)
    places = {case["where"] for case in cases}
    assert {"tool_description", "tool_parameters", "schema_const", "schema_description", "stop"} <= places


def test_detection_rate_on_the_red_team_corpus() -> None:
    # Given every evasion placed in a request
    # When the features are extracted
    rate, missed = detection_rate()

    # Then at least 95 % are found
    print(f"red-team detection rate: {rate:.1%}; missed: {[case['note'] for case in missed]}")
    assert rate >= MIN_DETECTION_RATE, report()


@pytest.mark.parametrize(
    "case",
    [case for case in load("pii_redteam") if KNOWN_GAP not in case["note"]],
    ids=lambda case: f"{case['kind']}-{case['where']}-{case['note']}",
)
def test_each_evasion_outside_the_known_gaps_is_found(case: dict[str, str]) -> None:
    # Given one evasion where the corpus places it / When extracted / Then its kind is found
    assert detected(case), case


def test_false_positive_rate_on_the_negative_corpus() -> None:
    # Given numbers, ids, dates, code and prose that only look like personal data, in a message and a tool
    # When the features are extracted
    rate, flagged = false_positive_rate()

    # Then at most 5 % are flagged
    print(f"false-positive rate: {rate:.1%}; flagged: {flagged}")
    assert rate <= MAX_FALSE_POSITIVE_RATE, report()


if __name__ == "__main__":
    print(report())
