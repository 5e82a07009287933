"""Errors of the budget store: exhausted budgets and an unusable store are different things.

:class:`BudgetExhaustedError` is a refusal (the tenant spent its money); :class:`BudgetStoreUnavailableError`
is an outage (the policy decides whether to serve anyway). Neither is a subclass of the other.
"""

from __future__ import annotations

from modelrouter.errors import ModelRouterError

__all__ = ["BudgetExhaustedError", "BudgetStoreError", "BudgetStoreUnavailableError"]


class BudgetStoreError(ModelRouterError):
    """Base class of the budget store's errors (also raised alone for unexpected store refusals)."""

    code = "budget_store_error"


class BudgetExhaustedError(BudgetStoreError):
    """Admitting the request could take the tenant past a daily or monthly limit."""

    code = "budget_exhausted"

    def __init__(self, message: str, retry_after_s: int, *, tenant_id: str, period: str) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        """Whole seconds until the exhausted period rolls over (next UTC day or month start)."""
        self.tenant_id = tenant_id
        """The tenant whose budget is exhausted."""
        self.period = period
        """``daily`` or ``monthly``: the limit that refused the request."""


class BudgetStoreUnavailableError(BudgetStoreError):
    """The budget table cannot be used: unreachable, throttled, missing, or no credentials."""

    code = "budget_store_unavailable"
