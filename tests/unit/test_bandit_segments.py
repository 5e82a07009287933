"""The segment key of a request: one part per policy key, bounded by the policy's values."""

from __future__ import annotations

from typing import Any

import pytest
from tests.helpers import features

from modelrouter.bandit.segments import ALL, OTHER, difficulty_band, segment_of
from modelrouter.features.records import LanguageGuess, TopicGuess
from modelrouter.policy.bandit import Segmentation
from modelrouter.selection.context import RequestContext

CONTEXT = RequestContext("r1", "t1", tags=frozenset({"beta", "vip"}))


def segmentation(*parts: dict[str, Any]) -> Segmentation:
    return Segmentation.model_validate({"by": list(parts)})


def test_a_route_without_segments_has_one_segment() -> None:
    # Given no segment parts
    # When the segment of any request is read
    # Then it is the one segment 'all'
    assert segment_of(Segmentation(), features(), CONTEXT, None) == ALL


def test_parts_are_joined_in_policy_order() -> None:
    # Given language, difficulty bands and a metadata key
    by = segmentation(
        {"feature": "language"},
        {"feature": "difficulty", "bands": [0.3, 0.6]},
        {"metadata": "channel", "values": ["web", "app"]},
    )
    # When a German request of difficulty 0.45 from the app is segmented (spaces around the value ignored)
    segment = segment_of(by, features(language="de", difficulty=0.45), CONTEXT, {"channel": " app "})
    # Then each part reads its value, in the policy's order
    assert segment == "language=de|difficulty=1|metadata.channel=app"


@pytest.mark.parametrize(("score", "band"), [(0.0, 0), (0.29, 0), (0.3, 1), (0.59, 1), (0.6, 2), (1.0, 2)])
def test_difficulty_bands_count_the_edges_at_or_below_the_score(score: float, band: int) -> None:
    # Given the band edges [0.3, 0.6]
    # When a score is banded
    # Then it falls in the band after every edge it reaches
    assert difficulty_band(score, [0.3, 0.6]) == band


def test_values_not_listed_read_other_so_clients_cannot_create_segments() -> None:
    # Given a metadata part with a closed list and a language part restricted to two languages
    by = segmentation(
        {"metadata": "channel", "values": ["web"]}, {"feature": "language", "values": ["en", "de"]}
    )
    # When requests carry other values (or none)
    unknown = segment_of(by, features(language="fr"), CONTEXT, {"channel": "made-up-by-a-client"})
    absent = segment_of(by, features(language="en"), CONTEXT, None)
    # Then the unlisted values read 'other'
    assert unknown == f"metadata.channel={OTHER}|language={OTHER}"
    assert absent == f"metadata.channel={OTHER}|language=en"


def test_an_unsure_language_is_undetermined() -> None:
    # Given a language part, and a detector only 40 % sure of Portuguese
    by = segmentation({"feature": "language"})
    unsure = features().model_copy(
        update={"language": LanguageGuess(code="pt", script="latin", confidence=0.4, evidence="test")}
    )
    # When the request is segmented
    # Then the part reads 'und'
    assert segment_of(by, unsure, CONTEXT, None) == "language=und"


def test_tags_take_the_first_listed_tag_the_request_carries() -> None:
    # Given a tags part listing vip before beta, and a request carrying both
    by = segmentation({"feature": "tags", "values": ["vip", "beta"]})
    # When it is segmented, and a request without either
    both = segment_of(by, features(), CONTEXT, None)
    neither = segment_of(by, features(), RequestContext("r2", "t1", tags=frozenset({"x"})), None)
    # Then the first listed tag it carries is its value, else 'other'
    assert (both, neither) == ("tags=vip", f"tags={OTHER}")


def test_tenant_format_and_tools_parts() -> None:
    # Given tenant, response format and tools parts
    by = segmentation({"feature": "tenant"}, {"feature": "response_format"}, {"feature": "has_tools"})
    # When a JSON request with tools is segmented
    segment = segment_of(by, features(response_format="json_object", tools=2), CONTEXT, None)
    # Then each part reads the request's value
    assert segment == "tenant=t1|response_format=json_object|has_tools=true"


def test_the_topic_part_reads_only_a_topic_already_scored() -> None:
    # Given a topic part
    by = segmentation({"feature": "topic", "values": ["billing"]})
    scored = features().model_copy(
        update={"topic": TopicGuess(label="billing", confidence=0.9, classifier="sha256:x")}
    )
    below = features().model_copy(update={"topic": TopicGuess(label=None, confidence=0.2, classifier="x")})
    # When requests with a scored topic, one below the classifier's confidence, and one never scored
    # are segmented
    # Then only the scored topic shows; the others read 'none' (the segment never scores the topic)
    assert segment_of(by, scored, CONTEXT, None) == "topic=billing"
    assert segment_of(by, below, CONTEXT, None) == "topic=none"
    assert segment_of(by, features(), CONTEXT, None) == "topic=none"
