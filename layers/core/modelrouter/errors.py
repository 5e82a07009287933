"""The typed error tree of modelrouter's core, and its HTTP contract.

Every error the core raises on purpose is a :class:`ModelRouterError` with a stable machine-readable
``code``. Each class also says how it is answered over HTTP, so there is no table of codes to keep in
step with the classes:

``http_status`` and ``error_type``
    The HTTP status and the OpenAI error ``type``. A class that declares neither (and inherits them
    from no class that does) is a generic 500 ``server_error``.
``expose_message``
    Whether ``message`` may be shown to API clients. When it may not (store outages whose messages
    quote tables, buckets or SDK errors; anything unexpected), clients get ``public_message`` instead.
``retry_after_s``
    Seconds after which a retry may succeed, when known (``Retry-After``).
``field``
    The request field at fault, when there is one (OpenAI's ``param``).

:func:`modelrouter.api.errors.http_error` turns these attributes into a response; the CLI maps codes to
messages and exit codes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final, Literal

from modelrouter.problems import Problem

if TYPE_CHECKING:
    from modelrouter.selection.decision import Exclusion

__all__ = [
    "DENIAL_STATUS",
    "GENERIC_MESSAGE",
    "DenialCode",
    "InvalidRequestError",
    "ModelRouterError",
    "ModelsCoolingDownError",
    "NoEligibleModelError",
    "PolicyError",
    "RequestDeniedError",
]

GENERIC_MESSAGE: Final = "internal error; the request id identifies it in the logs"
"""What clients read for an error whose message is internal."""


class ModelRouterError(Exception):
    """Base class of every error modelrouter raises on purpose: by itself, a generic 500."""

    code: str = "internal_error"
    """Stable, machine-readable error code (safe to show to API clients)."""
    http_status: int = 500
    """HTTP status of the response (4xx or 5xx)."""
    error_type: str = "server_error"
    """OpenAI error ``type`` (``invalid_request_error``, ``permission_error``, ``server_error`` …)."""
    expose_message: bool = False
    """Whether ``message`` is meant for API clients; if not, they read ``public_message``."""
    public_message: str = GENERIC_MESSAGE
    """What API clients read instead of ``message`` when ``expose_message`` is false."""
    retry_after_s: float | None = None
    """Seconds until a retry may succeed, when known (sent as ``Retry-After``)."""
    field: str | None = None
    """The request field at fault, when there is one (OpenAI's ``param``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PolicyError(ModelRouterError):
    """A policy document is malformed, has unknown keys, wrong types or broken references.

    Over HTTP (a broken active policy) it is an outage; the problems are for the operator, not clients.
    """

    code = "invalid_policy"
    http_status = 503
    error_type = "service_unavailable"
    public_message = "the routing policy is not valid; try again later"

    def __init__(self, problems: Sequence[Problem], source: str = "policy") -> None:
        self.problems = list(problems)
        self.source = source
        count = len(self.problems)
        listing = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"{source}: {count} problem{'s' if count != 1 else ''}\n{listing}")


class InvalidRequestError(ModelRouterError):
    """A chat request is malformed: missing messages, an unknown role, a wrong type (400)."""

    code = "invalid_request"
    http_status = 400
    error_type = "invalid_request_error"
    expose_message = True

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        first = self.problems[0] if self.problems else Problem("", "invalid request")
        self.field = first.path
        """The first field at fault, as OpenAI's ``param``."""
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"{first}{more}")


DenialCode = Literal[
    "unknown_tenant",
    "classification_not_allowed",
    "pin_not_allowed",
    "budget_exhausted",
    "model_not_found",
    "no_route",
    "prompt_too_long",
    "output_format_required",
]
"""Why the policy refused a well-formed request."""

DENIAL_STATUS: Final[Mapping[DenialCode, tuple[int, str]]] = {
    "unknown_tenant": (403, "permission_error"),
    "classification_not_allowed": (403, "permission_error"),
    "pin_not_allowed": (403, "permission_error"),
    "budget_exhausted": (429, "insufficient_quota"),
    "model_not_found": (404, "not_found_error"),
    "no_route": (422, "unprocessable_entity_error"),
    "prompt_too_long": (400, "invalid_request_error"),
    "output_format_required": (400, "invalid_request_error"),
}
"""HTTP status and OpenAI error type of each refusal."""


class RequestDeniedError(ModelRouterError):
    """The policy refuses a well-formed request (classification, pinning, prompt size, format).

    The status follows the code (:data:`DENIAL_STATUS`): 403 for permissions, 400 for a request the
    route cannot take, 404 for an unknown model, 422 when no route matches, 429 for a spent budget.
    """

    code = "request_denied"
    http_status = 403
    error_type = "permission_error"
    expose_message = True

    def __init__(self, code: DenialCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.http_status, self.error_type = DENIAL_STATUS.get(code, (403, "permission_error"))
        self.field = field
        """The request field the refusal is about, when there is one."""


class NoEligibleModelError(ModelRouterError):
    """Every model the route could use was left out (422); ``exclusions`` says why, model by model."""

    code = "no_eligible_model"
    http_status = 422
    error_type = "unprocessable_entity_error"
    expose_message = True

    def __init__(self, route: str, exclusions: Sequence[Exclusion], message: str | None = None) -> None:
        self.route = route
        self.exclusions = list(exclusions)
        reasons = (
            "; ".join(f"{item.model}: {item.reason}" for item in self.exclusions) or "route has no models"
        )
        super().__init__(message or f"no eligible model for route '{route}': {reasons}")


class ModelsCoolingDownError(NoEligibleModelError):
    """Every model the route could use is cooling down (open circuit): retry after the soonest reopens."""

    code = "models_cooling_down"
    http_status = 503
    error_type = "service_unavailable"

    def __init__(self, route: str, exclusions: Sequence[Exclusion], retry_after_s: float) -> None:
        super().__init__(
            route,
            exclusions,
            f"every model of route '{route}' is cooling down after failures; "
            f"retry in {max(1, math.ceil(retry_after_s))} s",
        )
        self.retry_after_s = retry_after_s
        """Seconds until the first of them may be tried again."""
