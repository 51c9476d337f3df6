"""Every write to the ledger goes through these functions (one path, easy to audit).

Derived columns (``Invoice.open_minor``, ``status``, ``settled_date``, ``Payment.unapplied_minor``)
are refreshed here with set-based SQL, so that single writes and bulk imports share one rule.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from huikuan.core.audit import audit_record, audit_snapshot
from huikuan.core.bulk import integers_literal, values_subquery
from huikuan.core.errors import HuikuanError, NotFound
from huikuan.core.models import AuditAction
from huikuan.core.money import Money, normalise_currency
from huikuan.customers.models import Customer
from huikuan.ledger.allocation import OpenItem, allocation_order, plan_allocation
from huikuan.ledger.models import (
    AdjustmentKind,
    Allocation,
    Invoice,
    InvoiceAdjustment,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    ShortPayment,
)


class LedgerError(HuikuanError):
    code = "ledger_invalid"


class InvoiceNumberTaken(LedgerError):
    code = "invoice_number_taken"
    status = 409


class PaymentIdTaken(LedgerError):
    code = "payment_id_taken"
    status = 409


class CurrencyMismatch(LedgerError):
    code = "currency_mismatch"


class AmountNotPositive(LedgerError):
    code = "amount_not_positive"


class ExceedsOpenAmount(LedgerError):
    code = "exceeds_open_amount"


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"


class PaymentNotFound(NotFound):
    code = "payment_not_found"


class WrongCustomer(LedgerError):
    code = "invoice_of_another_customer"


class AlreadyReversed(LedgerError):
    code = "allocation_already_reversed"


class DatesOutOfOrder(LedgerError):
    code = "dates_out_of_order"


class InvoiceHasActivity(LedgerError):
    code = "invoice_has_activity"
    status = 409


def _require_positive(amount: Money, what: str) -> None:
    if amount.minor <= 0:
        raise AmountNotPositive(f"{what} must be greater than zero, got {amount}")


# --- derived balances -------------------------------------------------------------------


def _zero() -> Value:
    return Value(0, output_field=BigIntegerField())


def invoice_balances_refresh(
    invoices: QuerySet[Invoice] | Iterable[int], *, unless_changed: Mapping[int, int] | None = None
) -> int:
    """Recompute open amount, status and settled date for the given invoices in one UPDATE.

    Each invoice's sums are read by index lookups of its own allocations and adjustments, in a
    table materialised once, and every derived column is set from it in the same statement: each
    invoice row is written once (a second UPDATE would write every row twice, and PostgreSQL keeps
    a new row version and new index entries for each). Lookups per invoice rather than grouping
    whole tables keep the cost proportional to the invoices asked for, whatever the planner
    believes about tables that grew inside the transaction.

    ``unless_changed`` (invoice id → open amount as the caller read it, for every invoice given)
    leaves alone, and does not count, an invoice whose open amount is no longer that: the UPDATE
    itself locks the rows (in id order) and checks them, so a caller that allocated from what it
    read compares the count with the invoices and rolls back if someone paid one meanwhile.
    Returns the number of invoices refreshed.
    """
    quote = connection.ops.quote_name
    invoice = quote(Invoice._meta.db_table)
    allocation = quote(Allocation._meta.db_table)
    adjustment = quote(InvoiceAdjustment._meta.db_table)
    greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    epoch = connection.ops.adapt_datefield_value(date(1, 1, 1))
    if unless_changed is None:
        ids_sql, ids_params = _ids_subquery(invoices)
        source, read, guard = f"FROM {invoice} i WHERE i.id IN ({ids_sql})", "", ""
    else:
        if isinstance(invoices, QuerySet):
            raise TypeError("unless_changed needs the invoices as ids")
        ids = sorted(set(invoices))
        ids_sql, ids_params = _pairs_relation(ids, [unless_changed[pk] for pk in ids])
        source = f"FROM {invoice} i JOIN ({ids_sql}) e ON e.id = i.id"
        read, guard = ", e.open_read", f" AND {invoice}.open_minor = n.open_read"
    sql = f"""
        WITH n AS MATERIALIZED (
            SELECT i.id, i.amount_minor{read},
                   i.amount_minor
                   - COALESCE((SELECT SUM(x.amount_minor) FROM {allocation} x WHERE x.invoice_id = i.id), 0)
                   - COALESCE((SELECT SUM(y.amount_minor) FROM {adjustment} y WHERE y.invoice_id = i.id), 0)
                   AS open_minor,
                   (SELECT MAX(x.allocation_date) FROM {allocation} x WHERE x.invoice_id = i.id)
                   AS last_allocation,
                   (SELECT MAX(y.adjustment_date) FROM {adjustment} y WHERE y.invoice_id = i.id)
                   AS last_adjustment,
                   (SELECT COUNT(*) FROM {adjustment} y WHERE y.invoice_id = i.id AND y.kind = %s) AS cancelled,
                   (SELECT COUNT(*) FROM {adjustment} y WHERE y.invoice_id = i.id AND y.kind = %s) AS written_off
            {source}
            ORDER BY i.id
        )
        UPDATE {invoice} SET
            open_minor = n.open_minor,
            status = CASE
                WHEN n.open_minor > 0 AND n.open_minor >= n.amount_minor THEN %s
                WHEN n.open_minor > 0 THEN %s
                WHEN n.cancelled > 0 THEN %s
                WHEN n.written_off > 0 THEN %s
                ELSE %s END,
            settled_date = CASE WHEN n.open_minor <= 0
                THEN {greatest}(COALESCE(n.last_allocation, %s), COALESCE(n.last_adjustment, %s))
                ELSE NULL END
        FROM n
        WHERE {invoice}.id = n.id{guard}
    """  # noqa: S608 - table names from the models, values as parameters
    params = [
        AdjustmentKind.CANCELLATION,
        AdjustmentKind.WRITE_OFF,
        *ids_params,
        InvoiceStatus.OPEN,
        InvoiceStatus.PARTIALLY_PAID,
        InvoiceStatus.CANCELLED,
        InvoiceStatus.WRITTEN_OFF,
        InvoiceStatus.PAID,
        epoch,
        epoch,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount >= 0:
            return cursor.rowcount
        # Python's sqlite3 counts no rows for a statement that starts with WITH: ask SQLite.
        cursor.execute("SELECT changes()")
        return int(cursor.fetchone()[0])


def _pairs_relation(ids: Sequence[int], reads: Sequence[int]) -> tuple[str, list[str]]:
    """Return SQL of a relation (id, open_read) from two lists of integers, each one parameter."""
    if connection.vendor == "postgresql":
        return (
            "SELECT * FROM unnest(%s::bigint[], %s::bigint[]) AS e(id, open_read)",
            [integers_literal(ids), integers_literal(reads)],
        )
    return (
        "SELECT value ->> 0 AS id, value ->> 1 AS open_read FROM json_each(%s)",
        [json.dumps(list(zip(ids, reads, strict=True)))],
    )


def _ids_subquery(rows: QuerySet[Any] | Iterable[int]) -> tuple[str, list[Any]]:
    """Return SQL selecting the rows' primary keys, and its parameters (a list of ids as one)."""
    if isinstance(rows, QuerySet):
        sql, params = rows.order_by().values("pk").query.sql_with_params()
        return sql, list(params)
    return values_subquery([int(pk) for pk in rows])


def payment_balances_refresh(payments: QuerySet[Payment] | Iterable[int]) -> int:
    """Recompute the unapplied remainder of the given payments in one UPDATE."""
    queryset = payments if isinstance(payments, QuerySet) else Payment.objects.filter(pk__in=list(payments))
    allocated = (
        Allocation.objects.filter(payment=OuterRef("pk"))
        .values("payment")
        .annotate(total=Sum("amount_minor"))
        .values("total")
    )
    return queryset.update(
        unapplied_minor=F("amount_minor")
        - Coalesce(Subquery(allocated, output_field=BigIntegerField()), _zero())
    )


# --- invoices ----------------------------------------------------------------------------


@transaction.atomic
def invoice_issue(
    *,
    customer: Customer,
    number: str,
    issue_date: date,
    due_date: date,
    amount: Money,
    description: str = "",
    po_number: str = "",
    actor: Any = None,
) -> Invoice:
    """Record a new invoice the customer owes from its issue date."""
    number = number.strip()
    if not number:
        raise LedgerError("an invoice needs a number", code="invoice_number_missing")
    _require_positive(amount, "the invoice amount")
    if due_date < issue_date:
        raise DatesOutOfOrder(f"due date {due_date} is before issue date {issue_date}")
    if Invoice.objects.filter(number=number).exists():
        raise InvoiceNumberTaken(f"invoice {number} already exists")
    invoice = Invoice(
        number=number,
        customer=customer,
        issue_date=issue_date,
        due_date=due_date,
        currency=amount.currency,
        amount_minor=amount.minor,
        open_minor=amount.minor,
        status=InvoiceStatus.OPEN,
        description=description,
        po_number=po_number,
    )
    invoice.full_clean(validate_unique=False)
    invoice.save()
    audit_record(instance=invoice, action=AuditAction.CREATE, actor=actor, after=audit_snapshot(invoice))
    return invoice


def _adjust(
    *,
    invoice: Invoice,
    kind: str,
    amount: Money,
    on_date: date,
    reason: str,
    reference: str = "",
    user: Any = None,
    actor: Any = None,
) -> InvoiceAdjustment:
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if amount.currency != invoice.currency:
        raise CurrencyMismatch(f"invoice {invoice.number} is in {invoice.currency}, not {amount.currency}")
    _require_positive(amount, "the amount")
    if amount.minor > invoice.open_minor:
        open_amount = Money(invoice.open_minor, invoice.currency)
        raise ExceedsOpenAmount(f"{amount} is more than the {open_amount} open on invoice {invoice.number}")
    if on_date < invoice.issue_date:
        raise DatesOutOfOrder(
            f"{on_date} is before invoice {invoice.number} was issued ({invoice.issue_date})"
        )
    if not reason.strip():
        raise LedgerError("a reason is required", code="reason_missing")
    adjustment = InvoiceAdjustment.objects.create(
        invoice=invoice,
        kind=kind,
        amount_minor=amount.minor,
        adjustment_date=on_date,
        reason=reason.strip(),
        reference=reference,
        created_by=user,
    )
    invoice_balances_refresh([invoice.pk])
    after = audit_snapshot(adjustment)
    after["invoice_number"] = invoice.number
    audit_record(
        instance=adjustment,
        action=AuditAction.CREATE,
        actor=actor if actor is not None else user,
        after=after,
        customer_id=invoice.customer_id,
    )
    return adjustment


@transaction.atomic
def credit_note_issue(
    *,
    invoice: Invoice,
    amount: Money,
    on_date: date,
    reason: str,
    reference: str = "",
    user: Any = None,
    actor: Any = None,
) -> InvoiceAdjustment:
    """Reduce what the customer owes on an invoice by a credit note (e.g. a settled dispute)."""
    return _adjust(
        invoice=invoice,
        kind=AdjustmentKind.CREDIT_NOTE,
        amount=amount,
        on_date=on_date,
        reason=reason,
        reference=reference,
        user=user,
        actor=actor,
    )


@transaction.atomic
def invoice_write_off(
    *,
    invoice: Invoice,
    on_date: date,
    reason: str,
    amount: Money | None = None,
    user: Any = None,
    actor: Any = None,
) -> InvoiceAdjustment:
    """Write off what is still open on an invoice (all of it unless an amount is given)."""
    invoice.refresh_from_db()
    return _adjust(
        invoice=invoice,
        kind=AdjustmentKind.WRITE_OFF,
        amount=amount or Money(invoice.open_minor, invoice.currency),
        on_date=on_date,
        reason=reason,
        user=user,
        actor=actor,
    )


@transaction.atomic
def invoice_cancel(
    *, invoice: Invoice, on_date: date, reason: str, user: Any = None, actor: Any = None
) -> InvoiceAdjustment:
    """Cancel an invoice that was issued in error: nothing more is owed on it from that date."""
    invoice.refresh_from_db()
    return _adjust(
        invoice=invoice,
        kind=AdjustmentKind.CANCELLATION,
        amount=Money(invoice.open_minor, invoice.currency),
        on_date=on_date,
        reason=reason,
        user=user,
        actor=actor,
    )


# --- payments ----------------------------------------------------------------------------


@transaction.atomic
def payment_record(
    *,
    customer: Customer,
    received_date: date,
    amount: Money,
    method: str = PaymentMethod.BANK_TRANSFER,
    reference: str = "",
    payer_name: str = "",
    invoice_numbers: Sequence[str] = (),
    external_id: str | None = None,
    allocate: bool = True,
    actor: Any = None,
) -> Payment:
    """Record money received and apply it: named invoices first, then oldest due first.

    With ``allocate=False`` the payment is applied to no invoice: all of it stays unapplied on
    the customer's account (money a person chose to hold there, e.g. an advance or a payment
    nobody can place yet) until ``payment_allocate`` applies it.
    """
    _require_positive(amount, "the payment amount")
    if not allocate and invoice_numbers:
        raise LedgerError("a payment left on account names no invoices", code="invoices_named_on_account")
    if external_id and Payment.objects.filter(external_id=external_id).exists():
        raise PaymentIdTaken(f"payment {external_id} already exists")
    payment = Payment(
        customer=customer,
        received_date=received_date,
        currency=normalise_currency(amount.currency),
        amount_minor=amount.minor,
        unapplied_minor=amount.minor,
        method=method,
        reference=reference,
        payer_name=payer_name,
        external_id=external_id or None,
    )
    payment.full_clean()
    payment.save()
    allocations = (
        _allocate(payment=payment, invoice_numbers=invoice_numbers, on_date=received_date) if allocate else []
    )
    payment.refresh_from_db()
    after = audit_snapshot(payment)
    after["allocations"] = _allocations_listed(allocations)
    audit_record(instance=payment, action=AuditAction.CREATE, actor=actor, after=after)
    return payment


def _allocations_listed(allocations: Sequence[Allocation]) -> list[list[Any]]:
    """[[invoice number, amount in minor units], ...] for the audit trail."""
    numbers = dict(
        Invoice.objects.filter(pk__in=[a.invoice_id for a in allocations]).values_list("pk", "number")
    )
    return [[numbers.get(a.invoice_id, a.invoice_id), a.amount_minor] for a in allocations]


@transaction.atomic
def payment_allocate(
    *,
    payment: Payment,
    invoice_numbers: Sequence[str] = (),
    on_date: date,
    only_named: bool = False,
    actor: Any = None,
) -> list[Allocation]:
    """Apply a payment's unapplied remainder to the customer's open invoices in its currency.

    Named invoices are settled first in the order given; then, unless ``only_named``, the
    customer's other open invoices oldest due date first. A touched invoice left partly open
    records a short payment. Invoices issued after ``on_date`` are not touched.
    """
    unapplied = Payment.objects.filter(pk=payment.pk).values_list("unapplied_minor", flat=True)[0]
    before: dict[str, Any] = {"unapplied_minor": unapplied, "allocations": []}
    allocations = _allocate(
        payment=payment, invoice_numbers=invoice_numbers, on_date=on_date, only_named=only_named
    )
    if allocations:
        payment.refresh_from_db()
        after: dict[str, Any] = {"unapplied_minor": payment.unapplied_minor}
        after["allocations"] = _allocations_listed(allocations)
        audit_record(instance=payment, action=AuditAction.UPDATE, actor=actor, before=before, after=after)
    return allocations


def _allocate(
    *, payment: Payment, invoice_numbers: Sequence[str] = (), on_date: date, only_named: bool = False
) -> list[Allocation]:
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    numbers = [n.strip() for n in invoice_numbers if n and n.strip()]
    named = {inv.number: inv for inv in Invoice.objects.filter(number__in=numbers)}
    for number in numbers:
        invoice = named.get(number)
        if invoice is None:
            raise InvoiceNotFound(f"invoice {number} does not exist")
        if invoice.customer_id != payment.customer_id:
            raise WrongCustomer(f"invoice {number} belongs to another customer")
        if invoice.currency != payment.currency:
            raise CurrencyMismatch(
                f"invoice {number} is in {invoice.currency}, the payment in {payment.currency}"
            )
    candidates = Invoice.objects.select_for_update().filter(
        customer_id=payment.customer_id, currency=payment.currency, open_minor__gt=0
    )
    if only_named:
        candidates = candidates.filter(number__in=numbers)
    else:
        candidates = candidates.filter(Q(issue_date__lte=on_date) | Q(number__in=numbers))
    rows = list(candidates.values_list("pk", "number", "open_minor", "due_date"))
    by_number = {number: pk for pk, number, _open, _due in rows}
    items = [OpenItem(key=pk, open_minor=open_minor, due_date=due) for pk, _n, open_minor, due in rows]
    ordered = allocation_order(items, [by_number[n] for n in numbers if n in by_number])
    plan = plan_allocation(payment.unapplied_minor, ordered)
    allocations = Allocation.objects.bulk_create(
        [
            Allocation(payment=payment, invoice_id=pk, amount_minor=take, allocation_date=on_date)
            for pk, take in plan
        ]
    )
    touched = [pk for pk, _take in plan]
    invoice_balances_refresh(touched)
    payment_balances_refresh([payment.pk])
    still_open = Invoice.objects.filter(pk__in=touched, open_minor__gt=0).values_list("pk", "open_minor")
    ShortPayment.objects.bulk_create(
        [
            ShortPayment(
                payment=payment,
                invoice_id=pk,
                currency=payment.currency,
                short_minor=open_minor,
                event_date=on_date,
            )
            for pk, open_minor in still_open
        ],
        ignore_conflicts=True,
    )
    return allocations


@transaction.atomic
def allocation_reverse(*, allocation: Allocation, on_date: date, actor: Any = None) -> Allocation:
    """Un-allocate: a reversing row dated ``on_date`` returns the money to the payment."""
    allocation = Allocation.objects.select_for_update().get(pk=allocation.pk)
    if allocation.amount_minor <= 0:
        raise LedgerError("a reversal cannot itself be reversed", code="allocation_is_reversal")
    if Allocation.objects.filter(reverses=allocation).exists():
        raise AlreadyReversed("this allocation has already been reversed")
    if on_date < allocation.allocation_date:
        raise DatesOutOfOrder(
            f"{on_date} is before the allocation it reverses ({allocation.allocation_date})"
        )
    reversal = Allocation.objects.create(
        payment_id=allocation.payment_id,
        invoice_id=allocation.invoice_id,
        amount_minor=-allocation.amount_minor,
        allocation_date=on_date,
        reverses=allocation,
    )
    invoice_balances_refresh([allocation.invoice_id])
    payment_balances_refresh([allocation.payment_id])
    payment = Payment.objects.only("customer_id").get(pk=allocation.payment_id)
    after = audit_snapshot(reversal)
    after["invoice_number"] = Invoice.objects.filter(pk=allocation.invoice_id).values_list(
        "number", flat=True
    )[0]
    audit_record(
        instance=reversal,
        action=AuditAction.CREATE,
        actor=actor,
        after=after,
        customer_id=payment.customer_id,
    )
    return reversal


@transaction.atomic
def payment_unallocate(*, payment: Payment, on_date: date, actor: Any = None) -> list[Allocation]:
    """Reverse every live allocation of a payment, leaving it all unapplied on account."""
    live = Allocation.objects.filter(payment=payment, amount_minor__gt=0, reversed_by__isnull=True)
    return [allocation_reverse(allocation=allocation, on_date=on_date, actor=actor) for allocation in live]


# --- corrections -------------------------------------------------------------------------

INVOICE_EDITABLE = {"description", "po_number", "due_date", "amount"}
PAYMENT_EDITABLE = {"reference", "payer_name", "method"}


@transaction.atomic
def invoice_update(*, invoice: Invoice, actor: Any = None, **fields: object) -> Invoice:
    """Correct an invoice's description, reference, due date or (before anything touched it) amount.

    Once a payment, credit note or write-off refers to the amount, changing it would rewrite
    history; a credit note or cancellation is the way then.
    """
    unknown = set(fields) - INVOICE_EDITABLE
    if unknown:
        raise LedgerError(f"these invoice fields cannot be changed: {', '.join(sorted(unknown))}")
    invoice = Invoice.objects.select_for_update().select_related("customer").get(pk=invoice.pk)
    before = audit_snapshot(invoice)
    if "amount" in fields:
        amount = fields.pop("amount")
        if not isinstance(amount, Money):
            raise TypeError("amount must be Money")
        if amount.currency != invoice.currency:
            raise CurrencyMismatch(
                f"invoice {invoice.number} is in {invoice.currency}, not {amount.currency}"
            )
        _require_positive(amount, "the invoice amount")
        if amount.minor != invoice.amount_minor:
            touched = (
                Allocation.objects.filter(invoice=invoice).exists()
                or InvoiceAdjustment.objects.filter(invoice=invoice).exists()
            )
            if touched:
                raise InvoiceHasActivity(
                    f"invoice {invoice.number} already has payments or adjustments; "
                    "issue a credit note instead of changing its amount"
                )
            invoice.amount_minor = invoice.open_minor = amount.minor
    for name, value in fields.items():
        setattr(invoice, name, value)
    if invoice.due_date < invoice.issue_date:
        raise DatesOutOfOrder(f"due date {invoice.due_date} is before issue date {invoice.issue_date}")
    invoice.full_clean(validate_unique=False)
    invoice.save()
    audit_record(
        instance=invoice, action=AuditAction.UPDATE, actor=actor, before=before, after=audit_snapshot(invoice)
    )
    return invoice


@transaction.atomic
def payment_update(*, payment: Payment, actor: Any = None, **fields: object) -> Payment:
    """Correct a payment's reference, payer name or method; amounts and dates stay as received."""
    unknown = set(fields) - PAYMENT_EDITABLE
    if unknown:
        raise LedgerError(f"these payment fields cannot be changed: {', '.join(sorted(unknown))}")
    stored = Payment.objects.filter(pk=payment.pk).first()
    before = audit_snapshot(stored, sorted(PAYMENT_EDITABLE)) if stored is not None else {}
    for name, value in fields.items():
        setattr(payment, name, value)
    payment.full_clean(validate_unique=False)
    payment.save(update_fields=[*fields])
    audit_record(
        instance=payment,
        action=AuditAction.UPDATE,
        actor=actor,
        before=before,
        after=audit_snapshot(payment, sorted(PAYMENT_EDITABLE)),
    )
    return payment
