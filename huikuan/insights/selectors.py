"""Reading debtor classifications and scripts."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from huikuan.customers.models import Customer
from huikuan.insights.models import DebtorClassification, Script


def debtor_types_current() -> QuerySet[DebtorClassification]:
    """The type in force per customer (a collector's judgement, else the automatic one), set-based.

    For the dunning policy: ``.values_list("customer_id", "debtor_type")``, or join the table
    ``insights_debtorclassification`` on ``customer_id`` with ``is_current`` true (at most one
    row per customer; a partial index covers (customer_id, debtor_type) where current). Customers
    without a row have not been overdue since the last run: treat them as undetermined.
    """
    return DebtorClassification.objects.filter(is_current=True).order_by()


def classification_current(*, customer: Customer) -> DebtorClassification | None:
    """The classification in force for the customer, with who decided it (one query)."""
    return (
        DebtorClassification.objects.filter(customer=customer, is_current=True)
        .select_related("decided_by")
        .first()
    )


def classification_history(*, customer: Customer) -> QuerySet[DebtorClassification]:
    """Every classification of the customer, newest first."""
    return DebtorClassification.objects.filter(customer=customer).select_related("decided_by").order_by("-id")


def script_list(**filters: Any) -> QuerySet[Script]:
    return (
        Script.objects.filter(**filters)
        .select_related("updated_by")
        .order_by("debtor_type", "personality", "language")
    )
