"""Errors of reading provenance (and budget) records for usage and audit."""

from __future__ import annotations

from modelrouter.errors import ModelRouterError

__all__ = ["ProvenanceReadError", "ReadLimitExceededError"]


class ProvenanceReadError(ModelRouterError):
    """The provenance table could not be read (missing, throttled, no credentials): an outage."""

    code = "provenance_unavailable"
    http_status = 503
    error_type = "service_unavailable"
    public_message = "the provenance records could not be read; try again"


class ReadLimitExceededError(ModelRouterError):
    """Answering would take more pages of reads than the caller allows (``GET /v1/usage``'s breakdown of
    a very busy month); the message says what to use instead."""

    code = "read_limit_exceeded"
    http_status = 422
    error_type = "unprocessable_entity_error"
    expose_message = True
