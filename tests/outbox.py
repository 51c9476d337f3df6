"""Builders for outbox tests: customers with contacts, templates, queued messages."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from huikuan.customers.models import Contact, Customer
from huikuan.messaging.models import MessageChannel, OutboxMessage, OutboxStatus, Template
from tests.factories import make_customer

_numbers = itertools.count(1)

KEY = "outbox-test"


def templates_create(key: str = KEY) -> None:
    """E-mail and SMS templates in both languages for ``key``."""
    rows = [
        ("EMAIL", "en", "Payment reminder for {{ customer.name }}", "Dear {{ contact.name }},\nplease pay.", "<p>Dear {{ contact.name }}, please pay.</p>"),
        ("EMAIL", "zh-hans", "{{ customer.name }} 付款提醒", "{{ contact.name }} 您好:\n请付款。", "<p>{{ contact.name }} 您好:请付款。</p>"),
        ("SMS", "en", "", "{{ customer.name }}: an invoice is overdue, please pay.", ""),
        ("SMS", "zh-hans", "", "{{ customer.name }}:您有发票已逾期,请尽快付款。", ""),
        ("LETTER", "en", "Letter", "Letter to {{ customer.name }}", ""),
        ("LETTER", "zh-hans", "函", "致 {{ customer.name }}", ""),
    ]  # fmt: skip
    for channel, language, subject, text, html in rows:
        Template.objects.update_or_create(
            key=key,
            channel=channel,
            language=language,
            defaults={"subject": subject, "body_text": text, "body_html": html},
        )


def customer_with_contact(
    *, email: str = "", phone: str = "", language: str = "", customer_language: str = "en", **fields: Any
) -> tuple[Customer, Contact]:
    n = next(_numbers)
    customer = make_customer(language=customer_language, **fields)
    contact = Contact.objects.create(
        customer=customer,
        name=f"Contact {n}",
        email=email or f"finance{n}@example.com",
        phone=phone,
        language=language,
        is_primary=True,
    )
    return customer, contact


def message_queue(
    customer: Customer,
    *,
    channel: str = MessageChannel.EMAIL,
    status: str = OutboxStatus.QUEUED,
    key: str = KEY,
    sender_role: str = "COMPANY",
    not_before_at: datetime | None = None,
    **fields: Any,
) -> OutboxMessage:
    n = next(_numbers)
    return OutboxMessage.objects.create(
        idempotency_key=f"test:{n}:{channel}",
        message_id=f"<test.{n}.{channel.lower()}@huikuan.test>",
        channel=channel,
        status=status,
        customer=customer,
        template_key=key,
        sender_role=sender_role,
        not_before_at=not_before_at or timezone.now() - timedelta(hours=1),
        **fields,
    )
