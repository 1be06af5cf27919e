"""Provider usage and cost: what each call cost, month-to-date budgets, and spend reports."""

from shared.usage.budget import (
    BudgetExceeded,
    budget_refusal,
    ensure_within_budget,
    month_to_date_spend,
)
from shared.usage.pricing import call_cost_usd
from shared.usage.recording import ProviderCall, record_provider_call
from shared.usage.report import SpendRow, spend_report

__all__ = [
    "BudgetExceeded",
    "ProviderCall",
    "SpendRow",
    "budget_refusal",
    "call_cost_usd",
    "ensure_within_budget",
    "month_to_date_spend",
    "record_provider_call",
    "spend_report",
]
