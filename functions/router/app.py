"""Router API Lambda: the OpenAI-compatible API behind API Gateway's REST API, streamed.

API Gateway invokes it with REST API Lambda proxy events (payload 1.0) through a streaming integration
(``responseTransferMode: STREAM``); the handler returns a
:class:`~modelrouter.lambda_runtime.StreamingResponse`, which the layer's runtime loop
(:mod:`modelrouter.lambda_runtime`) sends as it is produced.

Thin by design: it dispatches on method and resource path (:data:`ROUTES`; Powertools' REST
resolver would buffer the body), reads what API Gateway provides (the authorizer's tenant, headers,
path parameters, body, request id), calls :mod:`modelrouter.api.endpoints` (Anthropic's Messages API:
:mod:`modelrouter.api.messages_endpoint`), and maps every error to an error object in one place
(:func:`_answer`): OpenAI's, or Anthropic's on the Messages paths (:data:`ANTHROPIC_RESOURCES`), with
the same status. The tenant comes only from ``requestContext.authorizer.tenant_id``, never from the
body or client headers.

Metrics are EMF lines: the handler's decorator flushes what the request recorded before the body
streams; a streamed body flushes what it recorded in its ``finally`` (also when the client went away).
Every error response is counted by its status class where the status is set (:func:`_streaming`):
``ClientErrors`` (4xx) or ``ServerErrors`` (5xx); a streamed body that raises after its 200 went out
counts a ``ServerErrors`` too (one that ends with an error event is counted by the telemetry).
"""

from __future__ import annotations

import base64
import binascii
import os
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from modelrouter import env_names
from modelrouter.api.errors import HttpError, error_body
from modelrouter.api.telemetry import PowertoolsTelemetry
from modelrouter.errors import GENERIC_MESSAGE, InvalidRequestError, ModelRouterError
from modelrouter.lambda_runtime import StreamingResponse
from modelrouter.problems import Problem
from modelrouter.telemetry_names import Metric
from modelrouter.tracing import Recorder, recorder

if TYPE_CHECKING:  # the endpoints and the runtime import the whole router: on first use only
    from modelrouter.api.endpoints import HttpResponse, StreamedHttpResponse
    from modelrouter.api.runtime import RouterRuntime

__all__ = [
    "ANTHROPIC_RESOURCES",
    "ROUTES",
    "handler",
    "logger",
    "metrics",
    "runtime",
    "set_runtime",
    "telemetry",
    "tracer",
]

logger = Logger()
metrics = Metrics()
tracer: Recorder = recorder  # X-Ray subsegments without the X-Ray SDK (see modelrouter.tracing)
telemetry = PowertoolsTelemetry(logger, metrics)
# A streamed answer records its metrics while streaming, after the handler's flush: expected, not news.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

Endpoint = Callable[[dict[str, Any], LambdaContext], "HttpResponse | StreamedHttpResponse"]


class _Container:
    """What this Lambda container keeps between invocations."""

    runtime: RouterRuntime | None = None


_container = _Container()


def set_runtime(runtime: RouterRuntime | None) -> None:
    """Use ``runtime`` instead of one built from the environment (tests, local mode)."""
    _container.runtime = runtime


def runtime() -> RouterRuntime:
    """The container's runtime, built from the environment on first use."""
    if _container.runtime is None:
        from modelrouter.api.runtime import build_runtime
        from modelrouter.settings import Settings

        _container.runtime = build_runtime(Settings.from_env(), telemetry)
    return _container.runtime


# --- Reading the event -----------------------------------------------------------------------------


def _request_context(event: dict[str, Any]) -> dict[str, Any]:
    context = event.get("requestContext")
    return context if isinstance(context, dict) else {}


def _tenant(event: dict[str, Any]) -> str | None:
    authorizer = _request_context(event).get("authorizer")
    tenant = authorizer.get("tenant_id") if isinstance(authorizer, dict) else None
    return tenant if isinstance(tenant, str) and tenant else None


def _request_id(event: dict[str, Any]) -> str:
    return str(_request_context(event).get("requestId") or "")


def _headers(event: dict[str, Any]) -> dict[str, str]:
    headers = event.get("headers")
    return {str(k): str(v) for k, v in headers.items()} if isinstance(headers, dict) else {}


def _body(event: dict[str, Any]) -> bytes:
    raw = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return str(raw).encode("utf-8")
    try:
        return base64.b64decode(str(raw), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequestError([Problem("", "the request body is not valid base64")]) from None


# --- Routes ----------------------------------------------------------------------------------------


def _converse(
    endpoint: Callable[..., HttpResponse | StreamedHttpResponse],
    event: dict[str, Any],
    context: LambdaContext,
) -> HttpResponse | StreamedHttpResponse:
    """Run a chat endpoint (OpenAI's or Anthropic's dialect) on what API Gateway gives."""
    from modelrouter.api import endpoints

    response = endpoint(
        runtime(),
        tenant_id=_tenant(event),
        body=_body(event),
        headers=_headers(event),
        request_id=_request_id(event),
        lambda_remaining_ms=context.get_remaining_time_in_millis() if context else None,
        lambda_context=context,
    )
    if response.headers.get(endpoints.REPLAYED_HEADER) == "true":
        metrics.add_metric(name="IdempotentReplays", unit=MetricUnit.Count, value=1)
    return response


def chat_completions(event: dict[str, Any], context: LambdaContext) -> HttpResponse | StreamedHttpResponse:
    """Choose a model, call it, check the answer, record why."""
    from modelrouter.api import endpoints

    return _converse(endpoints.chat, event, context)


def route(event: dict[str, Any], context: LambdaContext) -> HttpResponse:
    """The decision alone: no model call, no charge."""
    from modelrouter.api import endpoints

    metrics.add_metric(name="DryRuns", unit=MetricUnit.Count, value=1)
    return endpoints.route(runtime(), _tenant(event), _body(event), _request_id(event))


def models(event: dict[str, Any], context: LambdaContext) -> HttpResponse:
    """The models and routes this tenant may name."""
    from modelrouter.api import endpoints

    metrics.add_metric(name="ModelListings", unit=MetricUnit.Count, value=1)
    return endpoints.list_models(runtime(), _tenant(event))


def model(event: dict[str, Any], context: LambdaContext) -> HttpResponse:
    """One model or route this tenant may name (404 for any other)."""
    from modelrouter.api import endpoints

    return endpoints.get_model(runtime(), _tenant(event), _path_parameter(event, "model"))


def usage(event: dict[str, Any], context: LambdaContext) -> HttpResponse:
    """The caller's own spend today and this month, its budgets and what remains (``?breakdown=true``,
    ``?month=YYYY-MM``: the month by day, route and model)."""
    from modelrouter.api import endpoints

    return endpoints.usage(runtime(), _tenant(event), event.get("queryStringParameters"))


def health(event: dict[str, Any], context: LambdaContext) -> HttpResponse:
    """Liveness and the active policy version; no key, no secrets."""
    from modelrouter.api import endpoints

    return endpoints.health(runtime())


def feedback(event: dict[str, Any], context: LambdaContext) -> HttpResponse:
    """A score or thumbs for one of the caller's answers, stored with its provenance record."""
    from modelrouter.api import feedback_endpoint

    return feedback_endpoint.feedback(runtime(), _tenant(event), _body(event), _request_id(event))


def messages(event: dict[str, Any], context: LambdaContext) -> HttpResponse | StreamedHttpResponse:
    """Anthropic's Messages API, through the same policy, budgets, checks and provenance."""
    from modelrouter.api import messages_endpoint

    return _converse(messages_endpoint.messages, event, context)


def count_tokens(event: dict[str, Any], context: LambdaContext) -> HttpResponse:
    """Anthropic's token count of a Messages request (the router's estimate); no model call."""
    from modelrouter.api import messages_endpoint

    return messages_endpoint.count_tokens(runtime(), _tenant(event), _body(event))


ROUTES: dict[str, dict[str, Endpoint]] = {
    "/v1/chat/completions": {"POST": chat_completions},
    "/v1/messages": {"POST": messages},
    "/v1/messages/count_tokens": {"POST": count_tokens},
    "/v1/route": {"POST": route},
    "/v1/feedback": {"POST": feedback},
    "/v1/models": {"GET": models},
    "/v1/models/{model}": {"GET": model},
    "/v1/usage": {"GET": usage},
    "/health": {"GET": health},
}
"""Resource path → method → endpoint: what the API serves (the template's OpenAPI paths)."""


def _path_parameter(event: dict[str, Any], name: str) -> str:
    parameters = event.get("pathParameters")
    value = parameters.get(name) if isinstance(parameters, dict) else None
    return str(value) if value is not None else ""


def _dispatch(
    event: dict[str, Any], context: LambdaContext
) -> HttpResponse | StreamedHttpResponse | HttpError:
    # ``resource`` is the template's path (``/v1/models/{model}``); ``path`` the one the client sent.
    method, path = str(event.get("httpMethod") or ""), str(event.get("path") or "")
    methods = ROUTES.get(str(event.get("resource") or path))
    if methods is None:
        return HttpError(404, error_body(f"no route for {method} {path}", "not_found_error", "not_found"))
    endpoint = methods.get(method)
    if endpoint is None:
        allowed = ", ".join(sorted(methods))
        message = f"{path} does not accept {method}; use {allowed}"
        return HttpError(
            405, error_body(message, "invalid_request_error", "method_not_allowed"), {"Allow": allowed}
        )
    return endpoint(event, context)


# --- Answering -------------------------------------------------------------------------------------


ANTHROPIC_RESOURCES = frozenset({"/v1/messages", "/v1/messages/count_tokens"})
"""Resource paths of Anthropic's Messages API: their errors are Anthropic error objects (same statuses)."""


def _error_response(event: dict[str, Any], error: ModelRouterError | HttpError) -> HttpResponse:
    """The error response in the dialect of the API the request called (OpenAI, or Anthropic's)."""
    if str(event.get("resource") or "") in ANTHROPIC_RESOURCES:
        from modelrouter.api import messages_endpoint

        return messages_endpoint.error_response(error)
    from modelrouter.api import endpoints

    return endpoints.error_response(error)


def _answer(event: dict[str, Any], context: LambdaContext) -> HttpResponse | StreamedHttpResponse:
    """The endpoint's response, or the error response of whatever it raised (the one error mapping)."""
    try:
        answer = _dispatch(event, context)
    except ModelRouterError as error:
        if not error.expose_message:  # clients read a public message; the detail belongs in the log
            logger.error("request failed", extra={"error_code": error.code, "detail": error.message},
                         exc_info=error.__cause__ is not None)  # fmt: skip
        return _error_response(event, error)
    except Exception:
        logger.exception("unhandled error")
        body = error_body(GENERIC_MESSAGE, "server_error", "internal_error")
        return _error_response(event, HttpError(500, body))
    return _error_response(event, answer) if isinstance(answer, HttpError) else answer


def _streamed_body(chunks: Iterator[bytes], close: Callable[[], None]) -> Iterator[bytes]:
    """``chunks``, with the metrics they record flushed however the stream ends."""
    try:
        yield from chunks
    except Exception:
        logger.exception("the response stream failed")
        metrics.add_metric(name=Metric.SERVER_ERRORS, unit=MetricUnit.Count, value=1)
        raise
    finally:
        close()  # harmless after the end; stops and settles the request when the client went away
        metrics.flush_metrics()


def _streaming(response: HttpResponse | StreamedHttpResponse) -> StreamingResponse:
    """The endpoint's answer as the response the runtime loop streams."""
    from modelrouter.api.endpoints import HttpResponse

    if response.status >= 400:
        metrics.add_metric(name=f"Http{response.status // 100}xx", unit=MetricUnit.Count, value=1)
        status_class = Metric.SERVER_ERRORS if response.status >= 500 else Metric.CLIENT_ERRORS
        metrics.add_metric(name=status_class, unit=MetricUnit.Count, value=1)
    headers = {"Content-Type": response.content_type, **response.headers}
    if isinstance(response, HttpResponse):
        return StreamingResponse(response.status, headers, (response.body.encode("utf-8"),))
    return StreamingResponse(response.status, headers, _streamed_body(response.chunks, response.close))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_handler(service=logger.service)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> StreamingResponse:
    """Lambda entry point: a REST API proxy event in, a streaming response out."""
    return _streaming(_answer(event if isinstance(event, dict) else {}, context))


if os.environ.get(env_names.AWS_LAMBDA_FUNCTION_NAME) and os.environ.get(env_names.POLICY_BUCKET):
    # Load the policy during the init phase, where CPU is free and before the first request waits.
    try:
        runtime().policies.current()
    except ModelRouterError as error:  # the first request retries and answers with the error
        logger.error("cold start initialisation failed", extra={"error_code": error.code})

if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start":  # template: RouterSnapStart
    from modelrouter.api.snapstart_hooks import install

    install(runtime)  # policy into the snapshot; re-checked, re-seeded and renamed after each restore
