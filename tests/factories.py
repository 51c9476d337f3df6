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


def make_action(
    customer: Customer,
    invoices: list[Invoice],
    *,
    as_of: date = date(2024, 3, 15),
    policy_code: str = "standard",
    stage_name: str = "Formal notice",
):
    """A dunning action written directly (run, action, invoice lines), as the run would leave it."""
    from datetime import UTC, datetime

    from huikuan.dunning.models import DunningAction, DunningActionInvoice, DunningRun, Stage

    moment = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
    run, _created = DunningRun.objects.get_or_create(
        as_of=as_of, defaults={"started_at": moment, "finished_at": moment}
    )
    stage = Stage.objects.select_related("policy").get(policy__code=policy_code, name=stage_name)
    overdue = [(as_of - invoice.due_date).days for invoice in invoices]
    action = DunningAction.objects.create(
        run=run,
        as_of=as_of,
        customer=customer,
        currency=invoices[0].currency,
        policy=stage.policy,
        policy_version=stage.policy.version,
        stage=stage,
        stage_position=stage.position,
        amount_minor=sum(invoice.open_minor for invoice in invoices),
        invoice_count=len(invoices),
        max_days_overdue=max(overdue),
    )
    DunningActionInvoice.objects.bulk_create(
        DunningActionInvoice(
            action=action,
            invoice=invoice,
            open_minor=invoice.open_minor,
            days_overdue=days,
            level=stage.position,
        )
        for invoice, days in zip(invoices, overdue, strict=True)
    )
    return action


def make_outbox_message(action, channel: str = "EMAIL", **fields):
    """An outbox message for an action, queued the way the run queues it."""
    from datetime import UTC, datetime

    from huikuan.messaging.models import OutboxMessage

    fields.setdefault(
        "not_before_at", datetime(action.as_of.year, action.as_of.month, action.as_of.day, tzinfo=UTC)
    )
    return OutboxMessage.objects.create(
        idempotency_key=f"dunning:{action.id}:{channel}",
        message_id=f"<dunning.{action.id}.{channel}@test.example>",
        channel=channel,
        customer=action.customer,
        action=action,
        template_key=action.stage.template_key,
        sender_role=fields.pop("sender_role", action.stage.sender),
        **fields,
    )
