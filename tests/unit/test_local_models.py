"""The simulated local models: profiles, deterministic answers, quality by skill profile, wire mapping."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from modelrouter.checks.json_answer import json_problems
from modelrouter.local.model_faults import FaultBoard
from modelrouter.local.model_wire import bedrock_failure, bedrock_output, bedrock_request, openai_request
from modelrouter.local.models import (
    PROFILES,
    SimRequest,
    SimTool,
    count_tokens,
    profile_for,
    simulate,
)
from modelrouter.providers.answer_format import json_schema_instruction

SMALL, MEDIUM, LARGE = PROFILES["local-small"], PROFILES["local-medium"], PROFILES["local-large"]
EASY = "What is the capital of France?"
CODE = "Compare Python and Rust for a CLI tool, in detail."
"""A code question: local-small answers it badly, local-medium well (under the skill profile)."""
LEGAL = "Can my landlord keep the deposit if the lease says nothing about cleaning?"
"""A legal question only local-large answers well."""
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer", "minimum": 1}},
    "required": ["city", "population"],
    "additionalProperties": False,
}
WEATHER = SimTool(
    "get_weather", {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
)


def ask(text: str, **fields: Any) -> SimRequest:
    """A request whose prompt is ``text``."""
    return SimRequest(last_user_text=text, prompt_chars=len(text), **fields)


def test_profiles_have_the_documented_numbers() -> None:
    # Given the three profiles
    # Then average skill, context window and suggested prices grow with size
    mean_skill = [sum(p.skills.by_topic.values()) / len(p.skills.by_topic) for p in (SMALL, MEDIUM, LARGE)]
    assert mean_skill == sorted(mean_skill)
    assert [p.context_window for p in (SMALL, MEDIUM, LARGE)] == [8_192, 32_768, 131_072]
    assert [(p.input_price_per_mtok, p.output_price_per_mtok) for p in (SMALL, MEDIUM, LARGE)] == [
        (0.1, 0.4),
        (0.8, 3.2),
        (5.0, 20.0),
    ]
    # And a 25-token answer takes about 40, 120 and 300 ms, nothing with latency_scale 0
    assert [round(p.latency_s(25) * 1000) for p in (SMALL, MEDIUM, LARGE)] == [40, 120, 300]
    assert LARGE.latency_s(25, scale=0) == 0


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        ("local.small-v1:0", "local-small"),
        ("local-medium-2026-01-01", "local-medium"),
        ("LOCAL.LARGE-V2:0", "local-large"),
        ("gpt-4o-2024-08-06", None),
    ],
)
def test_model_ids_map_by_size_word(model_id: str, expected: str | None) -> None:
    # When a model id is looked up
    profile = profile_for(model_id)
    # Then the size word in it picks the profile
    assert (profile.name if profile else None) == expected


def test_same_model_and_prompt_give_the_same_answer() -> None:
    # Given one prompt
    # When each model answers it twice
    answers = {name: (simulate(p, ask(EASY)), simulate(p, ask(EASY))) for name, p in PROFILES.items()}
    # Then each model repeats itself, names itself and mentions the topic
    for name, (first, second) in answers.items():
        assert first == second
        assert first.text is not None
        assert first.text.startswith(f"[{name}] ")
        assert "capital france" in first.text


def test_a_model_short_of_the_skill_hedges() -> None:
    # When the small and medium models answer a code question
    small, medium = simulate(SMALL, ask(CODE)), simulate(MEDIUM, ask(CODE))
    # Then the small one, poor at code, hedges and is shorter; the medium one answers
    assert (small.topic, medium.topic) == ("code", "code")
    assert not small.good
    assert (
        small.text
        == "[local-small] I'm not sure, but compare python rust tool detail might be related to that."
    )
    assert medium.good
    assert medium.text is not None
    assert "not sure" not in medium.text
    assert small.output_tokens < medium.output_tokens


def test_schema_answers_validate_when_skilled_and_break_the_schema_when_not() -> None:
    # Given a JSON-schema request with a legal question (only the large model is good at it)
    request = ask(LEGAL, schema=SCHEMA)
    # When the large and the small model answer
    large, small = simulate(LARGE, request), simulate(SMALL, request)
    # Then the large model's JSON validates, the small model's is JSON missing a required property
    assert large.text is not None
    jsonschema.validate(json.loads(large.text), SCHEMA)
    assert json_problems(large.text, SCHEMA) == []
    problems = json_problems(small.text, SCHEMA)
    assert [problem.rule.split()[0] for problem in problems] == ["required"]


def test_a_garbled_json_answer_is_not_json() -> None:
    # When the answer to a schema request is garbled (the invalid_json fault)
    answer = simulate(LARGE, ask(EASY, schema=SCHEMA), garbled=True)
    # Then it does not even parse
    assert [problem.rule for problem in json_problems(answer.text, SCHEMA)] == ["syntax"]


def test_json_object_requests_get_an_object() -> None:
    answer = simulate(MEDIUM, ask(EASY, json_object=True))
    assert answer.text is not None
    assert isinstance(json.loads(answer.text), dict)


def test_answers_honour_max_tokens() -> None:
    # When the answer may have at most 3 tokens
    answer = simulate(LARGE, ask(EASY, max_tokens=3))
    # Then it is cut there and says so
    assert answer.finish == "length"
    assert answer.output_tokens == 3
    assert answer.text is not None
    assert len(answer.text) == 12


def test_usage_counts_four_characters_a_token() -> None:
    answer = simulate(SMALL, SimRequest(last_user_text=EASY, prompt_chars=401))
    assert answer.input_tokens == count_tokens(401) == 101
    assert answer.text is not None
    assert answer.output_tokens == count_tokens(len(answer.text))


def test_action_prompts_call_a_tool_with_valid_arguments() -> None:
    # When a prompt asks for something a tool does
    answer = simulate(SMALL, ask("What's the weather in Paris? Check it please.", tools=(WEATHER,)))
    # Then the model calls the tool with arguments that fit its schema
    assert answer.finish == "tool_calls"
    assert answer.text is None
    assert answer.tool_call is not None
    assert answer.tool_call.name == "get_weather"
    jsonschema.validate(answer.tool_call.arguments, WEATHER.parameters)


@pytest.mark.parametrize(
    ("text", "tool_choice", "calls"),
    [
        ("Tell me a joke.", None, False),
        ("Tell me a joke.", "required", True),
        ("Tell me a joke.", "get_weather", True),
        ("Check the weather in Paris.", "none", False),
    ],
)
def test_tool_choice_decides_with_the_prompt(text: str, tool_choice: str | None, calls: bool) -> None:
    answer = simulate(MEDIUM, ask(text, tools=(WEATHER,), tool_choice=tool_choice))
    assert (answer.tool_call is not None) is calls


def test_after_a_tool_result_the_model_answers_in_text() -> None:
    # Given a conversation ending with a tool result
    request = ask("Check the weather in Paris.", tools=(WEATHER,), tool_result='{"temp_c": 21}')
    # When the model answers
    answer = simulate(MEDIUM, request)
    # Then it answers in text, quoting the result
    assert answer.tool_call is None
    assert answer.text is not None
    assert '{"temp_c": 21}' in answer.text


def test_openai_bodies_read_schemas_from_response_format_and_from_instructions() -> None:
    # Given a native json_schema body and a json_object body carrying the adapter's schema instruction
    native = {
        "model": "local-small-2026-01-01",
        "messages": [{"role": "user", "content": EASY}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "city", "schema": SCHEMA}},
        "max_tokens": 50,
        "unknown_vendor_field": True,
    }
    instructed = {
        "model": "local-small-2026-01-01",
        "messages": [
            {"role": "system", "content": json_schema_instruction(SCHEMA, "city")},
            {"role": "user", "content": EASY},
        ],
        "response_format": {"type": "json_object"},
    }
    # When they are read
    model_id, first = openai_request(json.dumps(native).encode())
    _, second = openai_request(json.dumps(instructed).encode())
    # Then both carry the schema; unknown fields are ignored
    assert model_id == "local-small-2026-01-01"
    assert first.schema == second.schema == SCHEMA
    assert (first.max_tokens, first.last_user_text) == (50, EASY)


def test_bedrock_forced_tool_is_a_schema_answer_sent_back_as_tool_use() -> None:
    # Given a Converse body forcing one tool, as the adapter sends json_schema requests
    body = {
        "messages": [{"role": "user", "content": [{"text": EASY}]}],
        "toolConfig": {
            "tools": [{"toolSpec": {"name": "city", "inputSchema": {"json": SCHEMA}}}],
            "toolChoice": {"tool": {"name": "city"}},
        },
        "inferenceConfig": {"maxTokens": 100},
    }
    # When it is read, answered and rendered
    request, forced = bedrock_request(json.dumps(body).encode())
    output = bedrock_output(simulate(LARGE, request), forced, 0)
    # Then the answer is the forced tool's input, valid against the schema
    assert (forced, request.schema) == ("city", SCHEMA)
    assert output["stopReason"] == "tool_use"
    block = output["output"]["message"]["content"][0]["toolUse"]
    assert block["name"] == "city"
    jsonschema.validate(block["input"], SCHEMA)


def test_bedrock_errors_carry_the_code_botocore_reads() -> None:
    status, headers, body = bedrock_failure("rate_limit", "slow down")
    assert status == 429
    assert headers["x-amzn-ErrorType"].split(":")[0] == "ThrottlingException"
    assert json.loads(body) == {"message": "slow down"}


def test_faults_with_times_clear_themselves() -> None:
    # Given a rate limit for two calls
    board = FaultBoard()
    board.inject("local.small-v1:0", "rate_limit", times=2)
    # When the model is called three times
    taken = [board.take("local-small") for _ in range(3)]
    # Then two calls fail, the third does not, and all three are counted
    assert taken == ["rate_limit", "rate_limit", None]
    assert board.calls("local-small") == 3
    assert board.fault("local-small") is None


def test_faults_are_checked() -> None:
    board = FaultBoard()
    with pytest.raises(KeyError):
        board.inject("gpt-4o", "timeout")
    with pytest.raises(ValueError, match="unknown fault"):
        board.inject("local-large", "meltdown")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 1"):
        board.inject("local-large", "timeout", times=0)
    board.inject("local-large", "timeout")
    board.clear()
    assert board.fault("local-large") is None


def test_a_fault_with_a_probability_hits_about_that_share_of_calls() -> None:
    # Given a server error on 30 % of the calls (a seeded board, so the run is repeatable)
    board = FaultBoard(seed=7)
    board.inject("local-medium", "server_error", probability=0.3)
    # When the model is called 1,000 times
    taken = [board.take("local-medium") for _ in range(1_000)]
    # Then about 300 calls fail, every call is counted, and the fault stays
    assert 240 <= taken.count("server_error") <= 360
    assert board.calls("local-medium") == 1_000
    assert board.fault("local-medium") == {"fault": "server_error", "times": None, "probability": 0.3}


def test_times_counts_faulted_calls_when_a_probability_is_set() -> None:
    # Given a rate limit on half the calls, for three faulted calls
    board = FaultBoard(seed=1)
    board.inject("local-small", "rate_limit", times=3, probability=0.5, retry_after_s=9)
    # When the model is called until the fault is used up
    drawn = [board.draw("local-small") for _ in range(200)]
    # Then exactly three calls were faulted, each with its Retry-After
    faulted = [injection for injection in drawn if injection is not None]
    assert len(faulted) == 3
    assert {injection.retry_after_s for injection in faulted} == {9}
    assert board.fault("local-small") is None


def test_control_documents_set_faults_with_options_and_refuse_bad_ones() -> None:
    board = FaultBoard()
    # A slow first byte with its delay, and a hang, are set from control documents
    assert board.apply("local-large", {"fault": "slow_first_byte", "delay_ms": 250}) == {
        "fault": "slow_first_byte",
        "times": None,
        "delay_ms": 250,
    }
    assert board.apply("local-small", {"fault": "hang", "times": 2}) == {"fault": "hang", "times": 2}
    # null clears
    assert board.apply("local-small", {"fault": None}) is None
    # Unknown options, out-of-range probabilities and negative delays are refused
    for bad in (
        {"fault": "hang", "seconds": 3},
        {"fault": "server_error", "probability": 0},
        {"fault": "server_error", "probability": 1.5},
        {"fault": "slow_first_byte", "delay_ms": -1},
        ["hang"],
    ):
        with pytest.raises(ValueError):  # noqa: PT011  # each message is checked over HTTP
            board.apply("local-small", bad)
