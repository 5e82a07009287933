"""Learned routing at request time: scoring a prompt with an 11-model artifact, the artifact's size and the
cost of loading it (paid once per policy version, at cold start or when the policy changes).

The artifact has the shape a RouterBench fit writes (11 models, 16,384 hash buckets, a shared head) with
seeded random weights: scoring time depends on the shape, not on the values. The features the router
already extracted are reused, as the decision engine does; the row measures the learned part only.
"""

from __future__ import annotations

import json
import random
import time

from benchmarks.harness import Result, summarize, time_calls
from benchmarks.workloads import prompt_request
from modelrouter.features import extract_features
from modelrouter.learned import DENSE_FEATURES, FeatureRecipe, load_router, request_text
from modelrouter.learned.artifact import ARTIFACT_FORMAT, encode_weights

MODELS = 11
SCORING_TARGET_MS = 1.0
"""p99 target for scoring a 32 KB prompt (issue 10)."""
ARTIFACT_TARGET_BYTES = 2_000_000
"""Largest artifact for 11 models (issue 10)."""


def _head(rng: random.Random, size: int) -> dict[str, object]:
    return {
        "bias": rng.gauss(0, 1),
        "text_weights": encode_weights(rng.gauss(0, 0.3) for _ in range(size)),
        "dense_weights": [rng.gauss(0, 0.3) for _ in DENSE_FEATURES],
        "shared_weight": rng.gauss(1, 0.2),
        "calibration": [1.0, 0.0],
    }


def artifact_bytes(models: int = MODELS, seed: int = 7) -> bytes:
    """A router artifact of RouterBench's shape with seeded random weights."""
    rng = random.Random(seed)
    recipe = FeatureRecipe()
    names = [f"model-{index}" for index in range(models)]
    document = {
        "format": ARTIFACT_FORMAT,
        "feature_recipe": recipe.to_json(),
        "models": names,
        "heads": {name: _head(rng, recipe.size) for name in names},
        "shared": _head(rng, recipe.size),
        "cost_model": {name: {"base_usd": 1e-4, "per_prompt_token_usd": 1e-6} for name in names},
        "metrics": {},
        "training": {},
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def run() -> list[Result]:
    """Scoring p50/p99 at 1 KB and 32 KB, the artifact's size and its load time."""
    raw = artifact_bytes()
    loads = []
    for _ in range(5):
        started = time.perf_counter()
        router = load_router(raw, "bench")
        loads.append((time.perf_counter() - started) * 1000)
    results = [
        Result(
            "learned: artifact size (11 models)",
            1,
            len(raw) / 1e6,
            None,
            ARTIFACT_TARGET_BYTES / 1e6,
            "MB, not ms",
        ),
        summarize("learned: load artifact (once per policy)", loads, None, f"{len(raw):,} bytes"),
    ]
    for label, size, target in (("1 KB", 1024, None), ("32 KB", 32 * 1024, SCORING_TARGET_MS)):
        request = prompt_request(size)
        features = extract_features(request)
        text = request_text(request)
        durations = time_calls(lambda text=text, features=features: router.score(text, features), 2000)
        results.append(summarize(f"learned: score {label} prompt", durations, target, f"{MODELS} models"))
    return results
