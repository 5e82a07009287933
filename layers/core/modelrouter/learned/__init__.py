"""Learned routers at request time: text features, the router artifact and its pure-Python scoring.

Fitting lives in :mod:`modelrouter.training` (numpy and scikit-learn, the ``learn`` extra); this package
only reads the JSON artifact a fit writes and scores requests with it, so the Lambda layer needs neither.
"""

from __future__ import annotations

from modelrouter.learned.artifact import (
    ARTIFACT_FORMAT,
    MAX_ARTIFACT_BYTES,
    ArtifactError,
    LearnedRouter,
    load_router,
)
from modelrouter.learned.features import (
    DENSE_FEATURES,
    FEATURE_VERSION,
    FeatureRecipe,
    dense_features,
    request_text,
    text_indices,
)

__all__ = [
    "ARTIFACT_FORMAT",
    "DENSE_FEATURES",
    "FEATURE_VERSION",
    "MAX_ARTIFACT_BYTES",
    "ArtifactError",
    "FeatureRecipe",
    "LearnedRouter",
    "dense_features",
    "load_router",
    "request_text",
    "text_indices",
]
