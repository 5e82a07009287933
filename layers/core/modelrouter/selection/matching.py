"""Does a route's ``when`` clause hold for a request? Cheap conditions first, text search last."""

from __future__ import annotations

from functools import cached_property

from modelrouter.features.model import RequestFeatures
from modelrouter.policy.common import DataClassification
from modelrouter.policy.routes import Intents, When
from modelrouter.request import ChatRequest
from modelrouter.selection.context import RequestContext
from modelrouter.text import words_of

__all__ = ["RequestView", "when_matches"]


class RequestView:
    """What conditions read from a request; the latest user text is extracted and lower-cased once."""

    def __init__(
        self,
        request: ChatRequest,
        features: RequestFeatures,
        context: RequestContext,
        classification: DataClassification,
    ) -> None:
        self.request = request
        self.features = features
        self.context = context
        self.classification = classification

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


def when_matches(when: When, view: RequestView) -> bool:
    """True when every condition ``when`` sets holds for the request."""
    features = view.features
    context = view.context
    if when.tenants is not None and context.tenant_id not in when.tenants:
        return False
    if when.tags is not None and context.tags.isdisjoint(when.tags):
        return False
    if when.classifications is not None and view.classification not in when.classifications:
        return False
    if when.has_tools is not None and features.has_tools != when.has_tools:
        return False
    if when.has_images is not None and features.has_images != when.has_images:
        return False
    if when.response_formats is not None and features.response_format not in when.response_formats:
        return False
    if when.languages is not None and features.language.code not in when.languages:
        return False
    if when.pii is not None and bool(features.pii) != when.pii:
        return False
    if when.pii_kinds is not None and features.pii_kinds.isdisjoint(when.pii_kinds):
        return False
    if when.prompt_tokens is not None:
        low, high = when.prompt_tokens.min, when.prompt_tokens.max
        if (low is not None and features.prompt_tokens < low) or (
            high is not None and features.prompt_tokens > high
        ):
            return False
    if (
        when.difficulty is not None
        and not when.difficulty.min <= features.difficulty.score <= when.difficulty.max
    ):
        return False
    return when.intents is None or intents_match(when.intents, view)


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
