"""Explainable request features: tokens, language, personal data and difficulty.

``extract_features(request)`` is the entry point; the detectors live in their own modules
(``tokens``, ``language``, ``pii``, ``difficulty``). Only the standard library and pydantic are imported,
so this stays cheap in a Lambda cold start.
"""

from __future__ import annotations

from modelrouter.features.extract import extract_features
from modelrouter.features.records import (
    Difficulty,
    DifficultySignal,
    LanguageGuess,
    PiiFinding,
    PiiKind,
    RequestFeatures,
)

__all__ = [
    "Difficulty",
    "DifficultySignal",
    "LanguageGuess",
    "PiiFinding",
    "PiiKind",
    "RequestFeatures",
    "extract_features",
]
