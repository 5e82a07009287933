"""Settings read from environment variables: one way to read them and to name the ones at fault."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError

__all__ = ["environment_problems", "environment_values"]


def environment_values(environ: Mapping[str, str], variables: Mapping[str, str]) -> dict[str, str]:
    """Each setting's value from ``environ``, by setting name (``variables``: setting → variable); an
    empty variable counts as unset."""
    return {name: environ[variable] for name, variable in variables.items() if environ.get(variable)}


def environment_problems(error: ValidationError, variables: Mapping[str, str]) -> str:
    """What ``error`` found, by environment variable: ``VAR is not set`` or ``VAR: why``, ``; ``-joined."""
    problems = []
    for issue in error.errors():
        field = str(issue["loc"][0]) if issue["loc"] else ""
        variable = variables.get(field, field)
        if issue["type"] == "missing":
            problems.append(f"{variable} is not set")
        else:
            problems.append(f"{variable}: {str(issue['msg']).removeprefix('Value error, ')}")
    return "; ".join(problems)
