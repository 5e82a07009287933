"""Does a route's ``when`` clause hold for a request? Cheap conditions first, text search last."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property

from modelrouter.features.records import RequestFeatures, TopicGuess
from modelrouter.policy.common import DataClassification
from modelrouter.policy.conditions import NumberRange
from modelrouter.policy.routes import Intents, When
from modelrouter.request import ChatRequest
from modelrouter.selection.context import RequestContext
from modelrouter.text import words_of

__all__ = ["ClauseOutcome", "RequestView", "explain_when", "when_matches"]


class RequestView:
    """What conditions read from a request; the latest user text is extracted and lower-cased once."""

    def __init__(
        self,
        request: ChatRequest,
        features: RequestFeatures,
        context: RequestContext,
        classification: DataClassification,
        topic_of: Callable[[], TopicGuess | None] | None = None,
    ) -> None:
        self.request = request
        self.features = features
        self.context = context
        self.classification = classification
        self._topic_of = topic_of

    @cached_property
    def topic(self) -> TopicGuess | None:
        """The request's topic: the features' own, else ``topic_of``'s, asked once, when a ``topics``
        clause is first reached (scoring costs more than every other clause together)."""
        if self.features.topic is not None or self._topic_of is None:
            return self.features.topic
        return self._topic_of()

    @property
    def topic_scored(self) -> bool:
        """Whether :attr:`topic` was asked for (so its result belongs in the decision)."""
        return "topic" in self.__dict__

    @cached_property
    def metadata(self) -> Mapping[str, str]:
        """The request's ``metadata`` (empty when it has none)."""
        return self.request.metadata or {}

    @cached_property
    def user_text(self) -> str:
        """Text of the latest user message."""
        return self.request.last_user_text()

    @cached_property
    def user_text_lower(self) -> str:
        """The same, lower-cased, for keyword matching."""
        return self.user_text.lower()

    @cached_property
    def user_words(self) -> frozenset[str]:
        """The distinct words of the lower-cased text: a keyword whose words are not all here is absent."""
        return words_of(self.user_text_lower)


@dataclass(frozen=True, slots=True)
class ClauseOutcome:
    """Whether one condition of a ``when`` held for a request, and why."""

    clause: str
    """The condition: ``tags``, ``difficulty``, ``metadata.risk_score`` …"""
    matched: bool
    """Whether it held."""
    detail: str
    """What was compared (``'0.42' between 0.3 and 0.7``, ``'high' is not a number``)."""


Clause = Callable[[When, RequestView], Iterator[ClauseOutcome]]


def when_matches(when: When, view: RequestView) -> bool:
    """True when every condition ``when`` sets holds for the request (stops at the first that fails)."""
    return all(outcome.matched for clause in _CLAUSES for outcome in clause(when, view))


def explain_when(when: When, view: RequestView) -> tuple[ClauseOutcome, ...]:
    """Every condition ``when`` sets, each with whether it held and why; empty for a catch-all."""
    return tuple(outcome for clause in _CLAUSES for outcome in clause(when, view))


def _tenants(when: When, view: RequestView) -> Iterator[ClauseOutcome]:
    if when.tenants is not None:
        tenant = view.context.tenant_id
        yield ClauseOutcome("tenants", tenant in when.tenants, f"tenant '{tenant}'")


def _tags(when: When, view: RequestView) -> Iterator[ClauseOutcome]:
    if when.tags is not None:
        shared = sorted(view.context.tags.intersection(when.tags))
        detail = f"tags {', '.join(shared)}" if shared else f"none of {', '.join(when.tags)} in metadata.tags"
        yield ClauseOutcome("tags", bool(shared), detail)


def _classifications(when: When, view: RequestView) -> Iterator[ClauseOutcome]:
    if when.classifications is not None:
        level = view.classification
        yield ClauseOutcome("classifications", level in when.classifications, f"classification {level}")


def _shape(when: When, view: RequestView) -> Iterator[ClauseOutcome]:
    features = view.features
    if when.has_tools is not None:
        yield ClauseOutcome("has_tools", features.has_tools == when.has_tools, f"{features.tool_count} tools")
    if when.has_images is not None:
        yield ClauseOutcome(
            "has_images", features.has_images == when.has_images, f"{features.image_count} images"
        )
    if when.response_formats is not None:
        asked = features.response_format
        yield ClauseOutcome("response_formats", asked in when.response_formats, f"response_format {asked}")
    if when.languages is not None:
        code = features.language.code
        yield ClauseOutcome("languages", code in when.languages, f"language {code}")


def _pii(when: When, view: RequestView) -> Iterator[ClauseOutcome]:
    kinds = view.features.pii_kinds
    found = f"found {', '.join(sorted(kinds))}" if kinds else "none found"
    if when.pii is not None:
        yield ClauseOutcome("pii", bool(kinds) == when.pii, found)
    if when.pii_kinds is not None:
        yield ClauseOutcome("pii_kinds", not kinds.isdisjoint(when.pii_kinds), found)


def _sizes(when: When, view: RequestView) -> Iterator[ClauseOutcome]:
    features = view.features
    if when.prompt_tokens is not None:
        low, high = when.prompt_tokens.min, when.prompt_tokens.max
        tokens = features.prompt_tokens
        inside = (low is None or tokens >= low) and (high is None or tokens <= high)
        yield ClauseOutcome("prompt_tokens", inside, f"≈{tokens} tokens")
    if when.difficulty is not None:
        score = features.difficulty.score
        inside = when.difficulty.min <= score <= when.difficulty.max
        yield ClauseOutcome("difficulty", inside, f"difficulty {score:.2f}")


def _metadata(when: When, view: RequestView) -> Iterator[ClauseOutcome]:
    for key, condition in (when.metadata or {}).items():
        matched, detail = condition.judge(view.metadata.get(key))
        yield ClauseOutcome(f"metadata.{key}", matched, detail)


def _media(when: When, view: RequestView) -> Iterator[ClauseOutcome]:
    features = view.features
    if (images := when.images) is not None:
        pixels = features.image_max_pixels
        yield from _measure("images.count", images.count, features.image_count)
        yield from _measure("images.total_bytes", images.total_bytes, features.image_bytes)
        megapixels = pixels / 1_000_000 if pixels is not None else None
        yield from _measure("images.max_megapixels", images.max_megapixels, megapixels)
    if (documents := when.documents) is not None:
        yield from _measure("documents.count", documents.count, features.document_count)
        yield from _measure("documents.total_bytes", documents.total_bytes, features.document_bytes)
        yield from _measure("documents.pages", documents.pages, features.document_pages)


def _measure(name: str, condition: NumberRange | None, value: float | None) -> Iterator[ClauseOutcome]:
    if condition is None:
        return
    if value is None:
        yield ClauseOutcome(name, False, "not known for this request")
        return
    failure = condition.failure(value)
    yield ClauseOutcome(name, failure is None, failure or f"{value:g} {condition.describe()}")


def _topics(when: When, view: RequestView) -> Iterator[ClauseOutcome]:
    if when.topics is None:
        return
    topic = view.topic
    if topic is None:
        yield ClauseOutcome("topics", False, "no topic classifier is loaded with the policy")
    elif topic.label is None:
        yield ClauseOutcome("topics", False, f"no topic above the threshold (best {topic.confidence:.2f})")
    else:
        detail = f"topic {topic.label} ({topic.confidence:.2f})"
        yield ClauseOutcome("topics", topic.label in when.topics, detail)


def _intents(when: When, view: RequestView) -> Iterator[ClauseOutcome]:
    if when.intents is not None:
        matched = intents_match(when.intents, view)
        yield ClauseOutcome("intents", matched, "a keyword or pattern found" if matched else "none found")


# Cheap conditions first, text search last: when_matches stops at the first that fails.
_CLAUSES: tuple[Clause, ...] = (
    _tenants,
    _tags,
    _classifications,
    _shape,
    _pii,
    _sizes,
    _metadata,
    _media,
    _topics,
    _intents,
)


def intents_match(intents: Intents, view: RequestView) -> bool:
    """True when any keyword (as a whole word or phrase) or any pattern occurs in the latest user text."""
    if intents.keywords:
        # The word set rejects most keywords in O(1), whatever the text length; only keywords whose
        # words all occur are confirmed by a scan of the text, which also checks word order.
        present = view.user_words
        for keyword, keyword_words in zip(intents.lowered_keywords, intents.keyword_words, strict=True):
            if keyword_words <= present and _contains_word(view.user_text_lower, keyword):
                return True
    return any(pattern.search(view.user_text) for pattern in intents.compiled_patterns)


def _contains_word(text: str, word: str) -> bool:
    # str.find runs at C speed; the boundary check rejects "bug" inside "debugger".
    start = text.find(word)
    while start != -1:
        end = start + len(word)
        before_ok = start == 0 or not text[start - 1].isalnum()
        after_ok = end == len(text) or not text[end].isalnum()
        if before_ok and after_ok:
            return True
        start = text.find(word, start + 1)
    return False
