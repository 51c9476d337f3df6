"""Small builders for test data that go through the real services."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from huikuan.core.money import Money
from huikuan.customers.models import Customer
from huikuan.customers.services import customer_create
from huikuan.ledger.models import Invoice
from huikuan.ledger.services import invoice_issue

_sequence = itertools.count(1)


def make_customer(code: str | None = None, **fields) -> Customer:
    n = next(_sequence)
    return customer_create(code=code or f"C{n:05d}", name=fields.pop("name", f"Customer {n}"), **fields)


def make_invoice(
    customer: Customer,
    amount: str = "100.00",
    currency: str = "CNY",
    issue_date: date = date(2024, 1, 1),
    due_days: int = 30,
    number: str | None = None,
) -> Invoice:
    return invoice_issue(
        customer=customer,
        number=number or f"INV-{next(_sequence):06d}",
        issue_date=issue_date,
        due_date=issue_date + timedelta(days=due_days),
        amount=Money.of(amount, currency),
    )
