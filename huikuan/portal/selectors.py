"""What the portal shows a customer: open invoices, totals, statements — a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Exists, OuterRef

from huikuan.collections.models import Dispute, DisputeStatus, PromiseStatus, PromiseToPay
from huikuan.ledger.models import Invoice, InvoiceStatus, Statement, StatementStatus
from huikuan.portal.models import PortalLink


@dataclass(frozen=True)
class PortalInvoice:
    number: str
    issue_date: date
    due_date: date
    currency: str
    amount_minor: int
    open_minor: int
    days_overdue: int
    disputed: bool
    promised: bool
    po_number: str


def portal_open_invoices(*, link: PortalLink, today: date) -> list[PortalInvoice]:
    """Return the customer's open invoices, oldest due first, marking those disputed or promised (one query)."""
    disputed = Dispute.objects.filter(
        invoice=OuterRef("pk"), status__in=[DisputeStatus.OPEN, DisputeStatus.INVESTIGATING]
    )
    promised = PromiseToPay.objects.filter(invoices=OuterRef("pk"), status=PromiseStatus.OPEN)
    rows = (
        Invoice.objects.filter(customer_id=link.customer_id, open_minor__gt=0)
        .exclude(status=InvoiceStatus.CANCELLED)
        .annotate(disputed=Exists(disputed), promised=Exists(promised))
        .order_by("due_date", "number")
        .values_list(
            "number", "issue_date", "due_date", "currency", "amount_minor", "open_minor", "disputed",
            "promised", "po_number",
        )
    )  # fmt: skip
    return [
        PortalInvoice(
            number=number,
            issue_date=issued,
            due_date=due,
            currency=currency,
            amount_minor=amount,
            open_minor=open_minor,
            days_overdue=max((today - due).days, 0),
            disputed=bool(is_disputed),
            promised=bool(is_promised),
            po_number=po_number,
        )
        for number, issued, due, currency, amount, open_minor, is_disputed, is_promised, po_number in rows
    ]


def portal_totals(invoices: list[PortalInvoice]) -> list[dict[str, Any]]:
    """Return what is open and overdue per currency, from the open invoices already read."""
    totals: dict[str, dict[str, Any]] = {}
    for invoice in invoices:
        row = totals.setdefault(
            invoice.currency, {"currency": invoice.currency, "open_minor": 0, "overdue_minor": 0}
        )
        row["open_minor"] += invoice.open_minor
        if invoice.days_overdue > 0:
            row["overdue_minor"] += invoice.open_minor
    return [totals[currency] for currency in sorted(totals)]


def portal_statements(*, link: PortalLink, limit: int = 24) -> list[Statement]:
    """Return the customer's sent statements, newest month first (one query)."""
    return list(
        Statement.objects.filter(customer_id=link.customer_id)
        .exclude(status=StatementStatus.DRAFT)
        .order_by("-period_end_date", "currency")[:limit]
    )
