"""Did-you-mean suggestions: the closest valid name for a misspelt key, id or enum value.

One helper for every place that rejects a name (policy keys and enum values, model, route, tenant and
tier names, the CLI's tenant check), so the wording and the closeness threshold are the same everywhere.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

__all__ = ["SUGGESTION_CUTOFF", "closest", "did_you_mean", "expected_values", "field_names_at"]

SUGGESTION_CUTOFF = 0.6
"""Lowest :class:`difflib.SequenceMatcher` ratio a name must reach to be suggested (difflib's own
default: ``candidats``/``candidates`` and ``nova-lyte``/``nova-lite`` pass, unrelated names do not)."""

_QUOTED = re.compile(r"'([^']*)'")


def closest(name: str, choices: Iterable[str]) -> str | None:
    """The valid name closest to ``name``, or ``None`` when none is close enough."""
    matches = difflib.get_close_matches(name, sorted(set(choices)), n=1, cutoff=SUGGESTION_CUTOFF)
    return matches[0] if matches else None


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest valid name, or ``""`` when none is close enough."""
    match = closest(name, choices)
    return f" (did you mean '{match}'?)" if match is not None else ""


def expected_values(expected: str) -> list[str]:
    """The values of pydantic's ``expected`` context (``"'a', 'b' or 'c'"`` → ``["a", "b", "c"]``)."""
    return _QUOTED.findall(expected)


def field_names_at(model: type[BaseModel], location: Sequence[str | int]) -> list[str] | None:
    """The field names a mapping at ``location`` inside a document of ``model`` may have.

    ``location`` is a pydantic error location (``("routes", 2)``); list indexes and dict keys are
    followed through ``list[...]``, ``dict[...]``, unions and ``Annotated``. ``None`` when the location
    does not lead to exactly one model.
    """
    current: list[Any] = [model]
    for part in location:
        following: list[Any] = []
        for annotation in _members(current):
            following.extend(_step(annotation, part))
        current = following
    found = {member for member in _members(current) if _is_model(member)}
    if len(found) != 1:
        return None
    return list(_fields(found.pop()))


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    """A model's fields by the name a document uses for them (the alias, when there is one)."""
    return {field.alias or name: field for name, field in model.model_fields.items()}


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _members(annotations: list[Any]) -> list[Any]:
    """The annotations with ``Annotated`` unwrapped and unions spread into their members."""
    members: list[Any] = []
    pending = list(annotations)
    while pending:
        annotation = pending.pop()
        origin = get_origin(annotation)
        if origin is Annotated:
            pending.append(get_args(annotation)[0])
        elif origin is Union or origin is types.UnionType:
            pending.extend(get_args(annotation))
        else:
            members.append(annotation)
    return members


def _step(annotation: Any, part: str | int) -> list[Any]:
    """What ``annotation`` holds at ``part``: a model's field, a list's item, a dict's value."""
    if _is_model(annotation):
        field = _fields(annotation).get(part) if isinstance(part, str) else None
        return [field.annotation] if field is not None else []
    origin = get_origin(annotation)
    arguments = get_args(annotation)
    if origin in (list, tuple, set, frozenset) and isinstance(part, int) and arguments:
        return [arguments[0]]
    if origin is dict and isinstance(part, str) and len(arguments) == 2:
        return [arguments[1]]
    return []
