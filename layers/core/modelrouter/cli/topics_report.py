"""Readable text of ``learn fit-topics``: the artifact written, the cross-validated comparison of the
candidate models with the keyword baseline, F1 per topic, and what the confidence threshold keeps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from modelrouter.cli.render import table

if TYPE_CHECKING:
    from modelrouter.learned.topics import TopicClassifier

__all__ = ["render_topic_fit"]

CHOSEN_MARK = "*"
"""Marks the selected model in the comparison."""


def _spread(score: Mapping[str, Any]) -> str:
    return f"{float(score['mean']):.3f} ± {float(score['sd']):.3f}"


def _f1(value: Any) -> str:
    return "—" if value is None else f"{float(value):.3f}"


def render_topic_fit(classifier: TopicClassifier, path: str, size: int) -> str:
    """What ``learn fit-topics`` prints for the classifier it wrote to ``path`` (``size`` bytes)."""
    report: dict[str, Any] = classifier.document.get("report", {})
    vocabulary = classifier.vocabulary
    cv = report.get("cv", {})
    rows: list[tuple[str, ...]] = []
    baseline = report.get("keyword_baseline")
    if baseline is not None:
        rows.append(("keyword baseline", _spread(baseline["accuracy"]), _spread(baseline["macro_f1"])))
    for candidate in report.get("candidates", []):
        mark = f" {CHOSEN_MARK}" if candidate["model"] == report.get("selected") else ""
        rows.append(
            (candidate["model"] + mark, _spread(candidate["accuracy"]), _spread(candidate["macro_f1"]))
        )
    counts = report.get("topics", {})
    per_topic = report.get("per_topic_f1", {})
    topic_rows = [
        (label, counts.get(label, 0), _f1(scores.get("classifier")), _f1(scores.get("keywords")))
        for label, scores in per_topic.items()
    ]
    lines = [
        f"wrote {path}: {size:,} bytes, {len(classifier.labels)} topics, {len(vocabulary.words):,} word terms"
        f" and {len(vocabulary.chars):,} character n-grams, {report.get('examples', 0):,} examples",
        f"sha256: {classifier.digest.removeprefix('sha256:')}  (a policy pins it as topics.sha256)",
        f"{cv.get('folds', '?')}-fold stratified cross-validation (seed {cv.get('seed', '?')}), mean ± sd"
        f" over the folds; {CHOSEN_MARK} the model written (best mean macro-F1):",
        table(["model", "accuracy", "macro-F1"], rows),
        "F1 per topic (out-of-fold, the model written):",
        table(["topic", "examples", "classifier", "keywords"], topic_rows),
    ]
    chosen = classifier.min_confidence
    threshold_rows = [
        (
            f"{float(row['min_confidence']):g}"
            + (f" {CHOSEN_MARK}" if row["min_confidence"] == chosen else ""),
            f"{float(row['coverage']):.1%}",
            "—" if row["accuracy_above"] is None else f"{float(row['accuracy_above']):.1%}",
        )
        for row in report.get("thresholds", [])
    ]
    if threshold_rows:
        lines.append(
            f"held-out texts that get a topic at each min_confidence ({CHOSEN_MARK} the artifact's default;"
            " below it, no topic and when.topics does not match):"
        )
        lines.append(table(["min_confidence", "get a topic", "of which right"], threshold_rows))
    return "\n".join(lines)
