"""Learned routers in a policy: which artifact a route reads, how it is pinned, and what it optimizes;
and the policy's topic classifier (``topics``), pinned the same way.

A route names its router artifact by a key in the policy bucket (in local mode, a path relative to the
policy file) and pins it, by SHA-256 digest or S3 version id, so that replacing the object never changes
routing under the same policy version. The artifact itself is loaded with the policy
(:mod:`modelrouter.policy.artifacts`), never per request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Self

from pydantic import AfterValidator, Field, model_validator

from modelrouter.policy.common import Identifier, StrictModel

__all__ = [
    "MAX_ROUTER_KEY_CHARS",
    "ROUTER_KEY_PREFIX",
    "ArtifactRef",
    "CascadeConfidence",
    "LearnedDifficulty",
    "LearnedRouting",
    "MappedRouterPin",
    "RouterKey",
    "RouterPin",
    "Topics",
]

MAX_ROUTER_KEY_CHARS = 512
"""Longest router key accepted."""
ROUTER_KEY_PREFIX = "routers/"
"""Every router key starts with this: the router function may read the policy object and the keys under
this prefix of the policy bucket, nothing else (``template.yaml``), and in local mode the files of the
``routers/`` folder next to the policy."""
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
_SHA256_HEX = r"^[0-9a-f]{64}$"


def _safe_key(key: str) -> str:
    """A relative key of plain segments: no scheme, no leading ``/``, no ``..``, no backslash."""
    if "\\" in key:
        raise ValueError("a router key must not contain '\\'")
    if ":" in key:
        raise ValueError("a router key is a key in the policy bucket, not a URL (no scheme, no ':')")
    if key.startswith("/"):
        raise ValueError("a router key is relative: no leading '/'")
    if not key.startswith(ROUTER_KEY_PREFIX):
        raise ValueError(
            f"a router key starts with '{ROUTER_KEY_PREFIX}' (the only prefix of the policy bucket the router"
            " may read), e.g. 'routers/general.json'"
        )
    for segment in key.split("/"):
        if segment in {"", ".", ".."}:
            raise ValueError("a router key must not have empty, '.' or '..' segments")
        if not _SEGMENT.match(segment):
            raise ValueError(
                f"router key segment {segment!r}: letters, digits, '.', '_' and '-' only, "
                "not starting with '.' or '-'"
            )
    return key


RouterKey = Annotated[
    str,
    Field(min_length=1, max_length=MAX_ROUTER_KEY_CHARS),
    AfterValidator(_safe_key),
]
"""A router artifact's key in the policy bucket, under ``routers/`` (a path relative to the policy file
in local mode)."""


@dataclass(frozen=True, slots=True)
class ArtifactRef:
    """One pinned artifact: its key and its pin. Loaded routers are looked up (and cached) by it."""

    key: str
    """Key in the policy bucket (a path relative to the policy file in local mode)."""
    sha256: str | None
    """Hex SHA-256 the artifact's bytes must have, when pinned by digest."""
    version_id: str | None
    """S3 version id to read, when pinned by version."""

    def __str__(self) -> str:
        pin = f"sha256:{self.sha256[:12]}…" if self.sha256 else f"version {self.version_id}"
        return f"{self.key} ({pin})"


class RouterPin(StrictModel):
    """A router artifact and its pin: exactly one of ``sha256`` and ``version_id``."""

    router: RouterKey
    """Key of the router artifact in the policy bucket, starting with ``routers/`` (the only prefix the
    router function may read); in local mode, a path relative to the policy file. Written by
    ``modelrouter learn fit``."""
    sha256: Annotated[str, Field(pattern=_SHA256_HEX)] | None = None
    """Hex SHA-256 of the artifact file (64 lowercase hex digits): the bytes read must match."""
    version_id: Annotated[str, Field(min_length=1, max_length=1024)] | None = None
    """S3 version id of the artifact object: that version is read, whatever the key holds now."""

    @model_validator(mode="after")
    def _one_pin(self) -> Self:
        _check_one_pin(self.sha256, self.version_id, "router")
        return self

    @property
    def ref(self) -> ArtifactRef:
        """The key and pin, as loaded routers are looked up."""
        return ArtifactRef(self.router, self.sha256, self.version_id)


def _check_one_pin(sha256: str | None, version_id: str | None, what: str) -> None:
    if (sha256 is None) == (version_id is None):
        raise ValueError(f"pin the {what} by exactly one of 'sha256' and 'version_id'")


class Topics(StrictModel):
    """The policy's topic classifier: every request gets a ``topic`` (the most likely one, or none below
    ``min_confidence``) that routes match with ``when.topics``. Written by ``modelrouter learn
    fit-topics``, stored and pinned like a router artifact (exactly one of ``sha256`` and
    ``version_id``) and loaded with the policy."""

    classifier: RouterKey
    """Key of the topic artifact in the policy bucket, starting with ``routers/`` (the only prefix the
    router function may read); in local mode, a path relative to the policy file."""
    sha256: Annotated[str, Field(pattern=_SHA256_HEX)] | None = None
    """Hex SHA-256 of the artifact file (64 lowercase hex digits, printed by ``learn fit-topics``)."""
    version_id: Annotated[str, Field(min_length=1, max_length=1024)] | None = None
    """S3 version id of the artifact object: that version is read, whatever the key holds now."""
    min_confidence: float | None = Field(default=None, ge=0, le=1)
    """Probability the most likely topic needs for the request to get it; below it the request has no
    topic and ``when.topics`` does not match. Default: the artifact's own (chosen when it was fitted)."""

    @model_validator(mode="after")
    def _one_pin(self) -> Self:
        _check_one_pin(self.sha256, self.version_id, "topic classifier")
        return self

    @property
    def ref(self) -> ArtifactRef:
        """The key and pin, as the loaded classifier is looked up."""
        return ArtifactRef(self.classifier, self.sha256, self.version_id)


class MappedRouterPin(RouterPin):
    """A router artifact, its pin, and how the artifact's model names map to the catalog's."""

    model_map: dict[Annotated[str, Field(min_length=1, max_length=256)], Identifier] = Field(min_length=1)
    """The artifact's model names (as in the outcomes it was fitted on) to catalog model ids; every
    model of the route must be a value here."""

    @cached_property
    def catalog_to_artifact(self) -> dict[str, str]:
        """Catalog model id to the artifact's name for it (``model_map`` inverted)."""
        return {model_id: name for name, model_id in self.model_map.items()}


class LearnedRouting(MappedRouterPin):
    """How a ``learned`` route orders its eligible candidates by the router's predicted quality.

    Give exactly one objective: ``quality_target`` (the cheapest eligible candidate predicted to reach
    it goes first; if none does, the best predicted) or ``cost_weight`` (by predicted quality -
    ``cost_weight`` × estimated cost in USD). The other candidates follow by predicted utility.
    """

    quality_target: float | None = Field(default=None, ge=0, le=1)
    """Predicted quality (0–1) the primary candidate should reach; the cheapest that does goes first."""
    cost_weight: float | None = Field(default=None, ge=0)
    """λ: predicted quality given up per USD of estimated cost (orders by quality - λ · cost)."""

    @model_validator(mode="after")
    def _one_objective(self) -> Self:
        if (self.quality_target is None) == (self.cost_weight is None):
            raise ValueError("give exactly one objective: 'quality_target' or 'cost_weight'")
        return self

    @property
    def objective(self) -> tuple[str, float]:
        """``("quality_target", target)`` or ``("cost_weight", λ)``."""
        if self.quality_target is not None:
            return "quality_target", self.quality_target
        return "cost_weight", float(self.cost_weight or 0.0)


class LearnedDifficulty(RouterPin):
    """A calibrated difficulty for a ``threshold`` route: 1 - the predicted quality of ``model``
    (the probability that the route's cheapest tier fails), used instead of the hand-made score."""

    model: Annotated[str, Field(min_length=1, max_length=256)]
    """The artifact's name for the model whose failure the difficulty predicts (the cheapest tier's)."""


class CascadeConfidence(MappedRouterPin):
    """Confidence before the call, for a ``cascade`` route: a tier (a model, cheapest first) whose
    predicted quality for the request is below ``skip_below`` is skipped rather than tried and escalated
    from. The most expensive eligible model is never skipped. The decision lists each skip as an
    exclusion (``predicted_below_skip``) with the prediction."""

    skip_below: float = Field(ge=0, le=1)
    """Predicted quality (0–1) under which a cheaper tier is skipped."""
