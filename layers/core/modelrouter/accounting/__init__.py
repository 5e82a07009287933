"""Per-tenant budgets in DynamoDB: reserve the worst case, settle the real cost exactly once.

Importing this package does not import boto3; the first store call does.
"""

from __future__ import annotations

from modelrouter.accounting.dynamo import dynamodb_client
from modelrouter.accounting.errors import BudgetExhaustedError, BudgetStoreError, BudgetStoreUnavailableError
from modelrouter.accounting.records import Reservation, SettleOutcome
from modelrouter.accounting.store import BudgetStore

__all__ = [
    "BudgetExhaustedError",
    "BudgetStore",
    "BudgetStoreError",
    "BudgetStoreUnavailableError",
    "Reservation",
    "SettleOutcome",
    "dynamodb_client",
]
