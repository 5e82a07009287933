"""Amazon Bedrock Guardrails as the router's external guardrail (``ApplyGuardrail`` on the answer)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from modelrouter import env_names, timeouts
from modelrouter.checks.types import GuardrailVerdict
from modelrouter.policy.check_specs import BedrockGuardrailCheck
from modelrouter.providers.bedrock.error_mapping import PROVIDER, error_from_exception
from modelrouter.providers.bedrock.runtime import (
    DEFAULT_CONNECT_TIMEOUT_S,
    ClientCache,
    ClientFactory,
    call_with_deadline,
    default_client_factory,
)
from modelrouter.providers.errors import BadRequestError, ProviderError

__all__ = ["BedrockGuardrailService", "describe_assessments"]

_ARN_REGION = re.compile(r"^arn:aws[a-z-]*:bedrock:([a-z0-9-]+):")
_GUARDRAIL_READ_TIMEOUT_S = timeouts.GUARDRAIL_READ_TIMEOUT_S


class BedrockGuardrailService:
    """Assesses answers with ``ApplyGuardrail`` (``source=OUTPUT``); a :class:`GuardrailService`.

    The guardrail's region is the check's ``region``, else the region in its ARN, else
    ``default_region``, else ``AWS_REGION`` / ``AWS_DEFAULT_REGION``. Clients are created lazily,
    one per region, as for :class:`~modelrouter.providers.bedrock.client.BedrockProvider`.
    """

    def __init__(
        self,
        *,
        client_factory: ClientFactory | None = None,
        endpoint_url: str | None = None,
        default_region: str | None = None,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        read_timeout_s: float = _GUARDRAIL_READ_TIMEOUT_S,
    ) -> None:
        """Create the service; no client is created until the first check.

        Args:
            client_factory: Creates the client of a region (tests pass a stubbed one).
            endpoint_url: Endpoint for the default factory instead of AWS's (local mode).
            default_region: Region of guardrails whose check names none.
            connect_timeout_s: Connect timeout of the default factory's clients.
            read_timeout_s: Read-timeout ceiling of the default factory's clients.
        """
        factory = client_factory or default_client_factory(
            endpoint_url=endpoint_url, connect_timeout_s=connect_timeout_s, read_timeout_s=read_timeout_s
        )
        self._clients = ClientCache(factory)
        self._default_region = default_region

    def apply(self, check: BedrockGuardrailCheck, text: str, timeout_s: float) -> GuardrailVerdict:
        """Assess ``text`` as model output; raise a ProviderError if the service fails.

        An empty answer is not sent (there is nothing to assess) and passes.

        Raises:
            BadRequestError: no region is known for the guardrail, or Bedrock refused the request.
            ProviderTimeoutError: no verdict within ``timeout_s``.
            ProviderError: any other failure, mapped like model calls.
        """
        if not text.strip():
            return GuardrailVerdict(intervened=False, detail="empty answer: not assessed")
        region = self._region(check)

        def assess() -> dict[str, Any]:
            response: dict[str, Any] = self._clients.get(region).apply_guardrail(
                guardrailIdentifier=check.id,
                guardrailVersion=check.version,
                source="OUTPUT",
                content=[{"text": {"text": text}}],
            )
            return response

        try:
            response = call_with_deadline(assess, timeout_s, f"Bedrock guardrail {check.id}")
        except ProviderError:
            raise
        except Exception as error:
            mapped = error_from_exception(error)
            if mapped is None:
                raise
            raise mapped from error
        if response.get("action") != "GUARDRAIL_INTERVENED":
            return GuardrailVerdict(intervened=False, detail="no intervention")
        fired = describe_assessments(response.get("assessments") or ())
        return GuardrailVerdict(intervened=True, detail=f"guardrail {check.id} intervened: {fired}")

    def _region(self, check: BedrockGuardrailCheck) -> str:
        arn = _ARN_REGION.match(check.id)
        region = (
            check.region
            or (arn.group(1) if arn else None)
            or self._default_region
            or os.environ.get(env_names.AWS_REGION)
            or os.environ.get(env_names.AWS_DEFAULT_REGION)
        )
        if not region:
            raise BadRequestError(f"no region known for Bedrock guardrail {check.id}", provider=PROVIDER)
        return region


def describe_assessments(assessments: Iterable[Mapping[str, Any]]) -> str:
    """Which guardrail policies acted, from ``ApplyGuardrail`` assessments, without any matched text.

    Lists topics and regexes by their configured names and filters, managed word lists and PII by
    type; custom words are counted, never quoted (their ``match`` is answer text). Entries whose
    action is ``NONE`` (detect-only) are left out.
    """
    fired: list[str] = []
    for assessment in assessments:
        if not isinstance(assessment, Mapping):
            continue
        topics = _acted(assessment, "topicPolicy", "topics")
        fired += [f"topic {item.get('name', '?')}" for item in topics]
        filters = _acted(assessment, "contentPolicy", "filters")
        fired += [f"content filter {item.get('type', '?')}" for item in filters]
        custom = _acted(assessment, "wordPolicy", "customWords")
        if custom:
            fired.append(f"custom words ({len(custom)})")
        managed = _acted(assessment, "wordPolicy", "managedWordLists")
        fired += [f"managed words {item.get('type', '?')}" for item in managed]
        pii = _acted(assessment, "sensitiveInformationPolicy", "piiEntities")
        fired += [f"PII {item.get('type', '?')}" for item in pii]
        regexes = _acted(assessment, "sensitiveInformationPolicy", "regexes")
        fired += [f"regex {item.get('name', '?')}" for item in regexes]
        grounding = _acted(assessment, "contextualGroundingPolicy", "filters")
        fired += [f"grounding {item.get('type', '?')}" for item in grounding]
        reasoning = assessment.get("automatedReasoningPolicy")
        findings = reasoning.get("findings") if isinstance(reasoning, Mapping) else None
        if isinstance(findings, list) and findings:
            kinds = sorted(
                {str(kind) for finding in findings if isinstance(finding, Mapping) for kind in finding}
            )
            fired.append(f"automated reasoning {'/'.join(kinds) or 'finding'}")
    unique = list(dict.fromkeys(fired))
    return ", ".join(unique) if unique else "no policy details reported"


def _acted(assessment: Mapping[str, Any], policy: str, key: str) -> list[Mapping[str, Any]]:
    section = assessment.get(policy)
    items = section.get(key) if isinstance(section, Mapping) else None
    if not isinstance(items, list):
        return []
    return [item for item in items if isinstance(item, Mapping) and item.get("action", "NONE") != "NONE"]
