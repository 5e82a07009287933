"""Settings read from environment variables: one way to read them and to name the ones at fault."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

    SettingsModel = TypeVar("SettingsModel", bound=BaseModel)

__all__ = ["environment_problems", "environment_values", "settings_from_environment"]


def settings_from_environment(
    model: type[SettingsModel],
    variables: Mapping[str, str],
    configuration_error: Callable[[str], Exception],
    environ: Mapping[str, str] | None = None,
) -> SettingsModel:
    """``model`` validated from ``environ`` (``os.environ`` by default; ``variables``: setting → variable).

    Raises:
        Exception: ``configuration_error`` of :func:`environment_problems`'s message, naming each
            variable that is missing or invalid.
    """
    from pydantic import ValidationError

    values = environment_values(os.environ if environ is None else environ, variables)
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise configuration_error(environment_problems(error, variables)) from None


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
