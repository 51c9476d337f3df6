"""The ``huikuan outbox`` command: deliver, list, approve, cancel."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from huikuan.messaging.models import OutboxStatus
from tests.outbox import customer_with_contact, message_queue, templates_create
from tests.smtp import smtp_server, smtp_settings  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def outbox(*args: str) -> str:
    out = StringIO()
    call_command("outbox", *args, stdout=out)
    return out.getvalue()


def test_deliver_prints_the_json_report(smtp_settings):
    templates_create()
    customer, _ = customer_with_contact()
    message_queue(customer)
    message_queue(customer, channel="SMS")

    report = json.loads(outbox("deliver", "--format", "json", "--channel", "email"))

    assert report["sent"] == 1 and report["by_channel"] == {"EMAIL": {"sent": 1}}
    assert len(smtp_settings.mailbox.messages) == 1


def test_approve_and_cancel_say_what_changed_and_list_shows_it(smtp_settings):
    customer, _ = customer_with_contact()
    waiting = message_queue(customer, status=OutboxStatus.AWAITING_APPROVAL)
    queued = message_queue(customer)

    approved = outbox("approve", str(waiting.pk))
    cancelled = outbox("cancel", str(queued.pk), "--reason", "paid")
    listed = json.loads(outbox("list", "--format", "json"))

    assert approved.startswith(f"1 approved: {waiting.pk}")
    assert cancelled.startswith(f"1 cancelled: {queued.pk}")
    assert {row["id"]: row["status"] for row in listed} == {waiting.pk: "QUEUED", queued.pk: "CANCELLED"}
    assert outbox("list", "--status", "cancelled").count("CANCELLED") == 1


def test_approving_a_message_that_does_not_await_approval_exits_with_one(smtp_settings):
    customer, _ = customer_with_contact()
    sent = message_queue(customer, status=OutboxStatus.SENT)

    with pytest.raises(SystemExit) as stop:
        outbox("approve", str(sent.pk))

    assert stop.value.code == 1
