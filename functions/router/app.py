"""Router API Lambda: the OpenAI-compatible HTTP API behind API Gateway (HTTP API, payload 2.0).

Thin by design: it reads what API Gateway provides (the authorizer's tenant, headers, body, request id),
calls :mod:`modelrouter.api.endpoints`, and maps every error to an OpenAI error object in one place.
The tenant comes only from the authorizer's context, never from the body or client headers.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from modelrouter.api import endpoints
from modelrouter.api.errors import HttpError, error_body
from modelrouter.api.runtime import RouterRuntime, build_runtime
from modelrouter.api.telemetry import PowertoolsTelemetry
from modelrouter.errors import ModelRouterError
from modelrouter.settings import Settings

logger = Logger()
metrics = Metrics()
tracer = Tracer()
app = APIGatewayHttpResolver()
telemetry = PowertoolsTelemetry(logger, metrics)


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
        _container.runtime = build_runtime(Settings.from_env(), telemetry)
    return _container.runtime


def _tenant() -> str | None:
    authorizer = app.current_event.request_context.authorizer
    context = authorizer.get_lambda if authorizer else None
    tenant = (context or {}).get("tenant_id")
    return tenant if isinstance(tenant, str) else None


def _body() -> bytes:
    raw = app.current_event.body or ""
    return base64.b64decode(raw) if app.current_event.is_base64_encoded else raw.encode("utf-8")


def _respond(response: endpoints.HttpResponse) -> Response[str]:
    if response.status >= 400:
        metrics.add_metric(name=f"Http{response.status // 100}xx", unit=MetricUnit.Count, value=1)
    return Response(response.status, response.content_type, response.body, response.headers)


@app.post("/v1/chat/completions")
def chat_completions() -> Response[str]:
    """Choose a model, call it, check the answer, record why."""
    event = app.current_event
    context = app.lambda_context
    response = endpoints.chat(
        runtime(),
        tenant_id=_tenant(),
        body=_body(),
        headers=dict(event.headers or {}),
        request_id=event.request_context.request_id,
        lambda_remaining_ms=context.get_remaining_time_in_millis() if context else None,
        lambda_context=context,
    )
    if response.headers.get(endpoints.REPLAYED_HEADER) == "true":
        metrics.add_metric(name="IdempotentReplays", unit=MetricUnit.Count, value=1)
    return _respond(response)


@app.post("/v1/route")
def route() -> Response[str]:
    """The decision alone: no model call, no charge."""
    metrics.add_metric(name="DryRuns", unit=MetricUnit.Count, value=1)
    return _respond(
        endpoints.route(runtime(), _tenant(), _body(), app.current_event.request_context.request_id)
    )


@app.get("/v1/models")
def models() -> Response[str]:
    """The models and routes this tenant may name."""
    metrics.add_metric(name="ModelListings", unit=MetricUnit.Count, value=1)
    return _respond(endpoints.list_models(runtime(), _tenant()))


@app.not_found
def not_found(_: Exception) -> Response[str]:
    """Unknown path or method."""
    event = app.current_event
    message = f"no route for {event.request_context.http.method} {event.raw_path}"
    return _respond(
        endpoints.error_response(HttpError(404, error_body(message, "not_found_error", "not_found")))
    )


@app.exception_handler(ModelRouterError)  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
def domain_error(error: ModelRouterError) -> Response[str]:
    """Every domain error, mapped to its status and OpenAI error object."""
    if not error.expose_message:  # clients read a public message; the detail belongs in the log
        logger.error("request failed", extra={"error_code": error.code, "detail": error.message},
                     exc_info=error.__cause__ is not None)  # fmt: skip
    return _respond(endpoints.error_response(error))


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]
def unexpected_error(error: Exception) -> Response[str]:
    """Anything else: logged with its traceback, answered with a generic 500."""
    logger.exception("unhandled error")
    body = error_body(
        "internal error; the request id identifies it in the logs", "server_error", "internal_error"
    )
    return _respond(endpoints.error_response(HttpError(500, body)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point."""
    return app.resolve(event, context)


if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and os.environ.get("POLICY_BUCKET"):
    # Load the policy during the init phase, where CPU is free and before the first request waits.
    try:
        runtime().policies.current()
    except ModelRouterError as error:  # the first request retries and answers with the error
        logger.error("cold start initialisation failed", extra={"error_code": error.code})
