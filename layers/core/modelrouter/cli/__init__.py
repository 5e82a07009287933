"""The ``modelrouter`` command line: policy validation, schema export, dry-run routing."""

from __future__ import annotations

__all__: list[str] = []
