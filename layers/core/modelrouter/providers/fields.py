"""Which of a request's fields a call leaves out: ``router.ignored_fields``, computed, never listed by hand.

A field the request uses (:func:`~modelrouter.request_fields.used_fields`) is honoured when the router
itself honours it for every model (:data:`~modelrouter.request_fields.ROUTER_FIELDS`), or when the
answering model's provider declares it (each provider's ``HONOURED_FIELDS``, next to its mapping) and
does not drop it for this call (its ``dropped_fields``: the model's capabilities, values without an
equivalent). Every other used field is ignored, and so is a field another one overrides
(``function_call`` beside ``tool_choice``). ``metadata`` keys that look like a routing key without
being one are reported too (:func:`~modelrouter.request_fields.metadata_near_misses`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from modelrouter.policy.catalog import ModelSpec
from modelrouter.policy.common import ProviderKind
from modelrouter.providers.anthropic import mapping as anthropic
from modelrouter.providers.bedrock import fields as bedrock
from modelrouter.providers.openai import mapping as openai
from modelrouter.request import ChatRequest
from modelrouter.request_fields import ROUTER_FIELDS, metadata_near_misses, used_fields

__all__ = ["PROVIDER_FIELDS", "ProviderFields", "ignored_fields"]


@dataclass(frozen=True, slots=True)
class ProviderFields:
    """What one provider kind honours."""

    honoured: frozenset[str]
    """The fields it receives or has mapped (besides the router's own)."""
    dropped: Callable[[ChatRequest, ModelSpec, int], frozenset[str]]
    """Of those, the ones a call (request, model, ``max_tokens``) drops all the same."""


PROVIDER_FIELDS: dict[ProviderKind, ProviderFields] = {
    ProviderKind.OPENAI: ProviderFields(openai.HONOURED_FIELDS, openai.dropped_fields),
    ProviderKind.ANTHROPIC: ProviderFields(anthropic.HONOURED_FIELDS, anthropic.dropped_fields),
    ProviderKind.BEDROCK: ProviderFields(bedrock.HONOURED_FIELDS, bedrock.dropped_fields),
}
"""Each provider kind's declaration."""


def ignored_fields(request: ChatRequest, model: ModelSpec, max_tokens: int) -> tuple[str, ...]:
    """The fields of ``request`` a call of ``model`` with ``max_tokens`` leaves out, and the near misses
    of routing ``metadata`` keys, sorted."""
    declared = PROVIDER_FIELDS.get(model.provider)
    used = used_fields(request) - ROUTER_FIELDS
    ignored = used
    if declared is not None:
        ignored = (used - declared.honoured) | (used & declared.dropped(request, model, max_tokens))
    reported = ignored | request.overridden
    return tuple(sorted(reported.union(metadata_near_misses(request.metadata))))
