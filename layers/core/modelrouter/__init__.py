"""modelrouter: dynamic LLM model routing for AWS serverless.

The package is split by concern; import what you need from its sub-packages:

- ``modelrouter.request``: the normalized (OpenAI-shaped) chat request.
- ``modelrouter.policy``: the routing policy language, its loader and cross-reference checks.
- ``modelrouter.features``: explainable request features (tokens, language, PII, difficulty).
- ``modelrouter.selection``: the pure decision engine.
- ``modelrouter.errors``: the typed error tree.

Nothing heavy is imported here, so ``import modelrouter`` stays cheap in a Lambda cold start.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
