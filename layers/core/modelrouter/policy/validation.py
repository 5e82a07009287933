"""Validating a policy document: the pydantic models, then the cross-references, every problem in one run.

When the document is valid field by field, the cross-references are checked on the policy. When it is
not, the schema problems are not the end: the cross-references are still checked on what did pass.
Each model, tenant and route, and each of ``defaults``, ``pinning`` and ``execution``, is validated
on its own; one that fails is validated again without the keys that had problems (a misspelt key, a
value of the wrong type) and kept when that passes, so its references are still checked. Names of the
items that could not be kept still count as known, so a typo in a route does not also make every
reference to that route an error. Reachability, which needs every route, tenant and default, waits
until those all pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from modelrouter.policy.catalog import ModelSpec
from modelrouter.policy.cross_references import NAME_KINDS, Tolerance, check_references
from modelrouter.policy.document import Defaults, Policy
from modelrouter.policy.execution import Execution
from modelrouter.policy.learned import Topics
from modelrouter.policy.routes import Route
from modelrouter.policy.tenants import Pinning, Tenant
from modelrouter.problems import Problem, problems_from_validation_error

__all__ = ["CheckedDocument", "check_document"]

_LIST_SECTIONS: dict[str, type[BaseModel]] = {"models": ModelSpec, "tenants": Tenant, "routes": Route}
_OBJECT_SECTIONS: dict[str, type[BaseModel]] = {
    "defaults": Defaults,
    "pinning": Pinning,
    "execution": Execution,
}
_NAME_FIELD = {"models": ("model", "id"), "tenants": ("tenant", "id"), "routes": ("route", "name")}
_PLACEHOLDER_NAME = "policy"

ErroredKeys = frozenset[str] | None
"""The keys of a mapping that had problems; ``None`` when the mapping failed as a whole (a rule
across its fields, or not a mapping at all), so no key can be left out."""
_NO_ERRORS: ErroredKeys = frozenset()


@dataclass(frozen=True, slots=True)
class CheckedDocument:
    """The outcome of :func:`check_document`."""

    policy: Policy | None
    """The policy; ``None`` when there are errors."""
    errors: list[Problem]
    """Schema and cross-reference problems, with paths into the document."""
    warnings: list[Problem]
    """Problems that do not block the policy (reported for a valid one only)."""


def check_document(data: Mapping[str, Any]) -> CheckedDocument:
    """Validate a policy mapping and check its cross-references, reporting every problem found."""
    try:
        policy = Policy.model_validate(data)
    except ValidationError as error:
        schema = problems_from_validation_error(error, model=Policy)
        partial, tolerance = _partial_policy(data, error)
        seen = {(problem.path, problem.message) for problem in schema}
        references = check_references(partial, tolerance).errors
        return CheckedDocument(None, schema + [p for p in references if (p.path, p.message) not in seen], [])
    checked = check_references(policy)
    if checked.errors:
        return CheckedDocument(None, checked.errors, [])
    return CheckedDocument(policy, [], checked.warnings)


def _errored_keys(error: ValidationError) -> dict[tuple[str, int | None], ErroredKeys]:
    """Per top-level key (and item index, in list sections): the keys with problems."""
    found: dict[tuple[str, int | None], ErroredKeys] = {}
    for detail in error.errors(include_url=False):
        location = tuple(detail["loc"])
        if not location or not isinstance(location[0], str):
            continue
        section = location[0]
        index = location[1] if section in _LIST_SECTIONS and len(location) > 1 else None
        where = (section, index) if isinstance(index, int) else (section, None)
        inner = location[2:] if isinstance(index, int) else location[1:]
        keys = found.get(where, _NO_ERRORS)
        one_key = bool(inner) and isinstance(inner[0], str)
        found[where] = keys | {str(inner[0])} if keys is not None and one_key else None
    return found


def _kept(model: type[BaseModel], raw: Any, errored: ErroredKeys) -> Any:
    """``raw`` validated without the keys that had problems; ``None`` when that does not pass either."""
    if errored is None or not isinstance(raw, dict):
        return None
    try:
        return model.model_validate({key: value for key, value in raw.items() if key not in errored})
    except ValidationError:
        return None


def _partial_policy(data: Mapping[str, Any], error: ValidationError) -> tuple[Policy, Tolerance]:
    """The policy of the parts that pass, and how to read its cross-reference problems."""
    errored = _errored_keys(error)
    fields: dict[str, Any] = {
        section: _kept(model, data.get(section, {}), errored.get((section, None), _NO_ERRORS)) or model()
        for section, model in _OBJECT_SECTIONS.items()
    }
    positions: dict[str, Sequence[int]] = {}
    failed_names: dict[str, frozenset[str] | None] = {kind: frozenset() for kind in NAME_KINDS}
    for section, model in _LIST_SECTIONS.items():
        raw_items = data.get(section)
        kind, name_key = _NAME_FIELD[section]
        kept: list[Any] = []
        kept_at: list[int] = []
        fields[section], positions[section] = kept, kept_at
        if (section, None) in errored or not isinstance(raw_items, list):
            failed_names[kind] = None  # the whole section failed: its names are unknown
            if section == "models":
                failed_names["tag"] = None
            continue
        for index, raw in enumerate(raw_items):
            item = _kept(model, raw, errored.get((section, index), _NO_ERRORS))
            if item is not None:
                kept.append(item)
                kept_at.append(index)
            if (section, index) in errored and isinstance(raw, dict):
                failed_names[kind] = _with(failed_names[kind], [raw.get(name_key)])
                if section == "models" and isinstance(raw.get("tags"), list):
                    failed_names["tag"] = _with(failed_names["tag"], raw["tags"])
    if isinstance(data.get("topics"), dict):  # optional: kept when it passes, so routes can use it
        fields["topics"] = _kept(Topics, data["topics"], errored.get(("topics", None), _NO_ERRORS))
    name = data.get("name")
    policy = Policy.model_construct(
        version=1, name=name if isinstance(name, str) else _PLACEHOLDER_NAME, description=None, **fields
    )
    return policy, Tolerance(positions, failed_names, frozenset(section for section, _ in errored))


def _with(names: frozenset[str] | None, more: Sequence[Any]) -> frozenset[str] | None:
    """``names`` and the strings among ``more`` (unknown stays unknown)."""
    if names is None:
        return None
    return names | {value for value in more if isinstance(value, str)}
