"""What the engine gets of a bandit route's learning state: a container's copy, its age and any notes.

Pure data: the cache (:mod:`modelrouter.bandit.store`) reads and decays the learning state; the engine
(:func:`modelrouter.selection.engine.decide`) receives one snapshot per bandit route of the policy, keyed
by the route's state key, and decides without I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from modelrouter.bandit.posteriors import Evidence
from modelrouter.policy.document import Policy

__all__ = ["STATE_KEY_PREFIX", "BanditSnapshot", "BanditStateSource", "state_key_of"]

STATE_KEY_PREFIX = "bandit"
"""First part of a bandit route's learning-state partition key."""


def state_key_of(policy_name: str, route_name: str) -> str:
    """The partition key of a route's learning state: ``bandit#<policy name>#<route>``."""
    return f"{STATE_KEY_PREFIX}#{policy_name}#{route_name}"


@dataclass(frozen=True, slots=True)
class BanditSnapshot:
    """A bandit route's learning state as a container last read it."""

    state_key: str
    """The route's partition key (:func:`state_key_of`)."""
    evidence: Mapping[tuple[str, str], Evidence] = field(default_factory=dict)
    """Decayed evidence per ``(segment, model)`` as of the read."""
    age_s: float | None = None
    """Seconds since the copy was read (None: never read, priors only)."""
    notes: tuple[str, ...] = ()
    """Why the copy is old or missing, when it is (a failed read, no learning table)."""


class BanditStateSource(Protocol):
    """Where the service gets the snapshots of a policy's bandit routes (reading them when due)."""

    def snapshots(self, policy: Policy, *, read: Collection[str] = ()) -> Mapping[str, BanditSnapshot]:
        """One snapshot per bandit route of ``policy``, by state key; the routes named in ``read`` are
        read first when their copy is due."""
        ...

    def due(self, policy: Policy, state_key: str) -> bool:
        """Whether that route's copy is due for a read."""
        ...
