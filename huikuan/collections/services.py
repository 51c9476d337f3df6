"""Writes of collections work: calls and visits, promises to pay, disputes, instalment plans,
and the tasks they make for the people who collect.

Every change here is recorded in the audit trail (``huikuan.core.audit``) in the same
transaction. The daily reviews (``promises_review``, ``plans_review``, ``short_payments_to_tasks``)
are set-based: a few queries whatever the number of rows, and safe to run again for a day.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import BigIntegerField, Exists, Max, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from huikuan.collections.documents import plan_agreement_pdf as plan_agreement_pdf
from huikuan.collections.models import (
    Dispute,
    DisputeReason,
    DisputeStatus,
    Instalment,
    InstalmentPlan,
    Interaction,
    InteractionKind,
    InteractionOutcome,
    PlanStatus,
    PromiseMethod,
    PromiseStatus,
    PromiseToPay,
    Task,
    TaskKind,
    TaskStatus,
)
from huikuan.collections.plans import MAX_INSTALMENTS, ScheduleInvalid, parse_rate, plan_state, schedule_build
from huikuan.collections.promises import promise_outcome
from huikuan.core.audit import audit_record, audit_snapshot
from huikuan.core.errors import HuikuanError, NotFound
from huikuan.core.models import AuditAction, AuditEntry
from huikuan.core.money import Money
from huikuan.customers.models import Contact, Customer
from huikuan.ledger.models import Allocation, Invoice, Payment, ShortPayment

log = logging.getLogger(__name__)

PORTAL_ACTOR = "portal"
REVIEW_ACTOR = "collections review"
# Short payments older than this when the review first sees them (an import of years of history)
# make no task: the dunning ladder already follows the invoices they left open.
SHORT_PAYMENT_TASK_DAYS = 30
BULK_BATCH = 1000


# --- errors ------------------------------------------------------------------------------


class CollectionsError(HuikuanError):
    code = "collections_invalid"


class TaskNotOpen(CollectionsError):
    code = "task_not_open"
    status = 409


class TaskNotFound(NotFound):
    code = "task_not_found"


class WrongCustomer(CollectionsError):
    code = "of_another_customer"


class PromiseInvalid(CollectionsError):
    code = "promise_invalid"


class DisputeInvalid(CollectionsError):
    code = "dispute_invalid"


class DisputeAlreadyOpen(CollectionsError):
    code = "dispute_already_open"
    status = 409


class DisputeClosed(CollectionsError):
    code = "dispute_closed"
    status = 409


class DisputeNotFound(NotFound):
    code = "dispute_not_found"


class PromiseNotFound(NotFound):
    code = "promise_not_found"


# --- helpers -----------------------------------------------------------------------------


def _assignee_id(customer: Customer) -> int | None:
    """The person a customer's work goes to: its collector, else its sales rep (as the run does)."""
    return customer.collector_id or customer.sales_rep_id


def _actor_label(user: Any, fallback: str = "") -> str:
    return "" if user is not None and getattr(user, "pk", None) else fallback


def _task_title(kind: str, customer: Customer, detail: str = "") -> str:
    label = str(TaskKind(kind).label)
    title = f"{label}: {customer.code} {customer.name}"
    return f"{title} — {detail}" if detail else title


def _task_close(
    *, task: Task, status: str, user: Any, now: datetime, reason: str = "", label: str = ""
) -> Task:
    before = audit_snapshot(task, ["status", "completed_at"])
    task.status = status
    task.completed_at = now
    task.save(update_fields=["status", "completed_at", "updated_at"])
    after = audit_snapshot(task, ["status", "completed_at"])
    if reason:
        after["reason"] = reason
    audit_record(
        instance=task,
        action=AuditAction.UPDATE,
        actor=user,
        actor_label=_actor_label(user, label),
        before=before,
        after=after,
    )
    return task


def _audit_rows(
    rows: Sequence[tuple[Any, dict[str, Any], dict[str, Any]]], *, entity: str, label: str
) -> list[AuditEntry]:
    """Bulk audit entries for a review's changes: (instance-like with pk and customer_id, before, after)."""
    entries = [
        AuditEntry(
            actor=None,
            actor_label=label,
            customer_id=instance.customer_id,
            entity=entity,
            entity_id=str(instance.pk),
            action=AuditAction.UPDATE,
            before=before,
            after=after,
        )
        for instance, before, after in rows
    ]
    return AuditEntry.objects.bulk_create(entries, batch_size=BULK_BATCH)


# --- tasks -------------------------------------------------------------------------------


@transaction.atomic
def task_complete(*, task: Task, user: Any, now: datetime | None = None) -> Task:
    """Mark an open task done by ``user``."""
    task = Task.objects.select_for_update().get(pk=task.pk)
    if task.status != TaskStatus.OPEN:
        raise TaskNotOpen(_("This task is already %(status)s.") % {"status": task.get_status_display()})
    return _task_close(task=task, status=TaskStatus.DONE, user=user, now=now or timezone.now())


@transaction.atomic
def task_skip(*, task: Task, user: Any, reason: str = "", now: datetime | None = None) -> Task:
    """Cancel an open task without doing it; the reason goes into the audit trail."""
    task = Task.objects.select_for_update().get(pk=task.pk)
    if task.status != TaskStatus.OPEN:
        raise TaskNotOpen(_("This task is already %(status)s.") % {"status": task.get_status_display()})
    return _task_close(
        task=task, status=TaskStatus.CANCELLED, user=user, now=now or timezone.now(), reason=reason.strip()
    )


# --- calls, visits and notes ----------------------------------------------------------------


@transaction.atomic
def interaction_log(
    *,
    customer: Customer,
    user: Any,
    kind: str,
    occurred_at: datetime,
    outcome: str = "",
    notes: str = "",
    next_action_date: date | None = None,
    contact: Contact | None = None,
    task: Task | None = None,
) -> Interaction:
    """Record a call, visit or note; it completes the task it carried out, and a next action date
    makes a follow-up task for the person who logged it."""
    if kind not in InteractionKind.values:
        raise CollectionsError(
            _("Unknown kind of interaction: %(kind)s.") % {"kind": kind}, code="kind_invalid"
        )
    if outcome and outcome not in InteractionOutcome.values:
        raise CollectionsError(
            _("Unknown outcome: %(outcome)s.") % {"outcome": outcome}, code="outcome_invalid"
        )
    if contact is not None and contact.customer_id != customer.pk:
        raise WrongCustomer(_("That contact belongs to another customer."))
    if task is not None:
        task = Task.objects.select_for_update().get(pk=task.pk)
        if task.customer_id != customer.pk:
            raise WrongCustomer(_("That task belongs to another customer."))
    if timezone.is_naive(occurred_at):
        occurred_at = timezone.make_aware(occurred_at)
    interaction = Interaction(
        customer=customer,
        kind=kind,
        outcome=outcome,
        notes=notes.strip(),
        next_action_date=next_action_date,
        contact=contact,
        user=user if user is not None and getattr(user, "pk", None) else None,
        task=task,
        occurred_at=occurred_at,
    )
    interaction.full_clean()
    interaction.save()
    audit_record(
        instance=interaction,
        action=AuditAction.CREATE,
        actor=user,
        after=audit_snapshot(interaction),
    )
    if task is not None and task.status == TaskStatus.OPEN:
        _task_close(task=task, status=TaskStatus.DONE, user=user, now=occurred_at)
    if next_action_date is not None:
        follow_up = Task.objects.create(
            kind=TaskKind.FOLLOW_UP,
            customer=customer,
            assignee_id=interaction.user_id or _assignee_id(customer),
            due_date=next_action_date,
            title=_task_title(
                TaskKind.FOLLOW_UP, customer, notes.strip().splitlines()[0][:120] if notes.strip() else ""
            ),
            interaction=interaction,
        )
        audit_record(
            instance=follow_up, action=AuditAction.CREATE, actor=user, after=audit_snapshot(follow_up)
        )
    return interaction


# --- promises to pay ---------------------------------------------------------------------


def _promise_grace_default() -> int:
    return int(getattr(settings, "HUIKUAN_PROMISE_GRACE_DAYS", 3))


@transaction.atomic
def promise_create(
    *,
    customer: Customer,
    user: Any,
    amount: Money,
    promised_date: date,
    invoices: Iterable[Invoice] = (),
    promised_by: str = "",
    method: str = PromiseMethod.PHONE,
    if_broken: str = "",
    grace_days: int | None = None,
    evidence: File | None = None,
    interaction: Interaction | None = None,
    notes: str = "",
    made_date: date | None = None,
) -> PromiseToPay:
    """Record a customer's promise to pay ``amount`` by ``promised_date``, for some invoices or on
    account; dunning of those invoices pauses until the date plus the grace days.

    ``made_date`` (when the promise was given; payments from then on count towards it) defaults
    to the day of the call it came from, else today.
    """
    if not isinstance(amount, Money):
        raise TypeError("amount must be Money")
    if amount.minor <= 0:
        raise PromiseInvalid(_("A promise is for an amount greater than zero."), code="amount_not_positive")
    if method not in PromiseMethod.values:
        raise PromiseInvalid(_("Unknown way of promising: %(method)s.") % {"method": method})
    if interaction is not None and interaction.customer_id != customer.pk:
        raise WrongCustomer(_("That call or visit belongs to another customer."))
    if made_date is None:
        made_date = (
            timezone.localdate(interaction.occurred_at) if interaction is not None else timezone.localdate()
        )
    if promised_date < made_date:
        raise PromiseInvalid(
            _("The promised date %(date)s is before the day the promise was made (%(made)s).")
            % {"date": promised_date.isoformat(), "made": made_date.isoformat()},
            code="promised_date_past",
        )
    grace = _promise_grace_default() if grace_days is None else int(grace_days)
    if grace < 0:
        raise PromiseInvalid(_("Grace days cannot be negative."))
    invoice_ids = sorted({invoice.pk for invoice in invoices})
    promised_invoices = list(Invoice.objects.filter(pk__in=invoice_ids).order_by("due_date", "number"))
    for invoice in promised_invoices:
        if invoice.customer_id != customer.pk:
            raise WrongCustomer(
                _("Invoice %(number)s belongs to another customer.") % {"number": invoice.number}
            )
        if invoice.currency != amount.currency:
            raise PromiseInvalid(
                _("Invoice %(number)s is in %(currency)s, the promise in %(promised)s.")
                % {"number": invoice.number, "currency": invoice.currency, "promised": amount.currency},
                code="currency_mismatch",
            )
        if invoice.open_minor <= 0:
            raise PromiseInvalid(
                _("Invoice %(number)s has nothing left to pay.") % {"number": invoice.number},
                code="invoice_settled",
            )
    if promised_invoices:
        open_total = sum(invoice.open_minor for invoice in promised_invoices)
        if amount.minor > open_total:
            raise PromiseInvalid(
                _("%(amount)s is more than the %(open)s open on these invoices.")
                % {"amount": amount, "open": Money(open_total, amount.currency)},
                code="exceeds_open_amount",
            )
    promise = PromiseToPay(
        customer=customer,
        currency=amount.currency,
        amount_minor=amount.minor,
        promised_date=promised_date,
        made_date=made_date,
        grace_days=grace,
        notes=notes.strip(),
        promised_by=promised_by.strip(),
        method=method,
        if_broken=if_broken.strip(),
        created_by=user if user is not None and getattr(user, "pk", None) else None,
        interaction=interaction,
    )
    if evidence is not None:
        promise.evidence = evidence
    promise.full_clean(exclude=["evidence"])
    promise.save()
    if promised_invoices:
        promise.invoices.set(promised_invoices)
    after = audit_snapshot(promise)
    after["invoices"] = [invoice.number for invoice in promised_invoices]
    audit_record(
        instance=promise,
        action=AuditAction.CREATE,
        actor=user,
        actor_label=_actor_label(user, PORTAL_ACTOR if method == PromiseMethod.PORTAL else ""),
        after=after,
    )
    return promise


def _promises_with_paid(*, as_of: date):
    """Open promises with what was paid towards them up to ``as_of``, in one query.

    Towards a promise with invoices count the allocations to those invoices from the day it was
    made; towards a promise on account, the customer's payments in its currency from that day.
    """
    through = PromiseToPay.invoices.through
    paid_on_invoices = Allocation.objects.filter(
        invoice__promises=OuterRef("pk"),
        allocation_date__gte=OuterRef("since"),
        allocation_date__lte=as_of,
    )
    paid_on_account = Payment.objects.filter(
        customer_id=OuterRef("customer_id"),
        currency=OuterRef("currency"),
        received_date__gte=OuterRef("since"),
        received_date__lte=as_of,
    )

    def total(queryset: Any, key: str, column: str) -> Coalesce:
        return Coalesce(
            Subquery(
                queryset.order_by().values(key).annotate(total=Sum(column)).values("total")[:1],
                output_field=BigIntegerField(),
            ),
            0,
            output_field=BigIntegerField(),
        )

    def last(queryset: Any, key: str, column: str) -> Subquery:
        return Subquery(queryset.order_by().values(key).annotate(last=Max(column)).values("last")[:1])

    return (
        PromiseToPay.objects.filter(status=PromiseStatus.OPEN)
        .annotate(since=Coalesce("made_date", TruncDate("created_at")))
        .filter(since__lte=as_of)
        .annotate(
            has_invoices=Exists(through.objects.filter(promisetopay_id=OuterRef("pk"))),
            paid_invoices=total(paid_on_invoices, "invoice__promises", "amount_minor"),
            paid_account=total(paid_on_account, "customer_id", "amount_minor"),
            last_invoices=last(paid_on_invoices, "invoice__promises", "allocation_date"),
            last_account=last(paid_on_account, "customer_id", "received_date"),
        )
        .select_related("customer")
        .order_by("pk")
    )


@transaction.atomic
def promises_review(*, as_of: date) -> dict[str, int]:
    """Mark open promises kept, partly kept or broken from the payments up to ``as_of``.

    A promise that is not kept by its date plus grace makes one PROMISE_BROKEN task for the
    customer's collector (partly kept ones too: money promised did not arrive). Reviewing the
    same day again changes nothing. Returns counts by outcome.
    """
    counts = {"reviewed": 0, "kept": 0, "partly_kept": 0, "broken": 0, "tasks": 0}
    changed: list[PromiseToPay] = []
    audits: list[tuple[Any, dict[str, Any], dict[str, Any]]] = []
    failed: list[PromiseToPay] = []
    for promise in _promises_with_paid(as_of=as_of):
        counts["reviewed"] += 1
        paid = promise.paid_invoices if promise.has_invoices else promise.paid_account
        last_paid = promise.last_invoices if promise.has_invoices else promise.last_account
        outcome = promise_outcome(
            amount_minor=promise.amount_minor,
            paid_minor=max(int(paid), 0),
            promised_date=promise.promised_date,
            grace_days=promise.grace_days,
            as_of=as_of,
            last_paid_date=last_paid,
        )
        paid_minor = max(int(paid), 0)
        if outcome.status == promise.status and paid_minor == promise.paid_minor:
            continue
        before = {"status": promise.status, "paid_minor": promise.paid_minor, "resolved_date": None}
        promise.status = outcome.status
        promise.paid_minor = paid_minor
        promise.resolved_date = outcome.resolved_date
        changed.append(promise)
        if outcome.status != PromiseStatus.OPEN:
            counts[outcome.status.lower()] += 1
            audits.append(
                (
                    promise,
                    before,
                    {
                        "status": promise.status,
                        "paid_minor": promise.paid_minor,
                        "resolved_date": _iso(promise.resolved_date),
                    },
                )
            )
        if outcome.status in (PromiseStatus.BROKEN, PromiseStatus.PARTLY_KEPT):
            failed.append(promise)
    if changed:
        now = timezone.now()
        for promise in changed:
            promise.updated_at = now
        PromiseToPay.objects.bulk_update(
            changed, ["status", "paid_minor", "resolved_date", "updated_at"], batch_size=BULK_BATCH
        )
    if audits:
        _audit_rows(audits, entity=PromiseToPay._meta.label_lower, label=REVIEW_ACTOR)
    if failed:
        counts["tasks"] = _tasks_make(
            [
                Task(
                    kind=TaskKind.PROMISE_BROKEN,
                    customer_id=promise.customer_id,
                    assignee_id=_assignee_id(promise.customer),
                    due_date=as_of,
                    title=_task_title(
                        TaskKind.PROMISE_BROKEN,
                        promise.customer,
                        _("%(amount)s promised for %(date)s, %(paid)s paid")
                        % {
                            "amount": Money(promise.amount_minor, promise.currency),
                            "date": promise.promised_date.isoformat(),
                            "paid": Money(promise.paid_minor, promise.currency),
                        },
                    ),
                    promise=promise,
                )
                for promise in failed
            ]
        )
    return counts


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _tasks_make(tasks: list[Task]) -> int:
    """Insert tasks; one that exists already (each source makes one task of a kind) is left alone.

    Callers pass only sources without a task, so the count is what was made; the unique
    constraints keep two reviews racing each other from making a second one.
    """
    if tasks:
        Task.objects.bulk_create(tasks, batch_size=BULK_BATCH, ignore_conflicts=True)
    return len(tasks)


# --- disputes ----------------------------------------------------------------------------


@transaction.atomic
def dispute_open(
    *,
    invoice: Invoice,
    reason: str,
    opened_date: date,
    user: Any = None,
    source: str = "STAFF",
    notes: str = "",
) -> Dispute:
    """Open a dispute on an invoice: it leaves dunning until the dispute is rejected, and its owner
    (the customer's collector) gets a DISPUTE task."""
    if reason not in DisputeReason.values:
        raise DisputeInvalid(
            _("Unknown dispute reason: %(reason)s.") % {"reason": reason}, code="reason_invalid"
        )
    if source not in ("STAFF", "PORTAL"):
        raise DisputeInvalid(_("Unknown source: %(source)s.") % {"source": source})
    invoice = Invoice.objects.select_for_update(of=("self",)).select_related("customer").get(pk=invoice.pk)
    if invoice.open_minor <= 0:
        raise DisputeInvalid(
            _("Invoice %(number)s has nothing left to pay.") % {"number": invoice.number},
            code="invoice_settled",
        )
    if opened_date < invoice.issue_date:
        raise DisputeInvalid(
            _("%(date)s is before invoice %(number)s was issued.")
            % {"date": opened_date.isoformat(), "number": invoice.number},
            code="dates_out_of_order",
        )
    if Dispute.objects.filter(invoice=invoice, status__in=DISPUTE_ACTIVE).exists():
        raise DisputeAlreadyOpen(
            _("Invoice %(number)s already has an open dispute.") % {"number": invoice.number}
        )
    customer = invoice.customer
    raised_by = user if user is not None and getattr(user, "pk", None) else None
    dispute = Dispute(
        invoice=invoice,
        customer=customer,
        reason=reason,
        status=DisputeStatus.OPEN,
        opened_date=opened_date,
        notes=notes.strip(),
        owner_id=_assignee_id(customer) or (raised_by.pk if raised_by is not None else None),
        raised_by=raised_by,
        source=source,
    )
    dispute.full_clean()
    dispute.save()
    label = _actor_label(user, PORTAL_ACTOR if source == "PORTAL" else "")
    after = audit_snapshot(dispute)
    after["invoice_number"] = invoice.number
    audit_record(instance=dispute, action=AuditAction.CREATE, actor=user, actor_label=label, after=after)
    Task.objects.create(
        kind=TaskKind.DISPUTE,
        customer=customer,
        assignee_id=dispute.owner_id,
        due_date=opened_date,
        title=_task_title(
            TaskKind.DISPUTE,
            customer,
            f"{invoice.number} · {DisputeReason(reason).label}",
        ),
        dispute=dispute,
    )
    return dispute


DISPUTE_ACTIVE = (DisputeStatus.OPEN, DisputeStatus.INVESTIGATING)
DISPUTE_CLOSED = (DisputeStatus.RESOLVED_CREDIT_NOTE, DisputeStatus.REJECTED)


@transaction.atomic
def dispute_set_status(
    *,
    dispute: Dispute,
    status: str,
    user: Any,
    on_date: date,
    credit_note_amount: Money | None = None,
    note: str = "",
) -> Dispute:
    """Move a dispute on: investigating, resolved by a credit note (issued here when an amount is
    given) or rejected (the invoice returns to dunning at its stage). A closed dispute stays closed."""
    if status not in DisputeStatus.values:
        raise DisputeInvalid(
            _("Unknown dispute status: %(status)s.") % {"status": status}, code="status_invalid"
        )
    dispute = (
        Dispute.objects.select_for_update(of=("self",))
        .select_related("invoice", "customer")
        .get(pk=dispute.pk)
    )
    if dispute.status in DISPUTE_CLOSED:
        raise DisputeClosed(
            _("This dispute is already closed (%(status)s).") % {"status": dispute.get_status_display()}
        )
    if status == dispute.status:
        return dispute
    if credit_note_amount is not None and status != DisputeStatus.RESOLVED_CREDIT_NOTE:
        raise DisputeInvalid(_("A credit note amount is only given when resolving by a credit note."))
    if status in DISPUTE_CLOSED and on_date < dispute.opened_date:
        raise DisputeInvalid(
            _("%(date)s is before the dispute was opened (%(opened)s).")
            % {"date": on_date.isoformat(), "opened": dispute.opened_date.isoformat()},
            code="dates_out_of_order",
        )
    before = audit_snapshot(dispute, ["status", "resolved_date", "notes"])
    if status == DisputeStatus.RESOLVED_CREDIT_NOTE and credit_note_amount is not None:
        from huikuan.ledger.services import credit_note_issue

        credit_note_issue(
            invoice=dispute.invoice,
            amount=credit_note_amount,
            on_date=on_date,
            reason=_("Dispute #%(id)s: %(reason)s")
            % {"id": dispute.pk, "reason": dispute.get_reason_display()},
            reference=f"DISPUTE-{dispute.pk}",
            user=user if user is not None and getattr(user, "pk", None) else None,
        )
    dispute.status = status
    dispute.resolved_date = on_date if status in DISPUTE_CLOSED else None
    if note.strip():
        dispute.notes = f"{dispute.notes}\n{note.strip()}".strip()
    dispute.save(update_fields=["status", "resolved_date", "notes", "updated_at"])
    after = audit_snapshot(dispute, ["status", "resolved_date", "notes"])
    if credit_note_amount is not None:
        after["credit_note"] = credit_note_amount.to_json()
    audit_record(instance=dispute, action=AuditAction.UPDATE, actor=user, before=before, after=after)
    if status in DISPUTE_CLOSED:
        now = timezone.now()
        for task in Task.objects.select_for_update().filter(dispute=dispute, status=TaskStatus.OPEN):
            _task_close(task=task, status=TaskStatus.DONE, user=user, now=now)
    return dispute


# --- instalment plans --------------------------------------------------------------------


class PlanInvalid(CollectionsError):
    code = "plan_invalid"


class PlanNotFound(NotFound):
    code = "plan_not_found"


def _money_minor(value: Money | None, currency: str, what: str) -> int:
    if value is None:
        return 0
    if not isinstance(value, Money):
        raise TypeError(f"{what} must be Money")
    if value.currency != currency:
        raise PlanInvalid(
            _("The %(what)s is in %(currency)s, the invoices in %(invoices)s.")
            % {"what": what, "currency": value.currency, "invoices": currency},
            code="currency_mismatch",
        )
    return value.minor


@transaction.atomic
def plan_create(
    *,
    customer: Customer,
    invoices: Iterable[Invoice],
    start_date: date,
    user: Any,
    count: int | None = None,
    interval_months: int = 1,
    amounts: Sequence[Money] | None = None,
    dates: Sequence[date] | None = None,
    fee: Money | None = None,
    interest_rate: str | Decimal | None = None,
    grace_days: int = 5,
    notes: str = "",
) -> InstalmentPlan:
    """Agree an instalment plan (分期付款) for some of a customer's open invoices.

    What the invoices have open is the principal; a fee and simple yearly interest may come on
    top, booked as one invoice (``PLAN-<id>``) due with the last instalment so that payments
    towards them are tracked like the rest. While the plan is current its invoices leave dunning.
    """
    invoice_ids = sorted({invoice.pk for invoice in invoices})
    if not invoice_ids:
        raise PlanInvalid(_("Choose the invoices the plan is for."), code="no_invoices")
    rows = list(Invoice.objects.select_for_update().filter(pk__in=invoice_ids).order_by("due_date", "number"))
    currencies = {invoice.currency for invoice in rows}
    for invoice in rows:
        if invoice.customer_id != customer.pk:
            raise WrongCustomer(
                _("Invoice %(number)s belongs to another customer.") % {"number": invoice.number}
            )
        if invoice.open_minor <= 0:
            raise PlanInvalid(
                _("Invoice %(number)s has nothing left to pay.") % {"number": invoice.number},
                code="invoice_settled",
            )
    if len(currencies) != 1:
        raise PlanInvalid(_("A plan's invoices are all in one currency."), code="currency_mismatch")
    currency = currencies.pop()
    in_plan = (
        InstalmentPlan.objects.filter(status=PlanStatus.ACTIVE, invoices__in=invoice_ids)
        .values_list("invoices__number", flat=True)
        .order_by()
    )
    if in_plan:
        raise PlanInvalid(
            _("Invoice %(number)s is already in a current plan.") % {"number": sorted(in_plan)[0]},
            code="invoice_in_plan",
        )
    disputed = Dispute.objects.filter(invoice_id__in=invoice_ids, status__in=DISPUTE_ACTIVE).values_list(
        "invoice__number", flat=True
    )
    if disputed:
        raise PlanInvalid(
            _("Invoice %(number)s is disputed; settle the dispute first.") % {"number": sorted(disputed)[0]},
            code="invoice_disputed",
        )
    if grace_days < 0:
        raise PlanInvalid(_("Grace days cannot be negative."), code="grace_invalid")
    try:
        rate = parse_rate(interest_rate)
        schedule = schedule_build(
            principal_minor=sum(invoice.open_minor for invoice in rows),
            start_date=start_date,
            count=count,
            interval_months=interval_months,
            amounts=[_money_minor(amount, currency, _("instalment")) for amount in amounts]
            if amounts is not None
            else None,
            dates=dates,
            fee_minor=_money_minor(fee, currency, pgettext("instalment plan", "fee")),
            rate=rate,
        )
    except ScheduleInvalid as error:
        raise PlanInvalid(_plan_message(error, currency), code=error.code)
    plan = InstalmentPlan(
        customer=customer,
        status=PlanStatus.ACTIVE,
        start_date=start_date,
        currency=currency,
        principal_minor=schedule.principal_minor,
        fee_minor=schedule.fee_minor,
        interest_rate=str(rate) if rate else "",
        interest_minor=schedule.interest_minor,
        grace_days=grace_days,
        notes=notes.strip(),
        created_by=user if user is not None and getattr(user, "pk", None) else None,
    )
    plan.full_clean()
    plan.save()
    Instalment.objects.bulk_create(
        [
            Instalment(plan=plan, sequence=k, due_date=due, amount_minor=amount)
            for k, (due, amount) in enumerate(zip(schedule.due_dates, schedule.amounts, strict=True), start=1)
        ]
    )
    plan_invoices = list(rows)
    charges = schedule.fee_minor + schedule.interest_minor
    if charges:
        from huikuan.ledger.services import invoice_issue

        plan_invoices.append(
            invoice_issue(
                customer=customer,
                number=_plan_invoice_number(plan),
                issue_date=start_date,
                due_date=schedule.due_dates[-1],
                amount=Money(charges, currency),
                description=_("Instalment plan %(id)s: fee and interest") % {"id": plan.pk},
            )
        )
    plan.invoices.set(plan_invoices)
    after = audit_snapshot(plan)
    after["invoices"] = [invoice.number for invoice in plan_invoices]
    after["instalments"] = [
        [due.isoformat(), amount] for due, amount in zip(schedule.due_dates, schedule.amounts, strict=True)
    ]
    audit_record(instance=plan, action=AuditAction.CREATE, actor=user, after=after)
    return plan


def _plan_invoice_number(plan: InstalmentPlan) -> str:
    number = f"PLAN-{plan.pk}"
    if Invoice.objects.filter(number=number).exists():  # the user's own numbering got there first
        number = f"PLAN-{plan.pk}-{plan.created_at:%Y%m%d%H%M%S}"
    return number


def _plan_message(error: ScheduleInvalid, currency: str) -> str:
    messages = {
        "nothing_open": _("There is nothing open on these invoices to spread over instalments."),
        "fee_invalid": _("A fee cannot be negative."),
        "count_invalid": _("Give between 1 and %(max)s instalments, each for more than zero.")
        % {"max": MAX_INSTALMENTS},
        "count_mismatch": _("The number of instalments, amounts and dates given do not agree."),
        "dates_invalid": _("Instalment dates must be in order, one per day at most, none before the start."),
        "interval_invalid": _("The interval between instalments is at least one month."),
        "rate_invalid": _("The yearly interest rate is a fraction from 0 to below 1 (0.0435 is 4.35 %)."),
        "amounts_invalid": _("Every instalment is for more than zero."),
    }
    if error.code == "amounts_total":
        return str(error)
    return messages.get(error.code, str(error))


def _plans_with_paid(*, as_of: date):
    """Current plans with what was paid to their invoices since the start, and whether any invoice
    was still open on ``as_of``, in one query."""
    paid = Allocation.objects.filter(
        invoice__instalment_plans=OuterRef("pk"),
        allocation_date__gte=OuterRef("start_date"),
        allocation_date__lte=as_of,
    )
    still_open = Invoice.objects.filter(instalment_plans=OuterRef("pk")).filter(
        Q(settled_date__isnull=True) | Q(settled_date__gt=as_of)
    )
    return (
        InstalmentPlan.objects.filter(status=PlanStatus.ACTIVE, start_date__lte=as_of)
        .annotate(
            paid=Coalesce(
                Subquery(
                    paid.order_by()
                    .values("invoice__instalment_plans")
                    .annotate(total=Sum("amount_minor"))
                    .values("total")[:1],
                    output_field=BigIntegerField(),
                ),
                0,
                output_field=BigIntegerField(),
            ),
            still_open=Exists(still_open),
        )
        .select_related("customer")
        .order_by("pk")
    )


@transaction.atomic
def plans_review(*, as_of: date) -> dict[str, int]:
    """Track current plans against payments up to ``as_of``: instalments covered oldest first; all
    covered (or nothing left open) completes a plan; one left unpaid past its due date plus grace
    breaks it, makes one PLAN_BROKEN task, and returns its invoices to dunning at their stage."""
    counts = {"reviewed": 0, "completed": 0, "broken": 0, "tasks": 0}
    plans = list(_plans_with_paid(as_of=as_of))
    if not plans:
        return counts
    instalments: dict[int, list[Instalment]] = {}
    for instalment in Instalment.objects.filter(
        plan__status=PlanStatus.ACTIVE, plan__start_date__lte=as_of
    ).order_by("plan_id", "sequence"):
        instalments.setdefault(instalment.plan_id, []).append(instalment)
    changed_instalments: list[Instalment] = []
    changed_plans: list[InstalmentPlan] = []
    audits: list[tuple[Any, dict[str, Any], dict[str, Any]]] = []
    broken: list[tuple[InstalmentPlan, date]] = []  # with the due date of the instalment missed
    for plan in plans:
        counts["reviewed"] += 1
        rows = instalments.get(plan.pk, [])
        if not rows:
            continue
        state = plan_state(
            amounts=[row.amount_minor for row in rows],
            due_dates=[row.due_date for row in rows],
            paid_minor=int(plan.paid),
            grace_days=plan.grace_days,
            as_of=as_of,
            nothing_left_open=not plan.still_open,
        )
        for row, covered in zip(rows, state.paid, strict=True):
            if row.paid_minor != covered:
                row.paid_minor = covered
                changed_instalments.append(row)
        if state.status == PlanStatus.ACTIVE:
            continue
        before = {"status": plan.status, "broken_date": None, "completed_date": None}
        plan.status = state.status
        if state.status == PlanStatus.BROKEN:
            plan.broken_date = state.decided_date
            assert state.decided_date is not None
            broken.append((plan, state.decided_date - timedelta(days=plan.grace_days + 1)))
            counts["broken"] += 1
        else:
            plan.completed_date = state.decided_date
            counts["completed"] += 1
        changed_plans.append(plan)
        audits.append(
            (
                plan,
                before,
                {
                    "status": plan.status,
                    "broken_date": _iso(plan.broken_date),
                    "completed_date": _iso(plan.completed_date),
                },
            )
        )
    if changed_instalments:
        Instalment.objects.bulk_update(changed_instalments, ["paid_minor"], batch_size=BULK_BATCH)
    if changed_plans:
        now = timezone.now()
        for plan in changed_plans:
            plan.updated_at = now
        InstalmentPlan.objects.bulk_update(
            changed_plans, ["status", "broken_date", "completed_date", "updated_at"], batch_size=BULK_BATCH
        )
        _audit_rows(audits, entity=InstalmentPlan._meta.label_lower, label=REVIEW_ACTOR)
    counts["tasks"] = _tasks_make(
        [
            Task(
                kind=TaskKind.PLAN_BROKEN,
                customer_id=plan.customer_id,
                assignee_id=_assignee_id(plan.customer),
                due_date=as_of,
                title=_task_title(
                    TaskKind.PLAN_BROKEN,
                    plan.customer,
                    _("plan %(id)s, an instalment unpaid since %(date)s")
                    % {
                        "id": plan.pk,
                        "date": missed.isoformat(),
                    },
                ),
                plan=plan,
            )
            for plan, missed in broken
        ]
    )
    return counts


# --- short payments ----------------------------------------------------------------------


@transaction.atomic
def short_payments_to_tasks(*, as_of: date, since_days: int = SHORT_PAYMENT_TASK_DAYS) -> int:
    """Make one SHORT_PAYMENT task per recent short payment that has none and whose invoice is
    still partly open (求全责备: a partial payment is challenged at once). Returns tasks made."""
    rows = list(
        ShortPayment.objects.filter(
            event_date__lte=as_of,
            event_date__gte=as_of - timedelta(days=since_days),
            invoice__open_minor__gt=0,
        )
        .exclude(Exists(Task.objects.filter(short_payment=OuterRef("pk"), kind=TaskKind.SHORT_PAYMENT)))
        .select_related("invoice__customer")
        .order_by("pk")
    )
    return _tasks_make(
        [
            Task(
                kind=TaskKind.SHORT_PAYMENT,
                customer_id=short.invoice.customer_id,
                assignee_id=_assignee_id(short.invoice.customer),
                due_date=as_of,
                title=_task_title(
                    TaskKind.SHORT_PAYMENT,
                    short.invoice.customer,
                    _("%(number)s short by %(amount)s")
                    % {"number": short.invoice.number, "amount": Money(short.short_minor, short.currency)},
                ),
                short_payment=short,
            )
            for short in rows
        ]
    )


# --- the daily review --------------------------------------------------------------------


def collections_review(
    *, as_of: date, now: datetime | None = None, statements: bool = True
) -> dict[str, Any]:
    """Do the day's collections review before the dunning run: incentives taken or lapsed, promises kept or broken, plans
    completed or broken, short payments turned into tasks, statements unanswered, and in the first
    days of a month last month's statements issued and e-mailed (unless ``statements`` is False).
    Safe to repeat for a day."""
    from huikuan.collections.incentives import incentives_review
    from huikuan.ledger.statements import statements_issue_monthly, statements_review

    result: dict[str, Any] = {
        # First: a discount taken is booked before promises and plans look at what is still open.
        "incentives": incentives_review(as_of=as_of),
        "promises": promises_review(as_of=as_of),
        "plans": plans_review(as_of=as_of),
        "short_payment_tasks": short_payments_to_tasks(as_of=as_of),
        "statements_unanswered": statements_review(
            as_of=as_of, reply_days=int(getattr(settings, "HUIKUAN_STATEMENT_REPLY_DAYS", 14))
        ),
    }
    if statements and statements_monthly_due(as_of=as_of):
        # Repeated on each of the first days, so a day the worker missed is caught up; issuing and
        # sending a month twice adds and sends nothing.
        issued = statements_issue_monthly(
            month_end=as_of.replace(day=1) - timedelta(days=1), send=True, now=now
        )
        sent = issued.get("sent") or {}
        result["statements_issued"] = {
            "month": issued["month"],
            "statements": issued["statements"],
            "created": issued["created"],
            "queued": sent.get("queued", 0),
            "no_email": len(sent.get("no_email", [])),
        }
    return result


def statements_monthly_due(*, as_of: date) -> bool:
    """Return True on the days of the month when last month's statements are issued and sent."""
    if not getattr(settings, "HUIKUAN_STATEMENTS_MONTHLY", True):
        return False
    return as_of.day <= int(getattr(settings, "HUIKUAN_STATEMENTS_ISSUE_DAYS", 7))


# --- task scripts ------------------------------------------------------------------------

SCRIPT_BATCH = 500


def _debtor_type_scripts(tasks: list[Task], contexts: dict[int, Any]) -> dict[int, Any]:
    """The script for each task's customer by debtor type and personality, in the message language."""
    from huikuan.insights.suggest import scripts_for_customers

    by_language: dict[str, dict[int, Any]] = defaultdict(dict)
    for task in tasks:
        context = contexts.get(task.action_id) if task.action_id else None
        if context is not None:
            by_language[str(context.get("language", ""))][task.customer_id] = task.customer
    scripts: dict[int, Any] = {}
    for language, customers in by_language.items():
        scripts |= scripts_for_customers(list(customers.values()), language=language)
    return scripts


def task_scripts_render(*, run_id: int | None = None, batch_size: int = SCRIPT_BATCH) -> int:
    """Write the suggested script (话术) into call, visit and legal tasks that have none yet.

    The dunning run creates tasks set-based and leaves the script empty so that it stays fast;
    this renders each stage's SCRIPT template in the customer's language right after, followed by
    the library's script for the customer's debtor type and its contact's personality, batch by
    batch, and may be run again at any time (it only fills what is empty). Returns tasks filled.
    """
    from huikuan.messaging.context import message_context_for_actions
    from huikuan.messaging.models import TemplateChannel
    from huikuan.messaging.rendering import template_catalog_load

    pending = Task.objects.filter(script="", action__isnull=False)
    if run_id is not None:
        pending = pending.filter(action__run_id=run_id)
    catalog = template_catalog_load()
    filled = 0
    last_id = 0
    while True:
        tasks = list(
            pending.filter(id__gt=last_id)
            .select_related("action__stage", "customer__collector")
            .order_by("id")[:batch_size]
        )
        if not tasks:
            return filled
        last_id = tasks[-1].id
        contexts = message_context_for_actions({task.action_id for task in tasks if task.action_id})
        by_type = _debtor_type_scripts(tasks, contexts)
        changed = []
        for task in tasks:
            if task.action is None:
                continue
            context = contexts.get(task.action.id)
            if context is None:
                continue
            parts = []
            try:
                rendered = catalog.render(
                    key=task.action.stage.template_key,
                    channel=TemplateChannel.SCRIPT,
                    language=str(context.get("language", "")),
                    context=context,
                )
                parts.append(rendered.text)
            except Exception as error:  # a stage without a script keeps its task; say why once
                log.warning("no script for task %s: %s", task.id, error)
            suggested = by_type.get(task.customer_id)
            if suggested is not None:
                parts.append(f"{suggested.title}\n{suggested.text}")
            if not parts:
                continue
            task.script = "\n\n".join(parts)
            changed.append(task)
        with transaction.atomic():
            Task.objects.bulk_update(changed, ["script"])
        filled += len(changed)
