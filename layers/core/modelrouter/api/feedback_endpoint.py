"""``POST /v1/feedback``: a tenant rates one of its answers (chat completion or Message) by request id.

The tenant is the authorizer's, never the body's; errors are OpenAI error objects from the one mapping
(``functions/router/app.py``), on this path for the Messages API's clients too.
"""

from __future__ import annotations

import json

from modelrouter.api.endpoints import HttpResponse, check_size, require_tenant
from modelrouter.api.runtime import RouterRuntime

__all__ = ["feedback"]


def feedback(runtime: RouterRuntime, tenant_id: str | None, body: bytes, request_id: str) -> HttpResponse:
    """Store a score or thumbs (and a label, a comment where allowed) for one of the tenant's requests.

    Raises:
        UnauthorizedError: no authenticated tenant.
        RequestTooLargeError: the body is over the chat size limit.
        InvalidRequestError, RequestNotFoundError, FeedbackConflictError, FeedbackStoreError: from
            :meth:`~modelrouter.feedback.FeedbackService.submit`.
    """
    tenant = require_tenant(tenant_id, "your API key ('Authorization: Bearer <key>' or x-api-key)")
    check_size(runtime, body)
    result = runtime.feedback.submit(tenant, body)
    return HttpResponse(
        200, json.dumps(result.as_json(), ensure_ascii=False), headers={"x-request-id": request_id}
    )
