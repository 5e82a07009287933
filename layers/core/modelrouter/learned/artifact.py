"""The router artifact: one JSON file a fit writes and the router scores requests with, in pure Python.

Each model has a logistic *head* over the features of :mod:`modelrouter.learned.features`; an optional
shared head predicts how hard the request is for models in general, and each model's head adds it with
its own weight (models' failures are correlated, so a difficulty learned from every model's outcomes is
a better signal for each than its own outcomes alone). A head's output goes through the model's Platt
calibration, so a score is a probability-like predicted quality in [0, 1].

Weights are stored as base64 of little-endian float32 (a 16,384-bucket head is 87 KB of text), read
once into lists of floats; a score is a sum over the request's buckets per head.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import sys
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from modelrouter.errors import ModelRouterError
from modelrouter.features.records import RequestFeatures
from modelrouter.learned.features import (
    DENSE_FEATURES,
    FEATURE_VERSION,
    FeatureRecipe,
    dense_features,
    text_indices,
)

__all__ = [
    "ARTIFACT_FORMAT",
    "MAX_ARTIFACT_BYTES",
    "ArtifactError",
    "Head",
    "LearnedRouter",
    "decode_weights",
    "encode_weights",
    "load_json_artifact",
    "load_router",
]

ARTIFACT_FORMAT = "modelrouter.learned-router"
"""The ``format`` value every router artifact carries."""
MAX_ARTIFACT_BYTES = 4_000_000
"""Largest artifact accepted (a fit for 11 models writes about 1.1 MB)."""


class ArtifactError(ModelRouterError):
    """A router artifact is missing, malformed, of another feature version, or not the pinned one."""

    code = "invalid_router_artifact"
    http_status = 503
    error_type = "service_unavailable"
    public_message = "the routing policy's learned router is unavailable; try again later"


def encode_weights(values: Any) -> str:
    """Base64 of ``values`` as little-endian float32 (what an artifact stores)."""
    packed = array("f", [float(v) for v in values])
    if sys.byteorder != "little":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def decode_weights(text: str, expected: int, where: str) -> list[float]:
    """The floats :func:`encode_weights` stored.

    Raises:
        ArtifactError: not base64 of ``expected`` float32 values, or a value is not finite.
    """
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise ArtifactError(f"{where}: weights are not base64") from None
    if len(raw) != 4 * expected:
        raise ArtifactError(f"{where}: {len(raw) // 4} weights, expected {expected}")
    values = array("f")
    values.frombytes(raw)
    if sys.byteorder != "little":
        values.byteswap()
    result = values.tolist()
    if not all(math.isfinite(v) for v in result):
        raise ArtifactError(f"{where}: weights must be finite numbers")
    return result


@dataclass(frozen=True, slots=True)
class Head:
    """One logistic head: ``bias + text · weights / sqrt(n) + dense · dense_weights``."""

    bias: float
    """Intercept."""
    text_weights: list[float]
    """One weight per hashed text bucket."""
    dense_weights: list[float]
    """One weight per :data:`~modelrouter.learned.features.DENSE_FEATURES` value."""
    shared_weight: float = 0.0
    """Weight of the shared difficulty head's output (0 for the shared head itself)."""
    calibration: tuple[float, float] = (1.0, 0.0)
    """Platt scaling ``(slope, intercept)`` applied to the head's logit."""

    def logit(self, indices: list[int], scale: float, dense: list[float]) -> float:
        """The head's raw output for a request's buckets (each valued ``scale``) and dense features."""
        text = sum(map(self.text_weights.__getitem__, indices)) * scale
        return self.bias + text + sum(w * x for w, x in zip(self.dense_weights, dense, strict=True))


@dataclass(frozen=True, slots=True)
class LearnedRouter:
    """A loaded router artifact: scores a request's predicted quality for each of its models."""

    models: tuple[str, ...]
    """The models it predicts, by the names in the outcomes it was fitted on."""
    recipe: FeatureRecipe
    """How text becomes features."""
    heads: dict[str, Head]
    """One head per model."""
    shared: Head | None
    """The shared difficulty head, when the fit used one."""
    digest: str
    """``sha256:`` of the artifact file."""
    document: dict[str, Any] = field(repr=False)
    """The parsed JSON (training data hash, metrics, cost model) for tools that report on it."""

    def score(self, text: str, features: RequestFeatures) -> dict[str, float]:
        """Predicted quality in [0, 1] for each model, from the request's text and router features."""
        indices = text_indices(text, self.recipe)
        scale = 1.0 / math.sqrt(len(indices)) if indices else 0.0
        dense = dense_features(features)
        shared = self.shared.logit(indices, scale, dense) if self.shared is not None else 0.0
        scores: dict[str, float] = {}
        for name in self.models:
            head = self.heads[name]
            z = head.logit(indices, scale, dense) + head.shared_weight * shared
            slope, intercept = head.calibration
            scores[name] = _sigmoid(slope * z + intercept)
        return scores

    def expected_cost(self, model: str, prompt_tokens: int) -> float:
        """The fit's estimate of one call's cost in USD (``base_usd + per_prompt_token_usd · tokens``);
        0 when the artifact has no cost model for ``model``."""
        entry = self.document.get("cost_model", {}).get(model)
        if not isinstance(entry, dict):
            return 0.0
        return max(0.0, float(entry["base_usd"]) + float(entry["per_prompt_token_usd"]) * prompt_tokens)

    @property
    def metrics(self) -> dict[str, Any]:
        """Cross-validated metrics per model, as the fit recorded them."""
        metrics = self.document.get("metrics", {})
        return metrics if isinstance(metrics, dict) else {}


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def load_router(raw: bytes, source: str = "router artifact") -> LearnedRouter:
    """Parse and check a router artifact.

    Raises:
        ArtifactError: too large, not JSON, not a router artifact, fitted on another feature version,
            or a head whose weights do not fit its recipe. The message names ``source``.
    """
    return load_json_artifact(raw, source, _build, kind="router artifact", max_bytes=MAX_ARTIFACT_BYTES)


Built = TypeVar("Built")


def load_json_artifact(
    raw: bytes,
    source: str,
    build: Callable[[Any, str, str], Built],
    *,
    kind: str,
    max_bytes: int,
) -> Built:
    """``build(document, digest, source)`` of the JSON artifact ``raw`` (a ``kind``: ``router artifact``);
    a missing key or a value of the wrong type while building is a malformed artifact.

    Raises:
        ArtifactError: larger than ``max_bytes``, not JSON, or what ``build`` refuses; the message names
            ``source``.
    """
    if len(raw) > max_bytes:
        raise ArtifactError(f"{source}: {len(raw):,} bytes; at most {max_bytes:,} are accepted")
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise ArtifactError(f"{source}: not JSON ({str(error)[:120]})") from None
    try:
        return build(document, "sha256:" + hashlib.sha256(raw).hexdigest(), source)
    except ArtifactError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        problem = f"{type(error).__name__}: {error}"
        raise ArtifactError(f"{source}: malformed {kind} ({problem})") from None


def _build(document: Any, digest: str, source: str) -> LearnedRouter:
    if not isinstance(document, dict) or document.get("format") != ARTIFACT_FORMAT:
        raise ArtifactError(f"{source}: not a router artifact (format must be '{ARTIFACT_FORMAT}')")
    recipe_data = document["feature_recipe"]
    version = recipe_data.get("version")
    if version != FEATURE_VERSION:
        raise ArtifactError(
            f"{source}: fitted with feature version {version}; this router reads version {FEATURE_VERSION}"
            " (refit it with this release's `modelrouter learn fit`)"
        )
    recipe = FeatureRecipe.from_json(recipe_data)
    if not 8 <= recipe.hash_bits <= 20:
        raise ArtifactError(f"{source}: hash_bits must be between 8 and 20")
    models = tuple(str(name) for name in document["models"])
    if not models or len(set(models)) != len(models):
        raise ArtifactError(f"{source}: 'models' must be a non-empty list of distinct names")
    heads_data = document["heads"]
    heads = {name: _head(heads_data[name], recipe, f"{source}: heads.{name}") for name in models}
    shared_data = document.get("shared")
    shared = _head(shared_data, recipe, f"{source}: shared") if shared_data is not None else None
    return LearnedRouter(models, recipe, heads, shared, digest, document)


def _head(data: dict[str, Any], recipe: FeatureRecipe, where: str) -> Head:
    dense = [float(v) for v in data["dense_weights"]]
    if len(dense) != len(DENSE_FEATURES):
        raise ArtifactError(f"{where}: {len(dense)} dense weights, expected {len(DENSE_FEATURES)}")
    slope, intercept = (float(v) for v in data.get("calibration", (1.0, 0.0)))
    numbers = [float(data["bias"]), float(data.get("shared_weight", 0.0)), slope, intercept, *dense]
    if not all(math.isfinite(v) for v in numbers):
        raise ArtifactError(f"{where}: numbers must be finite")
    return Head(
        bias=numbers[0],
        text_weights=decode_weights(data["text_weights"], recipe.size, where),
        dense_weights=dense,
        shared_weight=numbers[1],
        calibration=(slope, intercept),
    )
