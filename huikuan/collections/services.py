"""Writes of collections work: calls and visits, promises to pay, disputes, instalment plans,
and the tasks they make for the people who collect.

Every change here is recorded in the audit trail (``huikuan.core.audit``) in the same
transaction. The daily reviews (``promises_review``, ``plans_review``, ``short_payments_to_tasks``)
are set-based: a few queries whatever the number of rows, and safe to run again for a day.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import BigIntegerField, Exists, Max, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from huikuan.collections.models import (
    Dispute,
    DisputeReason,
    DisputeStatus,
    Interaction,
    InteractionKind,
    InteractionOutcome,
    PromiseMethod,
    PromiseStatus,
    PromiseToPay,
    Task,
    TaskKind,
    TaskStatus,
)
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


# --- task scripts ------------------------------------------------------------------------

SCRIPT_BATCH = 500


def task_scripts_render(*, run_id: int | None = None, batch_size: int = SCRIPT_BATCH) -> int:
    """Write the suggested script (话术) into call, visit and legal tasks that have none yet.

    The dunning run creates tasks set-based and leaves the script empty so that it stays fast;
    this renders each stage's SCRIPT template in the customer's language right after, batch by
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
            pending.filter(id__gt=last_id).select_related("action__stage").order_by("id")[:batch_size]
        )
        if not tasks:
            return filled
        last_id = tasks[-1].id
        contexts = message_context_for_actions({task.action_id for task in tasks if task.action_id})
        changed = []
        for task in tasks:
            if task.action is None:
                continue
            context = contexts.get(task.action.id)
            if context is None:
                continue
            try:
                rendered = catalog.render(
                    key=task.action.stage.template_key,
                    channel=TemplateChannel.SCRIPT,
                    language=str(context.get("language", "")),
                    context=context,
                )
            except Exception as error:  # a stage without a script keeps its task; say why once
                log.warning("no script for task %s: %s", task.id, error)
                continue
            task.script = rendered.text
            changed.append(task)
        with transaction.atomic():
            Task.objects.bulk_update(changed, ["script"])
        filled += len(changed)
