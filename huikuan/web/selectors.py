"""Reads the pages need, built on the customers and ledger selectors (bounded, set-based)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.apps import apps
from django.db.models import (
    Count,
    DateField,
    Exists,
    F,
    Func,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from huikuan.accounts.access import customer_scope, scope_filter, user_sees_all
from huikuan.collections.models import PromiseStatus, PromiseToPay, Task, TaskKind, TaskStatus
from huikuan.core.models import AuditAction, AuditEntry
from huikuan.core.money import from_minor
from huikuan.customers.models import Contact, Customer
from huikuan.ledger.aging import DEFAULT_BUCKETS, bucket_labels
from huikuan.ledger.models import Invoice, Payment
from huikuan.messaging.models import OutboxMessage, OutboxStatus
from huikuan.web.priority import Priority, priority_compute, weighted_days
from huikuan.web.templatetags.huikuan_web import amount as amount_format


def customer_search(*, user: Any, search: str = "", grade: str = "") -> QuerySet[Customer]:
    """Return the customers the user reaches whose code or name contains ``search``, by code."""
    queryset = customer_scope(user).select_related("collector", "sales_rep")
    if search:
        queryset = queryset.filter(Q(code__icontains=search) | Q(name__icontains=search))
    if grade:
        queryset = queryset.filter(grade=grade)
    return queryset.order_by("code")


def customer_contacts(*, customer: Customer) -> QuerySet[Contact]:
    """Return the customer's contacts, the primary one first."""
    return Contact.objects.filter(customer=customer).order_by("-is_primary", "name", "id")


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
    """One piece of work. The list is ordered from these few fields; the page's items are then
    filled with their records (:func:`worklist_fill`)."""

    key: str  # unique on the page: "task-12", "message-7", "promise-3"
    kind: str
    record_id: int
    customer_id: int
    customer_code: str
    due_date: date | None
    priority: Priority
    # Filled for the items shown:
    kind_label: str = ""
    title: str = ""
    detail: str = ""
    customer: Customer | None = None
    task: Task | None = None
    message: OutboxMessage | None = None
    promise: PromiseToPay | None = None

    @property
    def currency(self) -> str:
        return self.priority.currency


@dataclass
class Worklist:
    items: list[WorkItem]
    counts: dict[str, int] = field(default_factory=dict)  # per kind, before the kind filter
    capped: bool = False  # a source had more than WORKLIST_SOURCE_CAP rows


# What the ordering needs of each row: its id, kind, customer (id, code, grade, currency), due
# date and currency. Narrow tuples: the worklist reads up to a thousand rows of each source.
_CUSTOMER_COLUMNS = ("customer_id", "customer__code", "customer__grade", "customer__currency")


def _customer_search(search: str, via: str = "customer") -> Q:
    return Q(**{f"{via}__code__icontains": search}) | Q(**{f"{via}__name__icontains": search})


def _worklist_tasks(*, user: Any, as_of: date, filters: WorklistFilters) -> list[tuple[Any, ...]]:
    tasks = scope_filter(Task.objects.filter(status=TaskStatus.OPEN, due_date__lte=as_of), user=user)
    if not filters.everyone:
        unassigned = Q(assignee__isnull=True)
        if not user_sees_all(user):
            unassigned &= Q(customer__collector=user) | Q(customer__sales_rep=user)
        tasks = tasks.filter(Q(assignee=user) | unassigned)
    if filters.search:
        tasks = tasks.filter(_customer_search(filters.search))
    return list(
        tasks.order_by("due_date", "id").values_list(
            "id", "kind", *_CUSTOMER_COLUMNS, "due_date", "action__currency"
        )[: WORKLIST_SOURCE_CAP + 1]
    )


def _worklist_messages(*, user: Any, filters: WorklistFilters) -> list[tuple[Any, ...]]:
    messages = scope_filter(OutboxMessage.objects.filter(status=OutboxStatus.AWAITING_APPROVAL), user=user)
    if filters.search:
        messages = messages.filter(_customer_search(filters.search))
    return list(
        messages.order_by("not_before_at", "id").values_list(
            "id", *_CUSTOMER_COLUMNS, "not_before_at", "action__currency"
        )[: WORKLIST_SOURCE_CAP + 1]
    )


def _worklist_promises(*, user: Any, as_of: date, filters: WorklistFilters) -> list[tuple[Any, ...]]:
    promises = scope_filter(
        PromiseToPay.objects.filter(status=PromiseStatus.OPEN, promised_date__lte=as_of), user=user
    )
    if not filters.everyone and user_sees_all(user):
        promises = promises.filter(Q(customer__collector=user) | Q(created_by=user))
    if filters.search:
        promises = promises.filter(_customer_search(filters.search))
    return list(
        promises.order_by("promised_date", "id").values_list(
            "id", *_CUSTOMER_COLUMNS, "promised_date", "currency"
        )[: WORKLIST_SOURCE_CAP + 1]
    )


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
        .values_list("customer_id", "currency", "total", "weighted")
    )
    for customer_id, currency, total, weighted in rows:
        overdue.setdefault(customer_id, {})[currency] = (total, weighted)
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


def _priority(*, grade: str, own_currency: str, currency: str, risk: CustomerRisk | None) -> Priority:
    overdue = risk.overdue if risk else {}
    if not currency:
        # The customer's own currency, else the one with the most overdue amount-days.
        if own_currency in overdue or not overdue:
            currency = own_currency
        else:
            currency = max(sorted(overdue), key=lambda c: overdue[c][1])
    total, weighted = overdue.get(currency, (0, 0))
    return priority_compute(
        overdue=from_minor(total, currency),
        currency=currency,
        days=weighted_days(overdue_minor=total, day_weighted_minor=weighted or 0),
        grade=grade,
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
    Five queries whatever the number of items; the items are ordered from narrow rows, with one
    priority per customer and currency. :func:`worklist_fill` completes the ones to be shown.
    """
    filters = filters or WorklistFilters()
    sources = {
        "task": _worklist_tasks(user=user, as_of=as_of, filters=filters),
        "message": _worklist_messages(user=user, filters=filters),
        "promise": _worklist_promises(user=user, as_of=as_of, filters=filters),
    }
    capped = any(len(rows) > WORKLIST_SOURCE_CAP for rows in sources.values())
    tasks, messages, promises = (rows[:WORKLIST_SOURCE_CAP] for rows in sources.values())
    risks = customers_risk(
        customer_ids=[row[2] for row in tasks] + [row[1] for row in (*messages, *promises)], as_of=as_of
    )
    priorities: dict[tuple[int, str], Priority] = {}

    def priority(customer_id: int, grade: str, own_currency: str, currency: str | None) -> Priority:
        key = (customer_id, currency or "")
        if key not in priorities:
            priorities[key] = _priority(
                grade=grade, own_currency=own_currency, currency=currency or "", risk=risks.get(customer_id)
            )
        return priorities[key]

    items = [
        WorkItem(
            key=f"task-{pk}",
            kind=kind,
            record_id=pk,
            customer_id=customer_id,
            customer_code=code,
            due_date=due,
            priority=priority(customer_id, grade, own, currency),
        )
        for pk, kind, customer_id, code, grade, own, due, currency in tasks
    ]
    items += [
        WorkItem(
            key=f"message-{pk}",
            kind=APPROVAL,
            record_id=pk,
            customer_id=customer_id,
            customer_code=code,
            due_date=timezone.localdate(not_before) if not_before else None,
            priority=priority(customer_id, grade, own, currency),
        )
        for pk, customer_id, code, grade, own, not_before, currency in messages
    ]
    items += [
        WorkItem(
            key=f"promise-{pk}",
            kind=PROMISE_DUE,
            record_id=pk,
            customer_id=customer_id,
            customer_code=code,
            due_date=promised,
            priority=priority(customer_id, grade, own, currency),
        )
        for pk, customer_id, code, grade, own, promised, currency in promises
    ]
    counts = dict(Counter(item.kind for item in items))
    if filters.kind:
        items = [item for item in items if item.kind == filters.kind]
    items.sort(key=lambda item: (-item.priority.score, item.due_date or as_of, item.customer_code, item.key))
    return Worklist(items=items, counts=counts, capped=capped)


def worklist_fill(*, items: Sequence[WorkItem], as_of: date) -> None:
    """Give the items to be shown their records, customers, titles and details (three queries)."""
    labels = dict(worklist_kind_choices())
    ids: dict[str, list[int]] = {"task": [], "message": [], "promise": []}
    for item in items:
        ids[item.key.split("-", 1)[0]].append(item.record_id)
    tasks = (
        Task.objects.filter(pk__in=ids["task"])
        .select_related("customer", "customer__collector")
        .defer("script")
        .in_bulk()
        if ids["task"]
        else {}
    )
    messages = (
        OutboxMessage.objects.filter(pk__in=ids["message"])
        .select_related("customer", "customer__collector", "action__stage")
        .in_bulk()
        if ids["message"]
        else {}
    )
    promises = (
        PromiseToPay.objects.filter(pk__in=ids["promise"])
        .select_related("customer", "customer__collector")
        .in_bulk()
        if ids["promise"]
        else {}
    )
    for item in items:
        item.kind_label = labels.get(item.kind, item.kind)
        if item.key.startswith("task-"):
            task = tasks[item.record_id]
            item.task, item.customer, item.title = task, task.customer, task.title
        elif item.key.startswith("message-"):
            message = messages[item.record_id]
            stage = message.action.stage.name if message.action else message.template_key
            item.message, item.customer, item.detail = message, message.customer, message.subject
            item.title = _("%(stage)s by %(channel)s awaits approval") % {
                "stage": stage,
                "channel": message.get_channel_display(),
            }
        else:
            promise = promises[item.record_id]
            item.promise, item.customer, item.detail = promise, promise.customer, promise.promised_by
            item.title = (
                _("Promised %(amount)s %(currency)s for today")
                if promise.promised_date == as_of
                else _("Promised %(amount)s %(currency)s for %(date)s: check the payment")
            ) % {
                "amount": amount_format(from_minor(promise.amount_minor, promise.currency), promise.currency),
                "currency": promise.currency,
                "date": date_format(promise.promised_date, "SHORT_DATE_FORMAT"),
            }


# --- customer 360 ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CurrencyPosition:
    """What a customer owes in one currency on a date, split into aging buckets."""

    currency: str
    open_minor: int
    overdue_minor: int
    invoices: int
    oldest_due_date: date | None
    buckets: dict[str, int]  # label -> minor units, in bucket order


def customer_position(
    *, customer: Customer, as_of: date, bounds: Sequence[int] = DEFAULT_BUCKETS
) -> list[CurrencyPosition]:
    """Return the customer's open and overdue amounts per currency with an aging split, in one query."""
    labels = bucket_labels(bounds)
    sums: dict[str, Any] = {
        "open_total": Sum("open_minor"),
        "overdue_total": Sum("open_minor", filter=Q(due_date__lt=as_of)),
        "count": Count("id"),
        "oldest": Min("due_date"),
        "b0": Sum("open_minor", filter=Q(due_date__gte=as_of)),
    }
    lower = 1
    for index, bound in enumerate(bounds, start=1):
        # Days past due between lower and bound: due between as_of - bound and as_of - lower.
        sums[f"b{index}"] = Sum(
            "open_minor",
            filter=Q(
                due_date__gte=as_of - timedelta(days=bound), due_date__lte=as_of - timedelta(days=lower)
            ),
        )
        lower = bound + 1
    sums[f"b{len(bounds) + 1}"] = Sum("open_minor", filter=Q(due_date__lt=as_of - timedelta(days=bounds[-1])))
    rows: Any = (
        Invoice.objects.filter(customer=customer, settled_date__isnull=True, open_minor__gt=0)
        .order_by()
        .values("currency")
        .annotate(**sums)
        .order_by("currency")
    )
    return [
        CurrencyPosition(
            currency=row["currency"],
            open_minor=row["open_total"] or 0,
            overdue_minor=row["overdue_total"] or 0,
            invoices=row["count"],
            oldest_due_date=row["oldest"],
            buckets={label: row[f"b{index}"] or 0 for index, label in enumerate(labels)},
        )
        for row in rows
    ]


def customer_open_invoices_flagged(*, customer: Customer, limit: int = 200) -> QuerySet[Invoice]:
    """Return the customer's open invoices, oldest due first, each marked when it is in an open
    dispute, under an open promise or in a current instalment plan (one query)."""
    from huikuan.collections.models import Dispute, DisputeStatus, InstalmentPlan, PlanStatus

    return (
        Invoice.objects.filter(customer=customer, open_minor__gt=0)
        .annotate(
            in_dispute=Exists(
                Dispute.objects.filter(
                    invoice=OuterRef("pk"), status__in=[DisputeStatus.OPEN, DisputeStatus.INVESTIGATING]
                )
            ),
            under_promise=Exists(
                PromiseToPay.invoices.through.objects.filter(
                    invoice_id=OuterRef("pk"), promisetopay__status=PromiseStatus.OPEN
                )
            ),
            in_plan=Exists(
                InstalmentPlan.invoices.through.objects.filter(
                    invoice_id=OuterRef("pk"), instalmentplan__status=PlanStatus.ACTIVE
                )
            ),
        )
        .order_by("due_date", "number")[:limit]
    )


def customer_open_tasks(*, customer: Customer) -> list[Task]:
    """Return the customer's open tasks, the earliest due first."""
    return list(
        Task.objects.filter(customer=customer, status=TaskStatus.OPEN)
        .select_related("assignee")
        .order_by("due_date", "id")[:50]
    )


# --- the timeline ---------------------------------------------------------------------------

# Records whose creation already shows as their own event; their audit entries for it would
# only repeat it. Changes to them (status moves) still show.
_SHOWN_ON_THEIR_OWN = (
    "collections.interaction",
    "collections.promisetopay",
    "collections.dispute",
    "collections.instalmentplan",
    "collections.task",
    "ledger.statement",
    "ledger.payment",
    "ledger.invoice",
)
TIMELINE_MAX = 500


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime  # when it happened, for ordering (a day's events without a time sort at its start)
    kind: str  # message, call, visit, note, promise, dispute, payment, plan, statement, change
    label: str  # the kind in the reader's language
    title: str
    detail: str = ""
    status: str = ""  # in the reader's language
    status_code: str = ""  # for styling: the record's status value
    who: str = ""
    dated_only: bool = False  # ``at`` is a business date, not a moment
    record: Any = None


def _person(user: Any) -> str:
    if user is None:
        return ""
    return (user.get_full_name() or user.get_username()).strip()


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _money_text(minor: int, currency: str) -> str:
    return f"{amount_format(from_minor(minor, currency), currency)} {currency}"


def _audit_model(entity: str) -> Any:
    try:
        return apps.get_model(entity)
    except (LookupError, ValueError):
        return None


def _field_label(model: Any, name: str) -> str:
    """Return a field's name in the reader's language (``collector_id`` → "collector")."""
    if model is not None:
        for field in model._meta.concrete_fields:
            if name in (field.name, field.attname):
                return str(field.verbose_name)
    return name.replace("_", " ")


def _value_text(model: Any, name: str, value: Any) -> str:
    """Return a stored value as people read it: a choice's label, "—" for nothing."""
    if value in (None, ""):
        return "—"
    if model is not None:
        for field in model._meta.concrete_fields:
            if name in (field.name, field.attname) and field.choices:
                return str(dict(field.flatchoices).get(value, value))
    return str(value)


def _audit_change_text(entry: AuditEntry) -> str:
    """Return "field: before → after; …" for the first few fields an entry records."""
    model = _audit_model(entry.entity)
    after = entry.after or {}
    before = entry.before or {}
    changes = []
    for key in list(after)[:6]:
        label = _field_label(model, key)
        if key in before:
            changes.append(
                f"{label}: {_value_text(model, key, before.get(key))} → {_value_text(model, key, after.get(key))}"
            )
        else:
            changes.append(f"{label}: {_value_text(model, key, after.get(key))}")
    return "; ".join(changes)


def customer_timeline(*, customer: Customer, limit: int = 50) -> list[TimelineEvent]:
    """Return the customer's latest ``limit`` events of every kind, newest first.

    One query per kind of record (messages, calls/visits/notes, promises, disputes, payments,
    plans, statements, other changes), each bounded by ``limit``, whatever the number of events.
    """
    from huikuan.collections.models import Dispute, InstalmentPlan, Interaction
    from huikuan.ledger.models import Statement

    limit = max(1, min(limit, TIMELINE_MAX))
    events: list[TimelineEvent] = []
    messages = (
        OutboxMessage.objects.filter(customer=customer)
        .select_related("contact", "action__stage", "approved_by")
        .order_by("-created_at", "-id")[:limit]
    )
    for message in messages:
        stage = message.action.stage.name if message.action else message.template_key
        events.append(
            TimelineEvent(
                at=message.sent_at or message.created_at,
                kind="message",
                label=str(message.get_channel_display()),
                title=message.subject or stage,
                detail=" · ".join(
                    part
                    for part in (
                        message.recipient or (message.contact.name if message.contact else ""),
                        message.tracking_number,
                        message.last_error if message.status == OutboxStatus.FAILED else "",
                    )
                    if part
                ),
                status=str(message.get_status_display()),
                status_code=message.status,
                who=_person(message.approved_by),
                record=message,
            )
        )
    interactions = (
        Interaction.objects.filter(customer=customer)
        .select_related("user", "contact")
        .order_by("-occurred_at", "-id")[:limit]
    )
    for interaction in interactions:
        events.append(
            TimelineEvent(
                at=interaction.occurred_at,
                kind=interaction.kind.lower(),
                label=str(interaction.get_kind_display()),
                title=" · ".join(
                    part
                    for part in (
                        str(interaction.get_outcome_display()) if interaction.outcome else "",
                        interaction.contact.name if interaction.contact else "",
                    )
                    if part
                ),
                detail=interaction.notes,
                status=(
                    _("next action %(date)s")
                    % {"date": date_format(interaction.next_action_date, "SHORT_DATE_FORMAT")}
                    if interaction.next_action_date
                    else ""
                ),
                who=_person(interaction.user),
                record=interaction,
            )
        )
    promises = (
        PromiseToPay.objects.filter(customer=customer)
        .select_related("created_by")
        .order_by("-created_at", "-id")[:limit]
    )
    for promise in promises:
        events.append(
            TimelineEvent(
                at=promise.created_at,
                kind="promise",
                label=_("promise to pay"),
                title=_("%(amount)s by %(date)s")
                % {
                    "amount": _money_text(promise.amount_minor, promise.currency),
                    "date": date_format(promise.promised_date, "SHORT_DATE_FORMAT"),
                },
                detail=" · ".join(
                    part
                    for part in (
                        promise.promised_by,
                        str(promise.get_method_display()),
                        _("paid %(amount)s") % {"amount": _money_text(promise.paid_minor, promise.currency)}
                        if promise.paid_minor
                        else "",
                        promise.if_broken,
                    )
                    if part
                ),
                status=str(promise.get_status_display()),
                status_code=promise.status,
                who=_person(promise.created_by),
                record=promise,
            )
        )
    disputes = (
        Dispute.objects.filter(customer=customer)
        .select_related("invoice", "owner", "raised_by")
        .order_by("-created_at", "-id")[:limit]
    )
    for dispute in disputes:
        events.append(
            TimelineEvent(
                at=dispute.created_at,
                kind="dispute",
                label=_("dispute"),
                title=_("%(invoice)s: %(reason)s")
                % {"invoice": dispute.invoice.number, "reason": dispute.get_reason_display()},
                detail=dispute.notes,
                status=str(dispute.get_status_display()),
                status_code=dispute.status,
                who=_("the customer, through the portal")
                if dispute.source == "PORTAL"
                else _person(dispute.raised_by),
                record=dispute,
            )
        )
    payments = Payment.objects.filter(customer=customer).order_by("-received_date", "-id")[:limit]
    for payment in payments:
        events.append(
            TimelineEvent(
                at=_day_start(payment.received_date),
                kind="payment",
                label=_("payment"),
                title=_money_text(payment.amount_minor, payment.currency),
                detail=" · ".join(
                    part for part in (str(payment.get_method_display()), payment.reference) if part
                ),
                status=_("%(amount)s unapplied")
                % {"amount": _money_text(payment.unapplied_minor, payment.currency)}
                if payment.unapplied_minor
                else "",
                dated_only=True,
                record=payment,
            )
        )
    plans = (
        InstalmentPlan.objects.filter(customer=customer)
        .select_related("created_by")
        .annotate(instalment_count=Count("instalments"))
        .order_by("-created_at", "-id")[:limit]
    )
    for plan in plans:
        events.append(
            TimelineEvent(
                at=plan.created_at,
                kind="plan",
                label=_("instalment plan"),
                title=ngettext(
                    "%(amount)s in %(count)s instalment from %(date)s",
                    "%(amount)s in %(count)s instalments from %(date)s",
                    plan.instalment_count,
                )
                % {
                    "amount": _money_text(
                        plan.principal_minor + plan.fee_minor + plan.interest_minor, plan.currency
                    )
                    if plan.currency
                    else "",
                    "count": plan.instalment_count,
                    "date": date_format(plan.start_date, "SHORT_DATE_FORMAT"),
                },
                detail=plan.notes,
                status=str(plan.get_status_display()),
                status_code=plan.status,
                who=_person(plan.created_by),
                record=plan,
            )
        )
    statements = Statement.objects.filter(customer=customer).order_by("-created_at", "-id")[:limit]
    for statement in statements:
        events.append(
            TimelineEvent(
                at=statement.responded_at or statement.sent_at or statement.created_at,
                kind="statement",
                label=_("statement"),
                title=_("%(month)s, closing balance %(amount)s")
                % {
                    "month": date_format(statement.period_end_date, "YEAR_MONTH_FORMAT"),
                    "amount": _money_text(statement.closing_minor, statement.currency),
                },
                detail=" · ".join(
                    part for part in (statement.responder_name, statement.response_note) if part
                ),
                status=str(statement.get_status_display()),
                status_code=statement.status,
                record=statement,
            )
        )
    changes = (
        AuditEntry.objects.filter(customer=customer)
        .exclude(action=AuditAction.CREATE, entity__in=_SHOWN_ON_THEIR_OWN)
        .select_related("actor")
        .order_by("-at", "-id")[:limit]
    )
    for entry in changes:
        events.append(
            TimelineEvent(
                at=entry.at,
                kind="change",
                label=_("change"),
                title=_("%(record)s %(id)s %(action)s")
                % {
                    "record": _record_name(entry.entity),
                    "id": entry.entity_id,
                    "action": entry.get_action_display(),
                },
                detail=_audit_change_text(entry),
                who=_person(entry.actor) or entry.actor_label,
                record=entry,
            )
        )
    events.sort(key=lambda event: event.at, reverse=True)
    return events[:limit]


def _record_name(entity: str) -> str:
    """Return the record type of an audit entry ("collections.promisetopay") in the reader's language."""
    model = _audit_model(entity)
    return str(model._meta.verbose_name) if model is not None else entity
