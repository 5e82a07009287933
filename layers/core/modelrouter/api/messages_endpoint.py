"""``POST /v1/messages`` and ``POST /v1/messages/count_tokens``: Anthropic's Messages API, served by the
same router service as ``/v1/chat/completions``.

A Messages request is translated into the router's chat request (:mod:`modelrouter.api.anthropic_format`)
and answered by :meth:`~modelrouter.service.RouterService.respond` or, with ``Idempotency-Key``,
:meth:`~modelrouter.service.RouterService.chat`, exactly as chat completions are: the same policy,
budget hold, checks, settlement and provenance record. The answer is Anthropic's ``Message`` (or its
event stream) with the router's ``router`` block; errors are Anthropic error objects
(:func:`error_response`, which ``functions/router/app.py`` uses for these paths).

Routing metadata comes from the body's ``metadata`` (every key but ``user_id``) and from the
``X-Router-Metadata`` header: a JSON object of string values (``{"data_classification": "internal"}``).
``k=v`` lists are not accepted, because ``tags`` values hold commas themselves.
"""

from __future__ import annotations

import json
from typing import Any

from modelrouter.api.anthropic_errors import in_anthropic_dialect
from modelrouter.api.anthropic_format import METADATA_HEADER, Translation, parse_request, to_chat_request
from modelrouter.api.anthropic_message import message
from modelrouter.api.anthropic_request import CountTokensRequest, MessagesRequest
from modelrouter.api.anthropic_stream import live_events, stream_events
from modelrouter.api.endpoints import (
    IDEMPOTENCY_HEADER,
    REPLAYED_HEADER,
    HttpResponse,
    StreamedHttpResponse,
    check_size,
    require_tenant,
)
from modelrouter.api.errors import HttpError, http_error
from modelrouter.api.idempotency import IdempotencyUnavailableError, check_key
from modelrouter.api.openai_format import router_summary
from modelrouter.api.runtime import RouterRuntime
from modelrouter.errors import InvalidRequestError, ModelRouterError
from modelrouter.features.tokens import estimate_request_tokens
from modelrouter.live import LiveChat
from modelrouter.problems import Problem
from modelrouter.request import parse_chat_request
from modelrouter.service import ChatOutcome

__all__ = ["IDEMPOTENCY_SCOPE", "count_tokens", "error_response", "header_metadata", "messages", "summary_of"]

IDEMPOTENCY_SCOPE = "messages:"
"""Prefix of this endpoint's idempotency keys: the same ``Idempotency-Key`` sent to
``/v1/chat/completions`` is another key, so a replay never answers in the other API's format."""


def error_response(error: ModelRouterError | HttpError) -> HttpResponse:
    """The Anthropic error response of a domain error (the statuses of the one mapping, Anthropic's shape)."""
    mapped = in_anthropic_dialect(error if isinstance(error, HttpError) else http_error(error))
    return HttpResponse(mapped.status, json.dumps(mapped.body, ensure_ascii=False), headers=mapped.headers)


def _tenant(tenant_id: str | None) -> str:
    return require_tenant(tenant_id, "'x-api-key: <api key>'")


def _header(headers: dict[str, str], wanted: str) -> str | None:
    """The value of header ``wanted`` (lower case; names are matched case-insensitively), or None."""
    return next((value for name, value in headers.items() if name.lower() == wanted), None)


def _translated(
    runtime: RouterRuntime, body: bytes, model: type[CountTokensRequest], headers: dict[str, str]
) -> Translation:
    """The router's chat request for a Messages (or count-tokens) body within the size limit."""
    check_size(runtime, body)
    return to_chat_request(parse_request(body, model), header_metadata(headers))


def header_metadata(headers: dict[str, str]) -> dict[str, str]:
    """The routing metadata of the ``X-Router-Metadata`` header (empty without it).

    Raises:
        InvalidRequestError: naming the header, when it is not a JSON object of string values.
    """
    raw = _header(headers, METADATA_HEADER.lower())
    if raw is None:
        return {}
    try:
        found = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested too deep for the decoder's stack
        found = None
    if not isinstance(found, dict) or not all(isinstance(v, str) for v in found.values()):
        message_text = 'must be a JSON object of string values, e.g. {"data_classification": "internal"}'
        raise InvalidRequestError([Problem(METADATA_HEADER, message_text)])
    return found


def summary_of(outcome: ChatOutcome, ignored: tuple[str, ...]) -> dict[str, Any]:
    """The ``router`` block of a whole answer, with the fields the translation dropped."""
    return router_summary(outcome.decision, outcome.result, outcome.latency_ms, outcome.reserved_usd,
                          overage_usd=outcome.closed.overage_usd, ignored=ignored)  # fmt: skip


def _answer(outcome: ChatOutcome, ignored: tuple[str, ...]) -> dict[str, str]:
    """A whole answer's body and content type: a ``Message``, or its events for ``stream: true``."""
    summary = summary_of(outcome, ignored)
    if outcome.request.stream:
        return {"content_type": "text/event-stream", "body": stream_events(outcome.result, summary)}
    return {"content_type": "application/json", "body": json.dumps(message(outcome.result, summary))}


def messages(
    runtime: RouterRuntime,
    *,
    tenant_id: str | None,
    body: bytes,
    headers: dict[str, str],
    request_id: str,
    lambda_remaining_ms: int | None = None,
    lambda_context: Any = None,
) -> HttpResponse | StreamedHttpResponse:
    """``POST /v1/messages``: Anthropic's Messages API through the router, with ``Idempotency-Key``.

    ``stream: true`` on a route that streams incrementally answers with events written as the model
    produces them; with ``Idempotency-Key`` a stream is answered validated (whole, then as events).
    """
    tenant = _tenant(tenant_id)
    translation = _translated(runtime, body, MessagesRequest, headers)
    chat_body = translation.body  # already a JSON object: the service validates it without a round trip
    extra = {"x-request-id": request_id}
    key = _header(headers, IDEMPOTENCY_HEADER)
    if key is not None:
        if runtime.idempotency is None:
            raise IdempotencyUnavailableError(
                "this deployment has no idempotency table; omit Idempotency-Key"
            )
        executed: list[bool] = []

        def execute() -> dict[str, Any]:
            executed.append(True)
            outcome = runtime.service.chat(tenant, chat_body, request_id, lambda_remaining_ms)
            return _answer(outcome, translation.ignored)

        window = runtime.service.idempotency_window_s(tenant)
        scoped = IDEMPOTENCY_SCOPE + check_key(key)
        stored = runtime.idempotency.run(
            tenant, scoped, body, execute, lambda_context=lambda_context, window_s=window
        )
        extra[REPLAYED_HEADER] = "false" if executed else "true"
        return HttpResponse(200, stored["body"], stored["content_type"], extra)
    outcome_or_live = runtime.service.respond(tenant, chat_body, request_id, lambda_remaining_ms)
    if not isinstance(outcome_or_live, LiveChat):
        whole = _answer(outcome_or_live, translation.ignored)
        return HttpResponse(200, whole["body"], whole["content_type"], extra)
    events = live_events(outcome_or_live, translation.ignored)
    return StreamedHttpResponse(200, events, headers={**extra, "cache-control": "no-cache"})


def count_tokens(runtime: RouterRuntime, tenant_id: str | None, body: bytes) -> HttpResponse:
    """``POST /v1/messages/count_tokens``: the router's estimate of the request's prompt tokens, the same
    estimate routing and budgets use (``{"input_tokens": n}``); no model call, no charge."""
    _tenant(tenant_id)
    translation = _translated(runtime, body, CountTokensRequest, {})
    request = parse_chat_request(translation.body)
    answer = {
        "input_tokens": estimate_request_tokens(request),
        "router": {"ignored_fields": list(translation.ignored)},
    }
    return HttpResponse(200, json.dumps(answer))
