"""The typed error contract: every ``ModelRouterError`` subclass of the package says how it is answered.

Walks every subclass (after importing every module), builds an instance of each, and checks the HTTP
response :func:`http_error` makes of it: the class's status, an OpenAI error object, no internal detail
where the message is internal, and ``Retry-After`` where a retry may succeed. Also: every refusal code
used in the package maps to its status, and the router handler answers anything unexpected with a
generic 500.
"""

from __future__ import annotations

import importlib
import inspect
import io
import json
import math
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from botocore.exceptions import ClientError
from tests.helpers import load_event
from tests.integration.rig import router_environment
from tests.openai_shapes import assert_error_body

import modelrouter
from modelrouter.accounting.dynamo import store_error
from modelrouter.accounting.errors import BudgetExhaustedError, BudgetStoreError
from modelrouter.api import endpoints
from modelrouter.api.errors import UPSTREAM_RETRY_AFTER_S, http_error
from modelrouter.errors import (
    DENIAL_STATUS,
    GENERIC_MESSAGE,
    DenialCode,
    ModelRouterError,
    ModelsCoolingDownError,
    RequestDeniedError,
)
from modelrouter.execution.records import Attempt, DeadlineExceededError
from modelrouter.local.context import LocalLambdaContext
from modelrouter.local.functions import load_function
from modelrouter.problems import Problem
from modelrouter.providers.errors import ProviderServerError, RateLimitedError
from modelrouter.selection.decision import Exclusion, ExclusionReason

SECRET = "arn:aws:dynamodb:us-east-1:123456789012:table/modelrouter-budget-prod"
"""Internal detail every sample message carries; must never reach a body whose message is internal."""

OPENAI_ERROR_TYPES = {
    "invalid_request_error",
    "authentication_error",
    "permission_error",
    "not_found_error",
    "conflict_error",
    "unprocessable_entity_error",
    "insufficient_quota",
    "server_error",
    "upstream_error",
    "service_unavailable",
    "timeout_error",
}

EXPECTED: dict[str, tuple[int, str, bool]] = {
    # "module.Class": (HTTP status, OpenAI error type, message shown to clients)
    "modelrouter.errors.PolicyError": (503, "service_unavailable", False),
    "modelrouter.errors.InvalidRequestError": (400, "invalid_request_error", True),
    "modelrouter.errors.RequestDeniedError": (403, "permission_error", True),  # by code: see below
    "modelrouter.errors.NoEligibleModelError": (422, "unprocessable_entity_error", True),
    "modelrouter.errors.ModelsCoolingDownError": (503, "service_unavailable", True),
    "modelrouter.accounting.errors.BudgetStoreError": (503, "service_unavailable", False),
    "modelrouter.accounting.errors.BudgetExhaustedError": (429, "insufficient_quota", True),
    "modelrouter.accounting.errors.BudgetStoreUnavailableError": (503, "service_unavailable", False),
    "modelrouter.api.endpoints.UnauthorizedError": (401, "authentication_error", True),
    "modelrouter.api.endpoints.RequestTooLargeError": (413, "invalid_request_error", True),
    "modelrouter.api.idempotency.IdempotencyConflictError": (409, "conflict_error", True),
    "modelrouter.api.idempotency.IdempotencyKeyReusedError": (422, "invalid_request_error", True),
    "modelrouter.api.idempotency.IdempotencyUnavailableError": (503, "service_unavailable", False),
    "modelrouter.policy.store.PolicyUnavailableError": (503, "service_unavailable", False),
    "modelrouter.policy.store.NoActivePolicyError": (503, "service_unavailable", False),  # how to activate
    "modelrouter.learned.artifact.ArtifactError": (503, "service_unavailable", False),
    "modelrouter.settings.ConfigurationError": (503, "service_unavailable", False),
    "modelrouter.keys.errors.ApiKeyError": (500, "server_error", False),
    "modelrouter.keys.errors.MalformedKeyError": (401, "authentication_error", True),
    "modelrouter.keys.errors.InvalidKeyFieldError": (400, "invalid_request_error", True),
    "modelrouter.keys.errors.KeyStoreError": (503, "service_unavailable", False),
    "modelrouter.local.stack.LocalModeError": (500, "server_error", False),  # CLI only
    "modelrouter.local.dev_keys.DevKeysError": (500, "server_error", False),  # CLI only
    "modelrouter.local.local_env.LocalEnvError": (500, "server_error", False),  # CLI only
    "modelrouter.execution.records.ExecutionError": (500, "server_error", False),  # abstract
    "modelrouter.execution.records.AllCandidatesFailedError": (502, "upstream_error", True),
    "modelrouter.execution.records.ProvidersUnreachableError": (502, "upstream_error", True),
    "modelrouter.execution.records.AnswerRejectedError": (502, "upstream_error", True),
    "modelrouter.execution.records.DeadlineExceededError": (504, "timeout_error", True),
    "modelrouter.execution.records.ExecutionCrashedError": (500, "server_error", False),
    "modelrouter.feedback.errors.RequestNotFoundError": (404, "not_found_error", True),
    "modelrouter.feedback.errors.FeedbackConflictError": (503, "service_unavailable", True),
    "modelrouter.feedback.errors.FeedbackStoreError": (503, "service_unavailable", False),
    "modelrouter.audit.errors.ProvenanceReadError": (503, "service_unavailable", False),
    "modelrouter.audit.errors.ReadLimitExceededError": (422, "unprocessable_entity_error", True),
    # Provider errors stay inside execution; should one escape, it is a 502 with no provider detail.
    **{
        f"modelrouter.providers.errors.{name}": (502, "upstream_error", False)
        for name in (
            "ProviderError",
            "RetryableProviderError",
            "RateLimitedError",
            "ProviderTimeoutError",
            "ProviderServerError",
            "ProviderConnectionError",
            "OverloadedError",
            "MalformedResponseError",
            "BadRequestError",
            "AuthError",
            "ContextTooLongError",
            "ContentFilteredError",
            "ModelNotFoundError",
        )
    },
}

DENIALS: dict[str, int] = {
    "unknown_tenant": 403,
    "classification_not_allowed": 403,
    "pin_not_allowed": 403,
    "budget_exhausted": 429,
    "model_not_found": 404,
    "no_route": 422,
    "prompt_too_long": 400,
    "output_format_required": 400,
}


def _import_everything() -> None:
    for module in pkgutil.walk_packages(modelrouter.__path__, "modelrouter."):
        importlib.import_module(module.name)


def _subclasses(cls: type[ModelRouterError]) -> Iterator[type[ModelRouterError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _package_error_classes() -> list[type[ModelRouterError]]:
    _import_everything()
    found = {
        _name(cls): cls for cls in _subclasses(ModelRouterError) if cls.__module__.startswith("modelrouter.")
    }
    return [found[name] for name in sorted(found)]


ERROR_CLASSES = _package_error_classes()


def _expected(cls: type[ModelRouterError]) -> tuple[int, str, bool] | None:
    """The contract listed for ``cls``; a class that declares nothing itself inherits its parent's."""
    for klass in cls.__mro__:
        if _name(klass) in EXPECTED:
            return EXPECTED[_name(klass)]
        if klass is not cls or any(name in vars(klass) for name in _CONTRACT):
            return None
    return None


_CONTRACT = ("http_status", "error_type", "expose_message", "public_message")

_EXCLUSION = Exclusion(model="small", reason=ExclusionReason.COOLING_DOWN, detail="circuit open for 12 s")
_ATTEMPT = Attempt.model_construct(
    number=1,
    model="small",
    provider="bedrock",
    provider_model_id="vendor.small-v1:0",
    started_ms=0.0,
    duration_ms=12.5,
    outcome="error",
    error_code="server_error",
)
_SAMPLES: dict[str, Any] = {
    "message": f"DynamoDB TransactWriteItems on {SECRET} failed: ValidationException",
    "problems": [Problem("messages", f"is required ({SECRET})")],
    "code": "pin_not_allowed",
    "route": "default",
    "exclusions": [_EXCLUSION],
    "retry_after_s": 2.5,
    "tenant_id": "t1",
    "period": "daily",
    "attempts": [_ATTEMPT],
}
"""A value for each required constructor parameter of the package's error classes."""


def sample(cls: type[ModelRouterError]) -> ModelRouterError:
    """An instance of ``cls``, its required parameters filled from :data:`_SAMPLES`."""
    args: dict[str, Any] = {}
    for parameter in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.default is not parameter.empty:
            continue
        assert parameter.name in _SAMPLES, f"{_name(cls)}: add a sample '{parameter.name}' to _SAMPLES"
        args[parameter.name] = _SAMPLES[parameter.name]
    return cls(**args)


def test_every_module_imports_and_errors_are_found() -> None:
    # Given the package, every module imported
    # When its error classes are collected
    names = {_name(cls) for cls in ERROR_CLASSES}

    # Then the tree is found across the package, and every class has a decided contract
    assert {
        "modelrouter.errors.RequestDeniedError",
        "modelrouter.accounting.errors.BudgetStoreError",
    } <= names
    undecided = sorted(_name(cls) for cls in ERROR_CLASSES if _expected(cls) is None)
    assert not undecided, f"list these in EXPECTED (with their declared contract): {undecided}"


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=_name)
def test_every_error_class_declares_its_http_contract(cls: type[ModelRouterError]) -> None:
    # Given an error class of the package, and the contract decided for it (or its parent)
    expected = _expected(cls)
    assert expected is not None, f"list {_name(cls)} in EXPECTED"

    # Then it declares a 4xx/5xx status, a code, an OpenAI error type and whether its message is public
    assert 400 <= cls.http_status <= 599
    assert (cls.http_status, cls.error_type, cls.expose_message) == expected
    assert isinstance(cls.code, str)
    assert cls.code
    assert cls.error_type in OPENAI_ERROR_TYPES
    assert cls.expose_message or cls.public_message
    # and a 500 never shows its message (it is a bug or an outage, not the client's business)
    assert cls.http_status != 500 or not cls.expose_message


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=_name)
def test_every_error_class_becomes_an_openai_error_with_its_status(cls: type[ModelRouterError]) -> None:
    # Given an instance whose message quotes internal detail
    error = sample(cls)

    # When it is mapped to HTTP
    mapped = http_error(error)

    # Then the status is the instance's, the body an OpenAI error object with the instance's code
    assert mapped.status == error.http_status
    payload = mapped.body["error"]
    assert set(payload) >= {"message", "type", "param", "code"}
    assert_error_body(mapped.body)
    assert payload["code"] == error.code
    assert payload["type"] == error.error_type
    json.dumps(mapped.body)  # serializable
    # and an internal message is replaced, with no detail anywhere in the body
    if error.expose_message:
        assert payload["message"] == error.message
    else:
        assert payload["message"] == cls.public_message
        assert SECRET not in json.dumps(mapped.body)
        assert payload["param"] is None
    # and Retry-After is there whenever a retry may succeed
    retry_after = mapped.headers.get("Retry-After")
    if mapped.status in (502, 504):
        assert retry_after is not None
    if error.retry_after_s is not None:
        assert retry_after == str(max(1, math.ceil(error.retry_after_s)))
    if retry_after is None:
        assert mapped.headers == {}


def test_a_budget_store_refusal_quoting_its_table_says_nothing_of_it() -> None:
    # Given the budget store's translation of a DynamoDB refusal that names the table
    refusal = ClientError(
        {
            "Error": {
                "Code": "ValidationException",
                "Message": "Item size has exceeded the maximum allowed size",
            },
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "TransactWriteItems",
    )
    error = store_error(refusal, "modelrouter-budget-prod")
    assert type(error) is BudgetStoreError
    assert "modelrouter-budget-prod" in error.message

    # When it is mapped to HTTP
    mapped = http_error(error)

    # Then it is a 503 with the public message: no table, no DynamoDB, no exception text
    assert mapped.status == 503
    assert mapped.body == {
        "error": {
            "message": "the budget store could not be used; try again",
            "type": "service_unavailable",
            "param": None,
            "code": "budget_store_error",
        }
    }


def test_retry_after_follows_the_error_or_defaults_on_502_and_504() -> None:
    # Given errors that know when to retry, and upstream errors that do not
    cooling = ModelsCoolingDownError("default", [_EXCLUSION], retry_after_s=11.2)
    exhausted = BudgetExhaustedError("daily budget spent", 3600, tenant_id="t1", period="daily")
    throttled = RateLimitedError("slow down", provider="openai", status=429, retry_after_s=4)
    failed = ProviderServerError("upstream 500", provider="openai", status=500)
    late = DeadlineExceededError("deadline of 100 ms passed after 1 attempts", [_ATTEMPT])
    default = str(max(1, math.ceil(UPSTREAM_RETRY_AFTER_S)))

    # When they are mapped
    # Then each carries the right Retry-After
    assert (http_error(cooling).status, http_error(cooling).headers) == (503, {"Retry-After": "12"})
    assert (http_error(exhausted).status, http_error(exhausted).headers) == (429, {"Retry-After": "3600"})
    assert (http_error(throttled).status, http_error(throttled).headers) == (502, {"Retry-After": "4"})
    assert (http_error(failed).status, http_error(failed).headers) == (502, {"Retry-After": default})
    assert (http_error(late).status, http_error(late).headers) == (504, {"Retry-After": default})


def test_all_models_cooling_down_is_a_503_that_still_lists_the_exclusions() -> None:
    # Given every candidate of a route cooling down
    error = ModelsCoolingDownError("default", [_EXCLUSION], retry_after_s=3)

    # When it is mapped
    mapped = http_error(error)

    # Then the client may retry, and still reads why each model was left out
    assert error.code == "models_cooling_down"
    assert mapped.status == 503
    assert mapped.headers == {"Retry-After": "3"}
    assert mapped.body["router"] == {
        "route": "default",
        "exclusions": [{"model": "small", "reason": "cooling_down", "detail": "circuit open for 12 s"}],
    }


@pytest.mark.parametrize(("code", "status"), sorted(DENIALS.items()))
def test_every_refusal_code_maps_to_its_status(code: DenialCode, status: int) -> None:
    # Given a refusal with this code
    error = RequestDeniedError(code, f"refused: {code}", "model")

    # When it is mapped
    mapped = http_error(error)

    # Then its status is the intended one, its message and param are the client's
    assert mapped.status == status
    assert mapped.body["error"] == {
        "message": f"refused: {code}",
        "type": DENIAL_STATUS[code][1],
        "param": "model",
        "code": code,
    }


def test_every_refusal_code_used_in_the_package_is_typed_and_mapped() -> None:
    # Given every RequestDeniedError the package raises, found in its source
    root = Path(modelrouter.__file__).parent
    pattern = re.compile(r"RequestDeniedError\(\s*\"(\w+)\"")
    used = {code for path in root.rglob("*.py") for code in pattern.findall(path.read_text(encoding="utf-8"))}

    # Then each is a DenialCode with a status, and the test table lists them all
    assert used, "no RequestDeniedError found: has the pattern changed?"
    assert used <= set(get_args(DenialCode))
    assert set(get_args(DenialCode)) == set(DENIAL_STATUS) == set(DENIALS)


@pytest.fixture
def router(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The router handler module with a placeholder runtime (the endpoint under test is replaced)."""
    router_environment(monkeypatch)
    app = load_function("router")
    app.set_runtime(object())
    handler = app.logger.registered_handler
    previous, handler.stream = handler.stream, io.StringIO()
    try:
        yield app
    finally:
        handler.stream = previous
        app.set_runtime(None)


def _list_models_raising(
    monkeypatch: pytest.MonkeyPatch, app: Any, error: Exception
) -> tuple[int, Any, dict[str, str]]:
    def fail(*_: Any, **__: Any) -> Any:
        raise error

    monkeypatch.setattr(endpoints, "list_models", fail)
    response = app.handler(load_event("models-list"), LocalLambdaContext())
    headers = {k.lower(): v for k, v in response.headers.items()}
    return response.status_code, json.loads(response.read_all()), headers


def test_router_answers_an_unexpected_exception_with_a_generic_500(
    router: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an endpoint failing with something that is not a ModelRouterError, quoting internal detail
    error = RuntimeError(f"boto3 exploded on {SECRET}")

    # When the handler serves a request
    status, body, _ = _list_models_raising(monkeypatch, router, error)

    # Then the client gets a generic 500 with no detail, and the traceback goes to the log
    assert status == 500
    assert body == {
        "error": {"message": GENERIC_MESSAGE, "type": "server_error", "param": None, "code": "internal_error"}
    }
    assert SECRET in router.logger.registered_handler.stream.getvalue()


def test_router_answers_an_internal_domain_error_without_its_detail(
    router: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an endpoint failing with a budget store error that names the table
    error = BudgetStoreError(f"budget table {SECRET} refused the request: ValidationException")

    # When the handler serves a request
    status, body, _ = _list_models_raising(monkeypatch, router, error)

    # Then it is a 503 with the public message only
    assert status == 503
    assert body["error"]["code"] == "budget_store_error"
    assert SECRET not in json.dumps(body)


def test_router_sends_retry_after_when_every_model_cools_down(
    router: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an endpoint reporting every model cooling down for 7.5 s
    error = ModelsCoolingDownError("default", [_EXCLUSION], retry_after_s=7.5)

    # When the handler serves a request
    status, body, headers = _list_models_raising(monkeypatch, router, error)

    # Then the client reads 503 and when to retry
    assert status == 503
    assert headers["retry-after"] == "8"
    assert body["error"]["code"] == "models_cooling_down"


def test_a_failed_request_names_the_check_and_rule_that_failed_each_attempt() -> None:
    # Given every candidate's answer failed a check: the first a rule, the second the JSON schema
    from modelrouter.api.errors import http_error
    from modelrouter.execution.records import AllCandidatesFailedError, Attempt, CheckRecord

    def attempt(number: int, model: str, check: CheckRecord) -> Attempt:
        return Attempt(
            number=number,
            model=model,
            provider="bedrock",
            provider_model_id=f"vendor.{model}",
            started_ms=0.0,
            duration_ms=5.0,
            outcome="check_failed",
            checks=(check,),
        )

    rule = CheckRecord(name="rules", passed=False, action="escalate", detail="borderline", rule="borderline")
    schema = CheckRecord(name="json_schema", passed=False, action="escalate", detail="missing risk_score")
    error = AllCandidatesFailedError("all failed", [attempt(1, "small", rule), attempt(2, "large", schema)])
    # When it is rendered for the client
    body = http_error(error).body
    # Then each attempt says which check failed it, and the rule when a rule did
    assert [(a["model"], a.get("failed_check"), a.get("rule")) for a in body["router"]["attempts"]] == [
        ("small", "rules", "borderline"),
        ("large", "json_schema", None),
    ]
