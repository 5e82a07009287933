"""The typed error tree of modelrouter's core.

Every error the core raises on purpose is a :class:`ModelRouterError` with a stable machine-readable
``code``. The core never decides HTTP statuses: the Lambda handlers map these classes to statuses in
one exception handler, and the CLI maps them to exit codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from modelrouter.problems import Problem

if TYPE_CHECKING:
    from modelrouter.selection.decision import Exclusion

__all__ = [
    "InvalidRequestError",
    "ModelRouterError",
    "NoEligibleModelError",
    "PolicyError",
    "RequestDeniedError",
]


class ModelRouterError(Exception):
    """Base class of every error modelrouter raises on purpose."""

    code: str = "modelrouter_error"
    """Stable, machine-readable error code (safe to show to API clients)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PolicyError(ModelRouterError):
    """A policy document is malformed, has unknown keys, wrong types or broken references."""

    code = "invalid_policy"

    def __init__(self, problems: Sequence[Problem], source: str = "policy") -> None:
        self.problems = list(problems)
        self.source = source
        count = len(self.problems)
        listing = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"{source}: {count} problem{'s' if count != 1 else ''}\n{listing}")


class InvalidRequestError(ModelRouterError):
    """A chat request is malformed: missing messages, an unknown role, a wrong type."""

    code = "invalid_request"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        first = self.problems[0] if self.problems else Problem("", "invalid request")
        self.field = first.path
        """The first field at fault, as OpenAI's ``param``."""
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"{first}{more}")


class RequestDeniedError(ModelRouterError):
    """The policy refuses a well-formed request (classification, pinning, prompt size, format)."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field = field
        """The request field the refusal is about, when there is one."""


class NoEligibleModelError(ModelRouterError):
    """Every model the route could use was left out; ``exclusions`` says why, model by model."""

    code = "no_eligible_model"

    def __init__(self, route: str, exclusions: Sequence[Exclusion]) -> None:
        self.route = route
        self.exclusions = list(exclusions)
        reasons = (
            "; ".join(f"{item.model}: {item.reason}" for item in self.exclusions) or "route has no models"
        )
        super().__init__(f"no eligible model for route '{route}': {reasons}")
