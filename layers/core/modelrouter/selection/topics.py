"""The request's topic at decision time: the policy's topic classifier reads the latest user message.

Pure: the classifier was loaded with the policy; nothing here reads a file or the network. A classifier
that is not loaded, or fails on a request (anything raised), never fails the request: the request has no
topic, so every ``when.topics`` does not match, and a note says why.
"""

from __future__ import annotations

from modelrouter.features.records import TopicGuess
from modelrouter.learned.topics import TopicClassifier
from modelrouter.policy.document import Policy
from modelrouter.request import ChatRequest

__all__ = ["guess_topic"]


def guess_topic(
    policy: Policy, request: ChatRequest, classifier: TopicClassifier | None
) -> tuple[TopicGuess | None, list[str]]:
    """The request's topic by the policy's classifier, or None and a note on why there is none.

    Called when a route's ``when.topics`` is first reached, so a request no topic route could match
    never pays for scoring."""
    spec = policy.topics
    if spec is None:
        return None, []
    consequence = "the request has no topic and when.topics does not match"
    if classifier is None:
        return None, [f"topic classifier {spec.classifier} is not loaded: {consequence}"]
    try:
        topic = classifier.guess(
            request.last_user_text(), classifier=spec.classifier, min_confidence=spec.min_confidence
        )
    except Exception as error:  # a broken classifier must never fail the request
        reason = f"could not score the request ({type(error).__name__})"
        return None, [f"topic classifier {spec.classifier} {reason}: {consequence}"]
    return topic, []
