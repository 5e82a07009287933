"""The request surface against the pinned ``openai`` package's own request types.

The SDK's ``CompletionCreateParams`` TypedDicts are walked beside :class:`ChatRequest`: every key the
SDK can send must be a field of the matching router model (or be refused on purpose, documented in
:data:`REFUSED_ON_PURPOSE`), every enum value it can send must be accepted, and no router field the
SDK cannot send is accepted (unknown fields stay 400). An upgrade of the ``openai`` pin that adds a
field, a message role, a content part or an enum value fails here, not in a user's hands.

:func:`full_request` is a realistic request typed with the SDK's own TypedDicts (mypy checks it): every
top-level key, every message role and content part. Each field round-trips through validation.
"""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from typing import Any, Literal, Required, Union, get_args, get_origin, get_type_hints

import pytest
from openai.types.chat import (
    ChatCompletionAssistantMessageParam,
    ChatCompletionContentPartParam,
    ChatCompletionDeveloperMessageParam,
    ChatCompletionFunctionMessageParam,
    ChatCompletionMessageParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionToolMessageParam,
    ChatCompletionUserMessageParam,
    completion_create_params,
)
from openai.types.chat.chat_completion_content_part_text_param import PromptCacheBreakpoint
from pydantic import BaseModel
from typing_extensions import is_typeddict

from modelrouter.request import ChatRequest, parse_chat_request

REFUSED_ON_PURPOSE: dict[str, str] = {}
"""SDK request keys the router refuses with a 400 on purpose, with the reason. None today: every key
the SDK sends is accepted and passed, mapped, or dropped and reported in ``router.ignored_fields``."""

ACCEPTED_BEYOND_THE_SDK: dict[tuple[str, str], str] = {
    ("ToolMessage", "name"): "accepted (older clients send it) and not passed on",
}
"""Router model fields no SDK TypedDict has, with the reason."""

_SDK_PARAMS = completion_create_params.CompletionCreateParamsStreaming
_DISCRIMINATORS = ("type", "role")


def _keys(typed_dict: Any) -> frozenset[str]:
    return frozenset(typed_dict.__required_keys__ | typed_dict.__optional_keys__)


def _required(typed_dict: Any) -> frozenset[str]:
    """The keys the SDK always sends (``Required[...]``; the SDK's annotations are strings, so
    ``__required_keys__`` alone does not know them)."""
    hints = get_type_hints(typed_dict, include_extras=True)
    marked = {key for key, hint in hints.items() if get_origin(hint) is Required}
    return frozenset(marked | typed_dict.__required_keys__)


def _members(annotation: Any) -> Iterator[Any]:
    """The types inside ``annotation``: through unions, Optional, Required, Annotated and containers."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType) or (origin is not None and origin is not Literal):
        for argument in get_args(annotation):
            yield from _members(argument)
    else:
        yield annotation


def _literals(annotation: Any) -> frozenset[str]:
    """Every string literal value in ``annotation`` (at any depth but inside TypedDicts and models)."""
    values: set[str] = set()
    for member in _members(annotation):
        if get_origin(member) is Literal:
            values |= {value for value in get_args(member) if isinstance(value, str)}
    return frozenset(values)


def _typed_dicts(annotation: Any) -> list[Any]:
    return [member for member in _members(annotation) if is_typeddict(member)]


def _models(annotation: Any) -> list[type[BaseModel]]:
    return [m for m in _members(annotation) if isinstance(m, type) and issubclass(m, BaseModel)]


def _field_names(model: type[BaseModel]) -> dict[str, str]:
    """Wire name (alias where there is one) to field name."""
    return {(info.alias or name): name for name, info in model.model_fields.items()}


def _tag(hints: dict[str, Any]) -> frozenset[str]:
    return next((_literals(hints[key]) for key in _DISCRIMINATORS if key in hints), frozenset())


def _matching(sdk: Any, models: list[type[BaseModel]]) -> type[BaseModel]:
    """The router model that takes what ``sdk`` describes: the one with the same discriminator value."""
    if len(models) == 1:
        return models[0]
    tag = _tag(get_type_hints(sdk))
    found = [m for m in models if tag and tag <= _tag({k: f.annotation for k, f in m.model_fields.items()})]
    assert len(found) == 1, f"no single router model for {sdk.__name__} among {models}"
    return found[0]


def _pairs(sdk: Any, model: type[BaseModel], path: str) -> Iterator[tuple[Any, type[BaseModel], str]]:
    """``(SDK TypedDict, router model, path)`` for ``sdk`` and every TypedDict reachable from it."""
    yield sdk, model, path
    hints = get_type_hints(sdk)
    names = _field_names(model)
    for key in sorted(_keys(sdk)):
        inner = _typed_dicts(hints[key])
        if not inner or key not in names:
            continue
        ours = _models(model.model_fields[names[key]].annotation)
        for member in inner:
            yield from _pairs(member, _matching(member, ours), f"{path}.{key}")


def _all_pairs() -> list[tuple[Any, type[BaseModel], str]]:
    return list(_pairs(_SDK_PARAMS, ChatRequest, "request"))


def _pair_id(pair: tuple[Any, type[BaseModel], str]) -> str:
    return f"{pair[2]}:{pair[0].__name__}"


def test_every_sdk_request_key_is_a_field_or_refused_on_purpose() -> None:
    # Given the keys the pinned SDK can send at the top level
    sdk_keys = _keys(_SDK_PARAMS) | _keys(completion_create_params.CompletionCreateParamsNonStreaming)

    # Then each is a ChatRequest field or refused on purpose, and the router accepts nothing else
    fields = frozenset(ChatRequest.model_fields)
    assert sdk_keys - fields - set(REFUSED_ON_PURPOSE) == set()
    assert fields - sdk_keys == set()
    assert set(REFUSED_ON_PURPOSE) <= sdk_keys


@pytest.mark.parametrize("pair", _all_pairs(), ids=_pair_id)
def test_each_sdk_type_matches_its_router_model(pair: tuple[Any, type[BaseModel], str]) -> None:
    # Given an SDK TypedDict reachable from the request params and the router model that takes it
    sdk, model, path = pair
    hints = get_type_hints(sdk)
    names = _field_names(model)

    # Then the model has every key, requires none the SDK may leave out, and accepts every enum value
    missing = _keys(sdk) - set(names) - set(REFUSED_ON_PURPOSE)
    assert not missing, f"{path}: {model.__name__} lacks {sorted(missing)}"
    extra = {name for name in names if (model.__name__, name) not in ACCEPTED_BEYOND_THE_SDK} - _keys(sdk)
    assert not extra, f"{path}: {model.__name__} accepts {sorted(extra)}, which {sdk.__name__} never sends"
    required = {wire for wire, name in names.items() if model.model_fields[name].is_required()}
    assert required <= _required(sdk), f"{path}: {sorted(required - _required(sdk))} are optional in the SDK"
    for key in _keys(sdk) & set(names):
        ours = model.model_fields[names[key]].annotation
        if str in set(_members(ours)):
            continue  # any string is accepted, the SDK's literals among them
        unaccepted = _literals(hints[key]) - _literals(ours)
        assert not unaccepted, f"{path}.{key}: {sorted(unaccepted)} are refused"


def test_the_walk_reaches_every_message_role_and_content_part() -> None:
    # Given the SDK's unions of messages and of user content parts
    pairs = _all_pairs()
    reached = {sdk for sdk, _, _ in pairs}

    # Then the walk checked each member (a new role or part type is found, not skipped)
    for union in (ChatCompletionMessageParam, ChatCompletionContentPartParam):
        assert set(_typed_dicts(union)) <= reached


def full_request() -> completion_create_params.CompletionCreateParamsNonStreaming:
    """A realistic request with every key the SDK can send, every message role and content part, typed
    with the SDK's own TypedDicts (the legacy ``functions`` beside ``tools``, as an old and a new part
    of one application might send them)."""
    pdf = "data:application/pdf;base64,JVBERi0xLjQKJcfsj6IK"
    breakpoint_: PromptCacheBreakpoint = {"mode": "explicit", "ttl": "30m"}
    messages: list[ChatCompletionMessageParam] = [
        ChatCompletionDeveloperMessageParam(role="developer", content="Answer briefly.", name="ops"),
        ChatCompletionSystemMessageParam(role="system", content=[{"type": "text", "text": "Be kind."}]),
        ChatCompletionUserMessageParam(
            role="user",
            name="alice",
            content=[
                {"type": "text", "text": "What is in these?", "prompt_cache_breakpoint": breakpoint_},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "high"}},
                {"type": "input_audio", "input_audio": {"data": "UklGRiQAAABXQVZF", "format": "wav"}},
                {"type": "file", "file": {"file_data": pdf, "filename": "report.pdf"}},
                {"type": "file", "file": {"file_id": "file-abc123"}},
            ],
        ),
        ChatCompletionAssistantMessageParam(
            role="assistant",
            content=[{"type": "text", "text": "Let me look."}, {"type": "refusal", "refusal": "Not that."}],
            audio={"id": "audio_abc"},
            name="helper",
            refusal=None,
            tool_calls=[
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"q":"cat"}'},
                },
                {"id": "call_2", "type": "custom", "custom": {"name": "apply_patch", "input": "*** Begin"}},
            ],
        ),
        ChatCompletionToolMessageParam(role="tool", tool_call_id="call_1", content="a cat"),
        ChatCompletionToolMessageParam(
            role="tool", tool_call_id="call_2", content=[{"type": "text", "text": "ok"}]
        ),
        ChatCompletionAssistantMessageParam(
            role="assistant", function_call={"name": "legacy", "arguments": "{}"}
        ),
        ChatCompletionFunctionMessageParam(role="function", name="legacy", content="done"),
        ChatCompletionUserMessageParam(role="user", content="Summarize, please."),
    ]
    return {
        "model": "auto",
        "messages": messages,
        "audio": {"format": "mp3", "voice": "alloy"},
        "frequency_penalty": 0.1,
        "function_call": "auto",
        "functions": [{"name": "legacy", "description": "Old style.", "parameters": {"type": "object"}}],
        "logit_bias": {"50256": -100},
        "logprobs": True,
        "max_completion_tokens": 400,
        "max_tokens": 500,
        "metadata": {"data_classification": "internal", "tags": "docs", "team": "search"},
        "modalities": ["text", "audio"],
        "moderation": {"model": "omni-moderation-latest", "policy": {"input": {"mode": "score"}}},
        "n": 1,
        "parallel_tool_calls": False,
        "prediction": {"type": "content", "content": "A cat, a report and a sound."},
        "presence_penalty": -0.1,
        "prompt_cache_key": "tenant-42",
        "prompt_cache_options": {"mode": "implicit", "ttl": "30m"},
        "prompt_cache_retention": "24h",
        "reasoning_effort": "low",
        "response_format": {"type": "text"},
        "safety_identifier": "user-hash-42",
        "seed": 7,
        "service_tier": "flex",
        "stop": ["\n\n"],
        "store": True,
        "stream_options": {"include_usage": True, "include_obfuscation": False},
        "temperature": 0.3,
        "tool_choice": {
            "type": "allowed_tools",
            "allowed_tools": {
                "mode": "auto",
                "tools": [
                    {"type": "function", "function": {"name": "lookup"}},
                    {"type": "custom", "custom": {"name": "apply_patch"}},
                ],
            },
        },
        "tools": [
            {
                "type": "function",
                "function": {"name": "lookup", "parameters": {"type": "object"}, "strict": True},
            },
            {
                "type": "custom",
                "custom": {
                    "name": "apply_patch",
                    "description": "Edit files.",
                    "format": {
                        "type": "grammar",
                        "grammar": {"syntax": "lark", "definition": 'start: "*** Begin" /.+/'},
                    },
                },
            },
        ],
        "top_logprobs": 2,
        "top_p": 0.9,
        "user": "alice@example.com",
        "verbosity": "low",
        "web_search_options": {
            "search_context_size": "low",
            "user_location": {"type": "approximate", "approximate": {"city": "Lyon", "country": "FR"}},
        },
    }


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value))


def test_the_full_request_names_every_sdk_key() -> None:
    # Given the full request, Then it sends every key the SDK can send (so each is exercised below)
    sdk_keys = _keys(completion_create_params.CompletionCreateParamsBase)
    assert set(full_request()) == sdk_keys


@pytest.mark.parametrize(
    "key", sorted(_keys(completion_create_params.CompletionCreateParamsBase) - {"messages"})
)
def test_each_field_round_trips(key: str) -> None:
    # Given a request with one field set to a realistic value of its SDK type
    body = _json({"messages": [{"role": "user", "content": "Hi"}], key: full_request()[key]})  # type: ignore[literal-required]
    if key == "function_call":
        body["functions"] = _json(full_request()["functions"])
    if key == "tool_choice":
        body["tools"] = _json(full_request()["tools"])
    if key == "top_logprobs":
        body["logprobs"] = True

    # When it is validated, Then the field reads back as it was sent
    request = parse_chat_request(body)
    assert request.model_dump(mode="json", by_alias=True, exclude_unset=True)[key] == body[key]


def test_the_full_request_is_accepted_whole() -> None:
    # Given the full request, streamed or not
    for stream in (False, True):
        body = {**_json(full_request()), "stream": stream}

        # When it is validated, Then it is accepted; the legacy turns became tool turns
        request = parse_chat_request(body)
        assert request.stream is stream
        roles = [message.role for message in request.messages]
        assert "function" not in roles
        assert [t.function.name for t in request.tools or ()] == ["lookup", "apply_patch", "legacy"]


def test_nulls_the_sdk_may_send_are_accepted() -> None:
    # Given every Optional top-level key of the SDK set to null
    hints = get_type_hints(completion_create_params.CompletionCreateParamsNonStreaming)
    nullable = sorted(key for key, hint in hints.items() if type(None) in set(_members(hint)))
    body: dict[str, Any] = {"messages": [{"role": "user", "content": "Hi"}], **dict.fromkeys(nullable)}

    # When validated, Then it is accepted, with the defaults of the fields that have one
    request = parse_chat_request(body)
    assert "stream" in nullable
    assert (request.stream, request.n) == (False, 1)
