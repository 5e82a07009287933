"""A semantic diff of two policies: what a new version changes, in the policy's own terms.

Both sides are validated policies, compared by their effective values (a default written out equals the
default left out; a set is a set whatever its order). The diff says:

- **models**, **tenants** and **routes** added, removed, or changed (by id or name: each changed field's
  path with its old and new value; a list of named items, such as a weighted route's ``variants``, is
  compared item by item, and its order separately);
- the **order of the routes** (the first whose ``when`` matches wins, so moving a route changes routing);
- **routes per tenant**: for each tenant in both versions, the routes that may serve it (those whose
  ``when.tenants`` admits it, its ``default_route`` and ``over_budget_route``, ``defaults.route``) that
  it gains, loses, or keeps with a change, and whether the ones it may match were reordered;
- every other top-level **setting** (``defaults``, ``pinning``, ``execution``, ``topics``, ``name`` …).

``diff_policies(b, a)`` is the mirror image of ``diff_policies(a, b)``: added and removed swap, and so do
old and new values. Pure: no I/O (``modelrouter policy diff`` reads the versions and prints this).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final

from pydantic import BaseModel

from modelrouter.policy.document import Policy

__all__ = [
    "ABSENT",
    "ORDER",
    "Change",
    "PolicyDiff",
    "SectionDiff",
    "TenantRoutes",
    "diff_policies",
    "plain",
]

SECTIONS: Final = ("models", "tenants", "routes")
"""The keyed lists compared item by item; everything else is a setting."""
ORDER: Final = "[order]"
"""Appended to a path whose change is the order of its named items (``variants[order]``)."""
_ITEM_KEYS: Final = ("id", "name")
"""What names the items of a list (models and tenants by ``id``, routes and variants by ``name``)."""
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class _Absent:
    """The value on the side where a key or an item does not exist."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()
"""``Change.old`` of something added, ``Change.new`` of something removed."""


@dataclass(frozen=True, slots=True)
class Change:
    """One path whose value differs (JSON values: strings, numbers, booleans, null, lists, objects)."""

    path: str
    """Where, inside the item or the policy: ``pricing.input_per_mtok``, ``variants[challenger].weight``."""
    old: Any = ABSENT
    """The value before (:data:`ABSENT`: the key or item was added)."""
    new: Any = ABSENT
    """The value after (:data:`ABSENT`: the key or item was removed)."""

    def to_json(self) -> dict[str, Any]:
        """``{"path", "old", "new"}``, leaving out the side that is absent."""
        out: dict[str, Any] = {"path": self.path}
        if self.old is not ABSENT:
            out["old"] = self.old
        if self.new is not ABSENT:
            out["new"] = self.new
        return out


@dataclass(frozen=True, slots=True)
class SectionDiff:
    """Models, tenants or routes: by id (or name)."""

    added: tuple[str, ...] = ()
    """Ids only in the new version, in its order."""
    removed: tuple[str, ...] = ()
    """Ids only in the old version, in its order."""
    changed: Mapping[str, tuple[Change, ...]] = field(default_factory=dict)
    """Ids in both whose fields differ, with each change (in the new version's order)."""
    order: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    """The ids in both, in the old and in the new order, when that order changed (routes only)."""

    @property
    def empty(self) -> bool:
        """Nothing added, removed, changed or moved."""
        return not (self.added or self.removed or self.changed or self.order)

    def to_json(self) -> dict[str, Any]:
        """The section as JSON: ``added``, ``removed``, ``changed`` (id → changes), ``order``."""
        order = None if self.order is None else {"old": list(self.order[0]), "new": list(self.order[1])}
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": {key: [c.to_json() for c in changes] for key, changes in self.changed.items()},
            "order": order,
        }


@dataclass(frozen=True, slots=True)
class TenantRoutes:
    """What changed in the routes that may serve one tenant."""

    added: tuple[str, ...] = ()
    """Routes that may now serve it."""
    removed: tuple[str, ...] = ()
    """Routes that no longer may."""
    changed: tuple[str, ...] = ()
    """Routes that still may, and changed (sorted)."""
    reordered: bool = False
    """The routes it may match (by ``when``) are tried in another order."""

    @property
    def empty(self) -> bool:
        """Nothing changed for this tenant."""
        return not (self.added or self.removed or self.changed or self.reordered)

    def to_json(self) -> dict[str, Any]:
        """The tenant's route changes as JSON."""
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": list(self.changed),
            "reordered": self.reordered,
        }


@dataclass(frozen=True, slots=True)
class PolicyDiff:
    """Everything a new policy version changes."""

    settings: tuple[Change, ...]
    """Top-level settings besides models, tenants and routes (``defaults.route``, ``execution…``)."""
    models: SectionDiff
    """The model catalog."""
    tenants: SectionDiff
    """Tenants."""
    routes: SectionDiff
    """Routes (with their order)."""
    tenant_routes: Mapping[str, TenantRoutes]
    """Per tenant in both versions whose routes changed."""

    @property
    def equal(self) -> bool:
        """The two versions route, budget and check every request alike."""
        sections = (self.models, self.tenants, self.routes)
        return not self.settings and all(s.empty for s in sections) and not self.tenant_routes

    def to_json(self) -> dict[str, Any]:
        """The whole diff as JSON (``equal`` first)."""
        return {
            "equal": self.equal,
            "settings": [change.to_json() for change in self.settings],
            "models": self.models.to_json(),
            "tenants": self.tenants.to_json(),
            "routes": self.routes.to_json(),
            "tenant_routes": {tenant: routes.to_json() for tenant, routes in self.tenant_routes.items()},
        }


def plain(value: Any) -> Any:
    """``value`` as JSON values: models as objects of every field (by their YAML names), sets as sorted
    lists, enums as their values."""
    if isinstance(value, BaseModel):
        fields = type(value).model_fields.items()
        return {info.alias or name: plain(getattr(value, name)) for name, info in fields}
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, Mapping):
        return {str(plain(key)): plain(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((plain(item) for item in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def diff_policies(old: Policy, new: Policy) -> PolicyDiff:
    """What ``new`` changes compared with ``old``."""
    before, after = plain(old), plain(new)
    settings = {key: value for key, value in before.items() if key not in SECTIONS}
    routes = _section(before["routes"], after["routes"], "name", ordered=True)
    return PolicyDiff(
        settings=tuple(
            _changes(settings, {key: value for key, value in after.items() if key not in SECTIONS}, "")
        ),
        models=_section(before["models"], after["models"], "id"),
        tenants=_section(before["tenants"], after["tenants"], "id"),
        routes=routes,
        tenant_routes=_tenant_routes(old, new, routes),
    )


def _section(
    old: list[dict[str, Any]], new: list[dict[str, Any]], key: str, *, ordered: bool = False
) -> SectionDiff:
    before = {item[key]: item for item in old}
    after = {item[key]: item for item in new}
    changed = {
        name: changes
        for name in after
        if name in before and (changes := tuple(_changes(before[name], after[name], "")))
    }
    common_old = tuple(name for name in before if name in after)
    common_new = tuple(name for name in after if name in before)
    return SectionDiff(
        added=tuple(name for name in after if name not in before),
        removed=tuple(name for name in before if name not in after),
        changed=changed,
        order=(common_old, common_new) if ordered and common_old != common_new else None,
    )


def _join(path: str, key: str) -> str:
    step = key if _PLAIN_KEY.match(key) else f'"{key}"'
    if not path:
        return step
    return f"{path}.{step}" if _PLAIN_KEY.match(key) else f"{path}[{step}]"


def _item_key(items: list[Any]) -> str | None:
    """The field naming every item of a list of objects (unique), or ``None``."""
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for key in _ITEM_KEYS:
        names = [item.get(key) for item in items]
        if all(isinstance(name, str) for name in names) and len(set(names)) == len(names):
            return key
    return None


def _changes(old: Any, new: Any, path: str) -> Iterator[Change]:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        keys: Iterable[str] = old if list(old) == list(new) else sorted(set(old) | set(new))
        for key in keys:
            yield from _changes(old.get(key, ABSENT), new.get(key, ABSENT), _join(path, key))
        return
    if isinstance(old, list) and isinstance(new, list):
        item_key = _item_key(old)
        if item_key is not None and item_key == _item_key(new):
            yield from _named_items(old, new, item_key, path)
            return
    yield Change(path, old, new)


def _named_items(
    old: list[dict[str, Any]], new: list[dict[str, Any]], key: str, path: str
) -> Iterator[Change]:
    before = {item[key]: item for item in old}
    after = {item[key]: item for item in new}
    for name in sorted(set(before) | set(after)):
        yield from _changes(before.get(name, ABSENT), after.get(name, ABSENT), f"{path}[{name}]")
    common_old = [name for name in before if name in after]
    common_new = [name for name in after if name in before]
    if common_old != common_new:
        yield Change(path + ORDER, common_old, common_new)


def _serving_routes(policy: Policy, tenant_id: str) -> tuple[list[str], set[str]]:
    """The routes ``tenant_id`` may match (in order), and every route that may serve it."""
    matching = [r.name for r in policy.routes if r.when.tenants is None or tenant_id in r.when.tenants]
    tenant = policy.tenant_by_id[tenant_id]
    fixed = {tenant.default_route, tenant.over_budget_route, policy.defaults.route} - {None}
    return matching, set(matching) | {name for name in fixed if name is not None}


def _tenant_routes(old: Policy, new: Policy, routes: SectionDiff) -> dict[str, TenantRoutes]:
    result: dict[str, TenantRoutes] = {}
    for tenant in new.tenants:
        if tenant.id not in old.tenant_by_id:
            continue
        old_matching, old_serving = _serving_routes(old, tenant.id)
        new_matching, new_serving = _serving_routes(new, tenant.id)
        common = old_serving & new_serving
        entry = TenantRoutes(
            added=tuple(name for name in new.route_by_name if name in new_serving - old_serving),
            removed=tuple(name for name in old.route_by_name if name in old_serving - new_serving),
            changed=tuple(sorted(name for name in common if name in routes.changed)),
            reordered=[n for n in old_matching if n in new_matching]
            != [n for n in new_matching if n in old_matching],
        )
        if not entry.empty:
            result[tenant.id] = entry
    return result
