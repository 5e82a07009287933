"""Exponential backoff with full jitter, honouring the provider's ``Retry-After``."""

from __future__ import annotations

import random

from modelrouter.policy.execution import Execution

__all__ = ["backoff_delay"]


def backoff_delay(
    retry_number: int, execution: Execution, rng: random.Random, retry_after_s: float | None
) -> float | None:
    """Seconds to wait before retry ``retry_number`` (1 for the first retry), or None to move on.

    Full jitter: a uniform draw in ``[0, min(max, base * 2**(n-1))]``. A provider's ``Retry-After`` is a
    floor; if it asks for longer than ``backoff_max_ms`` the caller should try another model instead.
    """
    ceiling = min(execution.backoff_max_ms, execution.backoff_base_ms * 2 ** (retry_number - 1)) / 1000
    delay = rng.uniform(0.0, ceiling)
    if retry_after_s is not None:
        if retry_after_s > execution.backoff_max_ms / 1000:
            return None
        delay = max(delay, retry_after_s)
    return delay
