"""The OpenAI-compatible HTTP surface: wire formats and the one mapping of domain errors to statuses."""

from __future__ import annotations

__all__: list[str] = []
