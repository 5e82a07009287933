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
    http_status = 503
    error_type = "service_unavailable"
    public_message = "the budget store could not be used; try again"


class BudgetExhaustedError(BudgetStoreError):
    """Admitting the request could take the tenant past a daily or monthly limit."""

    code = "budget_exhausted"
    http_status = 429
    error_type = "insufficient_quota"
    expose_message = True

    def __init__(
        self,
        message: str,
        retry_after_s: int,
        *,
        tenant_id: str,
        period: str,
        available_usd: float | None = None,
        limit_usd: float | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        """Whole seconds until the exhausted period rolls over (next UTC day or month start)."""
        self.tenant_id = tenant_id
        """The tenant whose budget is exhausted."""
        self.period = period
        """``daily`` or ``monthly``: the limit that refused the request."""
        self.available_usd = None if available_usd is None else max(0.0, available_usd)
        """What the tenant could still reserve right now (the least room left under any of its limits,
        never negative), so a smaller request can be suggested; None when unknown."""
        self.limit_usd = limit_usd
        """The limit of :attr:`period` in USD; None when unknown."""
        self.max_tokens_hint: int | None = None
        """The largest ``max_tokens`` whose reservation would fit :attr:`available_usd` (set by
        admission, which knows the request; 0 when no answer length fits)."""


class BudgetStoreUnavailableError(BudgetStoreError):
    """The budget table cannot be used: unreachable, throttled, missing, or no credentials."""

    code = "budget_store_unavailable"
