"""Who is asking and under what constraints: the request context the engine decides in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from modelrouter.errors import InvalidRequestError
from modelrouter.policy.common import DataClassification
from modelrouter.problems import Problem

__all__ = [
    "METADATA_CLASSIFICATION",
    "METADATA_REGION",
    "METADATA_TAGS",
    "ROUTING_METADATA_KEYS",
    "RequestContext",
]

METADATA_CLASSIFICATION = "data_classification"
"""Request ``metadata`` key declaring the data classification."""
METADATA_REGION = "region"
"""Request ``metadata`` key restricting model residency (``eu``)."""
METADATA_TAGS = "tags"
"""Request ``metadata`` key with comma-separated routing tags."""
ROUTING_METADATA_KEYS: Final = (METADATA_CLASSIFICATION, METADATA_REGION, METADATA_TAGS)
"""Every request ``metadata`` key the router reads; ``docs/request-metadata.md`` has one row for each
(a test compares them). A new routing signal read from ``metadata`` adds its key here and a row there."""


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Facts about a request that do not come from its messages.

    ``tenant_id`` comes from the authorizer, never from the request body.
    """

    request_id: str
    """Unique request id; weighted splits are deterministic per request id."""
    tenant_id: str
    """The authenticated tenant."""
    data_classification: DataClassification | None = None
    """Declared classification; the tenant's default applies when None."""
    region: str | None = None
    """Residency the request demands (``eu``), if any."""
    tags: frozenset[str] = field(default_factory=frozenset)
    """Routing tags."""
    over_budget: bool = False
    """The tenant's budget is exhausted: use its ``over_budget_route`` or refuse."""
    cooling_down: frozenset[str] = field(default_factory=frozenset)
    """Model ids whose circuit breaker is open right now; they are skipped."""

    @classmethod
    def from_metadata(
        cls, request_id: str, tenant_id: str, metadata: Mapping[str, str] | None
    ) -> RequestContext:
        """Build a context from the request's ``metadata`` (classification, region, tags).

        Raises:
            InvalidRequestError: ``metadata.data_classification`` is not a known level.
        """
        metadata = metadata or {}
        classification = None
        if raw := metadata.get(METADATA_CLASSIFICATION):
            try:
                classification = DataClassification(raw.strip().lower())
            except ValueError:
                levels = ", ".join(level.value for level in DataClassification)
                raise InvalidRequestError(
                    [
                        Problem(
                            f"metadata.{METADATA_CLASSIFICATION}",
                            f"unknown level {raw!r}; use one of {levels}",
                        )
                    ]
                ) from None
        region = (metadata.get(METADATA_REGION) or "").strip().lower() or None
        tags = frozenset(tag.strip() for tag in (metadata.get(METADATA_TAGS) or "").split(",") if tag.strip())
        return cls(request_id, tenant_id, classification, region, tags)
