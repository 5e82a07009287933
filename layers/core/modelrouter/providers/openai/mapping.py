"""The contract to an OpenAI-compatible Chat Completions call and back; pure, no I/O.

Serves OpenAI, Azure OpenAI, Mistral, Groq, Together, vLLM, Ollama and llama.cpp's server. Choices
made here, for every compatible server:

* ``developer`` messages are sent as ``system`` (every compatible server accepts ``system``).
* ``user`` is **not** forwarded as it is: an e-mail address or login is personal data. It is sent as
  ``safety_identifier`` (OpenAI's field for an end user's id), namespaced and hashed, unless the
  request has a ``safety_identifier`` of its own (:mod:`~modelrouter.providers.end_user`).
* The other OpenAI fields the client sent are passed as they are (:data:`PASSED_FIELDS`), except
  those the model's kind refuses: reasoning models get no sampling fields, logit bias or logprobs,
  other models no ``reasoning_effort`` or ``verbosity``. ``metadata`` holds the router's routing
  keys and is not passed; ``modalities``/``audio`` (audio answers) are not passed either, since the
  router answers with text. :data:`HONOURED_FIELDS` and :func:`dropped_fields` declare this.
* Answers are read in :mod:`~modelrouter.providers.openai.answers` (re-exported here).
* ``tools``, ``tool_choice`` and ``parallel_tool_calls`` are only sent with at least one tool
  (OpenAI rejects the latter two without tools).
* A ``json_schema`` answer format is sent as is only to models with the ``json_schema``
  capability; others get ``json_object`` (when they have that capability) plus a system instruction
  containing the schema. The executor validates every answer afterwards.
* Models with the ``reasoning`` capability get ``max_completion_tokens`` instead of ``max_tokens``
  and no sampling parameters (``temperature``, ``top_p``, penalties): OpenAI's reasoning models
  reject both with HTTP 400.
* ``base_url`` is the API root including its version (``https://api.openai.com/v1``,
  ``http://localhost:11434/v1``); Azure OpenAI uses the resource URL plus ``deployment`` and
  ``api_version``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

from modelrouter.policy.catalog import ModelSpec
from modelrouter.policy.common import Capability, ProviderKind
from modelrouter.providers.answer_format import JSON_OBJECT_INSTRUCTION, json_schema_instruction
from modelrouter.providers.end_user import end_user_id
from modelrouter.providers.errors import BadRequestError
from modelrouter.providers.openai.answers import RESPONSE_FIELDS, finish_reason_of, parse_response, usage_of
from modelrouter.providers.types import ProviderCall
from modelrouter.request import (
    ChatRequest,
    DeveloperMessage,
    Message,
    ResponseFormatJsonObject,
    ResponseFormatJsonSchema,
    SystemMessage,
    ToolMessage,
)
from modelrouter.request_fields import COMMON_FIELDS, PART_FIELDS

__all__ = [
    "HONOURED_FIELDS",
    "NOT_FOR_REASONING",
    "PASSED_FIELDS",
    "PROVIDER",
    "REASONING_ONLY",
    "RESPONSE_FIELDS",
    "Endpoint",
    "dropped_fields",
    "endpoint",
    "finish_reason_of",
    "parse_response",
    "request_body",
    "usage_of",
]

PROVIDER = ProviderKind.OPENAI.value
"""The provider name put on errors."""

PASSED_FIELDS = (
    "temperature",
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "stop",
    "seed",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "reasoning_effort",
    "verbosity",
    "service_tier",
    "store",
    "prediction",
    "prompt_cache_key",
    "prompt_cache_retention",
    "prompt_cache_options",
    "safety_identifier",
    "web_search_options",
    "moderation",
)
"""Top-level request fields sent as the client sent them (where the model's kind takes them)."""
HONOURED_FIELDS = frozenset(
    {*PASSED_FIELDS, *COMMON_FIELDS, *PART_FIELDS, "parallel_tool_calls"}
    - {"stream_options.include_obfuscation"}
)
"""The request fields (besides the router's own) this mapping sends or maps."""
NOT_FOR_REASONING = frozenset(
    {
        "temperature",
        "top_p",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
    }
)
"""Fields OpenAI's reasoning models refuse (HTTP 400): not sent to models with ``reasoning``."""
REASONING_ONLY = frozenset({"reasoning_effort", "verbosity"})
"""Fields other models refuse: sent only to models with ``reasoning``."""
_REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,512}$")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and with which headers a model is called."""

    url: str
    """The full Chat Completions URL."""
    headers: dict[str, str]
    """Authentication and tracing headers."""


def endpoint(model: ModelSpec, api_key: str | None, request_id: str = "") -> Endpoint:
    """The URL and headers for ``model``: ``Authorization: Bearer``, Azure's ``api-key``, or none.

    Raises:
        BadRequestError: the model has no ``base_url``, or an Azure deployment has no ``api_version``.
    """
    if not model.base_url:
        raise BadRequestError(f"model {model.id!r} has no base_url", provider=PROVIDER)
    base = model.base_url.rstrip("/")
    headers: dict[str, str] = {}
    if model.deployment:
        if not model.api_version:
            raise BadRequestError(
                f"model {model.id!r} names an Azure deployment but no api_version", provider=PROVIDER
            )
        deployment = quote(model.deployment, safe="")
        version = quote(model.api_version, safe="")
        url = f"{base}/openai/deployments/{deployment}/chat/completions?api-version={version}"
        if api_key is not None:
            headers["api-key"] = api_key
    else:
        url = f"{base}/chat/completions"
        if api_key is not None:
            headers["authorization"] = f"Bearer {api_key}"
    if _REQUEST_ID.match(request_id):
        headers["x-client-request-id"] = request_id
    return Endpoint(url=url, headers=headers)


def request_body(call: ProviderCall) -> dict[str, Any]:
    """The Chat Completions body for ``call`` (non-streaming)."""
    request, model = call.request, call.model
    reasoning = Capability.REASONING in model.capabilities
    messages = [_message(message) for message in request.messages]
    body: dict[str, Any] = {"model": model.model_id, "messages": messages}
    if request.tools:
        body["tools"] = [tool.model_dump(exclude_none=True) for tool in request.tools]
        if request.tool_choice is not None:
            choice = request.tool_choice
            body["tool_choice"] = choice if isinstance(choice, str) else choice.model_dump(exclude_none=True)
        if request.parallel_tool_calls is not None:
            body["parallel_tool_calls"] = request.parallel_tool_calls
    response_format, instruction = _answer_format(request, model.capabilities)
    if response_format is not None:
        body["response_format"] = response_format
    if instruction is not None:
        _add_system_instruction(messages, instruction)
    body["max_completion_tokens" if reasoning else "max_tokens"] = call.max_output_tokens
    dropped = dropped_fields(request, model, call.max_output_tokens)
    for name in PASSED_FIELDS:
        value = getattr(request, name)
        if value is not None and name not in dropped:
            body[name] = _wire(value)
    if "safety_identifier" not in body and (user_id := end_user_id(request)):
        body["safety_identifier"] = user_id
    body["stream"] = False
    return body


def dropped_fields(request: ChatRequest, model: ModelSpec, max_tokens: int) -> frozenset[str]:
    """The fields of :data:`HONOURED_FIELDS` a call of ``model`` drops: what its kind refuses.

    ``request`` and ``max_tokens`` are unused: the same signature as the other providers'."""
    del request, max_tokens
    return NOT_FOR_REASONING if Capability.REASONING in model.capabilities else REASONING_ONLY


def _wire(value: Any) -> Any:
    """A field's value as JSON: options objects dumped without their unset fields."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    return value


def _message(message: Message) -> dict[str, Any]:
    dumped = message.model_dump(exclude_none=True)
    if isinstance(message, SystemMessage | DeveloperMessage):
        dumped["role"] = "system"
    elif isinstance(message, ToolMessage):
        dumped.pop("name", None)  # tool messages have no name in the Chat Completions API
    return dumped


def _answer_format(
    request: ChatRequest, capabilities: frozenset[Capability]
) -> tuple[dict[str, Any] | None, str | None]:
    """``(response_format to send, system instruction to add)``."""
    answer_format = request.response_format
    if isinstance(answer_format, ResponseFormatJsonSchema):
        if Capability.JSON_SCHEMA in capabilities:
            return answer_format.model_dump(by_alias=True, exclude_none=True), None
        spec = answer_format.json_schema
        instruction = json_schema_instruction(spec.json_schema or {}, spec.name)
        json_object = {"type": "json_object"} if Capability.JSON_OBJECT in capabilities else None
        return json_object, instruction
    if isinstance(answer_format, ResponseFormatJsonObject) and Capability.JSON_OBJECT not in capabilities:
        return None, JSON_OBJECT_INSTRUCTION
    return (answer_format.model_dump() if answer_format is not None else None), None


def _add_system_instruction(messages: list[dict[str, Any]], instruction: str) -> None:
    """Append ``instruction`` to a leading system message, or insert one (one system turn suits every
    chat template)."""
    if messages and messages[0]["role"] == "system":
        content = messages[0]["content"]
        if isinstance(content, str):
            messages[0]["content"] = f"{content}\n\n{instruction}" if content else instruction
        else:
            messages[0]["content"] = [*content, {"type": "text", "text": instruction}]
    else:
        messages.insert(0, {"role": "system", "content": instruction})
