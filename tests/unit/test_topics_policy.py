"""The topic classifier in a policy: the ``topics`` section, validation errors named by path, loading
with the policy (files, S3 with moto), ``decide`` filling the request's topic for ``when.topics``, and
``route --explain`` showing the topic clause; the committed classifier fitted on the committed examples and
pinned by both policies."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.activation_helpers import activate, point_at_unchecked
from tests.helpers import chat, fake_aws_environment, policy_from, run_cli
from tests.learned_fixtures import sha256_hex, versioned_bucket
from tests.topic_fixtures import TOPICS_KEY, one_word_confidence, topics_bytes, topics_policy

from modelrouter.activation.layout import POINTER_KEY
from modelrouter.errors import PolicyError
from modelrouter.learned.topics import TopicClassifier, load_topic_classifier
from modelrouter.policy.artifacts import load_local_topics
from modelrouter.policy.loader import load_policy_file
from modelrouter.policy.store import PolicyStore, PolicyUnavailableError
from modelrouter.selection import RequestContext, decide
from modelrouter.training.topics import examples_digest, read_examples

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "policies" / "topics" / "examples.jsonl"
ARTIFACT = ROOT / "policies" / "routers" / "support-topics.json"
RAW = topics_bytes()
BUCKET = "policies"


def problems_of(document: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(PolicyError) as raised:
        policy_from(document)
    return [(problem.path, problem.message) for problem in raised.value.problems]


def write_policy(directory: Path, document: dict[str, Any], raw: bytes | None = RAW) -> Path:
    """The policy file, and the artifact next to it (under routers/) unless ``raw`` is None."""
    policy_file = directory / "policy.yaml"
    policy_file.write_text(yaml.safe_dump(document, sort_keys=False))
    if raw is not None:
        (directory / "routers").mkdir(exist_ok=True)
        (directory / TOPICS_KEY).write_bytes(raw)
    return policy_file


def local_problems(
    document: dict[str, Any], directory: Path, raw: bytes | None = RAW
) -> list[tuple[str, str]]:
    policy_file = write_policy(directory, document, raw)
    with pytest.raises(PolicyError) as raised:
        load_local_topics(policy_from(document).policy, policy_file)
    return [(problem.path, problem.message) for problem in raised.value.problems]


def test_when_topics_without_a_classifier_is_an_error_at_the_route() -> None:
    # Given a route matching topics in a policy without a topics section
    document = topics_policy(RAW)
    del document["topics"]
    # When it is validated, Then the problem names the route's when.topics
    ((path, message),) = problems_of(document)
    assert path == "routes[0].when.topics"
    assert "names no topic classifier" in message


def test_a_topics_section_pins_by_exactly_one_of_sha256_and_version_id() -> None:
    # Given the section with both pins
    document = topics_policy(RAW, version_id="v1")
    # When it is validated, Then the section is the problem, and the route is not blamed for it
    ((path, message),) = problems_of(document)
    assert path == "topics"
    assert "exactly one of 'sha256' and 'version_id'" in message


def test_a_classifier_key_outside_routers_is_refused() -> None:
    # When the classifier is named by a URL
    ((path, message),) = problems_of(topics_policy(RAW, classifier="s3://other-bucket/topics.json"))
    # Then the key is the problem
    assert path == "topics.classifier"
    assert "not a URL" in message


def test_a_topic_the_classifier_does_not_know_is_an_error_at_its_place(tmp_path: Path) -> None:
    # Given a route naming a known topic and a misspelt one
    document = topics_policy(RAW)
    document["routes"][0]["when"]["topics"] = ["billing", "codng"]
    # When its classifier is loaded with it
    ((path, message),) = local_problems(document, tmp_path)
    # Then the misspelt topic is named, with the closest one and every topic the classifier knows
    assert path == "routes[0].when.topics[1]"
    assert "'codng' is not a topic of routers/test-topics.json (did you mean 'coding'?)" in message
    assert "(it knows: billing, coding, other)" in message


@pytest.mark.parametrize(
    ("raw", "pinned", "message"),
    [
        (None, True, "cannot read router artifact"),
        (topics_bytes(strength=5.0), False, "pin mismatch: the artifact's SHA-256 is"),
        (b"{}", True, "not a topic artifact"),
    ],
    ids=["missing", "other-bytes", "not-an-artifact"],
)
def test_a_missing_or_mismatched_artifact_is_an_error_at_the_section(
    tmp_path: Path, raw: bytes | None, pinned: bool, message: str
) -> None:
    # Given a policy pinning RAW (or, when pinned, the file's own bytes) and next to it no file, other
    # bytes, or something that is not a topic artifact
    document = topics_policy(RAW)
    if pinned and raw is not None:
        document["topics"]["sha256"] = sha256_hex(raw)
    # When the classifier is loaded, Then the problem names topics.classifier and why
    ((path, problem),) = local_problems(document, tmp_path, raw)
    assert path == "topics.classifier"
    assert message in problem


def decision_for(text: str, topics: TopicClassifier | None, explain: bool = False, **section: Any) -> Any:
    policy = policy_from(topics_policy(RAW, **section)).policy
    context = RequestContext(request_id="r1", tenant_id="t1")
    return decide(policy, chat(text), context, topics=topics, explain=explain)


def test_decide_gives_the_request_its_topic_and_when_topics_picks_the_route() -> None:
    # Given the policy's classifier, loaded
    topics = load_topic_classifier(RAW)
    # When a request about an invoice is decided
    decision = decision_for("Where is my invoice for March?", topics, explain=True)
    # Then it has the billing topic, and the billing route took it by its topics clause
    assert decision.route == "billing-desk"
    topic = decision.features.topic
    assert topic is not None
    assert (topic.label, topic.classifier, topic.evidence) == ("billing", TOPICS_KEY, "invoice")
    assert topic.confidence == pytest.approx(one_word_confidence())
    (trace,) = decision.when_trace
    (clause,) = trace.clauses
    assert (clause.clause, clause.matched) == ("topics", True)
    assert clause.detail == f"topic billing ({one_word_confidence():.2f})"


def test_another_topic_does_not_match_and_the_next_route_takes_it() -> None:
    # When a request about a function is decided
    decision = decision_for("Write a function", load_topic_classifier(RAW), explain=True)
    # Then its topic is coding: the billing route's clause fails, the catch-all takes it
    assert decision.route == "default"
    assert decision.when_trace[0].clauses[0].detail == f"topic coding ({one_word_confidence():.2f})"
    assert not decision.when_trace[0].matched


def test_a_policy_threshold_above_the_confidence_leaves_the_request_without_a_topic() -> None:
    # Given the policy asks for more confidence than a one-word text gets
    decision = decision_for("my invoice", load_topic_classifier(RAW), explain=True, min_confidence=0.95)
    # Then the request has no topic and when.topics does not match, saying why
    assert decision.route == "default"
    assert decision.features.topic is not None
    assert decision.features.topic.label is None
    detail = decision.when_trace[0].clauses[0].detail
    assert detail == f"no topic above the threshold (best {one_word_confidence():.2f})"


def test_without_the_loaded_classifier_the_clause_does_not_match_and_a_note_says_why() -> None:
    # When the policy names a classifier that was not loaded (topics=None)
    decision = decision_for("my invoice", None, explain=True)
    # Then the request is served by the next route, never refused, and the notes say why
    assert decision.route == "default"
    assert decision.features.topic is None
    assert decision.when_trace[0].clauses[0].detail == "no topic classifier is loaded with the policy"
    assert f"topic classifier {TOPICS_KEY} is not loaded" in " ".join(decision.notes)


def test_a_classifier_that_raises_never_fails_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the loaded classifier fails while scoring
    def broken(self: TopicClassifier, text: str, **options: Any) -> Any:
        raise MemoryError("scoring blew up")

    monkeypatch.setattr(TopicClassifier, "guess", broken)
    # When a request is decided
    decision = decision_for("my invoice", load_topic_classifier(RAW))
    # Then it goes to the next route, with a note naming the failure
    assert decision.route == "default"
    assert f"topic classifier {TOPICS_KEY} could not score the request (MemoryError)" in " ".join(
        decision.notes
    )


def test_route_explain_shows_the_topic_and_its_clause(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the policy file with its artifact next to it, and a request about an invoice
    policy_file = write_policy(tmp_path, topics_policy(RAW))
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"model": "auto", "messages": [{"role": "user", "content": "my invoice"}]}))
    # When `modelrouter route --explain` decides it
    argv = ("route", "--policy", str(policy_file), "--request", str(request), "--tenant", "t1", "--explain")
    code, out, _ = run_cli(capsys, *argv)
    # Then the output shows the topic with its evidence and the route's topic clause
    assert code == 0
    assert f"topic: billing (confidence {one_word_confidence():.2f}, classifier {TOPICS_KEY}; invoice)" in out
    assert f"✓ topics: topic billing ({one_word_confidence():.2f})" in out


def test_policy_validate_checks_and_names_the_classifier(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the policy file with its artifact next to it
    policy_file = write_policy(tmp_path, topics_policy(RAW))
    # When it is validated, Then the classifier is named as checked
    code, out, _ = run_cli(capsys, "policy", "validate", str(policy_file))
    assert code == 0
    assert f"topics {TOPICS_KEY}: ok (3 topics; sha256:{sha256_hex(RAW)[:12]}" in out


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake_aws_environment(monkeypatch)
    with versioned_bucket(BUCKET) as client:
        yield client


def store_events(
    s3: Any, document: dict[str, Any], *, by_hand: bool = False
) -> tuple[PolicyStore, list[tuple[str, str]]]:
    """A store over the bucket once ``document`` was activated (or, ``by_hand``, pointed at without
    the activator, which would refuse it)."""
    events: list[tuple[str, str]] = []
    if by_hand:
        point_at_unchecked(s3, BUCKET, json.dumps(document))
    else:
        assert activate(s3, BUCKET, json.dumps(document)).outcome == "activated"
    store = PolicyStore(
        BUCKET, POINTER_KEY, 60, s3_client=s3, on_event=lambda kind, detail: events.append((kind, detail))
    )
    return store, events


def test_the_store_loads_the_classifier_with_the_policy_from_s3(s3: Any) -> None:
    # Given the artifact in the bucket and a policy pinning it
    s3.put_object(Bucket=BUCKET, Key=TOPICS_KEY, Body=RAW)
    store, events = store_events(s3, topics_policy(RAW))
    # When the policy loads
    active = store.current()
    # Then the classifier is loaded with it
    assert active.topics is not None
    assert active.topics.digest == f"sha256:{sha256_hex(RAW)}"
    assert "topic classifier (3 topics)" in events[-1][1]


def test_the_store_rejects_a_policy_whose_classifier_is_missing(s3: Any) -> None:
    # Given a policy naming a classifier the bucket does not hold: the activator refuses it
    record = activate(s3, BUCKET, json.dumps(topics_policy(RAW)))
    assert record.outcome == "rejected"
    assert any("topics.classifier" in p and "missing in S3" in p for p in record.problems)
    # And a pointer set on it by hand
    store, events = store_events(s3, topics_policy(RAW), by_hand=True)
    # When it loads at cold start, Then no policy is served (503, never a 500) and the event says why
    with pytest.raises(PolicyUnavailableError):
        store.current()
    kind, detail = events[-1]
    assert kind == "rejected"
    assert "topics.classifier" in detail
    assert "missing in S3" in detail


def test_the_committed_artifact_is_fitted_on_the_committed_examples_and_pinned_by_both_policies() -> None:
    # Given the committed artifact, examples and policies
    artifact = load_topic_classifier(ARTIFACT.read_bytes(), str(ARTIFACT))
    # Then it was fitted on exactly these examples (`make topics` refits it when they change)
    assert artifact.document["training"]["data_sha256"] == examples_digest(read_examples(EXAMPLES))
    # And both policies pin these bytes
    digest = hashlib.sha256(ARTIFACT.read_bytes()).hexdigest()
    for name in ("local.yaml", "example.yaml"):
        topics = load_policy_file(ROOT / "policies" / name).policy.topics
        assert topics is not None
        assert (topics.classifier, topics.sha256) == ("routers/support-topics.json", digest)
    # And it beat the keyword baseline on the same folds
    report = artifact.document["report"]
    chosen = next(c for c in report["candidates"] if c["model"] == report["selected"])
    assert chosen["macro_f1"]["mean"] > report["keyword_baseline"]["macro_f1"]["mean"]


class _CountingClassifier:
    """Stands in for a topic classifier: counts the requests it scores, always says billing."""

    def __init__(self, real: TopicClassifier) -> None:
        self.real = real
        self.calls = 0

    def guess(self, text: str, **kwargs: Any) -> Any:
        self.calls += 1
        return self.real.guess(text, **kwargs)


def test_the_topic_is_scored_only_when_a_topics_route_is_reached() -> None:
    # Given a tenants route before the topics route, and a classifier that counts its calls
    document = topics_policy(RAW)
    document["tenants"].append({"id": "t2", "budget": {"daily_usd": 1}})
    document["routes"].insert(0, {"name": "t2-only", "when": {"tenants": ["t2"]}, "models": ["small"]})
    policy = policy_from(document).policy
    counting = _CountingClassifier(load_topic_classifier(RAW))
    classifier: Any = counting
    # When t2 (matched by the first route) and t1 (reaching the topics route) are decided
    early = decide(policy, chat("my invoice is wrong"), RequestContext("r1", "t2"), topics=classifier)
    reached = decide(policy, chat("my invoice is wrong"), RequestContext("r2", "t1"), topics=classifier)
    # Then only t1's request was scored, and only its decision carries a topic
    assert counting.calls == 1
    assert early.route == "t2-only"
    assert early.features.topic is None
    assert reached.features.topic is not None
