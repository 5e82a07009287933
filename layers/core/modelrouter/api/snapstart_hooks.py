"""The router's SnapStart hooks: what goes into the snapshot, and what must not survive a restore.

Before the snapshot: the active policy is loaded (with its learned routers and topic classifier) and the
endpoint modules the first request would import are imported, so every restored container starts with
them. After each restore: the policy store re-reads the active pointer at once (the snapshot's policy may
be hours old; a failure leaves the snapshot's policy serving, as any failed refresh does), the random
generators made before the snapshot are re-seeded (retry jitter, the ``random`` module) and the shared
breakers take a new container name for their probe leases: containers restored from one snapshot would
otherwise draw the same numbers and share one name. botocore refreshes its credentials itself.
"""

from __future__ import annotations

import gc
import importlib
import logging
import random
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from modelrouter.errors import ModelRouterError
from modelrouter.lambda_runtime import snapstart

if TYPE_CHECKING:
    from modelrouter.api.runtime import RouterRuntime

__all__ = ["WARM_MODULES", "after_restore", "before_snapshot", "install"]

WARM_MODULES = (
    "modelrouter.api.endpoints",
    "modelrouter.api.messages_endpoint",
    "modelrouter.api.feedback_endpoint",
)
"""Modules the handler imports on a request's first use: imported before the snapshot instead."""

logger = logging.getLogger(__name__)


def install(runtime: Callable[[], RouterRuntime]) -> None:
    """Register the router's hooks (they run only with SnapStart); ``runtime`` is the handler's getter."""
    snapstart.register_before_snapshot(lambda: before_snapshot(runtime))
    snapstart.register_after_restore(lambda: after_restore(runtime))


def before_snapshot(runtime: Callable[[], RouterRuntime]) -> None:
    """Load the policy and import the endpoints, so that the snapshot holds them."""
    for name in WARM_MODULES:
        importlib.import_module(name)
    try:
        runtime().policies.current()
    except ModelRouterError as error:  # the first request retries and answers with the error
        logger.error("the policy could not be loaded before the snapshot: %s", error.code)


def after_restore(runtime: Callable[[], RouterRuntime]) -> None:
    """Fresh randomness and container names, and the active policy re-checked."""
    snapstart.reseed_random()
    _renew_objects()
    policies = runtime().policies
    policies.expire()
    try:
        policies.current()
    except ModelRouterError as error:
        logger.error("the policy could not be re-checked after the restore: %s", error.code)


def _renew_objects() -> None:
    """Re-seed every ``random.Random`` made before the snapshot (the executor's retry jitter) and rename
    every shared-breakers instance, found among the collector's objects (one pass)."""
    breakers = sys.modules.get("modelrouter.health.breakers")
    shared = getattr(breakers, "SharedBreakers", None)
    for value in gc.get_objects():
        if type(value) is random.Random:  # not SystemRandom (no state); not seeded subclasses
            value.seed()
        elif shared is not None and isinstance(value, shared):
            value.renew_identity()
