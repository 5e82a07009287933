"""Routes: ordered rules that pick the candidate models for a request. The first match wins."""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, Literal, Self

from pydantic import Field, model_validator

from modelrouter.features.records import PiiKind
from modelrouter.policy.bandit import Bandit
from modelrouter.policy.check_specs import Checks
from modelrouter.policy.common import (
    AnswerFormat,
    Capability,
    DataClassification,
    Identifier,
    Regex,
    StrictModel,
)
from modelrouter.policy.conditions import (
    METADATA_KEY_PATTERN,
    DocumentsCondition,
    ImagesCondition,
    MetadataKey,
    MetadataTest,
)
from modelrouter.policy.learned import CascadeConfidence, LearnedDifficulty, LearnedRouting, RouterPin
from modelrouter.policy.promotion import PromoteWhen
from modelrouter.text import words_of

__all__ = ["Intents", "Limits", "Route", "Strategy", "TokenRange", "UnitRange", "Variant", "When"]


class Strategy(StrEnum):
    """How a route orders its candidate models."""

    FALLBACK = "fallback"
    """The listed order: first model, then each next one on failure."""
    CASCADE = "cascade"
    """Cheapest eligible first (by estimated cost); escalate to the next on a failed check."""
    THRESHOLD = "threshold"
    """The request's difficulty picks a tier; stronger tiers follow as fallbacks."""
    WEIGHTED = "weighted"
    """A deterministic split by request id between variants (canary, champion–challenger)."""
    LEARNED = "learned"
    """A learned router predicts each eligible candidate's quality; the objective picks the order."""
    BANDIT = "bandit"
    """Thompson sampling per segment over the eligible candidates, learning from outcomes and feedback."""


class UnitRange(StrictModel):
    """A closed range within [0, 1]."""

    min: float = Field(default=0.0, ge=0, le=1)
    """Lowest value that matches."""
    max: float = Field(default=1.0, ge=0, le=1)
    """Highest value that matches."""

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class TokenRange(StrictModel):
    """A range of estimated prompt tokens; either bound may be left open."""

    min: int | None = Field(default=None, ge=0)
    """Fewest tokens that match."""
    max: int | None = Field(default=None, ge=0)
    """Most tokens that match."""

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min is None and self.max is None:
            raise ValueError("give 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class Intents(StrictModel):
    """What the latest user message is about: matches if any keyword or any pattern is found."""

    keywords: list[str] = Field(default_factory=list)
    """Whole words or phrases, matched case-insensitively."""
    patterns: list[Regex] = Field(default_factory=list)
    """Regular expressions (add ``(?i)`` for case-insensitive)."""

    @cached_property
    def lowered_keywords(self) -> tuple[str, ...]:
        """The keywords in lower case, for matching against lower-cased text."""
        return tuple(keyword.strip().lower() for keyword in self.keywords)

    @cached_property
    def keyword_words(self) -> tuple[frozenset[str], ...]:
        """The words of each keyword, as :func:`modelrouter.text.words_of` splits text."""
        return tuple(words_of(keyword) for keyword in self.lowered_keywords)

    @cached_property
    def compiled_patterns(self) -> tuple[re.Pattern[str], ...]:
        """The patterns, compiled once per policy."""
        return tuple(re.compile(pattern) for pattern in self.patterns)

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.keywords and not self.patterns:
            raise ValueError("give 'keywords', 'patterns' or both")
        if any(not keyword.strip() for keyword in self.keywords):
            raise ValueError("keywords must not be blank")
        return self


_METADATA_PREFIX = "metadata."
_DEFAULT_BANDIT = Bandit()


def _dotted_metadata_schema(schema: dict[str, Any]) -> None:
    # The schema admits ``metadata.<key>`` properties with the same comparison as ``metadata``'s values.
    options = schema["properties"]["metadata"].get("anyOf", [])
    by_key = next(option["patternProperties"] for option in options if option.get("type") == "object")
    (value_schema,) = by_key.values()
    pattern = "^" + re.escape(_METADATA_PREFIX) + METADATA_KEY_PATTERN[1:]
    schema["patternProperties"] = {pattern: value_schema}


class When(StrictModel):
    """Conditions on request features and metadata; all given conditions must hold. Empty: always."""

    model_config = StrictModel.model_config | {"json_schema_extra": _dotted_metadata_schema}

    tenants: list[Identifier] | None = Field(default=None, min_length=1)
    """The request's tenant is one of these."""
    tags: list[Identifier] | None = Field(default=None, min_length=1)
    """The request carries at least one of these tags (``metadata.tags``)."""
    classifications: list[DataClassification] | None = Field(default=None, min_length=1)
    """The request's effective data classification is one of these."""
    has_tools: bool | None = None
    """The request offers tools (or not)."""
    has_images: bool | None = None
    """The request carries images (or not)."""
    response_formats: list[AnswerFormat] | None = Field(default=None, min_length=1)
    """The request asks for one of these answer formats."""
    languages: list[str] | None = Field(default=None, min_length=1)
    """The detected language is one of these ISO 639-1 codes."""
    pii: bool | None = None
    """Personal data was found in the request (or not)."""
    pii_kinds: list[PiiKind] | None = Field(default=None, min_length=1)
    """Personal data of at least one of these kinds was found."""
    prompt_tokens: TokenRange | None = None
    """The estimated prompt tokens are in this range."""
    difficulty: UnitRange | None = None
    """The difficulty score is in this range."""
    intents: Intents | None = None
    """The latest user message matches these keywords or patterns."""
    topics: list[Identifier] | None = Field(default=None, min_length=1)
    """The policy's topic classifier puts the request in one of these topics (with at least its
    ``min_confidence``); without a loaded classifier the condition does not match."""
    metadata: dict[MetadataKey, MetadataTest] | None = Field(default=None, min_length=1)
    """Typed comparisons of request ``metadata`` values, by key: ``{risk_score: {between: [0.3,
    0.7]}}``, ``{diff_lines: {gte: 400}}``, ``{channel: [web, app]}``. Also written
    ``metadata.<key>: …`` directly in ``when``. A value that does not parse as the comparison needs
    (a number, a boolean) makes the condition not match; it is never an error."""
    images: ImagesCondition | None = None
    """The request's images: how many, how large, how many pixels."""
    documents: DocumentsCondition | None = None
    """The request's documents (file parts): how many, how large, how many pages."""

    @model_validator(mode="before")
    @classmethod
    def _dotted_metadata(cls, data: Any) -> Any:
        # ``metadata.risk_score: {…}`` is folded into ``metadata: {risk_score: {…}}``.
        if not isinstance(data, dict) or not any(
            isinstance(key, str) and key.startswith(_METADATA_PREFIX) for key in data
        ):
            return data
        folded = {key: value for key, value in data.items() if not str(key).startswith(_METADATA_PREFIX)}
        nested = dict(folded.get("metadata") or {}) if isinstance(folded.get("metadata"), dict) else {}
        if "metadata" in folded and not isinstance(folded["metadata"], dict):
            return data  # let the field's own validation report it
        for key, value in data.items():
            if isinstance(key, str) and key.startswith(_METADATA_PREFIX):
                name = key[len(_METADATA_PREFIX) :]
                if name in nested:
                    raise ValueError(f"metadata key '{name}' is given twice ('{key}' and metadata.{name})")
                nested[name] = value
        folded["metadata"] = nested
        return folded

    @property
    def is_catch_all(self) -> bool:
        """True when no condition is set, so every request matches."""
        return not self.model_fields_set or all(
            getattr(self, name) is None for name in type(self).model_fields
        )


class Limits(StrictModel):
    """Per-route limits."""

    max_prompt_tokens: int | None = Field(default=None, ge=1)
    """Refuse requests with a larger estimated prompt."""
    max_cost_usd: float | None = Field(default=None, gt=0)
    """Skip models whose worst-case cost for the request is higher."""
    latency_budget_ms: int | None = Field(default=None, ge=100)
    """Deadline for the whole request, fallbacks included; slower models are skipped."""
    output_format: AnswerFormat | None = None
    """Answers of this route must be in this format; the request must ask for it."""
    attempt_timeout_ms: int | None = Field(default=None, ge=100)
    """Longest one model call may take before the next candidate is tried; by default the time left
    shared among the candidates left (at most three shares)."""
    first_byte_timeout_ms: int | None = Field(default=None, ge=100)
    """Longest wait for a provider's first byte (and between bytes) before the call counts as hung."""
    default_max_tokens: int | None = Field(default=None, ge=1)
    """``max_tokens`` for requests that set none (capped per model by its ``max_output_tokens``): what
    is reserved from the budget and sent to the provider."""


StreamingMode = Literal["auto", "validated", "incremental"]
"""How a route sends ``stream: true`` answers (see :attr:`Route.streaming`)."""


class Variant(StrictModel):
    """One arm of a weighted split."""

    name: Identifier
    """Variant name, recorded in provenance (``champion``, ``challenger``)."""
    weight: float = Field(gt=0)
    """Relative share of requests."""
    models: list[Identifier] = Field(min_length=1)
    """Models of this arm, in fallback order."""


class Route(StrictModel):
    """A routing rule."""

    name: Identifier
    """Route name (also what a request may pin)."""
    description: str | None = None
    """What the route is for."""
    when: When = Field(default_factory=When)
    """When the route applies; omitted: always (a catch-all, so it belongs last)."""
    strategy: Strategy = Strategy.FALLBACK
    """How candidates are ordered."""
    models: list[Identifier] | None = Field(default=None, min_length=1)
    """Candidates of ``fallback``, ``cascade`` and ``learned`` routes."""
    tiers: dict[Identifier, Annotated[list[Identifier], Field(min_length=1)]] | None = Field(
        default=None, min_length=1
    )
    """``threshold`` routes: tier name to models, from weakest to strongest tier."""
    thresholds: dict[Identifier, float] | None = None
    """``threshold`` routes: lowest difficulty that selects a tier; the first tier takes the rest."""
    variants: list[Variant] | None = Field(default=None, min_length=1)
    """``weighted`` routes: the arms of the split."""
    learned: LearnedRouting | None = None
    """``learned`` routes: the router artifact, its pin, the objective and the model map."""
    learned_difficulty: LearnedDifficulty | None = None
    """``threshold`` routes (optional): pick the tier by a learned difficulty instead of the hand-made
    score."""
    bandit: Bandit | None = None
    """``bandit`` routes: segments, reward, exploration bounds, priors and memory."""
    cascade: CascadeConfidence | None = None
    """``cascade`` routes (optional): skip a cheaper tier whose predicted quality is below ``skip_below``."""
    promote_when: PromoteWhen | None = None
    """``weighted`` routes (optional): the evidence that promotes the challenger (``policy promote``)."""
    require_capabilities: list[Capability] = Field(default_factory=list)
    """Capabilities every candidate must have, on top of those the request needs."""
    limits: Limits = Field(default_factory=Limits)
    """Per-route limits."""
    checks: Checks = Field(default_factory=Checks)
    """Checks on the answers."""
    streaming: StreamingMode = "auto"
    """How ``stream: true`` answers are sent. ``incremental``: tokens are forwarded as they arrive;
    text guardrails run in flight, holding back only as much text as the longest term or pattern
    needs, and a block ends the stream with ``finish_reason: content_filter`` (a failure before the
    first token still falls back invisibly). ``validated``: the whole answer is generated and checked
    (repairs and escalations included) before it is streamed. ``auto``: ``validated`` when the route
    has checks that need the whole answer (a citation requirement, a Bedrock guardrail, a blocked
    pattern of unbounded length), else ``incremental``. Requests with ``response_format`` JSON are
    always validated."""

    @model_validator(mode="after")
    def _strategy_fields(self) -> Self:
        fields = (
            "models", "tiers", "thresholds", "variants", "learned", "learned_difficulty", "bandit",
            "cascade", "promote_when",
        )  # fmt: skip
        given = {name for name in fields if getattr(self, name) is not None}
        needed = {
            Strategy.FALLBACK: {"models"},
            Strategy.CASCADE: {"models"},
            Strategy.THRESHOLD: {"tiers", "thresholds"},
            Strategy.WEIGHTED: {"variants"},
            Strategy.LEARNED: {"models", "learned"},
            Strategy.BANDIT: {"models"},
        }[self.strategy]
        optional = {
            Strategy.THRESHOLD: {"learned_difficulty"},
            Strategy.CASCADE: {"cascade"},
            Strategy.WEIGHTED: {"promote_when"},
            Strategy.BANDIT: {"bandit"},
        }.get(self.strategy, set())
        if missing := needed - given:
            raise ValueError(f"a {self.strategy} route needs {', '.join(sorted(missing))}")
        if extra := given - needed - optional:
            raise ValueError(f"{', '.join(sorted(extra))} does not apply to a {self.strategy} route")
        return self

    @model_validator(mode="after")
    def _streaming_fits_checks(self) -> Self:
        if self.streaming == "incremental" and (needs := self.checks.whole_answer_only()):
            raise ValueError(
                f"streaming: incremental cannot run {', '.join(needs)} (they need the whole answer); "
                "use streaming: validated or auto"
            )
        return self

    @property
    def bandit_settings(self) -> Bandit:
        """A ``bandit`` route's settings (the defaults when it gives no ``bandit`` block)."""
        return self.bandit if self.bandit is not None else _DEFAULT_BANDIT

    def model_lists(self) -> list[tuple[tuple[str | int, ...], list[str]]]:
        """Every list of models the route holds, with its location inside the route."""
        lists: list[tuple[tuple[str | int, ...], list[str]]] = []
        if self.models is not None:
            lists.append((("models",), self.models))
        lists.extend((("tiers", tier), models) for tier, models in (self.tiers or {}).items())
        lists.extend((("variants", arm, "models"), v.models) for arm, v in enumerate(self.variants or ()))
        return lists

    def router_pins(self) -> list[tuple[tuple[str | int, ...], RouterPin]]:
        """Every router artifact the route reads, with its location inside the route."""
        pins: list[tuple[tuple[str | int, ...], RouterPin]] = []
        if self.learned is not None:
            pins.append((("learned",), self.learned))
        if self.learned_difficulty is not None:
            pins.append((("learned_difficulty",), self.learned_difficulty))
        if self.cascade is not None:
            pins.append((("cascade",), self.cascade))
        if self.bandit is not None and self.bandit.learned_prior is not None:
            pins.append((("bandit", "learned_prior"), self.bandit.learned_prior))
        return pins

    def all_model_refs(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Every model id the route names, with its location inside the route."""
        return [
            ((*location, index), model)
            for location, models in self.model_lists()
            for index, model in enumerate(models)
        ]
