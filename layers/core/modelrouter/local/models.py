"""Simulated local models: three profiles and their deterministic answers; pure, no I/O.

``local-small``, ``local-medium`` and ``local-large`` differ in skill, speed, context window and
suggested price. An answer depends only on the profile and the request, so the same model asked the
same thing answers the same. Whether a model is up to a request is its hidden skill profile's verdict
on the latest user text (:func:`modelrouter.local.skills.answer_quality`: the prompt's topic, niche,
hidden trickiness and per-model noise, never the router's own features), the same for every wire
protocol. When it is not, the answer is worse: a JSON answer (or tool input) that breaks its schema (a
required property missing), or a short, hedged text answer.

The wire protocols (OpenAI Chat Completions, Anthropic Messages, Bedrock Converse) are translated to and from
:class:`SimRequest` and :class:`SimAnswer` in :mod:`modelrouter.local.model_wire` and
:mod:`modelrouter.local.model_anthropic`; streams are paced by :mod:`modelrouter.local.model_stream`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from modelrouter.local.samples import sample_instance
from modelrouter.local.skills import GOOD_QUALITY, SKILLS, Skills, answer_quality, topic_of
from modelrouter.local.triage import with_triage

__all__ = [
    "CHARS_PER_TOKEN",
    "PROFILES",
    "ModelProfile",
    "SimAnswer",
    "SimRequest",
    "SimTool",
    "SimToolCall",
    "count_tokens",
    "profile_for",
    "simulate",
]

CHARS_PER_TOKEN = 4
"""Token counts are estimated as characters / 4, for prompts and answers alike."""
_TOPIC_WORDS = 5
_MIN_TOPIC_WORD = 4
_STOPWORDS = frozenset((
    "about", "after", "again", "also", "and", "any", "are", "because", "been", "before", "being", "but",
    "can", "could", "does", "doing", "each", "from", "have", "having", "here", "how", "into", "just",
    "like", "more", "most", "much", "must", "only", "other", "over", "please", "same", "should", "some",
    "such", "tell", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this",
    "those", "through", "very", "want", "what", "when", "where", "which", "while", "who", "whom", "why",
    "will", "with", "would", "your", "you",
))  # fmt: skip
_ACTION = re.compile(
    r"\b(call|use|run|invoke|look\s*up|lookup|search|find|fetch|get|check|book|send|create|schedule"
    r"|order|cancel|update|delete|add|weather|price|status)\b",
    re.IGNORECASE,
)
_GOOD_REPLIES = (
    "Here is a short answer about {topic}: the key points are clear and consistent.",
    "On {topic}: the short version is that it depends on the details, which are covered here.",
    "Regarding {topic}: a concise summary follows, with the main facts first.",
)
_WEAK_REPLY = "I'm not sure, but {topic} might be related to that."
_TOOL_REPLY = "Based on the tool result ({result}), here is the answer about {topic}."
_GARBLED_JSON = "Sure! Here is the JSON you asked for: {{answer: {topic}"
_TOOL_RESULT_CHARS = 60

FinishKind = Literal["stop", "length", "tool_calls"]


@dataclass(frozen=True, slots=True)
class ModelProfile:
    """One simulated model."""

    name: str
    """Model name (``local-small``); any model id containing its size word maps to it."""
    skills: Skills
    """Hidden skill profile: its chance of a good answer per topic (:mod:`modelrouter.local.skills`)."""
    latency_base_ms: float
    """Time to the first token, in milliseconds (before ``latency_scale``)."""
    latency_per_token_ms: float
    """Time per output token, in milliseconds (before ``latency_scale``)."""
    context_window: int
    """Largest prompt, in tokens; longer prompts are refused."""
    max_output_tokens: int
    """Largest answer, in tokens."""
    input_price_per_mtok: float
    """Suggested price in USD per million input tokens, for the policy (the server charges nothing)."""
    output_price_per_mtok: float
    """Suggested price in USD per million output tokens, for the policy."""
    scan_megapixels: float = 0.0
    """The largest image it reads well, in megapixels: a bigger scan (a phone photo of a form) makes its
    answer a bad one, whatever the topic."""

    def latency_s(self, output_tokens: int, scale: float = 1.0) -> float:
        """Seconds to produce ``output_tokens``, times ``scale``."""
        return max(0.0, scale) * (self.latency_base_ms + self.latency_per_token_ms * output_tokens) / 1000

    def describe(self) -> dict[str, Any]:
        """The profile as a JSON object."""
        described = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return {**described, "skills": self.skills.describe()}


PROFILES: dict[str, ModelProfile] = {
    profile.name: profile
    for profile in (
        ModelProfile("local-small", SKILLS["local-small"], 15.0, 1.0, 8_192, 2_048, 0.1, 0.4, 1.0),
        ModelProfile("local-medium", SKILLS["local-medium"], 45.0, 3.0, 32_768, 4_096, 0.8, 3.2, 4.0),
        ModelProfile("local-large", SKILLS["local-large"], 100.0, 8.0, 131_072, 8_192, 5.0, 20.0, 50.0),
    )
}
"""The simulated models by name: about 40, 120 and 300 ms for a 25-token answer."""


def profile_for(model_id: str) -> ModelProfile | None:
    """The profile a model id names: the first of ``small``, ``medium``, ``large`` it contains."""
    lowered = model_id.lower()
    return next((p for p in PROFILES.values() if p.name.removeprefix("local-") in lowered), None)


@dataclass(frozen=True, slots=True)
class SimTool:
    """A tool offered to the model."""

    name: str
    """Function name."""
    parameters: dict[str, Any] = field(default_factory=dict)
    """JSON Schema of its arguments."""


@dataclass(frozen=True, slots=True)
class SimToolCall:
    """A tool call in an answer."""

    id: str
    """Deterministic call id."""
    name: str
    """Function name."""
    arguments: Any
    """Arguments (a JSON value, normally an object)."""


@dataclass(frozen=True, slots=True)
class SimRequest:
    """A request, whichever protocol it came in."""

    last_user_text: str
    """Text of the latest user turn (what the skill profile judges)."""
    prompt_chars: int
    """Characters of all messages, system text and tool results included."""
    schema: dict[str, Any] | None = None
    """JSON Schema the answer text must follow."""
    json_object: bool = False
    """The answer must be a JSON object (any, when ``schema`` is None)."""
    tools: tuple[SimTool, ...] = ()
    """Tools offered."""
    tool_choice: str | None = None
    """``auto``, ``none``, ``required``, a tool name, or None."""
    tool_result: str | None = None
    """Text of the tool result the conversation ends with; None when it does not end with one."""
    max_tokens: int | None = None
    """Answer token limit the client asked for."""
    stream: bool = False
    """The client asked for a streamed answer."""
    stream_usage: bool = False
    """A streamed answer ends with token counts (OpenAI's ``stream_options.include_usage``)."""
    image_megapixels: float | None = None
    """Width × height of the largest inline image, in millions of pixels (None: no image, or unknown)."""


@dataclass(frozen=True, slots=True)
class SimAnswer:
    """A simulated answer."""

    text: str | None
    """Answer text (JSON text for JSON answers), None with a tool call."""
    tool_call: SimToolCall | None
    """The tool call made, if any."""
    finish: FinishKind
    """Why the answer ended: ``stop``, ``length`` (truncated) or ``tool_calls``."""
    input_tokens: int
    """Prompt tokens."""
    output_tokens: int
    """Answer tokens."""
    topic: str
    """Topic of the request, as the skill profile recognised it."""
    good: bool
    """Whether the model was up to it (its :func:`~modelrouter.local.skills.answer_quality`)."""


def count_tokens(chars: int) -> int:
    """Estimated tokens of ``chars`` characters (rounded up)."""
    return math.ceil(max(0, chars) / CHARS_PER_TOKEN)


def simulate(profile: ModelProfile, request: SimRequest, *, garbled: bool = False) -> SimAnswer:
    """The answer ``profile`` gives to ``request``; ``garbled`` makes a JSON answer unreadable."""
    good = answer_quality(profile, request.last_user_text) >= GOOD_QUALITY
    if request.image_megapixels is not None and request.image_megapixels > profile.scan_megapixels:
        good = False  # a scan too large and noisy for this model's vision
    seed = _digest(profile.name, request.last_user_text, str(request.schema), request.tool_result)
    topic = _topic(request.last_user_text)
    limit = min(request.max_tokens or profile.max_output_tokens, profile.max_output_tokens)
    tool = _tool_to_call(request)
    text: str | None = None
    call: SimToolCall | None = None
    if tool is not None:
        call = SimToolCall(
            f"call_{seed[:24]}", tool.name, sample_instance(tool.parameters or {"type": "object"})
        )
    elif request.schema is not None or request.json_object:
        if garbled:
            text = _GARBLED_JSON.format(topic=topic)
        else:
            schema = request.schema if request.schema is not None else {"type": "object"}
            value = sample_instance(schema) if request.schema is not None else {"answer": topic}
            value = with_triage(value, request.last_user_text)
            text = json.dumps(value if good else _spoil(schema, value), ensure_ascii=False)
    elif request.tool_result is not None:
        result = " ".join(request.tool_result.split())[:_TOOL_RESULT_CHARS]
        text = f"[{profile.name}] " + _TOOL_REPLY.format(result=result, topic=topic)
    elif good:
        text = f"[{profile.name}] " + _GOOD_REPLIES[int(seed, 16) % len(_GOOD_REPLIES)].format(topic=topic)
    else:
        text = f"[{profile.name}] " + _WEAK_REPLY.format(topic=topic)
    finish: FinishKind = "tool_calls" if call is not None else "stop"
    if text is not None and count_tokens(len(text)) > limit:
        text, finish = text[: limit * CHARS_PER_TOKEN], "length"
    produced = len(text or "") + (len(call.name) + len(json.dumps(call.arguments)) if call else 0)
    return SimAnswer(
        text=text,
        tool_call=call,
        finish=finish,
        input_tokens=count_tokens(request.prompt_chars),
        output_tokens=count_tokens(produced),
        topic=topic_of(request.last_user_text),
        good=good,
    )


def _tool_to_call(request: SimRequest) -> SimTool | None:
    """The tool the model calls, or None for a text answer."""
    if not request.tools or request.tool_choice == "none" or request.tool_result is not None:
        return None
    named = next((tool for tool in request.tools if tool.name == request.tool_choice), None)
    if named is not None:
        return named
    text = request.last_user_text.lower()
    mentioned = next(
        (tool for tool in request.tools if tool.name.lower() in text or tool.name.replace("_", " ") in text),
        None,
    )
    if request.tool_choice == "required" or mentioned is not None or _ACTION.search(text):
        return mentioned or request.tools[0]
    return None


def _spoil(schema: dict[str, Any] | None, value: Any) -> Any:
    """``value`` made to break ``schema``: a required property dropped, else a value of the wrong type."""
    schema = schema or {}
    required = schema.get("required") or []
    if isinstance(value, dict) and required:
        return {key: item for key, item in value.items() if key != required[0]}
    if isinstance(value, dict) and value and isinstance(schema.get("properties"), dict):
        first = next(iter(value))
        wrong: Any = 0 if isinstance(value[first], str) else "unsure"
        return {**value, first: wrong}
    return ["unsure"] if isinstance(value, dict) else {"unsure": True}


def _topic(text: str) -> str:
    """A few significant words of ``text``: what a reply mentions (never digits or addresses, so a
    simulated answer does not echo card numbers or e-mails back)."""
    words = [word.strip("-_#.'") for word in re.findall(r"[\w'@.-]+", text.lower())]
    picked = [w for w in words if len(w) >= _MIN_TOPIC_WORD and w not in _STOPWORDS
              and w.isalpha()][:_TOPIC_WORDS]  # fmt: skip
    return " ".join(picked) or "your message"


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()
