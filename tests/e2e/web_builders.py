"""Builders for the web page tests: users with roles, and the work a worklist shows."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from django.test import Client

from huikuan.accounts.models import Role
from huikuan.accounts.services import user_create
from huikuan.collections.models import PromiseStatus, PromiseToPay, Task, TaskKind
from huikuan.customers.models import Customer
from huikuan.messaging.models import OutboxStatus
from tests.factories import make_action, make_customer, make_invoice, make_outbox_message

PASSWORD = "s3cret-pass-123"
_numbers = itertools.count(1)


def make_user(username: str, role: Role | str = Role.COLLECTOR, name: str = ""):
    return user_create(username=username, role=role, password=PASSWORD, name=name or username.title())


def signed_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make_task(customer: Customer, kind: str = TaskKind.CALL, *, due: date, assignee=None, **fields) -> Task:
    n = next(_numbers)
    return Task.objects.create(
        kind=kind,
        customer=customer,
        assignee=assignee if assignee is not None else customer.collector,
        due_date=due,
        title=fields.pop("title", f"{TaskKind(kind).label}: {customer.code} #{n}"),
        **fields,
    )


def make_overdue(customer: Customer, amount: str, *, days: int, today: date, currency: str = "CNY"):
    """An invoice of ``amount`` that is ``days`` days past due on ``today``."""
    return make_invoice(customer, amount, currency, issue_date=today - timedelta(days=days + 30), due_days=30)


def make_pending_message(customer: Customer, invoices, *, as_of: date):
    """A dunning e-mail waiting for a person's approval."""
    action = make_action(customer, invoices, as_of=as_of)
    return make_outbox_message(action, status=OutboxStatus.AWAITING_APPROVAL)


def make_promise(
    customer: Customer,
    amount: str,
    *,
    promised: date,
    status: str = PromiseStatus.OPEN,
    currency: str = "CNY",
) -> PromiseToPay:
    from huikuan.core.money import to_minor

    return PromiseToPay.objects.create(
        customer=customer,
        currency=currency,
        amount_minor=to_minor(amount, currency),
        promised_date=promised,
        status=status,
        promised_by="王芳",
    )


__all__ = [
    "PASSWORD",
    "make_customer",
    "make_overdue",
    "make_pending_message",
    "make_promise",
    "make_task",
    "make_user",
    "signed_in_client",
]
