"""Reads of collections work that pages, the API and the worklist share."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count, Q, QuerySet

from huikuan.collections.models import (
    Dispute,
    DisputeStatus,
    InstalmentPlan,
    Interaction,
    PromiseStatus,
    PromiseToPay,
    Task,
    TaskStatus,
)
from huikuan.customers.models import Customer


def customer_promise_record(*, customer: Customer) -> dict[str, int]:
    """Return how many of the customer's promises were kept, partly kept, broken, and are open."""
    counts = PromiseToPay.objects.filter(customer=customer).aggregate(
        kept=Count("pk", filter=Q(status=PromiseStatus.KEPT)),
        partly_kept=Count("pk", filter=Q(status=PromiseStatus.PARTLY_KEPT)),
        broken=Count("pk", filter=Q(status=PromiseStatus.BROKEN)),
        open=Count("pk", filter=Q(status=PromiseStatus.OPEN)),
    )
    return {key: int(value or 0) for key, value in counts.items()}


def promise_records(*, customer_ids: list[int]) -> dict[int, dict[str, int]]:
    """Return the promise record of many customers in one query (customers without one are absent)."""
    rows = (
        PromiseToPay.objects.filter(customer_id__in=customer_ids)
        .values("customer_id")
        .annotate(
            kept=Count("pk", filter=Q(status=PromiseStatus.KEPT)),
            partly_kept=Count("pk", filter=Q(status=PromiseStatus.PARTLY_KEPT)),
            broken=Count("pk", filter=Q(status=PromiseStatus.BROKEN)),
            open=Count("pk", filter=Q(status=PromiseStatus.OPEN)),
        )
        .order_by()
    )
    return {
        row["customer_id"]: {key: int(row[key]) for key in ("kept", "partly_kept", "broken", "open")}
        for row in rows
    }


def promises_due(*, as_of: date, customers: QuerySet[Customer] | None = None) -> QuerySet[PromiseToPay]:
    """Return open promises whose date is ``as_of`` or earlier (due today, or waiting for the review)."""
    queryset = PromiseToPay.objects.filter(status=PromiseStatus.OPEN, promised_date__lte=as_of)
    if customers is not None:
        queryset = queryset.filter(customer__in=customers)
    return queryset.select_related("customer").prefetch_related("invoices").order_by("promised_date", "pk")


def promise_list(*, customer: Customer) -> QuerySet[PromiseToPay]:
    """Return a customer's promises, newest promised date first, with their invoices."""
    return (
        PromiseToPay.objects.filter(customer=customer)
        .select_related("customer", "created_by")
        .prefetch_related("invoices")
        .order_by("-promised_date", "-pk")
    )


def dispute_list(*, customer: Customer, active_only: bool = False) -> QuerySet[Dispute]:
    """Return a customer's disputes, newest first, with invoice and owner."""
    queryset = Dispute.objects.filter(customer=customer)
    if active_only:
        queryset = queryset.filter(status__in=[DisputeStatus.OPEN, DisputeStatus.INVESTIGATING])
    return queryset.select_related("invoice__customer", "owner", "raised_by").order_by("-opened_date", "-pk")


def dispute_age_days(*, dispute: Dispute, as_of: date) -> int:
    """Return how many days a dispute has been (or was) open on ``as_of``."""
    end = dispute.resolved_date or as_of
    return max((end - dispute.opened_date).days, 0)


def interaction_list(*, customer: Customer) -> QuerySet[Interaction]:
    """Return a customer's calls, visits and notes, newest first, with who and whom."""
    return (
        Interaction.objects.filter(customer=customer)
        .select_related("customer", "user", "contact", "task")
        .order_by("-occurred_at", "-pk")
    )


def plan_list(*, customer: Customer) -> QuerySet[InstalmentPlan]:
    """Return a customer's instalment plans, newest first, with instalments and invoices."""
    return (
        InstalmentPlan.objects.filter(customer=customer)
        .select_related("customer", "created_by")
        .prefetch_related("instalments", "invoices")
        .order_by("-start_date", "-pk")
    )


def task_list(
    *,
    customers: QuerySet[Customer] | None = None,
    assignee: Any = None,
    status: str | None = TaskStatus.OPEN,
    kind: str | None = None,
    due_on_or_before: date | None = None,
) -> QuerySet[Task]:
    """Return tasks within ``customers`` (a scope), by assignee, status, kind and due date."""
    queryset = Task.objects.all()
    if customers is not None:
        queryset = queryset.filter(customer__in=customers)
    if assignee is not None:
        queryset = queryset.filter(assignee=assignee)
    if status:
        queryset = queryset.filter(status=status)
    if kind:
        queryset = queryset.filter(kind=kind)
    if due_on_or_before is not None:
        queryset = queryset.filter(due_date__lte=due_on_or_before)
    return queryset.select_related("customer", "assignee").order_by("due_date", "pk")


# --- reaching one record through the user's scope ---------------------------------------------


def access_task(*, user: Any, task_id: int) -> Task:
    """Return the task if the user reaches its customer, else raise TaskNotFound (as if missing)."""
    from huikuan.accounts.access import scope_filter
    from huikuan.collections.services import TaskNotFound

    try:
        return scope_filter(Task.objects.select_related("customer", "assignee"), user=user).get(pk=task_id)
    except Task.DoesNotExist:
        raise TaskNotFound(f"task {task_id} does not exist")


def access_dispute(*, user: Any, dispute_id: int) -> Dispute:
    """Return the dispute if the user reaches its invoice's customer, else raise DisputeNotFound."""
    from huikuan.accounts.access import scope_filter
    from huikuan.collections.services import DisputeNotFound

    disputes = Dispute.objects.select_related("invoice__customer", "owner", "raised_by")
    try:
        return scope_filter(disputes, user=user, via="invoice__customer").get(pk=dispute_id)
    except Dispute.DoesNotExist:
        raise DisputeNotFound(f"dispute {dispute_id} does not exist")


def access_plan(*, user: Any, plan_id: int) -> InstalmentPlan:
    """Return the instalment plan if the user reaches its customer, else raise PlanNotFound."""
    from huikuan.accounts.access import scope_filter
    from huikuan.collections.services import PlanNotFound

    plans = InstalmentPlan.objects.select_related("customer").prefetch_related("instalments", "invoices")
    try:
        return scope_filter(plans, user=user).get(pk=plan_id)
    except InstalmentPlan.DoesNotExist:
        raise PlanNotFound(f"instalment plan {plan_id} does not exist")


def access_interaction(*, user: Any, interaction_id: int, customer: Customer) -> Interaction:
    """Return the customer's call, visit or note with this id, else raise NotFound."""
    from huikuan.core.errors import NotFound

    try:
        return Interaction.objects.get(pk=interaction_id, customer=customer)
    except Interaction.DoesNotExist:
        raise NotFound(f"interaction {interaction_id} does not exist", code="interaction_not_found")
