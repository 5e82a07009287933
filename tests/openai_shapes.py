"""Check JSON against the official ``openai`` package's types, strictly.

``pydantic.TypeAdapter`` on the package's request TypedDicts ignores unknown keys and validates
``Iterable`` fields lazily, so :func:`assert_chat_request` also walks the body against the type hints:
every key must be a declared field, every required field present, every list element checked.
"""

from __future__ import annotations

import collections.abc
import types
import typing
from typing import Any

import typing_extensions
from openai.types.chat import ChatCompletion
from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming
from openai.types.shared import ErrorObject
from pydantic import TypeAdapter

__all__ = ["assert_chat_completion", "assert_chat_request", "assert_error_body", "shape_errors"]

_REQUIRED = {typing.Required, typing_extensions.Required}
_NOT_REQUIRED = {typing.NotRequired, typing_extensions.NotRequired}
_LISTS = {list, collections.abc.Iterable, collections.abc.Sequence}
_MAPPINGS = {dict, collections.abc.Mapping}


def assert_chat_request(body: dict[str, Any]) -> None:
    """``body`` is a valid non-streaming ``chat.completions.create`` body, with no unknown keys."""
    TypeAdapter(CompletionCreateParamsNonStreaming).validate_python(body)
    assert shape_errors(body, CompletionCreateParamsNonStreaming) == []


def assert_chat_completion(payload: dict[str, Any]) -> ChatCompletion:
    """``payload`` parses as the package's ``ChatCompletion``."""
    return ChatCompletion.model_validate(payload)


def assert_error_body(payload: dict[str, Any]) -> ErrorObject:
    """``payload["error"]`` parses as the package's ``ErrorObject``."""
    return ErrorObject.model_validate(payload["error"])


def shape_errors(value: Any, hint: Any, path: str = "$") -> list[str]:
    """Where ``value`` does not fit the type ``hint`` (empty when it fits)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Annotated or origin in _REQUIRED or origin in _NOT_REQUIRED:
        return shape_errors(value, args[0], path)
    if hint is Any or hint is object:
        return []
    if hint is type(None):
        return [] if value is None else [f"{path}: expected null"]
    if origin is typing.Union or origin is types.UnionType:
        attempts = [shape_errors(value, option, path) for option in args]
        return [] if any(not errors for errors in attempts) else min(attempts, key=len)
    if origin is typing.Literal:
        return [] if value in args else [f"{path}: {value!r} not in {args}"]
    if typing_extensions.is_typeddict(hint):
        return _typeddict_errors(value, hint, path)
    if origin in _LISTS:
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [
            error
            for index, item in enumerate(value)
            for error in shape_errors(item, args[0], f"{path}[{index}]")
        ]
    if origin in _MAPPINGS or hint is dict:
        return [] if isinstance(value, dict) else [f"{path}: expected an object"]
    return _scalar_errors(value, hint, path)


def _typeddict_errors(value: Any, hint: Any, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected an object"]
    fields = typing.get_type_hints(hint, include_extras=True)
    errors = [f"{path}.{key}: unknown field" for key in value if key not in fields]
    required = hint.__required_keys__  # per field, across bases of different totality
    for key, field in fields.items():
        if key in value:
            errors.extend(shape_errors(value[key], field, f"{path}.{key}"))
        elif key in required:
            errors.append(f"{path}.{key}: missing")
    return errors


def _scalar_errors(value: Any, hint: Any, path: str) -> list[str]:
    if hint is bool:
        ok = isinstance(value, bool)
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif hint is str:
        ok = isinstance(value, str)
    else:
        raise AssertionError(f"{path}: no check for type {hint!r}")
    return [] if ok else [f"{path}: {value!r} is not {hint.__name__}"]
