"""The HTTP endpoints, independent of Lambda: authenticated tenant + raw request in, status + body out.

The Lambda handler (``functions/router/app.py``) only extracts what API Gateway gives (the authorizer's
tenant, headers, body, request id) and turns :class:`HttpResponse` into its response type.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from modelrouter.api.errors import HttpError, http_error
from modelrouter.api.health import health_report
from modelrouter.api.idempotency import IdempotencyUnavailableError, check_key
from modelrouter.api.openai_format import chat_response, model_list, model_object
from modelrouter.api.openai_stream import live_events
from modelrouter.api.runtime import RouterRuntime
from modelrouter.errors import InvalidRequestError, ModelRouterError, RequestDeniedError
from modelrouter.execution.spending import reserve_amount
from modelrouter.live import LiveChat
from modelrouter.problems import Problem
from modelrouter.selection.compliance import compliance_block

if TYPE_CHECKING:
    from modelrouter.accounting.usage_read import BreakdownCache

__all__ = [
    "IDEMPOTENCY_HEADER",
    "NO_STORE",
    "REPLAYED_HEADER",
    "HttpResponse",
    "RequestTooLargeError",
    "StreamedHttpResponse",
    "UnauthorizedError",
    "chat",
    "check_size",
    "error_response",
    "get_model",
    "health",
    "list_models",
    "require_tenant",
    "route",
    "usage",
]

IDEMPOTENCY_HEADER = "idempotency-key"
"""Request header that makes a chat request idempotent (per tenant)."""
REPLAYED_HEADER = "idempotent-replayed"
"""Response header set to ``true`` when the body is the stored first response."""
NO_STORE = "no-store"
"""``Cache-Control`` of answers that change from one moment to the next (usage, health)."""


class UnauthorizedError(ModelRouterError):
    """The request reached the function without an authenticated tenant (401)."""

    code = "unauthorized"
    http_status = 401
    error_type = "authentication_error"
    expose_message = True


class RequestTooLargeError(ModelRouterError):
    """The request body is larger than ``MAX_BODY_BYTES`` (413)."""

    code = "request_too_large"
    http_status = 413
    error_type = "invalid_request_error"
    expose_message = True


@dataclass(frozen=True)
class HttpResponse:
    """What an endpoint answers."""

    status: int
    """HTTP status."""
    body: str
    """Serialized body."""
    content_type: str = "application/json"
    """Media type of ``body``."""
    headers: dict[str, str] = field(default_factory=dict)
    """Extra headers."""


@dataclass
class StreamedHttpResponse:
    """An endpoint's answer whose body is produced while it is sent (server-sent events).

    ``chunks`` is a generator: iterating it runs the request (model call, checks, settlement happen
    as it goes); ``close()`` on it, when the client went away, stops the model call, charges what was
    generated and records the request. Whoever sends it must either exhaust or close it.
    """

    status: int
    """HTTP status (sent before the first chunk)."""
    chunks: Iterator[bytes]
    """The body, chunk by chunk."""
    content_type: str = "text/event-stream"
    """Media type of the body."""
    headers: dict[str, str] = field(default_factory=dict)
    """Extra headers."""

    def close(self) -> None:
        """Stop the body early (harmless after it ended)."""
        closer = getattr(self.chunks, "close", None)
        if callable(closer):
            closer()


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(status, json.dumps(body, ensure_ascii=False), headers=headers or {})


def error_response(error: ModelRouterError | HttpError) -> HttpResponse:
    """The OpenAI error response of a domain error (the one mapping of errors to HTTP)."""
    mapped = error if isinstance(error, HttpError) else http_error(error)
    return _json(mapped.status, mapped.body, mapped.headers)


BEARER_HINT = "'Authorization: Bearer <api key>'"
"""How an OpenAI client sends its key, for the 401 of a request without one."""


def require_tenant(tenant_id: str | None, how: str = BEARER_HINT) -> str:
    """The authorizer's tenant; :class:`UnauthorizedError` (401) saying ``how`` to send a key without one."""
    if not tenant_id:
        raise UnauthorizedError(f"no authenticated tenant: send {how}")
    return tenant_id


def check_size(runtime: RouterRuntime, body: bytes) -> None:
    """:class:`RequestTooLargeError` (413) for a body over the function's ``MAX_BODY_BYTES``."""
    limit = runtime.settings.max_body_bytes
    if len(body) > limit:
        raise RequestTooLargeError(f"request body is {len(body)} bytes; the limit is {limit}")


def chat(
    runtime: RouterRuntime,
    *,
    tenant_id: str | None,
    body: bytes,
    headers: dict[str, str],
    request_id: str,
    lambda_remaining_ms: int | None = None,
    lambda_context: Any = None,
) -> HttpResponse | StreamedHttpResponse:
    """``POST /v1/chat/completions``, with ``Idempotency-Key`` support.

    ``stream: true`` requests on routes that stream incrementally get a :class:`StreamedHttpResponse`
    whose chunks are written as the model produces them; with ``Idempotency-Key`` a stream is answered
    validated (whole, then as events), so that its replay is the same bytes.
    """
    tenant = require_tenant(tenant_id)
    check_size(runtime, body)

    def execute() -> dict[str, Any]:
        text, content_type = chat_response(
            runtime.service.chat(tenant, body, request_id, lambda_remaining_ms)
        )
        return {"content_type": content_type, "body": text}

    key = next((value for name, value in headers.items() if name.lower() == IDEMPOTENCY_HEADER), None)
    if key is None:
        answer = runtime.service.respond(tenant, body, request_id, lambda_remaining_ms)
        if isinstance(answer, LiveChat):
            created = int(answer.admitted.started.timestamp())
            extra = {"x-request-id": request_id, "cache-control": "no-cache"}
            return StreamedHttpResponse(200, live_events(answer, created), headers=extra)
        text, content_type = chat_response(answer)
        return HttpResponse(200, text, content_type, {"x-request-id": request_id})
    if runtime.idempotency is None:
        raise IdempotencyUnavailableError(
            "this deployment has no idempotency table; omit the Idempotency-Key header"
        )
    executed = False

    def execute_once() -> dict[str, Any]:
        nonlocal executed
        executed = True
        return execute()

    window = runtime.service.idempotency_window_s(tenant)
    stored = runtime.idempotency.run(
        tenant, check_key(key), body, execute_once, lambda_context=lambda_context, window_s=window
    )
    extra = {"x-request-id": request_id, REPLAYED_HEADER: "false" if executed else "true"}
    return HttpResponse(200, stored["body"], stored["content_type"], extra)


def route(runtime: RouterRuntime, tenant_id: str | None, body: bytes, request_id: str) -> HttpResponse:
    """``POST /v1/route``: the decision, without calling a model or charging."""
    tenant = require_tenant(tenant_id)
    check_size(runtime, body)
    decision, policy = runtime.service.route(tenant, body, request_id)
    answer = {"object": "router.decision", "reserve_usd": reserve_amount(decision, policy)}
    answer.update(decision.model_dump(mode="json"))
    answer["compliance"] = compliance_block(decision, decision.primary.model)  # as the primary would answer
    return _json(200, answer, {"x-request-id": request_id})


def list_models(runtime: RouterRuntime, tenant_id: str | None) -> HttpResponse:
    """``GET /v1/models``: exactly what this tenant may name in ``model`` (``auto``, routes, models)."""
    return _json(200, model_list(runtime.service.models(require_tenant(tenant_id))))


def get_model(runtime: RouterRuntime, tenant_id: str | None, model_id: str) -> HttpResponse:
    """``GET /v1/models/{model}``: one name this tenant may use; 404 ``model_not_found`` for any other."""
    return _json(200, model_object(runtime.service.model(require_tenant(tenant_id), model_id)))


def usage(runtime: RouterRuntime, tenant_id: str | None, query: Any = None) -> HttpResponse:
    """``GET /v1/usage``: the caller's own spend today and this month, open holds, budgets, what remains.

    ``?breakdown=true`` adds ``breakdown``: the current UTC month by day, route and model, with requests
    and cost per successful outcome (:func:`~modelrouter.accounting.usage_read.read_usage`, as
    ``modelrouter usage``); ``?month=YYYY-MM`` breaks down that month. Only when asked for: it reads the
    month's ledger items and provenance records, at most ``API_MAX_PAGES`` pages of each (more: 422).
    A malformed ``breakdown`` or ``month`` is a 400 naming it.
    """
    tenant = require_tenant(tenant_id)
    wanted, month = _usage_breakdown(query if isinstance(query, Mapping) else {})
    if not wanted:
        return _json(200, runtime.service.usage(tenant).as_json(), {"cache-control": NO_STORE})
    from modelrouter.accounting.errors import BudgetStoreUnavailableError
    from modelrouter.accounting.periods import month_key
    from modelrouter.accounting.store import BudgetStore
    from modelrouter.accounting.usage_read import API_MAX_PAGES, read_usage
    from modelrouter.audit.store import ProvenanceReader

    store = runtime.service.budgets
    if not isinstance(store, BudgetStore):
        raise BudgetStoreUnavailableError("this budget ledger cannot report usage")
    found = runtime.policies.current().policy.tenant_by_id.get(tenant)
    if found is None:
        raise RequestDeniedError("unknown_tenant", f"tenant '{tenant}' is not in the active policy")
    records = ProvenanceReader(runtime.settings.provenance_table, store.client, max_pages=API_MAX_PAGES)
    chosen = month if month is not None else datetime.now(UTC)
    report = _breakdowns().report(
        store, tenant, month_key(chosen), lambda: read_usage(store, records, found, month=chosen)
    )
    return _json(200, report.as_json(), {"cache-control": NO_STORE})


@functools.cache
def _breakdowns() -> BreakdownCache:
    """The container's ``GET /v1/usage`` breakdowns (made on first use), kept a minute per tenant, month."""
    from modelrouter.accounting.usage_read import BreakdownCache

    return BreakdownCache()


def _usage_breakdown(query: Mapping[str, Any]) -> tuple[bool, datetime | None]:
    """Whether ``GET /v1/usage``'s query asks for a breakdown, and of which month (None: the current)."""
    from modelrouter.audit.inputs import InputError, month_start, shown

    flag, month = query.get("breakdown"), query.get("month")
    if flag is not None and flag not in {"true", "false"}:
        raise InvalidRequestError([Problem("breakdown", f"must be true or false, not {shown(str(flag))}")])
    if month is None:
        return flag == "true", None
    if flag == "false":
        raise InvalidRequestError([Problem("breakdown", "is false, but month asks for a breakdown")])
    try:
        return True, month_start(str(month))
    except InputError as error:
        raise InvalidRequestError([Problem("month", str(error))]) from None


def health(runtime: RouterRuntime) -> HttpResponse:
    """``GET /health`` (no key): status and policy version; 503 when no policy was ever loaded."""
    status, body = health_report(runtime.policies.state(), runtime.service.cooling_down())
    return _json(status, body, {"cache-control": NO_STORE})
