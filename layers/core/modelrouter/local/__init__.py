"""Local mode: the router on a laptop, on embedded AWS (moto) and simulated model endpoints."""

from __future__ import annotations

__all__: list[str] = []
