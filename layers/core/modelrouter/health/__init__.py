"""Health shared by every router container: breakers and cooldowns, and ``max_concurrency`` leases, in
the HealthTable (``HEALTH_TABLE``). See ``docs/health.md``.

- :mod:`~modelrouter.health.items`: the items' keys and the shared breaker state.
- :mod:`~modelrouter.health.store`: the breakers' DynamoDB operations (a ``Query``, ``ADD``\\ s and
  conditional transitions).
- :mod:`~modelrouter.health.cache`: a container's copy of every state, read once per few seconds.
- :mod:`~modelrouter.health.breakers`: :class:`SharedBreakers`, the container's breakers with the shared
  ones merged in.
- :mod:`~modelrouter.health.leases`: :class:`ConcurrencyLeases`, the distributed concurrency caps.

Nothing here imports boto3: the clients come from :mod:`modelrouter.api.runtime`.
"""

from __future__ import annotations

from modelrouter.health.breakers import SharedBreakers
from modelrouter.health.cache import CACHE_S, HealthCache
from modelrouter.health.leases import ConcurrencyLeases
from modelrouter.health.store import BreakerStore

__all__ = ["CACHE_S", "BreakerStore", "ConcurrencyLeases", "HealthCache", "SharedBreakers"]
