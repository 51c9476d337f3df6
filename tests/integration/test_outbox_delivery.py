"""Delivering the outbox by e-mail to a real SMTP server on loopback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from huikuan.collections.models import Task, TaskKind
from huikuan.messaging.delivery import outbox_deliver, retry_delay
from huikuan.messaging.models import OutboxMessage, OutboxStatus
from huikuan.messaging.services import outbox_approve, outbox_cancel
from tests.outbox import customer_with_contact, message_queue, templates_create
from tests.smtp import smtp_server, smtp_settings  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _templates():
    templates_create()


def test_each_queued_email_arrives_once_with_its_message_id_text_and_html(smtp_settings):
    customer, contact = customer_with_contact(name="Acme Trading")
    first, second = message_queue(customer), message_queue(customer)

    report = outbox_deliver(now=timezone.now())

    assert report.sent == 2
    assert smtp_settings.mailbox.counts() == {first.message_id: 1, second.message_id: 1}
    mail = smtp_settings.mailbox.by_id(first.message_id)
    assert mail["To"] == contact.email
    assert mail["Subject"] == "Payment reminder for Acme Trading"
    assert "please pay" in mail.get_body(("plain",)).get_content()
    assert "<p>Dear" in mail.get_body(("html",)).get_content()
    first.refresh_from_db()
    assert first.status == OutboxStatus.SENT
    assert (first.attempts, first.provider_id, first.recipient) == (1, first.message_id, contact.email)
    assert first.sent_at is not None and first.contact_id == contact.pk
    assert first.body_text.startswith(f"Dear {contact.name}")


def test_the_contacts_language_chooses_the_template(smtp_settings):
    customer, _ = customer_with_contact(name="华南贸易", language="zh-hans", customer_language="en")
    message = message_queue(customer)

    outbox_deliver(now=timezone.now())

    mail = smtp_settings.mailbox.by_id(message.message_id)
    assert mail["Subject"] == "华南贸易 付款提醒"
    message.refresh_from_db()
    assert message.language == "zh-hans"


def test_the_sender_follows_the_stages_voice(smtp_settings, settings):
    settings.DEFAULT_FROM_EMAIL = "ar@company.example"
    settings.HUIKUAN_LEGAL_EMAIL_FROM = "legal@company.example"
    rep = get_user_model().objects.create_user(
        "rep", email="li.na@company.example", first_name="Na", last_name="Li"
    )
    customer, _ = customer_with_contact(sales_rep=rep)
    friendly = message_queue(customer, sender_role="SALES_REP")
    firm = message_queue(customer, sender_role="COLLECTOR")  # no collector: the company speaks
    final = message_queue(customer, sender_role="LEGAL")

    outbox_deliver(now=timezone.now())

    mailbox = smtp_settings.mailbox
    assert mailbox.by_id(friendly.message_id)["From"] == "Na Li <li.na@company.example>"
    assert mailbox.by_id(firm.message_id)["From"] == "ar@company.example"
    assert mailbox.by_id(final.message_id)["From"] == "legal@company.example"


def test_messages_wait_for_their_send_window_and_their_retry_time(smtp_settings):
    customer, _ = customer_with_contact()
    now = timezone.now()
    later = message_queue(customer, not_before_at=now + timedelta(hours=2))
    retry = message_queue(customer, next_attempt_at=now + timedelta(minutes=5))

    assert outbox_deliver(now=now).sent == 0

    report = outbox_deliver(now=now + timedelta(hours=3))
    assert report.sent == 2
    assert set(smtp_settings.mailbox.counts()) == {later.message_id, retry.message_id}


def test_a_message_awaiting_approval_is_sent_only_after_approval(smtp_settings):
    approver = get_user_model().objects.create_user("manager")
    customer, _ = customer_with_contact()
    message = message_queue(customer, status=OutboxStatus.AWAITING_APPROVAL)

    assert outbox_deliver(now=timezone.now()).sent == 0
    change = outbox_approve(message_ids=[message.pk, 999_999], user=approver)
    report = outbox_deliver(now=timezone.now())

    assert (change.changed, change.missing) == ([message.pk], [999_999])
    assert report.sent == 1 and smtp_settings.mailbox.counts() == {message.message_id: 1}
    message.refresh_from_db()
    assert message.approved_by == approver and message.approved_at is not None


def test_a_cancelled_message_is_never_sent_and_a_sent_one_cannot_be_cancelled(smtp_settings):
    customer, _ = customer_with_contact()
    cancelled, sent = message_queue(customer), message_queue(customer, status=OutboxStatus.SENT)

    change = outbox_cancel(message_ids=[cancelled.pk, sent.pk], reason="paid by phone")
    report = outbox_deliver(now=timezone.now())

    assert change.changed == [cancelled.pk] and change.unchanged == {sent.pk: "SENT"}
    assert report.sent == 0 and smtp_settings.mailbox.messages == []
    cancelled.refresh_from_db()
    assert cancelled.status == OutboxStatus.CANCELLED and "paid by phone" in cancelled.last_error


def test_a_refused_address_fails_the_message_flags_the_contact_and_gives_the_collector_a_task(smtp_settings):
    collector = get_user_model().objects.create_user("collector")
    customer, contact = customer_with_contact(email="bounce@example.com", collector=collector)
    message = message_queue(customer)

    report = outbox_deliver(now=timezone.now())

    assert (report.sent, report.failed) == (0, 1)
    message.refresh_from_db()
    contact.refresh_from_db()
    assert message.status == OutboxStatus.FAILED and "550" in message.last_error
    assert contact.email_failed_at is not None and "bounce@example.com" in contact.delivery_failure
    task = Task.objects.get(kind=TaskKind.DELIVERY_FAILURE)
    assert (task.message, task.assignee, task.customer) == (message, collector, customer)
    # Failed for good: the next delivery neither sends it nor opens a second task.
    outbox_deliver(now=timezone.now() + timedelta(days=1))
    assert Task.objects.filter(kind=TaskKind.DELIVERY_FAILURE).count() == 1


def test_after_an_address_is_flagged_the_next_message_goes_to_another_contact(smtp_settings):
    customer, bad = customer_with_contact(email="bounce@example.com")
    good = customer.contacts.create(name="Accounts", email="accounts@example.com")
    message_queue(customer)
    outbox_deliver(now=timezone.now())

    second = message_queue(customer)
    outbox_deliver(now=timezone.now())

    assert smtp_settings.mailbox.by_id(second.message_id)["To"] == good.email


def test_a_temporary_refusal_retries_with_growing_waits_then_gives_up(smtp_settings, settings):
    settings.HUIKUAN_OUTBOX_MAX_ATTEMPTS = 3
    customer, contact = customer_with_contact(email="later@example.com")
    message = message_queue(customer)
    now = timezone.now()

    waits = []
    for _ in range(2):
        report = outbox_deliver(now=now)
        assert report.retrying == 1
        message.refresh_from_db()
        assert message.status == OutboxStatus.QUEUED and "451" in message.last_error
        waits.append(message.next_attempt_at - now)
        assert outbox_deliver(now=now).processed == 0  # not before its retry time
        now = message.next_attempt_at
    report = outbox_deliver(now=now)

    assert waits[0] >= retry_delay(1) and waits[1] >= retry_delay(2) > retry_delay(1)
    assert waits[1] < retry_delay(2) + timedelta(seconds=30)
    assert report.failed == 1
    message.refresh_from_db()
    contact.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxStatus.FAILED, 3)
    assert contact.email_failed_at is None  # not the address's fault
    assert Task.objects.filter(message=message, kind=TaskKind.DELIVERY_FAILURE).exists()


def test_a_customer_without_a_usable_address_fails_with_a_clear_reason(smtp_settings):
    customer, contact = customer_with_contact()
    contact.email_failed_at = timezone.now()
    contact.save()
    message = message_queue(customer)

    outbox_deliver(now=timezone.now())

    message.refresh_from_db()
    assert message.status == OutboxStatus.FAILED
    assert message.last_error.startswith(
        f"No recipient: customer {customer.code} has no contact with an e-mail"
    )
    assert Task.objects.filter(message=message).count() == 1


def test_a_customer_marked_do_not_contact_after_queueing_gets_nothing(smtp_settings):
    customer, _ = customer_with_contact()
    message = message_queue(customer)
    customer.do_not_contact = True
    customer.save()

    report = outbox_deliver(now=timezone.now())

    assert report.cancelled == 1 and smtp_settings.mailbox.messages == []
    message.refresh_from_db()
    assert message.status == OutboxStatus.CANCELLED


def test_a_claim_whose_lease_ran_out_is_resent_with_the_same_message_id(smtp_settings, settings):
    settings.HUIKUAN_OUTBOX_LEASE_SECONDS = 300
    customer, _ = customer_with_contact()
    now = timezone.now()
    abandoned = message_queue(
        customer, status=OutboxStatus.SENDING, attempts=1, next_attempt_at=now - timedelta(seconds=1)
    )
    held = message_queue(
        customer, status=OutboxStatus.SENDING, attempts=1, next_attempt_at=now + timedelta(minutes=4)
    )

    report = outbox_deliver(now=now)

    assert (report.sent, report.resent) == (1, 1)
    assert smtp_settings.mailbox.counts() == {abandoned.message_id: 1}
    held.refresh_from_db()
    assert held.status == OutboxStatus.SENDING  # another process still owns it
    abandoned.refresh_from_db()
    assert (abandoned.status, abandoned.attempts) == (OutboxStatus.SENT, 2)


def test_a_limit_caps_how_many_messages_one_delivery_takes(smtp_settings):
    customer, _ = customer_with_contact()
    for _ in range(5):
        message_queue(customer)

    report = outbox_deliver(now=timezone.now(), limit=3, batch_size=2)

    assert report.sent == 3
    assert OutboxMessage.objects.filter(status=OutboxStatus.QUEUED).count() == 2


def test_a_batch_takes_the_same_number_of_queries_however_many_messages_it_holds(smtp_settings):
    def queries_for(count: int) -> int:
        for _ in range(count):
            customer, _ = customer_with_contact()
            message_queue(customer)
        with CaptureQueriesContext(connection) as captured:
            report = outbox_deliver(now=timezone.now(), batch_size=100)
        assert report.sent == count
        return len(captured)

    assert queries_for(3) == queries_for(30)


def test_email_stays_queued_when_no_email_url_is_configured(settings):
    settings.EMAIL_BACKEND = "huikuan.messaging.email.UnconfiguredBackend"
    customer, _ = customer_with_contact()
    message = message_queue(customer)

    report = outbox_deliver(now=timezone.now())

    assert report.not_configured == ["EMAIL", "SMS"] and report.processed == 0
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxStatus.QUEUED, 0)


def test_the_file_backend_writes_one_eml_file_per_message(settings, tmp_path):
    settings.EMAIL_BACKEND = "huikuan.messaging.email.EmlFileBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mailbox")
    customer, _ = customer_with_contact(name="Acme")
    messages = [message_queue(customer) for _ in range(3)]

    outbox_deliver(now=timezone.now())

    files = sorted((tmp_path / "mailbox").glob("*.eml"))
    assert len(files) == 3
    texts = [f.read_text() for f in files]
    for message in messages:
        assert sum(f"Message-ID: {message.message_id}" in text for text in texts) == 1
