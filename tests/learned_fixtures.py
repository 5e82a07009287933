"""Tiny learned-router artifacts for tests, built with ``encode_weights``: no fit, known scores; a
policy with a learned route over them, and a versioned moto bucket to put both in.

:func:`keyword_router` predicts each model's quality from one thing only: whether a keyword is among the
prompt's words. Its recipe hashes single words only (no bigrams, no character n-grams) and its dense
weights are zero, so for a prompt that is exactly the keyword the score is exactly ``with_keyword[m]``,
and for a prompt without it exactly ``quality[m]``. (A longer prompt that contains the keyword lands in
between: a head's text term is divided by the square root of the number of distinct words.)
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import boto3
from moto import mock_aws

from modelrouter.learned.artifact import ARTIFACT_FORMAT, LearnedRouter, encode_weights, load_router
from modelrouter.learned.features import DENSE_FEATURES, FEATURE_VERSION, FeatureRecipe, text_indices
from tests.helpers import minimal_policy, model_entry

__all__ = [
    "KEYWORD_RECIPE",
    "MODEL_MAP",
    "ROUTER_KEY",
    "keyword_router",
    "keyword_router_bytes",
    "keyword_router_document",
    "learned_policy",
    "logit",
    "sha256_hex",
    "versioned_bucket",
]

ROUTER_KEY = "routers/test-router.json"
"""Where the test policies' router artifact is (a key in the policy bucket)."""
MODEL_MAP = {"cheap-7b": "small", "mid-34b": "medium", "frontier": "large"}
"""The artifact's model names to the test catalog's ids (small $1/$2, medium $2/$4, large $5/$20 per M)."""

KEYWORD_RECIPE = FeatureRecipe(hash_bits=10, word_bigrams=False, char_ngram=0)
"""Single words only, 1,024 buckets: one word is one bucket."""


def logit(probability: float) -> float:
    """The log-odds of ``probability`` (in (0, 1))."""
    return math.log(probability / (1.0 - probability))


def sha256_hex(raw: bytes) -> str:
    """Hex SHA-256 of ``raw``: what a policy's ``sha256`` pin holds."""
    return hashlib.sha256(raw).hexdigest()


def keyword_router_document(
    quality: Mapping[str, float],
    *,
    keyword: str = "prove",
    with_keyword: Mapping[str, float] | None = None,
    feature_version: int = FEATURE_VERSION,
    cost_model: Mapping[str, tuple[float, float]] | None = None,
) -> dict[str, Any]:
    """The artifact document: models ``quality`` (name to predicted quality without the keyword),
    ``with_keyword`` (predicted quality for a prompt that is the keyword; default: unchanged)."""
    (bucket,) = text_indices(keyword, KEYWORD_RECIPE)
    heads: dict[str, Any] = {}
    for name, base in quality.items():
        weights = [0.0] * KEYWORD_RECIPE.size
        weights[bucket] = logit((with_keyword or {}).get(name, base)) - logit(base)
        heads[name] = {
            "bias": logit(base),
            "text_weights": encode_weights(weights),
            "dense_weights": [0.0] * len(DENSE_FEATURES),
            "shared_weight": 0.0,
            "calibration": [1.0, 0.0],
        }
    recipe = {**KEYWORD_RECIPE.to_json(), "version": feature_version}
    return {
        "format": ARTIFACT_FORMAT,
        "feature_recipe": recipe,
        "models": list(quality),
        "heads": heads,
        "shared": None,
        "cost_model": {
            name: {"base_usd": base_usd, "per_prompt_token_usd": per_token}
            for name, (base_usd, per_token) in (cost_model or {}).items()
        },
        "metrics": {},
        "training": {"source": "tests.learned_fixtures"},
    }


def keyword_router_bytes(quality: Mapping[str, float], **options: Any) -> bytes:
    """The artifact file of :func:`keyword_router_document`."""
    return json.dumps(keyword_router_document(quality, **options)).encode()


def keyword_router(quality: Mapping[str, float], **options: Any) -> tuple[LearnedRouter, bytes]:
    """The loaded router of :func:`keyword_router_document`, and its file."""
    raw = keyword_router_bytes(quality, **options)
    return load_router(raw, "test router"), raw


def learned_policy(raw: bytes, **learned: Any) -> dict[str, Any]:
    """A policy (as a dict) whose one route is ``learned`` over small, medium and large, reading the
    artifact ``raw`` at :data:`ROUTER_KEY` pinned by its SHA-256; ``learned`` overrides the block
    (default objective: ``quality_target: 0.8``)."""
    document = minimal_policy()
    document["models"].insert(1, model_entry("medium", pricing={"input_per_mtok": 2, "output_per_mtok": 4}))
    block: dict[str, Any] = {
        "router": ROUTER_KEY,
        "sha256": sha256_hex(raw),
        "quality_target": 0.8,
        "model_map": dict(MODEL_MAP),
    }
    if "cost_weight" in learned:
        block.pop("quality_target")
    block.update(learned)
    document["routes"] = [
        {"name": "default", "strategy": "learned", "models": ["small", "medium", "large"], "learned": block}
    ]
    return document


@contextmanager
def versioned_bucket(name: str) -> Iterator[Any]:
    """A versioned S3 bucket in moto (in-process; call :func:`tests.helpers.fake_aws_environment` first):
    yields its client."""
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=name)
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        yield client
