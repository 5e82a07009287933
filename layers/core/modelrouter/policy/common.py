"""Building blocks shared by the policy models: the strict base class, identifiers, enums."""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "AnswerFormat",
    "Capability",
    "DataClassification",
    "DeploymentMode",
    "Identifier",
    "ProviderKind",
    "Regex",
    "StrictModel",
    "classification_rank",
]


class StrictModel(BaseModel):
    """Base of every policy model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Identifier = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$",
        description="An identifier: letters, digits, '.', '_', ':' and '-', starting with a letter or digit.",
    ),
]


def _compiles(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as error:
        raise ValueError(f"invalid regular expression {pattern!r}: {error}") from None
    return pattern


Regex = Annotated[
    str, AfterValidator(_compiles), Field(description="A Python regular expression (checked when loaded).")
]


class ProviderKind(StrEnum):
    """How a model is called."""

    BEDROCK = "bedrock"
    """Amazon Bedrock, Converse API."""
    OPENAI = "openai"
    """Any OpenAI-compatible endpoint: OpenAI, Azure OpenAI, Mistral, Groq, Together, vLLM, Ollama …"""
    ANTHROPIC = "anthropic"
    """Anthropic's Messages API."""


class Capability(StrEnum):
    """What a model can do; routes and requests require capabilities, models declare them.

    A request requires ``tools`` when it offers tools, ``vision`` with an image, ``documents`` with a
    document (``file``) part, ``json_schema``/``json_object`` for that answer format and ``multilingual``
    for a confident non-English language; a model without one is left out (``capability_missing``)."""

    TOOLS = "tools"
    JSON_SCHEMA = "json_schema"
    JSON_OBJECT = "json_object"
    VISION = "vision"
    MULTILINGUAL = "multilingual"
    REASONING = "reasoning"
    """A reasoning model (o-series, Claude with extended thinking): it takes ``reasoning_effort`` (as a
    thinking budget for Claude); OpenAI-compatible ones get no sampling parameters or logit bias."""
    CODE = "code"
    DOCUMENTS = "documents"
    """The model reads document (file) content parts, such as PDFs: a request with one requires it."""


class AnswerFormat(StrEnum):
    """The format an answer is requested or required in."""

    TEXT = "text"
    JSON_OBJECT = "json_object"
    JSON_SCHEMA = "json_schema"


class DataClassification(StrEnum):
    """Data classification levels, lowest to highest sensitivity."""

    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"


class DeploymentMode(StrEnum):
    """How a model is deployed, as far as what happens to the data sent to it is concerned.

    Tenants (``required_deployment_modes``) and data classifications
    (``defaults.deployment_modes_by_classification``) may require some of these modes."""

    PROVIDER_RETAINS = "provider_retains"
    """A provider's public API that may keep prompts and answers for a while (abuse monitoring); the
    default, and the mode of an HTTP provider unless a contract says otherwise."""
    ZERO_RETENTION = "zero_retention"
    """The provider keeps nothing: contractual zero data retention (an OpenAI or Anthropic ZDR
    agreement, a Bedrock region whose data retention mode is ``none``)."""
    VPC = "vpc"
    """Reached privately, never over the internet: Bedrock through a VPC interface endpoint
    (PrivateLink), or a model self-hosted in the account's VPC."""
    ON_PREM = "on_prem"
    """Runs on the operator's own hardware."""

    @classmethod
    def either(cls, modes: Iterable[DeploymentMode]) -> str:
        """``modes`` in words, in declaration order: ``zero_retention, vpc or on_prem``."""
        chosen = set(modes)
        names = [mode.value for mode in cls if mode in chosen]
        if len(names) < 2:
            return names[0] if names else "no mode"
        return f"{', '.join(names[:-1])} or {names[-1]}"


_RANKS = {level: rank for rank, level in enumerate(DataClassification)}


def classification_rank(level: DataClassification) -> int:
    """Position of ``level`` in sensitivity order (public = 0)."""
    return _RANKS[level]
