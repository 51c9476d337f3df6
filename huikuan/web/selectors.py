"""Reads the pages need, built on the customers and ledger selectors (bounded, set-based)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import (
    Count,
    DateField,
    F,
    Func,
    IntegerField,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from huikuan.accounts.access import scope_filter, user_sees_all
from huikuan.collections.models import PromiseStatus, PromiseToPay, Task, TaskKind, TaskStatus
from huikuan.core.money import from_minor
from huikuan.customers.models import Contact, Customer
from huikuan.ledger.models import Invoice, Payment
from huikuan.ledger.selectors import invoice_list, payment_list
from huikuan.messaging.models import OutboxMessage, OutboxStatus
from huikuan.web.priority import Priority, priority_compute, weighted_days
from huikuan.web.templatetags.huikuan_web import amount as amount_format


@dataclass(frozen=True)
class OpenTotal:
    currency: str
    open_minor: int
    invoices: int
    oldest_due_date: object


def customer_contacts(*, customer: Customer) -> QuerySet[Contact]:
    """Return the customer's contacts, the primary one first."""
    return Contact.objects.filter(customer=customer).order_by("-is_primary", "name", "id")


def customer_open_invoices(*, customer: Customer, limit: int = 200) -> QuerySet[Invoice]:
    """Return up to ``limit`` of the customer's invoices with something open, oldest due first."""
    queryset = invoice_list(customer_code=customer.code).filter(open_minor__gt=0)
    return queryset.order_by("due_date", "number")[:limit]


def customer_open_totals(*, customer: Customer) -> list[OpenTotal]:
    """Return what the customer owes per currency (never summed across currencies)."""
    rows = (
        invoice_list(customer_code=customer.code)
        .filter(open_minor__gt=0)
        .order_by()
        .values("currency")
        .annotate(open_minor=Sum("open_minor"), invoices=Count("id"), oldest_due_date=Min("due_date"))
        .order_by("currency")
    )
    return [OpenTotal(**row) for row in rows]


def customer_recent_payments(*, customer: Customer, limit: int = 50) -> QuerySet[Payment]:
    """Return the customer's latest payments, newest first."""
    return payment_list(customer_code=customer.code).order_by("-received_date", "-id")[:limit]


# --- the worklist ---------------------------------------------------------------------------

# Kinds of work beside the task kinds: a message a person must approve, a promise due.
APPROVAL = "APPROVAL"
PROMISE_DUE = "PROMISE_DUE"
# Read at most this many of each source: the list is ordered in memory by priority, and nobody
# works through more in a day. The page says when the cap was reached.
WORKLIST_SOURCE_CAP = 1000


class DaysPastDue(Func):
    """Whole days from a date column to ``as_of`` (negative before it), in SQLite and PostgreSQL."""

    output_field = IntegerField()

    def __init__(self, as_of: date, column: str = "due_date") -> None:
        super().__init__(Value(as_of, output_field=DateField()), F(column))

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="CAST(julianday(%(expressions)s) AS INTEGER)",
            arg_joiner=") - julianday(",
            **extra,
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="(%(expressions)s)", arg_joiner="::date - ", **extra
        )


@dataclass(frozen=True)
class WorklistFilters:
    kind: str = ""  # a TaskKind value, APPROVAL or PROMISE_DUE; empty: everything
    search: str = ""  # customer code or name
    everyone: bool = False  # also work assigned to others (within the user's customers)


@dataclass
class WorkItem:
    key: str  # unique on the page: "task-12", "message-7", "promise-3"
    kind: str
    kind_label: str
    title: str
    customer: Customer
    due_date: date | None
    priority: Priority
    task: Task | None = None
    message: OutboxMessage | None = None
    promise: PromiseToPay | None = None
    detail: str = ""

    @property
    def currency(self) -> str:
        return self.priority.currency


@dataclass
class Worklist:
    items: list[WorkItem]
    counts: dict[str, int] = field(default_factory=dict)  # per kind, before the kind filter
    capped: bool = False  # a source had more than WORKLIST_SOURCE_CAP rows


def _customer_search(search: str, via: str = "customer") -> Q:
    return Q(**{f"{via}__code__icontains": search}) | Q(**{f"{via}__name__icontains": search})


def _worklist_tasks(*, user: Any, as_of: date, filters: WorklistFilters) -> list[Task]:
    tasks = scope_filter(
        Task.objects.filter(status=TaskStatus.OPEN, due_date__lte=as_of), user=user
    ).select_related("customer", "action", "assignee")
    if not filters.everyone:
        unassigned = Q(assignee__isnull=True)
        if not user_sees_all(user):
            unassigned &= Q(customer__collector=user) | Q(customer__sales_rep=user)
        tasks = tasks.filter(Q(assignee=user) | unassigned)
    if filters.search:
        tasks = tasks.filter(_customer_search(filters.search))
    return list(tasks.order_by("due_date", "id")[: WORKLIST_SOURCE_CAP + 1])


def _worklist_messages(*, user: Any, filters: WorklistFilters) -> list[OutboxMessage]:
    messages = scope_filter(
        OutboxMessage.objects.filter(status=OutboxStatus.AWAITING_APPROVAL), user=user
    ).select_related("customer", "action__stage", "contact")
    if filters.search:
        messages = messages.filter(_customer_search(filters.search))
    return list(messages.order_by("not_before_at", "id")[: WORKLIST_SOURCE_CAP + 1])


def _worklist_promises(*, user: Any, as_of: date, filters: WorklistFilters) -> list[PromiseToPay]:
    promises = scope_filter(
        PromiseToPay.objects.filter(status=PromiseStatus.OPEN, promised_date__lte=as_of), user=user
    ).select_related("customer")
    if not filters.everyone and user_sees_all(user):
        promises = promises.filter(Q(customer__collector=user) | Q(created_by=user))
    if filters.search:
        promises = promises.filter(_customer_search(filters.search))
    return list(promises.order_by("promised_date", "id")[: WORKLIST_SOURCE_CAP + 1])


@dataclass(frozen=True)
class CustomerRisk:
    overdue: dict[str, tuple[int, int]]  # currency -> (overdue minor, Σ open × days past due)
    broken_promises: int


def customers_risk(*, customer_ids: Iterable[int], as_of: date) -> dict[int, CustomerRisk]:
    """Return, per customer, what is overdue on ``as_of`` per currency and its broken promises.

    Two grouped queries whatever the number of customers.
    """
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    overdue: dict[int, dict[str, tuple[int, int]]] = {}
    rows = (
        Invoice.objects.filter(
            customer_id__in=ids, settled_date__isnull=True, open_minor__gt=0, due_date__lt=as_of
        )
        .order_by()
        .values("customer_id", "currency")
        .annotate(total=Sum("open_minor"), weighted=Sum(F("open_minor") * DaysPastDue(as_of)))
    )
    for row in rows:
        overdue.setdefault(row["customer_id"], {})[row["currency"]] = (row["total"], row["weighted"])
    broken = dict(
        PromiseToPay.objects.filter(customer_id__in=ids, status=PromiseStatus.BROKEN)
        .order_by()
        .values("customer_id")
        .annotate(count=Count("id"))
        .values_list("customer_id", "count")
    )
    return {
        customer_id: CustomerRisk(
            overdue=overdue.get(customer_id, {}), broken_promises=broken.get(customer_id, 0)
        )
        for customer_id in ids
    }


def _priority(*, customer: Customer, currency: str, risk: CustomerRisk | None) -> Priority:
    overdue = risk.overdue if risk else {}
    if not currency:
        # The customer's own currency, else the one with the most overdue amount-days.
        if customer.currency in overdue or not overdue:
            currency = customer.currency
        else:
            currency = max(sorted(overdue), key=lambda c: overdue[c][1])
    total, weighted = overdue.get(currency, (0, 0))
    return priority_compute(
        overdue=from_minor(total, currency),
        currency=currency,
        days=weighted_days(overdue_minor=total, day_weighted_minor=weighted or 0),
        grade=customer.grade,
        broken_promises=risk.broken_promises if risk else 0,
    )


def worklist_kind_choices() -> list[tuple[str, str]]:
    """Return the kinds of work the filter offers, in the reader's language."""
    return [
        (APPROVAL, _("messages to approve")),
        (PROMISE_DUE, _("promises due")),
        *[(value, str(label)) for value, label in TaskKind.choices],
    ]


def worklist_build(*, user: Any, as_of: date, filters: WorklistFilters | None = None) -> Worklist:
    """Return today's work for the user, highest priority first, within the customers they reach.

    Open tasks due by ``as_of`` (theirs, or unassigned on their customers; with ``everyone``
    also their colleagues'), messages awaiting approval, and open promises whose date has come.
    A fixed number of queries whatever the number of items.
    """
    filters = filters or WorklistFilters()
    labels = dict(worklist_kind_choices())
    tasks = _worklist_tasks(user=user, as_of=as_of, filters=filters)
    messages = _worklist_messages(user=user, filters=filters)
    promises = _worklist_promises(user=user, as_of=as_of, filters=filters)
    capped = any(len(rows) > WORKLIST_SOURCE_CAP for rows in (tasks, messages, promises))
    tasks, messages, promises = (
        tasks[:WORKLIST_SOURCE_CAP],
        messages[:WORKLIST_SOURCE_CAP],
        promises[:WORKLIST_SOURCE_CAP],
    )
    risks = customers_risk(
        customer_ids=[row.customer_id for rows in (tasks, messages, promises) for row in rows], as_of=as_of
    )
    items: list[WorkItem] = []
    for task in tasks:
        currency = task.action.currency if task.action else ""
        items.append(
            WorkItem(
                key=f"task-{task.pk}",
                kind=task.kind,
                kind_label=labels.get(task.kind, task.kind),
                title=task.title,
                customer=task.customer,
                due_date=task.due_date,
                priority=_priority(
                    customer=task.customer, currency=currency, risk=risks.get(task.customer_id)
                ),
                task=task,
            )
        )
    for message in messages:
        stage = message.action.stage.name if message.action else message.template_key
        items.append(
            WorkItem(
                key=f"message-{message.pk}",
                kind=APPROVAL,
                kind_label=labels[APPROVAL],
                title=_("%(stage)s by %(channel)s awaits approval")
                % {"stage": stage, "channel": message.get_channel_display()},
                customer=message.customer,
                due_date=message.not_before_at.date() if message.not_before_at else None,
                priority=_priority(
                    customer=message.customer,
                    currency=message.action.currency if message.action else "",
                    risk=risks.get(message.customer_id),
                ),
                message=message,
                detail=message.subject,
            )
        )
    for promise in promises:
        amount = from_minor(promise.amount_minor, promise.currency)
        items.append(
            WorkItem(
                key=f"promise-{promise.pk}",
                kind=PROMISE_DUE,
                kind_label=labels[PROMISE_DUE],
                title=(
                    _("Promised %(amount)s %(currency)s for today")
                    if promise.promised_date == as_of
                    else _("Promised %(amount)s %(currency)s for %(date)s: check the payment")
                )
                % {
                    "amount": amount_format(amount, promise.currency),
                    "currency": promise.currency,
                    "date": date_format(promise.promised_date, "SHORT_DATE_FORMAT"),
                },
                customer=promise.customer,
                due_date=promise.promised_date,
                priority=_priority(
                    customer=promise.customer, currency=promise.currency, risk=risks.get(promise.customer_id)
                ),
                promise=promise,
                detail=promise.promised_by,
            )
        )
    counts = dict(Counter(item.kind for item in items))
    if filters.kind:
        items = [item for item in items if item.kind == filters.kind]
    items.sort(key=lambda item: (-item.priority.score, item.due_date or as_of, item.customer.code, item.key))
    return Worklist(items=items, counts=counts, capped=capped)
