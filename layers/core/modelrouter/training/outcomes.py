"""Outcomes JSON Lines: one object per (request, model) observation, read and checked line by line.

The format is documented in ``docs/learning.md`` and ``policies/outcomes.schema.json``. Several lines
with one ``request_id`` are counterfactual outcomes (benchmark data: every model answered the same
prompt); one line per request is logged traffic. Every bad line is an :class:`OutcomesError` naming
the file and the line number.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelrouter.errors import InvalidRequestError
from modelrouter.features import extract_features
from modelrouter.features.records import RequestFeatures
from modelrouter.learned.features import request_text
from modelrouter.request import ChatRequest, parse_chat_request

__all__ = [
    "MAX_LINE_BYTES",
    "Outcome",
    "OutcomeTable",
    "OutcomesError",
    "ScoringRequest",
    "read_json_objects",
    "read_outcomes",
    "read_scoring_requests",
    "tabulate",
]

MAX_LINE_BYTES = 1_000_000
"""Longest line accepted (a prompt of about 250,000 tokens)."""
_OPTIONAL_STRINGS = ("tenant", "route", "answered_by", "policy_version", "segment")
_QUALITY_SOURCES = ("feedback", "implicit")


class OutcomesError(ValueError):
    """A line of an outcomes or requests file is not valid; the message names the file and line."""

    def __init__(self, source: str, line: int, message: str) -> None:
        super().__init__(f"{source}:{line}: {message}")
        self.source, self.line, self.detail = source, line, message


@dataclass(frozen=True, slots=True)
class ScoringRequest:
    """A request to score: its id and its chat request (from ``prompt`` or ``messages``)."""

    request_id: str
    """The caller's id for it."""
    request: ChatRequest
    """The request, as the router would see it."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one model did on one request."""

    request_id: str
    """Which request (several lines may share one: counterfactual outcomes)."""
    request: ChatRequest
    """The request, built from ``prompt`` or ``messages``."""
    model: str
    """The model that answered, by the name the outcomes use."""
    quality: float
    """How good the answer was, 0 to 1."""
    cost_usd: float
    """What the call cost."""
    latency_ms: float | None = None
    """How long it took, when known."""
    tags: tuple[str, ...] = ()
    """Labels of the request (benchmark name, use case …), used to report metrics per tag."""
    tenant: str | None = None
    """Tenant of logged traffic."""
    route: str | None = None
    """Route of logged traffic."""
    propensity: float | None = None
    """Probability the logging policy chose this model, for off-policy evaluation."""
    metadata: dict[str, str] | None = None
    """The request's ``metadata`` (routing signals), so a candidate policy can be replayed on it."""
    quality_source: str | None = None
    """Logged traffic: ``feedback`` (the user's rating) or ``implicit`` (the request's own outcome)."""
    answered_by: str | None = None
    """Logged traffic: the model whose answer was returned, when not ``model`` (a fallback)."""
    policy_version: str | None = None
    """Logged traffic: the policy version that routed the request."""
    segment: str | None = None
    """Logged traffic of a bandit route: the request's segment."""
    source: str = ""
    """The file it was read from (for errors found later, such as a request id with two prompts)."""
    line: int = 0
    """Its line number in that file."""


def read_scoring_requests(path: str | Path) -> Iterator[ScoringRequest]:
    """The requests of a JSON Lines file with ``request_id`` and ``prompt`` or ``messages`` per line
    (other fields ignored); ``-`` reads standard input.

    Raises:
        OutcomesError: a line that is not such an object.
    """
    for source, number, data in read_json_objects(path):
        yield ScoringRequest(_request_id(data, source, number), _chat_request(data, source, number))


def read_outcomes(paths: Iterable[str | Path]) -> list[Outcome]:
    """Every outcome of the files, in order.

    Raises:
        OutcomesError: the first bad line (unknown field, missing or mistyped value, quality outside
            [0, 1], negative cost, both or neither of ``prompt`` and ``messages``), or a file that
            cannot be read or holds no outcome.
    """
    outcomes: list[Outcome] = []
    for path in paths:
        before = len(outcomes)
        for source, number, data in read_json_objects(path):
            outcomes.append(_outcome(data, source, number))
        if len(outcomes) == before:
            raise OutcomesError(str(path), 0, "no outcomes in the file")
    return outcomes


_FIELDS = {
    "request_id",
    "prompt",
    "messages",
    "model",
    "quality",
    "cost_usd",
    "latency_ms",
    "tags",
    "tenant",
    "route",
    "propensity",
    "metadata",
    "quality_source",
    "answered_by",
    "policy_version",
    "segment",
}


def _outcome(data: dict[str, Any], source: str, number: int) -> Outcome:
    if unknown := sorted(set(data) - _FIELDS):
        raise OutcomesError(source, number, f"unknown field '{unknown[0]}'")
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise OutcomesError(source, number, "'model' must be a non-empty string")
    quality = _number(data, "quality", source, number, required=True)
    assert quality is not None
    if not 0.0 <= quality <= 1.0:
        raise OutcomesError(source, number, f"'quality' must be within [0, 1], got {quality}")
    cost = _number(data, "cost_usd", source, number, required=True)
    assert cost is not None
    if cost < 0:
        raise OutcomesError(source, number, f"'cost_usd' must be ≥ 0, got {cost}")
    latency = _number(data, "latency_ms", source, number, required=False)
    if latency is not None and latency < 0:
        raise OutcomesError(source, number, f"'latency_ms' must be ≥ 0, got {latency}")
    propensity = _number(data, "propensity", source, number, required=False)
    if propensity is not None and not 0.0 < propensity <= 1.0:
        raise OutcomesError(source, number, f"'propensity' must be within (0, 1], got {propensity}")
    tags = data.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise OutcomesError(source, number, "'tags' must be a list of strings")
    for name in _OPTIONAL_STRINGS:
        if name in data and not isinstance(data[name], str):
            raise OutcomesError(source, number, f"'{name}' must be a string")
    metadata = data.get("metadata")
    if metadata is not None and (
        not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values())
    ):
        raise OutcomesError(source, number, "'metadata' must be an object of strings")
    quality_source = data.get("quality_source")
    if quality_source is not None and quality_source not in _QUALITY_SOURCES:
        raise OutcomesError(source, number, "'quality_source' must be 'feedback' or 'implicit'")
    return Outcome(
        request_id=_request_id(data, source, number),
        request=_chat_request(data, source, number),
        model=model,
        quality=quality,
        cost_usd=cost,
        latency_ms=latency,
        tags=tuple(tags),
        tenant=data.get("tenant"),
        route=data.get("route"),
        propensity=propensity,
        metadata=dict(metadata) if metadata is not None else None,
        quality_source=quality_source,
        answered_by=data.get("answered_by"),
        policy_version=data.get("policy_version"),
        segment=data.get("segment"),
        source=source,
        line=number,
    )


def read_json_objects(path: str | Path) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """``(source, line number, object)`` for each non-blank line of a JSON Lines file (``-``: standard
    input).

    Raises:
        OutcomesError: the file cannot be read, or a line is longer than :data:`MAX_LINE_BYTES`, not
            JSON, nested too deeply to be read, or not an object.
    """
    import sys

    source = str(path)
    try:
        stream = sys.stdin.buffer if source == "-" else Path(path).open("rb")  # noqa: SIM115
    except OSError as error:
        raise OutcomesError(source, 0, f"cannot read the file: {error.strerror or error}") from None
    with stream:
        for number, raw in enumerate(stream, start=1):
            if len(raw) > MAX_LINE_BYTES:
                raise OutcomesError(source, number, f"line longer than {MAX_LINE_BYTES:,} bytes")
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as error:
                raise OutcomesError(source, number, f"not JSON: {str(error)[:100]}") from None
            except RecursionError:
                raise OutcomesError(source, number, "JSON nested too deeply to be read") from None
            if not isinstance(data, dict):
                raise OutcomesError(source, number, "each line must be a JSON object")
            yield source, number, data


def _request_id(data: dict[str, Any], source: str, number: int) -> str:
    request_id = data.get("request_id")
    if not isinstance(request_id, str) or not request_id:
        raise OutcomesError(source, number, "'request_id' must be a non-empty string")
    return request_id


def _chat_request(data: dict[str, Any], source: str, number: int) -> ChatRequest:
    has_prompt, has_messages = "prompt" in data, "messages" in data
    if has_prompt == has_messages:
        raise OutcomesError(source, number, "give exactly one of 'prompt' and 'messages'")
    if has_prompt:
        if not isinstance(data["prompt"], str) or not data["prompt"]:
            raise OutcomesError(source, number, "'prompt' must be a non-empty string")
        messages: Any = [{"role": "user", "content": data["prompt"]}]
    else:
        messages = data["messages"]
    try:
        return parse_chat_request({"model": "auto", "messages": messages})
    except InvalidRequestError as error:
        where = f" ({error.field})" if error.field else ""
        raise OutcomesError(source, number, f"'messages' is not valid{where}: {error.message}") from None


def _number(data: dict[str, Any], name: str, source: str, number: int, *, required: bool) -> float | None:
    if name not in data:
        if required:
            raise OutcomesError(source, number, f"'{name}' is required")
        return None
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise OutcomesError(source, number, f"'{name}' must be a finite number")
    return float(value)


@dataclass
class OutcomeTable:
    """Outcomes as a request × model table (what fitting and evaluation read)."""

    request_ids: list[str]
    """One per row."""
    texts: list[str]
    """Each request's text as a learned router reads it."""
    features: list[RequestFeatures]
    """Each request's router features."""
    models: list[str]
    """One per column, in first-seen order."""
    quality: list[list[float]]
    """``quality[row][column]``; NaN where that model was not observed on that request."""
    cost: list[list[float]]
    """``cost_usd[row][column]``; NaN where not observed."""
    tags: list[tuple[str, ...]]
    """Each request's tags (the union over its lines)."""
    digest: str = ""
    """``sha256:`` over the observations in a canonical order: identifies the training data."""
    propensity: list[list[float]] = field(default_factory=list)
    """Logged propensities (NaN where absent)."""

    def is_counterfactual(self) -> bool:
        """Whether every request has an outcome for every model (benchmark data)."""
        return all(not math.isnan(value) for row in self.quality for value in row)


def tabulate(outcomes: list[Outcome]) -> OutcomeTable:
    """Group outcomes by request id; a repeated (request, model) pair keeps its mean.

    Raises:
        OutcomesError: one request id with two different prompts (names the second's file and line).
    """
    models = list(dict.fromkeys(outcome.model for outcome in outcomes))
    column = {name: index for index, name in enumerate(models)}
    rows: dict[str, int] = {}
    prompts: list[ChatRequest] = []
    sums: list[list[list[float]]] = []
    tags: list[set[str]] = []
    hasher = hashlib.sha256()
    for outcome in sorted(outcomes, key=lambda o: (o.request_id, o.model)):
        hasher.update(
            json.dumps(
                [outcome.request_id, outcome.model, outcome.quality, outcome.cost_usd], separators=(",", ":")
            ).encode()
        )
    for outcome in outcomes:
        row = rows.get(outcome.request_id)
        if row is None:
            row = rows[outcome.request_id] = len(prompts)
            prompts.append(outcome.request)
            sums.append([[0.0, 0.0, 0.0, 0.0] for _ in models])
            tags.append(set())
        elif prompts[row].messages != outcome.request.messages:
            raise OutcomesError(
                outcome.source or "outcomes",
                outcome.line,
                f"request '{outcome.request_id}' has two different prompts",
            )
        cell = sums[row][column[outcome.model]]
        cell[0] += outcome.quality
        cell[1] += outcome.cost_usd
        cell[2] += 1
        cell[3] += outcome.propensity if outcome.propensity is not None else math.nan
        tags[row].update(outcome.tags)
    nan = math.nan
    return OutcomeTable(
        request_ids=list(rows),
        texts=[request_text(request) for request in prompts],
        features=[extract_features(request) for request in prompts],
        models=models,
        quality=[[c[0] / c[2] if c[2] else nan for c in row] for row in sums],
        cost=[[c[1] / c[2] if c[2] else nan for c in row] for row in sums],
        tags=[tuple(sorted(t)) for t in tags],
        digest="sha256:" + hasher.hexdigest(),
        propensity=[[c[3] / c[2] if c[2] else nan for c in row] for row in sums],
    )
