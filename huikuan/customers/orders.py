"""Sales orders not yet invoiced: posted by an order system or imported, they add to exposure."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum

from huikuan.core.audit import audit_record, audit_snapshot
from huikuan.core.errors import HuikuanError, NotFound
from huikuan.core.models import AuditAction
from huikuan.core.money import Money, UnknownCurrency, normalise_currency
from huikuan.core.tabular import CellError, TableError, amount_minor_parse, cell_text, date_parse, table_open
from huikuan.customers.models import Customer, Order, OrderStatus


class OrderError(HuikuanError):
    code = "order_invalid"


class OrderNumberTaken(OrderError):
    code = "order_number_taken"
    status = 409


class OrderNotFound(NotFound):
    code = "order_not_found"


def order_get(*, number: str) -> Order:
    try:
        return Order.objects.select_related("customer").get(number=number)
    except Order.DoesNotExist:
        raise OrderNotFound(f"order {number} does not exist")


def orders_open_minor(*, customer: Customer) -> int:
    """Orders not yet invoiced in the customer's currency: the part of its exposure on no invoice."""
    total = Order.objects.filter(
        customer=customer, currency=customer.currency, status=OrderStatus.OPEN
    ).aggregate(total=Sum("amount_minor"))["total"]
    return int(total or 0)


def orders_open_latest(*, customer: Customer, limit: int) -> list[Order]:
    """The customer's latest orders not yet invoiced, newest first."""
    return list(
        Order.objects.filter(customer=customer, status=OrderStatus.OPEN).order_by("-order_date", "-id")[
            :limit
        ]
    )


@transaction.atomic
def order_create(
    *,
    customer: Customer,
    number: str,
    order_date: date,
    amount: Money,
    description: str = "",
    actor: Any = None,
) -> Order:
    """Record an order not yet invoiced (its amount counts towards the customer's exposure)."""
    number = number.strip()
    if not number:
        raise OrderError("an order needs a number", code="order_number_missing")
    if amount.minor <= 0:
        raise OrderError("the order amount must be more than zero", code="amount_not_positive")
    if Order.objects.filter(number=number).exists():
        raise OrderNumberTaken(f"order {number} already exists")
    try:
        with transaction.atomic():  # a savepoint: the same number posted twice at once
            order = Order.objects.create(
                customer=customer,
                number=number,
                order_date=order_date,
                currency=amount.currency,
                amount_minor=amount.minor,
                description=description[:500],
            )
    except IntegrityError:
        raise OrderNumberTaken(f"order {number} already exists")
    audit_record(instance=order, action=AuditAction.CREATE, actor=actor, after=audit_snapshot(order))
    return order


@transaction.atomic
def order_status_set(*, order: Order, status: str, actor: Any = None) -> Order:
    """Mark an order invoiced (its invoice now carries the exposure) or cancelled."""
    status = (status or "").strip().upper()
    if status not in OrderStatus.values:
        raise OrderError(
            f"status must be one of {', '.join(OrderStatus.values)} (got {status!r})", code="status_invalid"
        )
    before = audit_snapshot(order, ["status"])
    order.status = status
    order.save(update_fields=["status", "updated_at"])
    audit_record(instance=order, action=AuditAction.UPDATE, actor=actor, before=before,
                 after=audit_snapshot(order, ["status"]))  # fmt: skip
    return order


ORDER_COLUMNS = ("order_number", "customer_code", "order_date", "currency", "amount")


def orders_import(*, path: Path | str, actor: Any = None, encoding: str | None = None) -> dict[str, Any]:
    """Import orders from CSV or XLSX (order_number, customer_code, order_date, currency, amount[,
    status]). New numbers are created; a known number takes the file's status. Rows with an
    error are reported by row number and skipped; the others are kept."""
    created = updated = 0
    errors: list[dict[str, Any]] = []
    try:
        with table_open(path, encoding=encoding) as table:
            headers = [cell_text(header).strip().lower() for header in table.headers]
            missing = [column for column in ORDER_COLUMNS if column not in headers]
            if missing:
                raise OrderError(f"missing columns: {', '.join(missing)}", code="columns_missing")
            index = {name: headers.index(name) for name in headers}
            customers = dict(Customer.objects.values_list("code", "pk"))
            for number, cells in table.rows():
                try:
                    with transaction.atomic():
                        outcome = _order_row(cells, index, customers, actor)
                except (OrderError, CellError, UnknownCurrency) as error:
                    errors.append({"row": number, "error": str(getattr(error, "message", error))})
                    continue
                created += outcome == "created"
                updated += outcome == "updated"
    except TableError as error:
        raise OrderError(str(error.message), code="file_unreadable")
    return {"created": created, "updated": updated, "errors": errors}


def _order_row(cells: list[Any], index: dict[str, int], customers: dict[str, int], actor: Any) -> str:
    order_number = cell_text(cells[index["order_number"]]).strip()
    code = cell_text(cells[index["customer_code"]]).strip()
    if code not in customers:
        raise OrderError(f"customer {code!r} does not exist")
    currency = normalise_currency(cell_text(cells[index["currency"]]).strip())
    minor, _currency = amount_minor_parse(cells[index["amount"]], currency)
    status = cell_text(cells[index["status"]]).strip().upper() if "status" in index else ""
    existing = Order.objects.filter(number=order_number).first()
    if existing is not None:
        if status and status != existing.status:
            order_status_set(order=existing, status=status, actor=actor)
            return "updated"
        return "unchanged"
    customer = Customer.objects.get(pk=customers[code])
    order = order_create(
        customer=customer,
        number=order_number,
        order_date=date_parse(cells[index["order_date"]]),
        amount=Money(minor, currency),
        actor=actor,
    )
    if status and status != OrderStatus.OPEN:
        order_status_set(order=order, status=status, actor=actor)
    return "created"
