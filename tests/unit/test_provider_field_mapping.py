"""OpenAI fields per provider: passed as they are, mapped to an equivalent, or dropped and reported.

Each provider declares the fields it honours next to its mapping; ``ignored_fields`` is computed from
those declarations for the model that answered, and the request bodies show the same decisions.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from tests.fakes import FakeClock, ScriptedProvider, Streamed, answer
from tests.helpers import build_policy, features, minimal_policy, model_entry
from tests.service_fakes import service_rig
from tests.unit.test_attempt_lifecycle import body, policy

from modelrouter.api.openai_format import completion, router_summary, stream_events
from modelrouter.api.openai_stream import live_events
from modelrouter.execution import Executor, request_deadline
from modelrouter.live import LiveChat
from modelrouter.policy import ProviderKind
from modelrouter.policy.catalog import ModelSpec
from modelrouter.providers.anthropic.mapping import parse_response
from modelrouter.providers.anthropic.mapping import request_body as anthropic_body
from modelrouter.providers.bedrock.fields import END_USER_KEY
from modelrouter.providers.bedrock.mapping import from_converse_response, to_converse_request
from modelrouter.providers.end_user import end_user_id
from modelrouter.providers.errors import AuthError
from modelrouter.providers.fields import PROVIDER_FIELDS, ignored_fields
from modelrouter.providers.openai.mapping import PASSED_FIELDS, REASONING_ONLY
from modelrouter.providers.openai.mapping import parse_response as openai_parse
from modelrouter.providers.openai.mapping import request_body as openai_body
from modelrouter.providers.openai.stream_mapping import ChunkReader
from modelrouter.providers.sse import SseEvent
from modelrouter.providers.thinking import MIN_THINKING_TOKENS, THINKING_BUDGETS
from modelrouter.providers.tool_blocks import ToolBlocks
from modelrouter.providers.types import ProviderCall, ResultToolCall, TextDelta, ToolCallDelta
from modelrouter.request import ChatRequest, parse_chat_request
from modelrouter.request_fields import ROUTER_FIELDS, used_fields
from modelrouter.selection import RequestContext, decide

HI = [{"role": "user", "content": "Hi"}]
PDF = "data:application/pdf;base64,JVBERi0xLjQKJcfsj6IK"
CUSTOM = {"type": "custom", "custom": {"name": "apply_patch", "description": "Edit files."}}
CUSTOM_CALL = {"id": "c1", "type": "custom", "custom": {"name": "apply_patch", "input": "x"}}
TOOL_LOOP = [
    *HI,
    {"role": "assistant", "tool_calls": [CUSTOM_CALL]},
    {"role": "tool", "tool_call_id": "c1", "content": "ok"},
]
SAMPLING: dict[str, Any] = {
    "temperature": 0.4,
    "top_p": 0.9,
    "presence_penalty": 0.2,
    "frequency_penalty": 0.1,
}
OPENAI_ONLY: dict[str, Any] = {
    "logit_bias": {"50256": -100},
    "logprobs": True,
    "top_logprobs": 2,
    "store": True,
    "prediction": {"type": "content", "content": "x"},
    "prompt_cache_key": "k",
    "prompt_cache_retention": "24h",
    "prompt_cache_options": {"mode": "explicit"},
    "web_search_options": {"search_context_size": "low"},
    "moderation": {"model": "omni-moderation-latest"},
    "seed": 3,
}


def entry(provider: str, *capabilities: str, model_id: str = "vendor.m-v1:0") -> dict[str, Any]:
    """A catalog entry ``m-<provider>`` of that provider kind."""
    extra: dict[str, Any] = {
        "bedrock": {},
        "openai": {"region": None, "base_url": "https://llm.example/v1"},
    }.get(provider, {"region": None, "api_key": {"secretsmanager": "k"}})
    found = model_entry(
        f"m-{provider}", provider=provider, model_id=model_id, capabilities=["tools", *capabilities]
    )
    return {name: value for name, value in {**found, **extra}.items() if value is not None}


def spec(provider: str, *capabilities: str, model_id: str = "vendor.m-v1:0") -> ModelSpec:
    return ModelSpec.model_validate(entry(provider, *capabilities, model_id=model_id))


def req(messages: list[dict[str, Any]] | None = None, **fields: Any) -> ChatRequest:
    return parse_chat_request({"messages": messages or HI, **fields})


def call_of(request: ChatRequest, model: ModelSpec, max_tokens: int = 8_000) -> ProviderCall:
    return ProviderCall(model, request, max_tokens, 10.0, "req-1")


def test_every_provider_kind_declares_what_it_honours() -> None:
    # Given the provider kinds, Then each has a declaration, and none claims a field the router owns
    assert set(PROVIDER_FIELDS) == set(ProviderKind)
    for declared in PROVIDER_FIELDS.values():
        assert not declared.honoured & ROUTER_FIELDS


def test_openai_gets_every_openai_field_as_sent() -> None:
    # Given every field OpenAI's non-reasoning models take, and a user
    request = req(**OPENAI_ONLY, **SAMPLING, stop=["END"], service_tier="flex", user="alice@example.com")
    model = spec("openai")

    # When the body is built
    body = openai_body(call_of(request, model))

    # Then each passed field is sent as the client wrote it; the user only as a digest
    for name in set(PASSED_FIELDS) - REASONING_ONLY:
        sent = getattr(request, name)
        if sent is not None:
            expected = (
                sent.model_dump(mode="json", exclude_none=True) if hasattr(sent, "model_dump") else sent
            )
            assert body[name] == expected, name
    assert body["safety_identifier"] == end_user_id(request)
    assert "alice" not in json.dumps(body)
    # And nothing is reported
    assert ignored_fields(request, model, 8_000) == ()


def test_reasoning_and_other_openai_models_each_get_what_they_take() -> None:
    # Given sampling, logprobs and a reasoning effort in one request
    request = req(**SAMPLING, logprobs=True, reasoning_effort="high", verbosity="low")
    reasoning, plain = spec("openai", "reasoning"), spec("openai")

    # Then a reasoning model gets the effort and no sampling, another model the reverse; each reports
    # exactly what it was not sent
    for model, sent, dropped in (
        (reasoning, {"reasoning_effort", "verbosity"}, {*SAMPLING, "logprobs"}),
        (plain, {*SAMPLING, "logprobs"}, {"reasoning_effort", "verbosity"}),
    ):
        body = openai_body(call_of(request, model))
        assert sent <= set(body)
        assert not dropped & set(body)
        assert set(ignored_fields(request, model, 8_000)) == dropped


def test_audio_answers_are_ignored_everywhere_and_said_to_be() -> None:
    # Given a request asking for an audio answer
    request = req(modalities=["text", "audio"], audio={"format": "mp3", "voice": "alloy"})

    # Then every provider kind reports both fields, and OpenAI is not asked for audio
    for model in (spec("openai"), spec("anthropic"), spec("bedrock")):
        assert set(ignored_fields(request, model, 8_000)) == {"audio", "modalities"}
    assert "modalities" not in openai_body(call_of(request, spec("openai")))


@pytest.mark.parametrize("effort", sorted(THINKING_BUDGETS))
def test_reasoning_effort_is_a_claude_thinking_budget(effort: str) -> None:
    # Given a reasoning effort and a temperature for Claude, directly and on Bedrock
    request = req(reasoning_effort=effort, temperature=0.5)
    anthropic = spec("anthropic", "reasoning", model_id="claude-sonnet-4-5")
    bedrock = spec("bedrock", "reasoning", model_id="us.anthropic.claude-sonnet-4-5-v1:0")

    # When the bodies are built for 8,000 answer tokens
    budget = min(THINKING_BUDGETS[effort], 6_000)
    direct = anthropic_body(call_of(request, anthropic))
    converse = to_converse_request(call_of(request, bedrock))

    # Then both think within three quarters of max_tokens, and drop the temperature, saying so
    assert direct["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert converse["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": budget}
    }
    assert "temperature" not in direct
    assert "temperature" not in converse["inferenceConfig"]
    for model in (anthropic, bedrock):
        assert ignored_fields(request, model, 8_000) == ("temperature",)


@pytest.mark.parametrize(
    ("fields", "messages", "max_tokens", "capabilities"),
    [
        ({}, None, 8_000, ()),  # not a reasoning model
        ({}, None, int(MIN_THINKING_TOKENS / 0.75) - 1, ("reasoning",)),  # no room for the smallest budget
        ({"tools": [CUSTOM], "tool_choice": "required"}, None, 8_000, ("reasoning",)),  # a forced tool
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {
            "type": "object", "properties": {"x": {"type": "string"}}}}}}, None, 8_000, ("reasoning",)),
        ({"tools": [CUSTOM]}, TOOL_LOOP,
         8_000, ("reasoning",)),  # in the middle of a tool loop
    ],
)  # fmt: skip
def test_an_effort_claude_cannot_think_with_is_reported(
    fields: dict[str, Any],
    messages: list[dict[str, Any]] | None,
    max_tokens: int,
    capabilities: tuple[str, ...],
) -> None:
    # Given a reasoning effort where thinking is not possible
    request = req(messages, reasoning_effort="medium", **fields)
    anthropic = spec("anthropic", *capabilities, model_id="claude-sonnet-4-5")
    bedrock = spec("bedrock", *capabilities, model_id="anthropic.claude-sonnet-4-5-v1:0")

    # Then neither body thinks, and both report the effort
    assert "thinking" not in anthropic_body(call_of(request, anthropic, max_tokens))
    assert "additionalModelRequestFields" not in to_converse_request(call_of(request, bedrock, max_tokens))
    for model in (anthropic, bedrock):
        assert "reasoning_effort" in ignored_fields(request, model, max_tokens)


def test_no_effort_means_no_thinking_and_nothing_to_report() -> None:
    # Given reasoning_effort none for a Claude reasoning model, Then it does not think, and that is honoured
    request = req(reasoning_effort="none")
    model = spec("anthropic", "reasoning", model_id="claude-sonnet-4-5")
    assert "thinking" not in anthropic_body(call_of(request, model))
    assert ignored_fields(request, model, 8_000) == ()


def test_other_bedrock_families_do_not_take_the_effort() -> None:
    # Given a reasoning model on Bedrock that is not Claude, Then the effort is dropped and reported
    request = req(reasoning_effort="high")
    model = spec("bedrock", "reasoning", model_id="deepseek.r1-v1:0")
    assert "additionalModelRequestFields" not in to_converse_request(call_of(request, model))
    assert ignored_fields(request, model, 8_000) == ("reasoning_effort",)


@pytest.mark.parametrize(
    ("tier", "anthropic_tier", "bedrock_tier"),
    [
        ("default", "standard_only", "default"),
        ("priority", "auto", "priority"),
        ("fast", "auto", "priority"),
        ("flex", None, "flex"),
        ("scale", None, "reserved"),
        ("auto", "auto", None),
    ],
)
def test_service_tiers_map_where_there_is_an_equivalent(
    tier: str, anthropic_tier: str | None, bedrock_tier: str | None
) -> None:
    # Given a service tier
    request = req(service_tier=tier)
    anthropic, bedrock = spec("anthropic"), spec("bedrock")

    # Then each provider gets its own tier, or none and the field is reported (auto needs no tier)
    assert anthropic_body(call_of(request, anthropic)).get("service_tier") == anthropic_tier
    converse = to_converse_request(call_of(request, bedrock))
    assert converse.get("serviceTier") == ({"type": bedrock_tier} if bedrock_tier else None)
    assert ("service_tier" in ignored_fields(request, anthropic, 8_000)) == (anthropic_tier is None)
    assert ignored_fields(request, bedrock, 8_000) == ()


def test_the_end_user_is_a_digest_for_anthropic_and_bedrock() -> None:
    # Given a user, and a request with a safety identifier of its own
    with_user, with_id = (
        req(user="alice@example.com"),
        req(user="alice@example.com", safety_identifier="u-42"),
    )

    # Then Claude gets metadata.user_id and Bedrock request metadata: the digest, or the identifier as sent
    for request, expected in ((with_user, end_user_id(with_user)), (with_id, "u-42")):
        assert anthropic_body(call_of(request, spec("anthropic")))["metadata"] == {"user_id": expected}
        metadata = to_converse_request(call_of(request, spec("bedrock")))["requestMetadata"]
        assert metadata[END_USER_KEY] == expected
    assert end_user_id(with_user) != "alice@example.com"


def test_files_become_documents_where_the_provider_reads_them() -> None:
    # Given a PDF given inline, and a file given by an OpenAI file id
    inline = {"type": "file", "file": {"file_data": PDF, "filename": "report.pdf"}}
    by_id = {"type": "file", "file": {"file_id": "file-1"}}
    readable = req([{"role": "user", "content": [{"type": "text", "text": "Read"}, inline]}])
    unreadable = req([{"role": "user", "content": [{"type": "text", "text": "Read"}, inline, by_id]}])

    # Then Claude and Bedrock read the PDF as a document, drop the id and report it
    blocks = anthropic_body(call_of(readable, spec("anthropic")))["messages"][0]["content"]
    source = {"type": "base64", "media_type": "application/pdf", "data": PDF.split(",")[1]}
    assert blocks[1] == {"type": "document", "title": "report.pdf", "source": source}
    converse = to_converse_request(call_of(readable, spec("bedrock")))["messages"][0]["content"]
    assert converse[1]["document"]["format"] == "pdf"
    assert converse[1]["document"]["name"].startswith("report ")
    for model in (spec("anthropic"), spec("bedrock")):
        assert ignored_fields(readable, model, 8_000) == ()
        assert ignored_fields(unreadable, model, 8_000) == ("messages.content.file",)
    assert ignored_fields(unreadable, spec("openai"), 8_000) == ()


def test_custom_tools_are_functions_of_one_string_and_come_back_custom() -> None:
    # Given a custom tool, offered to Claude
    request = req(tools=[CUSTOM], tool_choice={"type": "custom", "custom": {"name": "apply_patch"}})
    body = anthropic_body(call_of(request, spec("anthropic")))
    assert body["tools"][0]["input_schema"]["properties"] == {"input": {"type": "string"}}
    assert body["tool_choice"] == {"type": "tool", "name": "apply_patch"}

    # When Claude calls it, whole and streamed
    block = {"type": "tool_use", "id": "tu_1", "name": "apply_patch", "input": {"input": "*** Begin\n"}}
    whole = parse_response(
        {"content": [block], "stop_reason": "tool_use"}, custom_tools=frozenset({"apply_patch"})
    )
    blocks = ToolBlocks(None, {"apply_patch"})
    streamed = [*blocks.start(0, "tu_1", "apply_patch"), *blocks.fragment(0, '{"input": "*** '),
                *blocks.fragment(0, 'Begin\\n"}'), *blocks.stop(0)]  # fmt: skip

    # Then the call is a custom call with the string as its input, and the stream sends it whole at the end
    assert (whole.tool_calls[0].kind, whole.tool_calls[0].arguments) == ("custom", "*** Begin\n")
    assert streamed == [
        ToolCallDelta(0, "tu_1", "apply_patch", "", kind="custom"),
        ToolCallDelta(0, None, None, "*** Begin\n", kind="custom"),
    ]
    use = {"toolUse": {"toolUseId": "tu_1", "name": "apply_patch", "input": {"input": "x"}}}
    converse = from_converse_response(
        {"output": {"message": {"content": [use]}}, "stopReason": "tool_use"},
        call_of(request, spec("bedrock")),
    )
    assert (converse.tool_calls[0].kind, converse.tool_calls[0].arguments) == ("custom", "x")


def test_allowed_tools_narrow_the_tools_for_claude_and_bedrock() -> None:
    # Given two tools of which one is allowed and must be called
    other = {"type": "function", "function": {"name": "delete_all"}}
    choice = {
        "type": "allowed_tools",
        "allowed_tools": {
            "mode": "required",
            "tools": [{"type": "custom", "custom": {"name": "apply_patch"}}],
        },
    }
    request = req(tools=[CUSTOM, other], tool_choice=choice)  # fmt: skip

    # Then only it is offered, and a call is required
    body = anthropic_body(call_of(request, spec("anthropic")))
    assert ([tool["name"] for tool in body["tools"]], body["tool_choice"]) == (
        ["apply_patch"],
        {"type": "any"},
    )
    config = to_converse_request(call_of(request, spec("bedrock")))["toolConfig"]
    assert [t["toolSpec"]["name"] for t in config["tools"]] == ["apply_patch"]
    assert config["toolChoice"] == {"any": {}}
    # And OpenAI gets the choice as sent
    assert openai_body(call_of(request, spec("openai")))["tool_choice"] == choice


def test_openai_answers_keep_logprobs_annotations_tiers_and_custom_calls() -> None:
    # Given an OpenAI answer with logprobs, a citation, a tier and a custom tool call
    logprobs = {"content": [{"token": "Hi", "logprob": -0.1, "bytes": [72, 105], "top_logprobs": []}]}
    citation = {"type": "url_citation", "url_citation": {"url": "https://a.example", "title": "A",
                                                         "start_index": 0, "end_index": 2}}  # fmt: skip
    custom = {"id": "call_9", "type": "custom", "custom": {"name": "apply_patch", "input": "*** Begin"}}
    message = {"role": "assistant", "content": "Hi", "annotations": [citation], "tool_calls": [custom]}
    choice = {"index": 0, "finish_reason": "tool_calls", "logprobs": logprobs, "message": message}
    data = {"id": "c", "model": "gpt", "service_tier": "flex", "choices": [choice]}

    # When it is read, Then all of it is kept
    result = openai_parse(data)
    assert (result.logprobs, result.annotations, result.response_fields) == (
        logprobs,
        (citation,),
        {"service_tier": "flex"},
    )
    assert (result.tool_calls[0].kind, result.tool_calls[0].arguments) == ("custom", "*** Begin")
    # And a streamed chunk's logprobs ride on its text
    reader = ChunkReader()
    chunk = {
        "id": "c",
        "model": "gpt",
        "choices": [{"index": 0, "delta": {"content": "Hi"}, "logprobs": logprobs}],
    }
    assert reader.read(SseEvent(data=json.dumps(chunk))) == [TextDelta("Hi", tuple(logprobs["content"]))]


class Harness:
    """An executor over one scripted model of each kind (``m-openai``, ``m-anthropic``, ``m-bedrock``)."""

    def __init__(self, route: dict[str, Any], scripts: dict[str, list[Any]]) -> None:
        document = minimal_policy()
        document["models"] = [entry("openai"), entry("anthropic"), entry("bedrock")]
        document["routes"] = [{"name": "r", **route}]
        self.policy = build_policy(document)
        self.clock = FakeClock()
        providers = {kind: ScriptedProvider(kind, self.clock, scripts) for kind in ProviderKind}
        self.executor = Executor(providers, self.policy, clock=self.clock, rng=random.Random(1))  # type: ignore[arg-type]

    def run(self, request: ChatRequest) -> Any:
        decision = decide(self.policy, request, RequestContext("req-1", "t1"), features=features())
        deadline = request_deadline(self.clock, 10_000, self.policy.execution)
        return decision, self.executor.execute(decision, request, deadline)


def test_the_answering_models_ignored_fields_reach_the_answer() -> None:
    # Given a route whose first model (OpenAI) fails and whose second (Bedrock) answers
    request = req(logprobs=True, seed=4, metadata={"classification": "internal"})
    harness = Harness({"models": ["m-openai", "m-bedrock"]},
                      {"m-openai": [AuthError("revoked key")], "m-bedrock": [answer("fine")]})  # fmt: skip

    # When it runs, Then each attempt carries its own list, and the router block the answering one's
    decision, result = harness.run(request)
    near_miss = "metadata.classification (did you mean metadata.data_classification?)"
    assert result.attempts[0].ignored_fields == (near_miss,)
    assert result.attempts[-1].ignored_fields == ("logprobs", near_miss, "seed")
    summary = router_summary(decision, result, 12.0, 0.01)
    assert summary["ignored_fields"] == ["logprobs", near_miss, "seed"]
    assert completion(result, summary, 0)["router"]["ignored_fields"] == summary["ignored_fields"]
    events = stream_events(result, summary, 0, request).split("\n\n")
    assert (
        json.loads(events[-3].removeprefix("data: "))["router"]["ignored_fields"] == summary["ignored_fields"]
    )


def test_a_redacted_answer_loses_its_logprobs_and_says_so() -> None:
    # Given an OpenAI answer with personal data and logprobs, on a route that redacts personal data
    logprobs = {"content": [{"token": "a.b@example.org", "logprob": -0.1, "bytes": None, "top_logprobs": []}]}
    harness = Harness({"models": ["m-openai"], "checks": {"guardrails": {"pii": "redact"}}},
                      {"m-openai": [answer("Write to a.b@example.org", logprobs=logprobs)]})  # fmt: skip

    # When it runs
    _, result = harness.run(req(logprobs=True))

    # Then the address is redacted, the logprobs that spell it are gone, and logprobs is reported
    assert "a.b@example.org" not in (result.answer.content or "")
    assert result.answer.logprobs is None
    assert result.attempts[-1].ignored_fields == ("logprobs",)


def test_legacy_function_requests_get_function_call_answers() -> None:
    # Given a request with the deprecated functions, answered with a call
    request = req(functions=[{"name": "weather", "parameters": {"type": "object"}}])
    call = answer(None, tool_calls=(ResultToolCall("c", "weather", "{}"),), finish_reason="tool_calls")
    decision, result = Harness({"models": ["m-openai"]}, {"m-openai": [call]}).run(request)
    summary = router_summary(decision, result, 1.0, 0.0)

    # Then the answer is a function_call, whole and streamed
    whole = completion(result, summary, 0, legacy_functions=request.legacy_functions)["choices"][0]
    assert whole["message"]["function_call"] == {"name": "weather", "arguments": "{}"}
    assert "tool_calls" not in whole["message"]
    assert whole["finish_reason"] == "function_call"
    streamed = stream_events(result, summary, 0, request)
    assert '"function_call":{"name":"weather","arguments":"{}"}' in streamed
    assert '"finish_reason":"function_call"' in streamed
    assert used_fields(request) >= {"functions"}


def test_a_live_stream_answers_legacy_functions_with_function_call_deltas() -> None:
    # Given a streamed request with the deprecated functions, and a model that streams one call
    pieces = (ToolCallDelta(0, "c1", "weather", ""), ToolCallDelta(0, None, None, '{"city":"Lyon"}'))
    rig = service_rig(policy(), {"m1": [Streamed(pieces=(), tool_calls=pieces, finish_reason="tool_calls")]})
    fields: dict[str, Any] = {
        "functions": [{"name": "weather", "parameters": {"type": "object"}}],
        "metadata": {"Region": "eu"},
    }
    live = rig.service.respond("t1", body(stream=True, **fields), "req-1")
    assert isinstance(live, LiveChat)

    # When its events are written
    events = [
        json.loads(e.decode().removeprefix("data: ")) for e in live_events(live, 0) if b"[DONE]" not in e
    ]

    # Then the call comes as function_call deltas, the finish says function_call, and the router block
    # lists what was ignored, as the record does
    deltas = [e["choices"][0]["delta"] for e in events if e.get("choices")]
    assert [d["function_call"] for d in deltas if "function_call" in d] == [
        {"name": "weather", "arguments": ""},
        {"arguments": '{"city":"Lyon"}'},
    ]
    last = next(e for e in events if "router" in e)
    assert last["choices"][0]["finish_reason"] == "function_call"
    assert last["router"]["ignored_fields"] == ["metadata.Region (did you mean metadata.region?)"]
    assert rig.records()["req-1"]["ignored_fields"] == last["router"]["ignored_fields"]
