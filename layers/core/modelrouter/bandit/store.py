"""The per-container cache of the bandit routes' learning state: one ``Query`` per route, at most every
``refresh_seconds``, and only for a route requests reach.

Each bandit route's items live under one partition key (``bandit#<policy>#<route>``); a refresh reads the
windows of the route's horizon with ``pk = :pk AND sk BETWEEN`` the first and last window (paginated),
decays them (:func:`modelrouter.bandit.posteriors.decayed_evidence`) and keeps the result until the next
refresh is due, so a warm request makes no DynamoDB call for it while the copy is fresh. The caller
(:func:`modelrouter.admission.decide_for`) decides on the copies it holds and, when the decision's bandit
route is due, reads that route and decides again: a request that reaches no bandit route never waits for
a read. A read that
fails keeps the last copy (or the priors alone, before any read succeeded) and says so in the snapshot's
notes; the next read is tried ``refresh_seconds`` later, not on every request. Without a learning table
every bandit route decides on its priors.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from modelrouter.bandit.posteriors import Evidence, WindowCounts, decayed_evidence, horizon_of
from modelrouter.bandit.snapshot import BanditSnapshot, state_key_of
from modelrouter.learning.state import parse_sort_key, windows_between
from modelrouter.policy.bandit import Bandit, Memory
from modelrouter.policy.document import Policy
from modelrouter.policy.routes import Strategy

__all__ = ["MAX_PAGES", "LearningStateCache", "parse_item"]

MAX_PAGES = 16
"""Most ``Query`` pages one refresh reads (1 MB each); the rest waits for the next refresh, with a note."""
_PROJECTION = "sk, quality_sum, pulls, cost_sum"

ReadFailed = Callable[[str, str], None]
"""``on_read_failed(state_key, detail)``: a refresh failed (the last copy keeps serving)."""


@dataclass(frozen=True, slots=True)
class _Copy:
    """What the container holds of one route."""

    evidence: dict[tuple[str, str], Evidence]
    read_at: float | None
    """Monotonic time of the last successful read (None: never)."""
    tried_at: float
    """Monotonic time of the last attempt."""
    notes: tuple[str, ...]


def _number(value: Any) -> float:
    return float(value["N"]) if isinstance(value, dict) and "N" in value else 0.0


def _bandit_routes(policy: Policy) -> list[tuple[str, Bandit]]:
    return [
        (state_key_of(policy.name, route.name), route.bandit_settings)
        for route in policy.routes
        if route.strategy is Strategy.BANDIT
    ]


def _slot(state_key: str, memory: Memory) -> tuple[str, int, int, int]:
    """A copy is kept per route and memory settings (a policy version that changes them reads anew)."""
    return state_key, memory.window_seconds, memory.half_life_seconds, memory.horizon_windows


def parse_item(item: dict[str, Any]) -> WindowCounts | None:
    """A learning-state item in DynamoDB's JSON (``sk`` = ``w<window>#<segment>#<model>``), or None when
    its key is not one."""
    sk = item.get("sk", {}).get("S", "") if isinstance(item.get("sk"), dict) else ""
    key = parse_sort_key(sk)
    if key is None:
        return None
    window, segment, model = key
    try:
        return WindowCounts(
            window=window,
            segment=segment,
            model=model,
            quality_sum=_number(item.get("quality_sum")),
            pulls=_number(item.get("pulls")),
            cost_sum=_number(item.get("cost_sum")),
        )
    except ValueError:
        return None


class LearningStateCache:
    """Serves :class:`BanditSnapshot` s of a policy's bandit routes (a
    :class:`~modelrouter.bandit.snapshot.BanditStateSource`)."""

    def __init__(
        self,
        table: str | None,
        client: Any = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        on_read_failed: ReadFailed | None = None,
    ) -> None:
        self._table = table
        self._client = client
        self._clock = clock
        self._wall_clock = wall_clock
        self._on_read_failed = on_read_failed or (lambda state_key, detail: None)
        self._copies: dict[tuple[str, int, int, int], _Copy] = {}
        self._lock = threading.Lock()

    def snapshots(self, policy: Policy, *, read: Collection[str] = ()) -> dict[str, BanditSnapshot]:
        """One snapshot per bandit route of ``policy``, by state key: the copies the container holds, the
        routes named in ``read`` read first when their copy is older than their ``refresh_seconds``."""
        with self._lock:
            return {
                key: self._snapshot(key, settings, now=self._clock(), read=key in read)
                for key, settings in _bandit_routes(policy)
            }

    def due(self, policy: Policy, state_key: str) -> bool:
        """Whether the copy of the route ``state_key`` names is due for a read (never read, or older than
        its ``refresh_seconds``; never without a table)."""
        settings = dict(_bandit_routes(policy)).get(state_key)
        if self._table is None or settings is None:
            return False
        with self._lock:
            copy = self._copies.get(_slot(state_key, settings.memory))
            return copy is None or self._clock() - copy.tried_at >= settings.refresh_seconds

    def _snapshot(self, state_key: str, settings: Bandit, *, now: float, read: bool) -> BanditSnapshot:
        if self._table is None:
            return BanditSnapshot(state_key, notes=("no learning table (LEARNING_TABLE): priors only",))
        slot = _slot(state_key, settings.memory)
        copy = self._copies.get(slot)
        if read and (copy is None or now - copy.tried_at >= settings.refresh_seconds):
            copy = self._refresh(state_key, settings.memory, copy, now)
            self._copies[slot] = copy
        if copy is None:
            return BanditSnapshot(state_key, notes=(f"learning state {state_key} not read yet: priors only",))
        age = None if copy.read_at is None else max(0.0, now - copy.read_at)
        return BanditSnapshot(state_key, copy.evidence, age, copy.notes)

    def _refresh(self, state_key: str, memory: Memory, previous: _Copy | None, now: float) -> _Copy:
        as_of = self._wall_clock()
        try:
            items, complete = self._read(state_key, memory, as_of)
        except Exception as error:  # a failed read never fails the request: the last copy serves
            kept = previous.read_at if previous is not None else None
            detail = f"learning state {state_key} could not be read ({type(error).__name__})"
            self._on_read_failed(state_key, detail)
            if previous is None or kept is None:
                return _Copy({}, None, now, (f"{detail}: priors only",))
            note = f"{detail}: using the copy read {now - kept:.0f} s ago"
            return _Copy(previous.evidence, kept, now, (note,))
        notes = () if complete else (f"learning state {state_key}: only the first {MAX_PAGES} pages read",)
        return _Copy(decayed_evidence(items, as_of=as_of, memory=memory), now, now, notes)

    def _read(self, state_key: str, memory: Memory, as_of: float) -> tuple[list[WindowCounts], bool]:
        """The items of the horizon's windows, and whether every page was read."""
        first, last = windows_between(*horizon_of(as_of, memory))
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
            "ExpressionAttributeValues": {
                ":pk": {"S": state_key},
                ":first": {"S": first},
                ":last": {"S": last},
            },
            "ProjectionExpression": _PROJECTION,
        }
        items: list[WindowCounts] = []
        for _ in range(MAX_PAGES):
            response = self._dynamodb().query(**request)
            parsed = (parse_item(raw) for raw in response.get("Items", []))
            items.extend(item for item in parsed if item is not None)
            if "LastEvaluatedKey" not in response:
                return items, True
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return items, False

    def _dynamodb(self) -> Any:
        if self._client is None:
            from modelrouter.aws import aws_client

            self._client = aws_client("dynamodb")
        return self._client
