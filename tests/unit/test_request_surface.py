"""The Chat Completions request surface: strict types for every OpenAI field, the deprecated function
fields as tools, the fields a request uses, and near misses of the routing metadata keys."""

from __future__ import annotations

from typing import Any

import pytest

from modelrouter.errors import InvalidRequestError
from modelrouter.request import (
    AssistantMessage,
    ChatRequest,
    CustomTool,
    NamedToolChoice,
    ToolMessage,
    parse_chat_request,
)
from modelrouter.request_fields import ROUTING_METADATA_KEYS, metadata_near_misses, used_fields
from modelrouter.selection import context

HI = [{"role": "user", "content": "Hi"}]
TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
CUSTOM = {"type": "custom", "custom": {"name": "apply_patch"}}


def request(**fields: Any) -> ChatRequest:
    return parse_chat_request({"messages": HI, **fields})


def problems_of(body: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidRequestError) as caught:
        parse_chat_request(body)
    return [(problem.path, problem.message) for problem in caught.value.problems]


@pytest.mark.parametrize(
    ("fields", "path", "fragment"),
    [
        ({"logprobs": "true"}, "logprobs", "boolean"),
        ({"logprobs": True, "top_logprobs": 21}, "top_logprobs", "less than or equal to 20"),
        ({"top_logprobs": 3}, "top_logprobs", "needs logprobs: true"),
        ({"logit_bias": {"hello": 5}}, "logit_bias", "token ids"),
        ({"logit_bias": {"50256": 101}}, "logit_bias", "-100 to 100"),
        ({"logit_bias": {"50256": 1.5}}, "logit_bias.50256", "integer"),
        ({"reasoning_effort": "extreme"}, "reasoning_effort", "'xhigh'"),
        ({"service_tier": "turbo"}, "service_tier", "'priority'"),
        ({"verbosity": 2}, "verbosity", "'low'"),
        ({"store": "yes"}, "store", "boolean"),
        ({"modalities": ["video"]}, "modalities[0]", "'audio'"),
        ({"audio": {"format": "ogg", "voice": "alloy"}}, "audio.format", "'mp3'"),
        ({"audio": {"format": "mp3"}}, "audio.voice", "field required"),
        ({"prediction": {"type": "diff", "content": "x"}}, "prediction.type", "'content'"),
        ({"prompt_cache_key": 42}, "prompt_cache_key", "string"),
        ({"prompt_cache_retention": "1h"}, "prompt_cache_retention", "'24h'"),
        ({"prompt_cache_options": {"ttl": "1h"}}, "prompt_cache_options.ttl", "'30m'"),
        ({"safety_identifier": "x" * 129}, "safety_identifier", "at most 128"),
        ({"web_search_options": {"size": "low"}}, "web_search_options.size", "unknown field"),
        ({"web_search_options": {"user_location": {"type": "exact", "approximate": {}}}},
         "web_search_options.user_location.type", "'approximate'"),
        ({"moderation": {"policy": {}}}, "moderation.model", "field required"),
        ({"moderation": {"model": "m", "policy": {"input": {"mode": "warn"}}}},
         "moderation.policy.input.mode", "'block'"),
        ({"metadata": {"tier": 3}}, "metadata.tier", "string"),
        ({"metadata": {"k" * 65: "v"}}, "metadata", "at most 64"),
        ({"stream_options": {"include_obfuscation": "no"}}, "stream_options.include_obfuscation", "boolean"),
        ({"functions": [{"name": "has space"}]}, "functions[0].name", "pattern"),
        ({"function_call": "auto"}, "function_call", "needs functions"),
        ({"functions": [{"name": "a"}], "function_call": {"name": "b"}},
         "function_call", "'b', not in functions"),
        ({"tools": [CUSTOM], "tool_choice": {"type": "function", "function": {"name": "apply_patch"}}},
         "tool_choice", "function 'apply_patch'"),
        ({"tools": [TOOL], "tool_choice": {"type": "allowed_tools", "allowed_tools": {
            "mode": "auto", "tools": [{"type": "function", "function": {"name": "other"}}]}}},
         "tool_choice", "'other', which is not in tools"),
        ({"tools": [{"type": "custom", "custom": {"name": "x", "format": {"type": "grammar"}}}]},
         "tools[0].custom.format.grammar", "field required"),
        ({"n": 2}, "n", "less than or equal to 1"),
        ({"temperature": "0.2"}, "temperature", "number"),
        ({"frobnicate": True}, "frobnicate", "unknown field"),
    ],
)  # fmt: skip
def test_wrong_values_are_400s_naming_the_field(fields: dict[str, Any], path: str, fragment: str) -> None:
    # Given a request with one wrong value, When parsed, Then the problem names the field and the reason
    found = problems_of({"messages": HI, **fields})
    assert any(where.startswith(path) and fragment in message for where, message in found), found


@pytest.mark.parametrize(
    ("message", "path", "fragment"),
    [
        ({"role": "user",
          "content": [{"type": "input_audio", "input_audio": {"data": "x", "format": "ogg"}}]},
         "messages[0].content[0].input_audio.format", "'wav'"),
        ({"role": "user", "content": [{"type": "file", "file": {"filename": "a.pdf"}}]},
         "messages[0].content[0].file", "file_data or file_id"),
        ({"role": "user",
          "content": [{"type": "text", "text": "x", "prompt_cache_breakpoint": {"mode": "auto"}}]},
         "messages[0].content[0].prompt_cache_breakpoint.mode", "'explicit'"),
        ({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://a.example/x.png",
                                                                          "detail": "max"}}]},
         "messages[0].content[0].image_url.detail", "'original'"),
        ({"role": "assistant", "content": [{"type": "refusal"}]},
         "messages[0].content[0].refusal", "field required"),
        ({"role": "assistant", "tool_calls": [{"id": "c", "type": "custom", "custom": {"name": "x"}}]},
         "messages[0].tool_calls[0].custom.input", "field required"),
        ({"role": "assistant", "audio": {"id": 7}}, "messages[0].audio.id", "string"),
        ({"role": "function", "content": "x"}, "messages[0].name", "field required"),
        ({"role": "function", "name": "f"}, "messages[0].content", "field required"),
    ],
)  # fmt: skip
def test_wrong_message_parts_are_400s_naming_the_place(
    message: dict[str, Any], path: str, fragment: str
) -> None:
    # Given a message with one wrong part, When parsed, Then the problem points into the message
    found = problems_of({"messages": [message]})
    assert any(where == path and fragment in text for where, text in found), found


def test_sdk_shapes_of_every_message_are_accepted() -> None:
    # Given every role, with the parts the SDK can send
    parsed = parse_chat_request(
        {
            "messages": [
                {"role": "user", "content": [
                    {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "mp3"}},
                    {"type": "file", "file": {"file_id": "file-1", "filename": "notes.txt"}},
                    {"type": "image_url",
                     "image_url": {"url": "data:image/png;base64,AAAA", "detail": "original"}},
                ]},
                {"role": "assistant", "audio": {"id": "audio_1"}},
                {"role": "assistant", "content": [{"type": "refusal", "refusal": "No."}]},
                {"role": "user", "content": "Fine."},
            ]
        }
    )  # fmt: skip

    # Then they are typed, and text() reads only text
    assert [m.role for m in parsed.messages] == ["user", "assistant", "assistant", "user"]
    assert parsed.messages[0].text() == ""
    assert parsed.last_user_text() == "Fine."


def test_deprecated_functions_become_tools_and_keep_the_old_answer_form() -> None:
    # Given the deprecated function fields, with an earlier call and its result in the old form
    parsed = parse_chat_request(
        {
            "messages": [
                {"role": "user", "content": "Weather?"},
                {
                    "role": "assistant",
                    "content": None,
                    "function_call": {"name": "weather", "arguments": "{}"},
                },
                {"role": "function", "name": "weather", "content": "sunny"},
            ],
            "functions": [{"name": "weather", "parameters": {"type": "object"}}],
            "function_call": {"name": "weather"},
        }
    )

    # Then the function is a tool, the choice names it, one call per turn, and the answer is legacy
    assert [tool.function.name for tool in parsed.tools or ()] == ["weather"]
    assert isinstance(parsed.tool_choice, NamedToolChoice)
    assert parsed.tool_choice.name == "weather"
    assert parsed.parallel_tool_calls is False
    assert parsed.legacy_functions
    # And the earlier call and its result pair up as a tool call and a tool message
    call_turn, result_turn = parsed.messages[1], parsed.messages[2]
    assert isinstance(call_turn, AssistantMessage)
    assert isinstance(result_turn, ToolMessage)
    assert call_turn.function_call is None
    assert call_turn.tool_calls is not None
    assert result_turn.tool_call_id == call_turn.tool_calls[0].id
    assert result_turn.text() == "sunny"


def test_functions_beside_tools_add_to_them_and_tool_choice_wins() -> None:
    # Given tools and functions, tool_choice and function_call
    parsed = request(
        tools=[TOOL], functions=[{"name": "legacy"}], tool_choice="required", function_call="none"
    )

    # Then both are offered, the current choice applies, the old one is reported as overridden
    assert [tool.function.name for tool in parsed.tools or ()] == ["lookup", "legacy"]
    assert parsed.tool_choice == "required"
    assert not parsed.legacy_functions
    assert parsed.overridden == {"function_call"}
    assert request(functions=[{"name": "a"}], function_call="none").overridden == set()


def test_custom_tools_read_as_functions_of_one_string() -> None:
    # Given a custom tool with a grammar
    grammar = {"type": "grammar", "grammar": {"syntax": "regex", "definition": "^[a-z]+$"}}
    parsed = request(
        tools=[{"type": "custom", "custom": {"name": "word", "description": "A word.", "format": grammar}}]
    )

    # Then its function view takes one string, and states the grammar
    tool = (parsed.tools or [])[0]
    assert isinstance(tool, CustomTool)
    view = tool.function
    assert view.name == "word"
    assert view.parameters == {
        "type": "object",
        "properties": {"input": {"type": "string"}},
        "required": ["input"],
    }
    assert view.description is not None
    assert "A word." in view.description
    assert "^[a-z]+$" in view.description


def test_allowed_tools_narrow_what_is_offered() -> None:
    # Given three tools of which two are allowed, one must be called
    choice = {
        "type": "allowed_tools",
        "allowed_tools": {
            "mode": "required",
            "tools": [
                {"type": "function", "function": {"name": "lookup"}},
                {"type": "custom", "custom": {"name": "apply_patch"}},
            ],
        },
    }
    extra = {"type": "function", "function": {"name": "delete_all"}}
    parsed = request(tools=[TOOL, CUSTOM, extra], tool_choice=choice)  # fmt: skip

    # Then the tool use offers the two, and requires a call
    use = parsed.tool_use
    assert [tool.function.name for tool in use.tools] == ["lookup", "apply_patch"]
    assert (use.mode, use.name) == ("required", None)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"logprobs": False, "store": False, "modalities": ["text"], "service_tier": "auto"}, set()),
        ({"logprobs": True, "store": True}, {"logprobs", "store"}),
        ({"seed": None, "temperature": 0.0}, {"temperature"}),
        ({"tools": [CUSTOM]}, {"tools", "tools.custom"}),
        (
            {"stream_options": {"include_obfuscation": True}},
            {"stream_options", "stream_options.include_obfuscation"},
        ),
    ],
)
def test_used_fields_leave_out_nulls_and_openai_defaults(fields: dict[str, Any], expected: set[str]) -> None:
    # Given a request with these fields, Then exactly the ones that ask for something are used
    assert used_fields(request(**fields)) - {"messages"} == expected


def test_used_fields_name_message_parts() -> None:
    # Given messages with a name, an audio reference, a refusal and non-text parts
    parsed = parse_chat_request(
        {
            "messages": [
                {"role": "user", "name": "alice", "content": [
                    {"type": "text", "text": "x", "prompt_cache_breakpoint": {"mode": "explicit"}},
                    {"type": "image_url", "image_url": {"url": "https://a.example/x.png", "detail": "low"}},
                    {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
                    {"type": "file", "file": {"file_id": "file-1"}},
                ]},
                {"role": "assistant", "audio": {"id": "a1"}, "refusal": "no"},
            ]
        }
    )  # fmt: skip

    # Then each is a used field of its own
    assert used_fields(parsed) - {"messages"} == {
        "messages.name",
        "messages.audio",
        "messages.refusal",
        "messages.content.prompt_cache_breakpoint",
        "messages.content.image_url.detail",
        "messages.content.input_audio",
        "messages.content.file",
    }


@pytest.mark.parametrize(
    ("key", "meant"),
    [
        ("classification", "data_classification"),
        ("data-classification", "data_classification"),
        ("Data_Classification", "data_classification"),
        ("dataclassification", "data_classification"),
        ("data_clasification", "data_classification"),
        ("Region", "region"),
        ("regions", "region"),
        ("tag", "tags"),
        ("TAGS", "tags"),
    ],
)
def test_near_misses_of_routing_keys_are_named(key: str, meant: str) -> None:
    # Given metadata with a key that looks like a routing key, Then it is named with the key meant
    assert metadata_near_misses({key: "x", "team": "search"}) == [
        f"metadata.{key} (did you mean metadata.{meant}?)"
    ]


@pytest.mark.parametrize(
    "key", ["team", "customer_id", "trace", "region_name", "stage", "user_tags", "data_class"]
)
def test_free_metadata_keys_are_not_reported(key: str) -> None:
    # Given a free key (or a routing key itself), Then nothing is reported
    assert (
        metadata_near_misses({key: "x", "data_classification": "internal", "region": "eu", "tags": "a"}) == []
    )


def test_every_routing_key_the_context_reads_has_its_near_misses_named() -> None:
    # Given each metadata key selection.context reads (a new routing signal adds one there)
    for key in context.ROUTING_METADATA_KEYS:
        # When a request spells it in upper case, with dashes, Then that is named as a near miss of it
        spelled = key.upper().replace("_", "-")
        assert metadata_near_misses({spelled: "x"}) == [f"metadata.{spelled} (did you mean metadata.{key}?)"]
    assert ROUTING_METADATA_KEYS == context.ROUTING_METADATA_KEYS
