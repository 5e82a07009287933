"""Fitting a topic classifier: ``learn fit-topics`` (determinism, the cross-validated table against the
keyword baseline, bad examples), parity of the pure-Python scoring with scikit-learn, and the keyword
baseline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.helpers import run_cli

from modelrouter.learned.topics import load_topic_classifier
from modelrouter.training.topic_cv import CANDIDATES
from modelrouter.training.topic_keywords import load_keywords
from modelrouter.training.topics import (
    ModelChoice,
    build_vocabulary,
    design_matrix,
    fit_estimator,
    read_examples,
    topic_artifact,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "policies" / "topics" / "examples.jsonl"
KEYWORDS = ROOT / "policies" / "topics" / "keywords.yaml"
PARITY = 1e-9
SMALL_TOPICS = ("billing", "coding", "other", "shipping")
PER_TOPIC = 9


@pytest.fixture
def small_examples(tmp_path: Path) -> Path:
    """The first examples of four topics of the committed file, as their own file."""
    lines = [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines()]
    chosen = [
        line for topic in SMALL_TOPICS for line in [x for x in lines if x["topic"] == topic][:PER_TOPIC]
    ]
    path = tmp_path / "examples.jsonl"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in chosen), encoding="utf-8")
    return path


def fit_cli(
    capsys: pytest.CaptureFixture[str], examples: Path, out: Path, *extra: str
) -> tuple[int, str, str]:
    return run_cli(capsys, "learn", "fit-topics", str(examples), "--out", str(out), "--cv", "3", *extra)


def test_the_same_examples_give_a_byte_identical_artifact(
    small_examples: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When the same examples are fitted twice
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert fit_cli(capsys, small_examples, first)[0] == 0
    assert fit_cli(capsys, small_examples, second)[0] == 0
    # Then the two files are the same bytes, and the artifact loads with the examples' topics
    assert first.read_bytes() == second.read_bytes()
    assert load_topic_classifier(first.read_bytes()).labels == SMALL_TOPICS


def test_fit_topics_prints_the_cross_validated_table_against_the_keywords_and_writes_the_report(
    small_examples: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a keyword baseline over the same topics
    keywords = tmp_path / "keywords.yaml"
    keywords.write_text(
        "fallback: other\ntopics:\n  billing: [invoice]\n  coding: [function]\n  shipping: [parcel]\n"
    )
    # When the examples are fitted with it and a JSON report
    out, report_file = tmp_path / "topics.json", tmp_path / "report.json"
    code, stdout, _ = fit_cli(
        capsys, small_examples, out, "--keywords", str(keywords), "--json", str(report_file)
    )
    # Then the table has the baseline and every candidate, the written one marked, each as mean ± sd
    assert code == 0
    report = json.loads(report_file.read_text())
    rows = {
        line.strip().split("  ")[0] for line in stdout.splitlines() if line.startswith("  ") and "±" in line
    }
    assert rows == {"keyword baseline", *(str(c) for c in CANDIDATES if str(c) != report["selected"])} | {
        f"{report['selected']} *"
    }
    # And the report holds one figure per fold for each, and the artifact carries the same report
    assert report["cv"] == {"folds": 3, "seed": 0, "stratified": True}
    assert len(report["keyword_baseline"]["accuracy"]["folds"]) == 3
    assert all(len(c["macro_f1"]["folds"]) == 3 for c in report["candidates"])
    assert set(report["per_topic_f1"]) == set(SMALL_TOPICS)
    artifact = load_topic_classifier(out.read_bytes())
    assert artifact.document["report"] == report
    assert f"sha256: {artifact.digest.removeprefix('sha256:')}" in stdout


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{bad json", "examples.jsonl:2: not JSON"),
        ('{"text": "hi"}', "examples.jsonl:2: each line must be an object with exactly 'text' and 'topic'"),
        ('{"text": "", "topic": "billing"}', "examples.jsonl:2: 'text' must be a non-empty string"),
        (
            '{"text": "hi", "topic": "Billing Team"}',
            "examples.jsonl:2: 'topic' must be a lower-case identifier",
        ),
    ],
)
def test_a_bad_examples_line_is_one_error_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, message: str
) -> None:
    # Given an examples file whose second line is bad
    examples = tmp_path / "examples.jsonl"
    examples.write_text('{"text": "my invoice", "topic": "billing"}\n' + line + "\n")
    # When it is fitted
    code, _, err = fit_cli(capsys, examples, tmp_path / "out.json")
    # Then it exits 2 with one line naming the file and line, and writes nothing
    assert code == 2
    assert err.startswith("error: ")
    assert message in err
    assert not (tmp_path / "out.json").exists()


def test_a_topic_with_fewer_examples_than_folds_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given two examples of one topic and five of another
    examples = tmp_path / "examples.jsonl"
    lines = [{"text": f"invoice {i}", "topic": "billing"} for i in range(5)]
    lines += [{"text": f"weather {i}", "topic": "other"} for i in range(2)]
    examples.write_text("".join(json.dumps(line) + "\n" for line in lines))
    # When they are fitted with 3 folds
    code, _, err = fit_cli(capsys, examples, tmp_path / "out.json")
    # Then the error names the topic and what it needs
    assert code == 2
    assert "topic 'other' has 2 examples; 3-fold cross-validation needs at least 3 per topic" in err


@pytest.mark.parametrize(
    ("choice", "topics"),
    [
        (ModelChoice("logistic", 10.0), None),
        (ModelChoice("logistic", 3.0, chars=False), None),
        (ModelChoice("naive_bayes", 0.3), None),
        (ModelChoice("logistic", 10.0), ("coding", "fraud_review")),
    ],
    ids=["logistic", "logistic-words", "naive-bayes", "two-topics"],
)
def test_pure_python_probabilities_equal_scikit_learns_on_held_out_texts(
    choice: ModelChoice, topics: tuple[str, ...] | None
) -> None:
    # Given an estimator fitted on every other committed example (of the chosen topics)
    examples = [e for e in read_examples(EXAMPLES) if topics is None or e.topic in topics]
    train, held_out = examples[::2], examples[1::2]
    labels = sorted({e.topic for e in examples})
    tokenizer = choice.tokenizer
    vocabulary = build_vocabulary([e.text for e in train], tokenizer)
    targets = np.array([labels.index(e.topic) for e in train])
    estimator = fit_estimator(choice, design_matrix([e.text for e in train], vocabulary, tokenizer), targets)
    # When its artifact scores the held-out texts in pure Python
    raw = topic_artifact(choice, estimator, labels, vocabulary, min_confidence=0.5, report={}, training={})
    classifier = load_topic_classifier(raw)
    ours = np.array([list(classifier.probabilities(e.text).values()) for e in held_out])
    # Then every probability equals scikit-learn's predict_proba to 1e-9
    theirs = estimator.predict_proba(design_matrix([e.text for e in held_out], vocabulary, tokenizer))
    assert ours.shape == theirs.shape == (len(held_out), len(labels))
    assert np.abs(ours - theirs).max() < PARITY


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Where is my parcel? The tracking shows nothing", "shipping"),
        ("Log in fails and my password reset never arrives", "account_access"),
        ("I cannot log-in since Friday", "account_access"),  # the phrase "log in", word by word
        ("I write a blog in Paris", "other"),  # "blog in" is not "log in": whole words only
        ("invoice for the parcel", "other"),  # one billing and one shipping keyword: a tie
        ("nothing to see here", "other"),
    ],
)
def test_the_keyword_baseline_takes_the_topic_with_most_keywords_else_the_fallback(
    text: str, expected: str
) -> None:
    # Given the committed keyword baseline (fallback: other)
    baseline = load_keywords(KEYWORDS)
    # When a text is classified
    topic = baseline.predict(text)
    # Then the topic with the most distinct keywords wins; a tie or none gives the fallback
    assert topic == expected
