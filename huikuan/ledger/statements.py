"""对账单: monthly statements of account — built from the ledger, sent as PDF, answered by the customer.

A statement covers one customer, one currency and one calendar month. Its balance is the
account's: every invoice issued, less every payment received, credit note, write-off and
cancellation, dated up to the day. That equals the invoices left open at that day (what the
aging shows) less the money received and not applied to any invoice yet, so a payment on account
lowers the balance the customer sees even before it is allocated. The opening balance is the
balance on the day before the month starts, the closing balance the one on its last day; the
lines between are the month's invoices, payments and adjustments, in date order.

The opening and closing balances are stored on the statement when it is made and kept once it
has been sent: a confirmed statement is evidence of what the customer accepted (PLAYBOOK §5).
The PDF that went out is also kept under ``MEDIA_ROOT/statements/``.

Statements go out through the outbox like every other e-mail: the message's text is written when
it is queued, and delivery attaches the statement's PDF (see ``statement_attachment``).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, Count, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from huikuan.collections.models import Task, TaskKind
from huikuan.core.audit import audit_record, audit_snapshot
from huikuan.core.errors import HuikuanError, NotFound
from huikuan.core.models import AuditAction, AuditEntry
from huikuan.core.money import normalise_currency
from huikuan.customers.models import Contact, Customer
from huikuan.ledger.aging import bucket_index, bucket_labels
from huikuan.ledger.models import (
    AdjustmentKind,
    Allocation,
    Invoice,
    InvoiceAdjustment,
    Payment,
    Statement,
    StatementStatus,
)
from huikuan.messaging.models import MessageChannel, OutboxMessage, OutboxStatus

# Fewer buckets than the aging report: a customer reads these on paper.
STATEMENT_BUCKETS: tuple[int, ...] = (30, 60, 90)
# How long the customer has to confirm or dispute before the statement counts as unanswered.
REPLY_DAYS = 14
# The outbox's template key for statement e-mails; delivery attaches the statement PDF for it.
TEMPLATE_KEY = "statement"
KEY_PREFIX = "statement:"
# Answers are accepted while the statement waits for one (also after the reply period ran out).
ANSWERABLE = (StatementStatus.SENT, StatementStatus.NO_REPLY)
LANGUAGES = ("en", "zh-hans")
BULK_BATCH = 1000
STATEMENTS_ACTOR = "statements"


class StatementError(HuikuanError):
    code = "statement_invalid"


class StatementNotFound(NotFound):
    code = "statement_not_found"


class StatementNotAnswerable(StatementError):
    code = "statement_not_answerable"
    status = 409


class StatementNoRecipient(StatementError):
    code = "statement_no_recipient"


# --- periods -----------------------------------------------------------------------------


def month_end(year: int, month: int) -> date:
    """Return the last day of a month."""
    return date(year, month, calendar.monthrange(year, month)[1])


def month_parse(text: str) -> date:
    """Turn ``"2024-06"`` into the month's last day, or raise StatementError."""
    value = (text or "").strip()
    try:
        year, month = (int(part) for part in value.split("-"))
        return month_end(year, month)
    except (ValueError, TypeError):
        raise StatementError(
            _("%(value)s is not a month; write it as YYYY-MM, e.g. 2024-06.") % {"value": value},
            code="month_invalid",
        ) from None


def month_previous_end(today: date) -> date:
    """Return the last day of the month before ``today``'s: the latest complete month."""
    return today.replace(day=1) - timedelta(days=1)


def _period(period_end_date: date) -> tuple[date, date]:
    if period_end_date != month_end(period_end_date.year, period_end_date.month):
        raise StatementError(
            _("A statement covers a calendar month; %(date)s is not the last day of one.")
            % {"date": period_end_date.isoformat()},
            code="period_invalid",
        )
    return period_end_date.replace(day=1), period_end_date


def statement_reference(statement: Statement) -> str:
    """Return the statement's printed reference, e.g. ``ST-C0001-202406-CNY``."""
    return f"ST-{statement.customer.code}-{statement.period_end_date:%Y%m}-{statement.currency}"


# --- balances, set-based -----------------------------------------------------------------


@dataclass
class _Figures:
    opening_minor: int = 0
    closing_minor: int = 0
    activity: int = 0  # invoices, payments and adjustments dated in the period


def _figures(
    *, start: date, end: date, customer_ids: Sequence[int] | None = None, currency: str | None = None
) -> dict[tuple[int, str], _Figures]:
    """Return opening and closing balances and the period's activity per (customer id, currency).

    Three grouped queries (invoices, adjustments, payments), whatever the number of customers.
    """
    sources: tuple[tuple[Any, str, str, str, int], ...] = (
        (Invoice.objects, "issue_date", "customer_id", "currency", 1),
        (InvoiceAdjustment.objects, "adjustment_date", "invoice__customer_id", "invoice__currency", -1),
        (Payment.objects, "received_date", "customer_id", "currency", -1),
    )
    figures: dict[tuple[int, str], _Figures] = {}
    for manager, day, customer, money, sign in sources:
        rows = manager.filter(**{f"{day}__lte": end})
        if customer_ids is not None:
            rows = rows.filter(**{f"{customer}__in": list(customer_ids)})
        if currency is not None:
            rows = rows.filter(**{money: currency})
        grouped = (
            rows.order_by()
            .values(key_customer=F(customer), key_currency=F(money))
            .annotate(
                before=Coalesce(Sum("amount_minor", filter=Q(**{f"{day}__lt": start})), Value(0)),
                total=Sum("amount_minor"),
                activity=Count("id", filter=Q(**{f"{day}__gte": start})),
            )
            .values_list("key_customer", "key_currency", "before", "total", "activity")
        )
        for customer_id, row_currency, before, total, activity in grouped:
            entry = figures.setdefault((customer_id, row_currency), _Figures())
            # PostgreSQL sums bigints as numeric; the values are whole numbers either way.
            entry.opening_minor += sign * int(before)
            entry.closing_minor += sign * int(total)
            entry.activity += int(activity)
    return figures


def _audit_entries(
    rows: Iterable[tuple[Statement, dict[str, Any], dict[str, Any]]], *, action: str, label: str
) -> None:
    """Append audit entries for statements changed in bulk (one insert per batch)."""
    entries = [
        AuditEntry(
            actor=None,
            actor_label=label,
            customer_id=statement.customer_id,
            entity="ledger.statement",
            entity_id=str(statement.pk),
            action=action,
            before=before or None,
            after=after,
        )
        for statement, before, after in rows
    ]
    AuditEntry.objects.bulk_create(entries, batch_size=BULK_BATCH)


def _snapshot(statement: Statement) -> dict[str, Any]:
    return audit_snapshot(
        statement,
        [
            "customer", "currency", "period_start_date", "period_end_date", "opening_minor",
            "closing_minor", "status", "sent_at", "responded_at", "responder_name", "response_note",
        ],
    )  # fmt: skip


@transaction.atomic
def statement_build(
    *, customer: Customer, currency: str, period_end_date: date, user: Any = None
) -> Statement:
    """Make the customer's statement for the month ending ``period_end_date``, or return the one there is.

    A statement not sent yet is brought up to date with the ledger; one that was sent keeps its
    figures (it is what the customer was shown).
    """
    currency = normalise_currency(currency)
    start, end = _period(period_end_date)
    figures = _figures(start=start, end=end, customer_ids=[customer.pk], currency=currency).get(
        (customer.pk, currency), _Figures()
    )
    statement = (
        Statement.objects.select_for_update()
        .filter(customer=customer, currency=currency, period_end_date=end)
        .first()
    )
    if statement is None:
        try:
            with transaction.atomic():
                statement = Statement.objects.create(
                    customer=customer,
                    currency=currency,
                    period_start_date=start,
                    period_end_date=end,
                    opening_minor=figures.opening_minor,
                    closing_minor=figures.closing_minor,
                )
        except IntegrityError:  # made at the same moment elsewhere: that one stands
            return Statement.objects.get(customer=customer, currency=currency, period_end_date=end)
        audit_record(instance=statement, action=AuditAction.CREATE, actor=user, after=_snapshot(statement))
        statement.customer = customer
        return statement
    if statement.status == StatementStatus.DRAFT and (
        statement.opening_minor != figures.opening_minor or statement.closing_minor != figures.closing_minor
    ):
        before = _snapshot(statement)
        statement.opening_minor = figures.opening_minor
        statement.closing_minor = figures.closing_minor
        statement.save(update_fields=["opening_minor", "closing_minor"])
        audit_record(
            instance=statement,
            action=AuditAction.UPDATE,
            actor=user,
            before=before,
            after=_snapshot(statement),
        )
    statement.customer = customer
    return statement


def statements_for_customer(
    *, customer: Customer, period_end_date: date, currency: str | None = None, user: Any = None
) -> list[Statement]:
    """Make (or return) the customer's statements of the month: in ``currency``, else in every
    currency with activity in the month or a balance at its end, else in its default currency."""
    if currency:
        currencies = [normalise_currency(currency)]
    else:
        start, end = _period(period_end_date)
        figures = _figures(start=start, end=end, customer_ids=[customer.pk])
        currencies = sorted(
            key[1] for key, value in figures.items() if value.activity or value.closing_minor != 0
        ) or [customer.currency]
    return [
        statement_build(customer=customer, currency=code, period_end_date=period_end_date, user=user)
        for code in currencies
    ]


def statements_issue_monthly(
    *, month_end: date, send: bool = False, now: datetime | None = None, user: Any = None
) -> dict[str, Any]:
    """Make the month's statement for every customer and currency with activity in the month or a
    balance at its end; with ``send``, queue the e-mail of every one not sent yet.

    Set-based: the balances come from three grouped queries and the statements are written in
    bulk, so the cost does not grow with a query per customer. Running it again for the same
    month adds nothing and sends nothing twice.
    """
    start, end = _period(month_end)
    figures = {
        key: value
        for key, value in _figures(start=start, end=end).items()
        if value.activity or value.closing_minor != 0
    }
    with transaction.atomic():
        existing = {
            (statement.customer_id, statement.currency): statement
            for statement in Statement.objects.filter(period_end_date=end)
        }
        new = [
            Statement(
                customer_id=customer_id,
                currency=currency,
                period_start_date=start,
                period_end_date=end,
                opening_minor=value.opening_minor,
                closing_minor=value.closing_minor,
            )
            for (customer_id, currency), value in sorted(figures.items())
            if (customer_id, currency) not in existing
        ]
        Statement.objects.bulk_create(new, batch_size=BULK_BATCH, ignore_conflicts=True)
        refreshed = []
        for key, statement in existing.items():
            value = figures.get(key)
            if value is None or statement.status != StatementStatus.DRAFT:
                continue
            if (statement.opening_minor, statement.closing_minor) != (
                value.opening_minor,
                value.closing_minor,
            ):
                statement.opening_minor, statement.closing_minor = value.opening_minor, value.closing_minor
                refreshed.append(statement)
        Statement.objects.bulk_update(refreshed, ["opening_minor", "closing_minor"], batch_size=BULK_BATCH)
    result: dict[str, Any] = {
        "month": f"{end:%Y-%m}",
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "statements": Statement.objects.filter(period_end_date=end).count(),
        "created": len(new),
        "updated": len(refreshed),
    }
    if send:
        result["sent"] = statements_send_drafts(period_end_date=end, now=now or timezone.now(), user=user)
    return result


# --- what a statement shows --------------------------------------------------------------

LINE_KINDS = {
    "INVOICE": gettext_lazy("Invoice"),
    "PAYMENT": gettext_lazy("Payment"),
    AdjustmentKind.CREDIT_NOTE: gettext_lazy("Credit note"),
    AdjustmentKind.WRITE_OFF: gettext_lazy("Write-off"),
    AdjustmentKind.CANCELLATION: gettext_lazy("Cancellation"),
}
_LINE_ORDER = {"INVOICE": 0, "PAYMENT": 1, "CREDIT_NOTE": 2, "WRITE_OFF": 3, "CANCELLATION": 4}


@dataclass(frozen=True)
class StatementLine:
    """One movement on the account in the period; debits raise the balance, credits lower it."""

    day: date
    kind: str  # INVOICE, PAYMENT, CREDIT_NOTE, WRITE_OFF or CANCELLATION
    reference: str
    description: str
    debit_minor: int
    credit_minor: int
    balance_minor: int

    @property
    def kind_label(self) -> str:
        return str(LINE_KINDS[self.kind])


def statement_lines(*, statement: Statement) -> list[StatementLine]:
    """Return the month's invoices, payments and adjustments in date order with the running balance.

    Four queries. The running balance starts from the statement's opening balance.
    """
    start, end = statement.period_start_date, statement.period_end_date
    customer_id, currency = statement.customer_id, statement.currency
    raw: list[tuple[date, str, str, str, int, int, int]] = []
    for invoice in Invoice.objects.filter(
        customer_id=customer_id, currency=currency, issue_date__gte=start, issue_date__lte=end
    ).values_list("id", "issue_date", "number", "due_date", "description", "amount_minor"):
        pk, day, number, due, description, amount = invoice
        text = _("due %(date)s") % {"date": due.isoformat()}
        if description:
            text = f"{text} · {description}"
        raw.append((day, "INVOICE", number, text, amount, 0, pk))
    payments = Payment.objects.filter(
        customer_id=customer_id, currency=currency, received_date__gte=start, received_date__lte=end
    )
    # Which invoices each payment settled by the month end (reversed allocations cancel out).
    applied: dict[int, list[str]] = {}
    for payment_id, number, total in (
        Allocation.objects.filter(payment__in=payments, allocation_date__lte=end)
        .order_by()
        .values_list("payment_id", "invoice__number")
        .annotate(total=Sum("amount_minor"))
        .order_by("payment_id", "invoice__number")
    ):
        if total > 0:
            applied.setdefault(payment_id, []).append(number)
    for pk, day, reference, payer, amount in payments.values_list(
        "id", "received_date", "reference", "payer_name", "amount_minor"
    ):
        parts = [payer] if payer else []
        if applied.get(pk):
            parts.append(_("for %(invoices)s") % {"invoices": ", ".join(applied[pk])})
        else:
            parts.append(_("on account"))
        raw.append((day, "PAYMENT", reference, " · ".join(parts), 0, amount, pk))
    for pk, day, kind, number, reason, reference, amount in InvoiceAdjustment.objects.filter(
        invoice__customer_id=customer_id,
        invoice__currency=currency,
        adjustment_date__gte=start,
        adjustment_date__lte=end,
    ).values_list("id", "adjustment_date", "kind", "invoice__number", "reason", "reference", "amount_minor"):
        text = f"{reference} · {reason}" if reference else reason
        raw.append((day, kind, number, text, 0, amount, pk))
    raw.sort(key=lambda row: (row[0], _LINE_ORDER[row[1]], row[2], row[6]))
    balance = statement.opening_minor
    lines = []
    for day, kind, reference, description, debit, credit, _pk in raw:
        balance += debit - credit
        lines.append(StatementLine(day, kind, reference, description, debit, credit, balance))
    return lines


@dataclass(frozen=True)
class OpenItem:
    """An invoice still open on the statement's last day, and how overdue it was then."""

    number: str
    issue_date: date
    due_date: date
    amount_minor: int
    open_minor: int
    days_overdue: int
    bucket: str


@dataclass
class StatementAging:
    """What was open on the statement's last day: the invoices, by age, and money on account."""

    as_of: date
    labels: list[str]
    buckets: dict[str, int]
    items: list[OpenItem] = field(default_factory=list)
    open_minor: int = 0
    unapplied_minor: int = 0  # received and not allocated to any invoice by that day

    @property
    def overdue_minor(self) -> int:
        return self.open_minor - self.buckets[self.labels[0]]

    @property
    def balance_minor(self) -> int:
        return self.open_minor - self.unapplied_minor


def statement_aging(*, statement: Statement, buckets: Sequence[int] = STATEMENT_BUCKETS) -> StatementAging:
    """Return the invoices open on the statement's last day, in aging buckets, and the money on account.

    Two queries: the invoices with what was allocated and adjusted up to the day, and the
    payments with what of them was allocated up to the day.
    """
    end = statement.period_end_date
    labels = bucket_labels(buckets)
    allocated = (
        Allocation.objects.filter(invoice=OuterRef("pk"), allocation_date__lte=end)
        .order_by()
        .values("invoice")
        .annotate(total=Sum("amount_minor"))
        .values("total")
    )
    adjusted = (
        InvoiceAdjustment.objects.filter(invoice=OuterRef("pk"), adjustment_date__lte=end)
        .order_by()
        .values("invoice")
        .annotate(total=Sum("amount_minor"))
        .values("total")
    )
    invoices = (
        Invoice.objects.filter(
            customer_id=statement.customer_id, currency=statement.currency, issue_date__lte=end
        )
        .filter(Q(settled_date__isnull=True) | Q(settled_date__gt=end))
        .annotate(
            allocated=Coalesce(Subquery(allocated, output_field=BigIntegerField()), Value(0)),
            adjusted=Coalesce(Subquery(adjusted, output_field=BigIntegerField()), Value(0)),
        )
        .order_by("due_date", "number")
        .values_list("number", "issue_date", "due_date", "amount_minor", "allocated", "adjusted")
    )
    aging = StatementAging(as_of=end, labels=labels, buckets=dict.fromkeys(labels, 0))
    for number, issued, due, amount, paid, credited in invoices:
        open_minor = amount - int(paid) - int(credited)
        if open_minor <= 0:
            continue
        days = (end - due).days
        label = labels[bucket_index(days, buckets)]
        aging.items.append(OpenItem(number, issued, due, amount, open_minor, max(days, 0), label))
        aging.buckets[label] += open_minor
        aging.open_minor += open_minor
    used = (
        Allocation.objects.filter(payment=OuterRef("pk"), allocation_date__lte=end)
        .order_by()
        .values("payment")
        .annotate(total=Sum("amount_minor"))
        .values("total")
    )
    for amount, applied in (
        Payment.objects.filter(
            customer_id=statement.customer_id, currency=statement.currency, received_date__lte=end
        )
        .annotate(applied=Coalesce(Subquery(used, output_field=BigIntegerField()), Value(0)))
        .filter(amount_minor__gt=F("applied"))
        .values_list("amount_minor", "applied")
    ):
        aging.unapplied_minor += amount - int(applied)
    return aging


def statement_get(*, statement_id: int, customer: Customer | None = None) -> Statement:
    """Return a statement by id (within one customer's when given), or raise StatementNotFound."""
    statements = Statement.objects.select_related("customer")
    if customer is not None:
        statements = statements.filter(customer=customer)
    found = statements.filter(pk=statement_id).first()
    if found is None:
        raise StatementNotFound(_("There is no statement %(id)s.") % {"id": statement_id})
    return found


def statement_list(*, customer: Customer, sent_only: bool = False) -> Any:
    """Return a customer's statements, newest month first (only those sent, for the customer's eyes)."""
    statements = Statement.objects.filter(customer=customer).select_related("customer")
    if sent_only:
        statements = statements.exclude(status=StatementStatus.DRAFT)
    return statements.order_by("-period_end_date", "currency")


# --- the PDF -----------------------------------------------------------------------------


def _language(statement: Statement, language: str | None) -> str:
    from huikuan.messaging.rendering import normalise_language

    if not language:
        contact = (
            Contact.objects.filter(customer_id=statement.customer_id)
            .order_by("-is_primary", "name", "id")
            .values_list("language", flat=True)
            .first()
        )
        language = contact or statement.customer.language
    chosen = normalise_language(language or settings.LANGUAGE_CODE)
    return chosen if chosen in LANGUAGES else "en"


def _primary_contact_name(customer_id: int) -> str:
    return (
        Contact.objects.filter(customer_id=customer_id)
        .order_by("-is_primary", "name", "id")
        .values_list("name", flat=True)
        .first()
    ) or ""


def statement_html(*, statement: Statement, language: str | None = None) -> str:
    """Return the statement as one HTML document, in the language given or the customer's."""
    from huikuan.messaging.context import company_context, date_text, money_text
    from huikuan.messaging.letters import FONT_FAMILY

    language = _language(statement, language)
    customer = statement.customer
    lines = statement_lines(statement=statement)
    aging = statement_aging(statement=statement)
    currency = statement.currency

    def money(minor: int) -> str:
        return money_text(minor, currency, language)

    def amount(minor: int) -> str:
        from huikuan.messaging.context import amount_text

        return amount_text(minor, currency) if minor else ""

    totals = {
        "invoiced": sum(line.debit_minor for line in lines),
        "paid": sum(line.credit_minor for line in lines if line.kind == "PAYMENT"),
        "credited": sum(line.credit_minor for line in lines if line.kind not in ("INVOICE", "PAYMENT")),
    }
    with translation.override(language):
        context = {
            "font_family": FONT_FAMILY,
            "language": language,
            "html_lang": "zh-Hans" if language == "zh-hans" else "en",
            "company": company_context(),
            "customer": customer,
            "contact_name": _primary_contact_name(customer.pk),
            "statement": statement,
            "reference": statement_reference(statement),
            "currency": currency,
            "period_start": date_text(statement.period_start_date, language),
            "period_end": date_text(statement.period_end_date, language),
            "opening": money(statement.opening_minor),
            "closing": money(statement.closing_minor),
            "closing_in_favour": statement.closing_minor < 0,
            "totals": {key: money(value) for key, value in totals.items()},
            "lines": [
                {
                    "day": line.day.isoformat(),
                    "kind": line.kind_label,
                    "reference": line.reference,
                    "description": line.description,
                    "debit": amount(line.debit_minor),
                    "credit": amount(line.credit_minor),
                    "balance": amount(line.balance_minor) or amount_text_zero(currency),
                }
                for line in lines
            ],
            "aging": {
                "labels": [_bucket_title(label) for label in aging.labels],
                "amounts": [
                    amount(aging.buckets[label]) or amount_text_zero(currency) for label in aging.labels
                ],
                "open": money(aging.open_minor),
                "overdue": money(aging.overdue_minor),
                "unapplied": money(aging.unapplied_minor) if aging.unapplied_minor else "",
            },
            "open_items": [
                {
                    "number": item.number,
                    "issue_date": item.issue_date.isoformat(),
                    "due_date": item.due_date.isoformat(),
                    "days_overdue": item.days_overdue,
                    "amount": amount(item.amount_minor),
                    "open": amount(item.open_minor),
                }
                for item in aging.items
            ],
            "responded_on": date_text(timezone.localdate(statement.responded_at), language)
            if statement.responded_at
            else "",
            "reply_days": REPLY_DAYS,
        }
        return render_to_string("ledger/statement.html", context)


def amount_text_zero(currency: str) -> str:
    from huikuan.messaging.context import amount_text

    return amount_text(0, currency)


def _bucket_title(label: str) -> str:
    if label == "current":
        return _("Not yet due")
    if label.endswith("+"):
        return _("Over %(days)s days") % {"days": label[:-1]}
    return _("%(range)s days") % {"range": label}


def statement_pdf(*, statement: Statement, language: str | None = None) -> bytes:
    """Return the statement as a PDF (WeasyPrint, Noto CJK fonts, text extractable)."""
    from weasyprint import HTML

    return HTML(string=statement_html(statement=statement, language=language), base_url=None).write_pdf()


def statement_pdf_filename(statement: Statement, language: str | None = None) -> str:
    return f"{statement_reference(statement)}.pdf"


def _archive_path(statement: Statement, language: str) -> Path:
    return (
        Path(settings.MEDIA_ROOT)
        / "statements"
        / f"{statement.period_end_date:%Y-%m}"
        / f"{statement_reference(statement)}.{language}.pdf"
    )


def statement_archived_pdf(*, statement: Statement) -> Path | None:
    """Return the file of the PDF that was sent for this statement, if one was kept."""
    for language in LANGUAGES:
        path = _archive_path(statement, language)
        if path.is_file():
            return path
    return None


def statement_attachment(*, message: OutboxMessage, language: str) -> tuple[str, bytes]:
    """Return (file name, PDF) of the statement an outbox message carries, keeping a copy as sent.

    Delivery calls this for messages with the statement template key; the statement's id is part
    of the message's idempotency key (``statement:<id>:<n>``).
    """
    try:
        statement_id = int(message.idempotency_key.removeprefix(KEY_PREFIX).split(":", 1)[0])
    except ValueError:
        raise StatementNotFound(f"message {message.pk} names no statement") from None
    statement = statement_get(statement_id=statement_id)
    chosen = _language(statement, language)
    pdf = statement_pdf(statement=statement, language=chosen)
    path = _archive_path(statement, chosen)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(pdf)
    temporary.replace(path)
    return statement_pdf_filename(statement), pdf


# --- sending -----------------------------------------------------------------------------


def _can_email(contact: Contact) -> bool:
    return bool(contact.email) and contact.email_failed_at is None


def _email_contact(contacts: Iterable[Contact]) -> Contact | None:
    """Return who receives the statement: the primary contact first, finance before others."""
    able = [contact for contact in contacts if _can_email(contact)]
    if not able:
        return None
    return min(able, key=lambda c: (0 if c.is_primary else 1, 0 if c.role == "FINANCE" else 1, c.pk))


def _email_text(
    *, statement: Statement, contact: Contact, language: str, portal_url: str = ""
) -> tuple[str, str]:
    """Return (subject, text) of the statement e-mail in the language, from its editable template."""
    from huikuan.messaging.context import company_context, date_text, money_text
    from huikuan.messaging.models import TemplateChannel
    from huikuan.messaging.rendering import render_template

    rendered = render_template(
        key=TEMPLATE_KEY,
        channel=TemplateChannel.EMAIL,
        language=language,
        context={
            "month": f"{statement.period_end_date:%Y-%m}",
            "contact_name": contact.name,
            "customer_name": statement.customer.legal_name or statement.customer.name,
            "customer_code": statement.customer.code,
            "company": company_context(),
            "reference": statement_reference(statement),
            "period_start": date_text(statement.period_start_date, language),
            "period_end": date_text(statement.period_end_date, language),
            "closing": money_text(statement.closing_minor, statement.currency, language),
            "reply_days": REPLY_DAYS,
            "portal_url": portal_url,
        },
    )
    return rendered.subject[:300], rendered.text.strip() + "\n"


def _message(
    *, statement: Statement, contact: Contact, sequence: int, now: datetime, portal_url: str = ""
) -> OutboxMessage:
    from huikuan.messaging.rendering import normalise_language

    language = normalise_language(contact.language or statement.customer.language or settings.LANGUAGE_CODE)
    language = language if language in LANGUAGES else "en"
    subject, text = _email_text(
        statement=statement, contact=contact, language=language, portal_url=portal_url
    )
    return OutboxMessage(
        idempotency_key=f"{KEY_PREFIX}{statement.pk}:{sequence}",
        message_id=f"<statement.{statement.pk}.{sequence}@{settings.HUIKUAN_MAIL_DOMAIN}>",
        channel=MessageChannel.EMAIL,
        status=OutboxStatus.QUEUED,
        customer_id=statement.customer_id,
        contact=contact,
        template_key=TEMPLATE_KEY,
        sender_role="COMPANY",
        attach_letter=True,
        not_before_at=now,
        language=language,
        subject=subject,
        body_text=text,
    )


@transaction.atomic
def statement_send(
    *, statement: Statement, user: Any = None, now: datetime | None = None, portal_url: str = ""
) -> OutboxMessage:
    """Queue the statement's e-mail, with its PDF attached at delivery, to the customer's contact.

    A statement not sent before becomes SENT (so is one that had no reply: the reply period
    starts again); one already answered keeps its answer and the customer simply gets a copy.
    ``portal_url``, when given, is written into the e-mail so the customer can answer online.
    """
    now = now or timezone.now()
    statement = Statement.objects.select_for_update().select_related("customer").get(pk=statement.pk)
    customer = statement.customer
    if customer.do_not_contact:
        raise StatementNoRecipient(
            _("Customer %(code)s is marked do not contact.") % {"code": customer.code}, code="do_not_contact"
        )
    contact = _email_contact(Contact.objects.filter(customer=customer))
    if contact is None:
        raise StatementNoRecipient(
            _("Customer %(code)s has no contact with an e-mail address that can still be used.")
            % {"code": customer.code}
        )
    sequence = (
        # Narrowed to the customer first: the (customer, created_at) index finds its few messages,
        # where a prefix match alone would read the whole outbox.
        OutboxMessage.objects.filter(
            customer_id=statement.customer_id, idempotency_key__startswith=f"{KEY_PREFIX}{statement.pk}:"
        ).count()
        + 1
    )
    message = _message(
        statement=statement, contact=contact, sequence=sequence, now=now, portal_url=portal_url
    )
    message.save()
    if statement.status in (StatementStatus.DRAFT, StatementStatus.SENT, StatementStatus.NO_REPLY):
        before = _snapshot(statement)
        statement.status = StatementStatus.SENT
        statement.sent_at = now
        statement.save(update_fields=["status", "sent_at"])
        audit_record(
            instance=statement,
            action=AuditAction.UPDATE,
            actor=user,
            actor_label="" if user is not None and getattr(user, "pk", None) else STATEMENTS_ACTOR,
            before=before,
            after=_snapshot(statement),
        )
    return message


def statements_send_drafts(*, period_end_date: date, now: datetime, user: Any = None) -> dict[str, Any]:
    """Queue the e-mail of every statement of the month not sent yet, set-based.

    Customers marked do not contact and those without a usable e-mail address are left as they
    are and named in the result, so someone can post or hand over their statements.
    """
    with transaction.atomic():
        drafts = list(
            Statement.objects.select_for_update(of=("self",))
            .filter(period_end_date=period_end_date, status=StatementStatus.DRAFT)
            .select_related("customer")
            .order_by("customer__code", "currency")
        )
        contacts: dict[int, list[Contact]] = {}
        for contact in Contact.objects.filter(customer_id__in={s.customer_id for s in drafts}):
            contacts.setdefault(contact.customer_id, []).append(contact)
        messages: list[OutboxMessage] = []
        sent: list[Statement] = []
        no_email: list[str] = []
        not_contacted: list[str] = []
        for statement in drafts:
            if statement.customer.do_not_contact:
                not_contacted.append(statement.customer.code)
                continue
            recipient = _email_contact(contacts.get(statement.customer_id, []))
            if recipient is None:
                no_email.append(statement.customer.code)
                continue
            messages.append(_message(statement=statement, contact=recipient, sequence=1, now=now))
            sent.append(statement)
        OutboxMessage.objects.bulk_create(messages, batch_size=BULK_BATCH, ignore_conflicts=True)
        before = {statement.pk: _snapshot(statement) for statement in sent}
        Statement.objects.filter(pk__in=[s.pk for s in sent], status=StatementStatus.DRAFT).update(
            status=StatementStatus.SENT, sent_at=now
        )
        for statement in sent:
            statement.status, statement.sent_at = StatementStatus.SENT, now
        _audit_entries(
            ((s, before[s.pk], {"status": s.status, "sent_at": now.isoformat()}) for s in sent),
            action=AuditAction.UPDATE,
            label=STATEMENTS_ACTOR,
        )
    del user  # bulk sends are the system's; the audit entries say so
    return {
        "queued": len(messages),
        "no_email": sorted(set(no_email)),
        "do_not_contact": sorted(set(not_contacted)),
    }


# --- answers -----------------------------------------------------------------------------


def _answer(
    *,
    statement: Statement,
    status: str,
    responder_name: str,
    note: str,
    now: datetime | None,
    user: Any,
    actor_label: str,
) -> Statement:
    name = (responder_name or "").strip()
    if not name:
        raise StatementError(
            _("Give the name of the person answering for the customer."), code="responder_missing"
        )
    statement = Statement.objects.select_for_update().select_related("customer").get(pk=statement.pk)
    if statement.status not in ANSWERABLE:
        if statement.status == StatementStatus.DRAFT:
            message = _("This statement has not been sent yet.")
        else:
            message = _("This statement has already been answered (%(status)s).") % {
                "status": StatementStatus(statement.status).label
            }
        raise StatementNotAnswerable(message)
    before = _snapshot(statement)
    statement.status = status
    statement.responded_at = now or timezone.now()
    statement.responder_name = name[:255]
    statement.response_note = (note or "").strip()
    statement.save(update_fields=["status", "responded_at", "responder_name", "response_note"])
    audit_record(
        instance=statement,
        action=AuditAction.UPDATE,
        actor=user,
        actor_label=actor_label,
        before=before,
        after=_snapshot(statement),
    )
    return statement


@transaction.atomic
def statement_confirm(
    *,
    statement: Statement,
    responder_name: str,
    note: str = "",
    now: datetime | None = None,
    user: Any = None,
    actor_label: str = "",
) -> Statement:
    """Record that the customer agreed to the statement, and who said so: it is now evidence."""
    return _answer(
        statement=statement,
        status=StatementStatus.CONFIRMED,
        responder_name=responder_name,
        note=note,
        now=now,
        user=user,
        actor_label=actor_label,
    )


@transaction.atomic
def statement_dispute(
    *,
    statement: Statement,
    responder_name: str,
    note: str,
    now: datetime | None = None,
    user: Any = None,
    actor_label: str = "",
) -> Statement:
    """Record that the customer does not agree with the statement, and give the collector a task."""
    if not (note or "").strip():
        raise StatementError(_("Say what does not match your records."), code="note_missing")
    statement = _answer(
        statement=statement,
        status=StatementStatus.DISPUTED,
        responder_name=responder_name,
        note=note,
        now=now,
        user=user,
        actor_label=actor_label,
    )
    customer = statement.customer
    responded = statement.responded_at or timezone.now()
    Task.objects.bulk_create(
        [
            Task(
                kind=TaskKind.STATEMENT_DISPUTED,
                customer=customer,
                assignee_id=customer.collector_id or customer.sales_rep_id,
                due_date=timezone.localdate(responded),
                title=(
                    _("Statement %(reference)s disputed by %(name)s")
                    % {"reference": statement_reference(statement), "name": statement.responder_name}
                )[:300],
                script=statement.response_note,
                statement=statement,
            )
        ],
        ignore_conflicts=True,
    )
    return statement


def statements_review(*, as_of: date, reply_days: int = REPLY_DAYS) -> dict[str, int]:
    """Mark statements sent more than ``reply_days`` days before ``as_of`` and not answered as NO_REPLY.

    One UPDATE and one insert of audit entries, whatever the number; running it again changes nothing.
    """
    if reply_days < 0:
        raise StatementError(_("Reply days cannot be negative."))
    cutoff = timezone.make_aware(datetime.combine(as_of - timedelta(days=reply_days), time.min))
    with transaction.atomic():
        due = list(
            Statement.objects.select_for_update()
            .filter(status=StatementStatus.SENT, sent_at__lt=cutoff)
            .only("id", "customer_id", "status")
        )
        Statement.objects.filter(pk__in=[s.pk for s in due], status=StatementStatus.SENT).update(
            status=StatementStatus.NO_REPLY
        )
        _audit_entries(
            (
                (s, {"status": StatementStatus.SENT.value}, {"status": StatementStatus.NO_REPLY.value})
                for s in due
            ),
            action=AuditAction.UPDATE,
            label=STATEMENTS_ACTOR,
        )
    return {"no_reply": len(due)}
