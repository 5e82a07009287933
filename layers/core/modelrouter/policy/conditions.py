"""Typed comparisons a route's ``when`` applies to numbers and to request ``metadata`` values.

Metadata values are strings (OpenAI's rule), so a numeric comparison parses the string and a boolean
one reads ``true``/``false``; a value that does not parse makes the clause not match, with a reason,
never an error. In YAML a bare value is shorthand: a string or number for ``equals``, a list for
``in``, ``true``/``false`` for ``is``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import cached_property
from typing import Annotated, Any, Final, Self

from pydantic import BeforeValidator, Field, model_validator

from modelrouter.policy.common import Regex, StrictModel

__all__ = [
    "METADATA_KEY_PATTERN",
    "DocumentsCondition",
    "ImagesCondition",
    "MetadataKey",
    "MetadataTest",
    "NumberRange",
    "ValueCondition",
    "parse_flag",
    "parse_number",
]

METADATA_KEY_PATTERN: Final = r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$"
"""A metadata key a route may test: up to 64 characters (OpenAI's limit)."""

MetadataKey = Annotated[str, Field(pattern=METADATA_KEY_PATTERN)]

_NUMBER: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TRUE: Final = frozenset({"true", "yes", "on", "1"})
_FALSE: Final = frozenset({"false", "no", "off", "0"})


def parse_number(raw: str) -> float | None:
    """``raw`` as a finite number (surrounding spaces ignored), or None: ``12``, ``-0.5``, ``1e3``.

    Stricter than ``float()``: ASCII digits only (no other scripts' digits), no ``nan``, ``inf``,
    underscores or hexadecimal, and no overflow.
    """
    text = raw.strip()
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def parse_flag(raw: str) -> bool | None:
    """``raw`` as a boolean (``true``/``false``, ``yes``/``no``, ``on``/``off``, ``1``/``0``, any
    case), or None."""
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


class NumberRange(StrictModel):
    """Comparisons of a number; every one given must hold."""

    eq: float | None = None
    """Equal to."""
    ne: float | None = None
    """Not equal to."""
    gt: float | None = None
    """Greater than."""
    gte: float | None = None
    """Greater than or equal to."""
    lt: float | None = None
    """Less than."""
    lte: float | None = None
    """Less than or equal to."""
    between: tuple[float, float] | None = None
    """Within ``[low, high]``, both ends included."""

    @model_validator(mode="after")
    def _something_to_compare(self) -> Self:
        if not self.comparisons():
            raise ValueError("give at least one of eq, ne, gt, gte, lt, lte, between")
        return self

    @model_validator(mode="after")
    def _between_in_order(self) -> Self:
        if self.between is not None and self.between[0] > self.between[1]:
            raise ValueError(f"between: {self.between[0]:g} is above {self.between[1]:g}")
        return self

    def comparisons(self) -> list[tuple[str, Any]]:
        """The comparisons given, as (operator, operand)."""
        return [(name, getattr(self, name)) for name in _NUMBER_OPERATORS if getattr(self, name) is not None]

    def failure(self, value: float) -> str | None:
        """Why ``value`` fails a comparison (the first that fails), or None when all hold."""
        for name, operand in self.comparisons():
            if not _NUMBER_OPERATORS[name](value, operand):
                return f"{value:g} is not {_describe(name, operand)}"
        return None

    def describe(self) -> str:
        """The comparisons in words: ``≥ 400 and < 1000``."""
        return " and ".join(_describe(name, operand) for name, operand in self.comparisons())


_NUMBER_OPERATORS: Final = {
    "eq": lambda value, operand: value == operand,
    "ne": lambda value, operand: value != operand,
    "gt": lambda value, operand: value > operand,
    "gte": lambda value, operand: value >= operand,
    "lt": lambda value, operand: value < operand,
    "lte": lambda value, operand: value <= operand,
    "between": lambda value, operand: operand[0] <= value <= operand[1],
}
_SYMBOLS: Final = {"eq": "=", "ne": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}


def _describe(name: str, operand: Any) -> str:
    if name == "between":
        return f"between {operand[0]:g} and {operand[1]:g}"
    return f"{_SYMBOLS[name]} {operand:g}"


class ValueCondition(NumberRange):
    """Comparisons of one request ``metadata`` value; every one given must hold.

    Numeric comparisons (``eq`` … ``between``) parse the value as a number; ``is`` reads it as a
    boolean; ``equals``, ``in``, ``not_in`` and ``pattern`` compare the text (surrounding spaces
    ignored, case-sensitive). ``present: false`` matches only when the key is absent.
    """

    equals: str | None = None
    """The text is exactly this."""
    in_: list[str] | None = Field(default=None, alias="in", min_length=1)
    """The text is one of these."""
    not_in: list[str] | None = Field(default=None, min_length=1)
    """The text is none of these (an absent key does not match: add ``present: false`` for that)."""
    pattern: Regex | None = None
    """A regular expression found in the text (``re.search``; anchor it with ``^…$`` for all of it)."""
    is_: bool | None = Field(default=None, alias="is")
    """The text reads as this boolean: ``true``/``false``, ``yes``/``no``, ``on``/``off``, ``1``/``0``."""
    present: bool | None = None
    """The key is present (or, with ``false``, absent); alone, any value matches."""

    model_config = StrictModel.model_config | {"populate_by_name": True}

    @model_validator(mode="after")
    def _something_to_compare(self) -> Self:
        text_given = any(
            value is not None for value in (self.equals, self.in_, self.not_in, self.pattern, self.is_)
        )
        if not self.comparisons() and not text_given and self.present is None:
            raise ValueError(
                "give at least one of equals, in, not_in, pattern, is, present, eq, ne, gt, gte, lt, lte,"
                " between"
            )
        if self.present is False and (text_given or self.comparisons()):
            raise ValueError("present: false cannot be combined with a comparison of the value")
        return self

    @cached_property
    def compiled_pattern(self) -> re.Pattern[str] | None:
        """``pattern``, compiled once per policy."""
        return re.compile(self.pattern) if self.pattern is not None else None

    def judge(self, raw: str | None) -> tuple[bool, str]:
        """Whether metadata value ``raw`` (None: the key is absent) passes, and why (without the
        value when it is long)."""
        if raw is None:
            if self.present is False:
                return True, "absent, as required"
            return False, "absent"
        if self.present is False:
            return False, "present, required absent"
        shown = _shown(raw)
        text = raw.strip()
        if self.equals is not None and text != self.equals:
            return False, f"{shown} is not {self.equals!r}"
        if self.in_ is not None and text not in self.in_:
            return False, f"{shown} is not one of {_listed(self.in_)}"
        if self.not_in is not None and text in self.not_in:
            return False, f"{shown} is one of {_listed(self.not_in)}"
        if self.compiled_pattern is not None and not self.compiled_pattern.search(text):
            return False, f"{shown} does not match /{self.pattern}/"
        if self.is_ is not None:
            flag = parse_flag(text)
            if flag is None:
                return False, f"{shown} is not a boolean"
            if flag is not self.is_:
                return False, f"{shown} is not {str(self.is_).lower()}"
        if self.comparisons():
            number = parse_number(text)
            if number is None:
                return False, f"{shown} is not a number"
            if (failure := self.failure(number)) is not None:
                return False, failure
        return True, f"{shown} {self._summary()}"

    def _summary(self) -> str:
        parts: list[str] = []
        if self.equals is not None:
            parts.append(f"= {self.equals!r}")
        if self.in_ is not None:
            parts.append(f"in {_listed(self.in_)}")
        if self.not_in is not None:
            parts.append(f"not in {_listed(self.not_in)}")
        if self.pattern is not None:
            parts.append(f"matches /{self.pattern}/")
        if self.is_ is not None:
            parts.append(f"is {str(self.is_).lower()}")
        if self.comparisons():
            parts.append(self.describe())
        return " and ".join(parts) or "is present"


_SHOWN_CHARS: Final = 40
"""Metadata values longer than this are shortened in explanations."""


def _shown(raw: str) -> str:
    text = raw.strip()
    return repr(text) if len(text) <= _SHOWN_CHARS else repr(text[:_SHOWN_CHARS] + "…")


def _listed(values: Sequence[str]) -> str:
    return "[" + ", ".join(values) + "]"


def _shorthand(value: Any) -> Any:
    # YAML scalars and lists stand for the common comparison: bool before number (bool is an int).
    if isinstance(value, bool):
        return {"is": value}
    if isinstance(value, int | float):
        return {"eq": value}
    if isinstance(value, str):
        return {"equals": value}
    if isinstance(value, list):
        return {"in": [str(item) for item in value]}
    return value


MetadataTest = Annotated[
    ValueCondition,
    BeforeValidator(_shorthand, json_schema_input_type=ValueCondition | str | float | bool | list[str]),
]
"""A comparison of one metadata value, or its shorthand (a string, number, boolean or list)."""


class ImagesCondition(StrictModel):
    """Conditions on the request's images; each given must hold. A size or dimension that could not be
    read (an image given by URL, which the router never fetches) does not count towards it."""

    count: NumberRange | None = None
    """How many images the messages carry."""
    total_bytes: NumberRange | None = None
    """Their encoded size in bytes, summed (inline images only)."""
    max_megapixels: NumberRange | None = None
    """The largest image's width × height in millions of pixels, read from its header."""

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.count is None and self.total_bytes is None and self.max_megapixels is None:
            raise ValueError("give count, total_bytes, max_megapixels or a combination")
        return self


class DocumentsCondition(StrictModel):
    """Conditions on the request's documents (file content parts); each given must hold."""

    count: NumberRange | None = None
    """How many documents the messages carry."""
    total_bytes: NumberRange | None = None
    """Their size in bytes, summed (inline documents only)."""
    pages: NumberRange | None = None
    """Their pages, summed over the documents whose page count is cheap to know (PDF); no such
    document: the condition does not match."""

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.count is None and self.total_bytes is None and self.pages is None:
            raise ValueError("give count, total_bytes, pages or a combination")
        return self
