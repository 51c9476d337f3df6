"""Delivering the outbox: claim a batch, render it, send it, record what happened.

Exactly once, as far as a network allows:

1. **Claim.** In one short transaction a batch of due messages moves from QUEUED to SENDING,
   ``attempts + 1``, and ``next_attempt_at`` becomes the end of the claim's lease. PostgreSQL
   picks the rows with ``SELECT … FOR UPDATE SKIP LOCKED``, so several delivery processes share
   the work without waiting on each other; SQLite's write transactions are IMMEDIATE
   (config/settings.py), so two claims simply take turns. A claimed message belongs to its
   process: nobody else sends it while the lease runs.
2. **Send**, outside any transaction, one SMTP connection per batch.
3. **Record** SENT with ``sent_at`` and the provider's id — or the failure — for the batch in
   one transaction.

If the process dies between 2 and 3 its messages stay SENDING until the lease (default 5
minutes, ``HUIKUAN_OUTBOX_LEASE_SECONDS``) runs out; the next delivery takes them again and sends
them with the **same Message-ID** (and the same SMS ``message_id``), fixed when the message was
queued. That is the one window in which a message can arrive twice: only after a crash, at most
once more, and recognisably the same message to the receiving side.

Failures: transient ones (SMTP 4xx, lost connections, HTTP 5xx and timeouts) wait
``base × 2^(attempts−1)`` and try again, up to ``HUIKUAN_OUTBOX_MAX_ATTEMPTS``; permanent ones
(an address or number refused for good) mark the message FAILED, flag the contact so that
dunning stops using the address, and give the customer's collector a DELIVERY_FAILURE task.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from huikuan.collections.models import Task, TaskKind
from huikuan.customers.models import Contact, Customer
from huikuan.messaging.email import (
    email_address,
    email_build,
    email_configured,
    email_envelope,
    email_failure_classify,
)
from huikuan.messaging.models import MessageChannel, OutboxMessage, OutboxStatus, TemplateChannel
from huikuan.messaging.sms import PermanentSmsError, SmsError, SmsGateway, sms_count, sms_gateway

DELIVERED_CHANNELS = (MessageChannel.EMAIL, MessageChannel.SMS)
BATCH_SIZE = 100

# Who speaks (PLAYBOOK §4); values of dunning.models.SenderRole.
SALES_REP, COLLECTOR, COMPANY, LEGAL = "SALES_REP", "COLLECTOR", "COMPANY", "LEGAL"


@dataclass
class DeliveryReport:
    """What one delivery did: counts by outcome and channel, and the channels left alone."""

    sent: int = 0
    retrying: int = 0  # failed for now; will be tried again
    failed: int = 0  # failed for good
    cancelled: int = 0  # the customer asked not to be contacted after the message was queued
    resent: int = 0  # taken over from a process whose lease ran out (included in the above)
    by_channel: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    not_configured: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def processed(self) -> int:
        return self.sent + self.retrying + self.failed + self.cancelled

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "retrying": self.retrying,
            "failed": self.failed,
            "cancelled": self.cancelled,
            "resent": self.resent,
            "by_channel": {channel: dict(counts) for channel, counts in sorted(self.by_channel.items())},
            "not_configured": self.not_configured,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class _Outcome:
    status: str
    error: str = ""
    provider_id: str = ""
    bad_address: bool = False  # flag the contact's address or number


@dataclass
class _Prepared:
    """A claimed message with what it needs to go out: the recipient and the rendered text."""

    message: OutboxMessage
    contact: Contact | None = None
    to: str = ""
    outcome: _Outcome | None = None  # decided before sending (no recipient, template missing…)
    attachment: tuple[str, bytes] | None = None


def retry_delay(attempts: int) -> timedelta:
    """Return how long to wait after the given number of failed attempts (exponential, capped)."""
    base = settings.HUIKUAN_OUTBOX_RETRY_BASE_SECONDS
    ceiling = settings.HUIKUAN_OUTBOX_RETRY_MAX_SECONDS
    return timedelta(seconds=min(ceiling, base * 2 ** max(0, attempts - 1)))


def _lease() -> timedelta:
    return timedelta(seconds=settings.HUIKUAN_OUTBOX_LEASE_SECONDS)


def _due(*, now: datetime, clock: datetime, channels: Sequence[str]) -> tuple[Q, Q]:
    """Return the filters for queued messages that are due and for claims whose lease ran out."""
    queued = Q(status=OutboxStatus.QUEUED, channel__in=channels, not_before_at__lte=now) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    abandoned = Q(status=OutboxStatus.SENDING, channel__in=channels, next_attempt_at__lte=clock)
    return queued, abandoned


def outbox_count_due(*, now: datetime, channels: Sequence[str] = DELIVERED_CHANNELS) -> int:
    """Return how many messages a delivery at ``now`` would take (for a progress bar)."""
    queued, abandoned = _due(now=now, clock=now, channels=channels)
    return OutboxMessage.objects.filter(queued | abandoned).count()


def _claim(
    *, now: datetime, clock: datetime, size: int, channels: Sequence[str]
) -> tuple[list[int], set[int]]:
    """Move up to ``size`` due messages to SENDING under a lease; return their ids and the taken-over ones."""
    queued, abandoned = _due(now=now, clock=clock, channels=channels)
    skip_locked = connection.features.has_select_for_update_skip_locked
    with transaction.atomic():
        picked: list[int] = []
        taken_over: set[int] = set()
        for condition, order in ((abandoned, ("next_attempt_at", "id")), (queued, ("not_before_at", "id"))):
            if len(picked) >= size:
                break
            rows = OutboxMessage.objects.filter(condition).order_by(*order)
            if skip_locked:
                rows = rows.select_for_update(skip_locked=True)
            ids = list(rows.values_list("id", flat=True)[: size - len(picked)])
            if condition is abandoned:
                taken_over.update(ids)
            picked.extend(ids)
        if picked:
            OutboxMessage.objects.filter(id__in=picked).update(
                status=OutboxStatus.SENDING,
                attempts=F("attempts") + 1,
                next_attempt_at=clock + _lease(),
            )
    return picked, taken_over


def _can_receive(contact: Contact, channel: str) -> bool:
    if channel == MessageChannel.EMAIL:
        return bool(contact.email) and contact.email_failed_at is None
    if channel == MessageChannel.SMS:
        return bool(contact.phone.strip()) and contact.phone_failed_at is None
    return True


def _contact_order(contact: Contact) -> tuple[int, int, int]:
    return (0 if contact.is_primary else 1, 0 if contact.role == "FINANCE" else 1, contact.pk)


def _recipients(messages: Sequence[OutboxMessage]) -> dict[int, Contact | None]:
    """Choose each message's contact: its own when it can receive the channel, else the customer's
    primary contact that can (finance before others), in one query for the batch."""
    customer_ids = {message.customer_id for message in messages}
    by_customer: dict[int, list[Contact]] = defaultdict(list)
    for contact in Contact.objects.filter(customer_id__in=customer_ids):
        by_customer[contact.customer_id].append(contact)
    chosen: dict[int, Contact | None] = {}
    for message in messages:
        if message.contact is not None and _can_receive(message.contact, message.channel):
            chosen[message.pk] = message.contact
            continue
        able = [c for c in by_customer[message.customer_id] if _can_receive(c, message.channel)]
        chosen[message.pk] = min(able, key=_contact_order) if able else None
    return chosen


def _user_address(user: Any) -> str:
    if user is None or not getattr(user, "email", ""):
        return ""
    return email_address(name=user.get_full_name() or "", address=user.email)


def _sender(message: OutboxMessage, customer: Customer) -> str:
    """Return the From address for the stage's voice: the rep, the controller, the company or legal."""
    role = message.sender_role
    if role == SALES_REP:
        return _user_address(customer.sales_rep) or settings.DEFAULT_FROM_EMAIL
    if role == COLLECTOR:
        return _user_address(customer.collector) or settings.DEFAULT_FROM_EMAIL
    if role == LEGAL:
        return settings.HUIKUAN_LEGAL_EMAIL_FROM
    return settings.DEFAULT_FROM_EMAIL


def _language(contact: Contact | None, customer: Customer) -> str:
    return (contact.language if contact is not None else "") or customer.language or settings.LANGUAGE_CODE


# --- rendering: the templates part of messaging provides the catalogue and the context -------------


def _catalog() -> Any:
    """Load every template once per delivery (a few dozen rows), compiled on first use."""
    from huikuan.messaging.rendering import template_catalog_load

    return template_catalog_load()


def _contexts(prepared: Sequence[_Prepared]) -> Mapping[int, Mapping[str, Any]]:
    """Build each message's template context in a fixed number of queries for the batch."""
    from huikuan.messaging.context import message_context_for_messages

    return message_context_for_messages([item.message for item in prepared])


def _letter(message: OutboxMessage, context: Mapping[str, Any], language: str) -> tuple[str, bytes]:
    if message.template_key == "statement":  # a statement of account carries its own PDF
        from huikuan.ledger.statements import statement_attachment

        return statement_attachment(message=message, language=language)
    from huikuan.messaging.letters import letter_attachment

    return letter_attachment(message=message, context=context, language=language)


def _prepare(messages: Sequence[OutboxMessage], *, catalog: Any) -> list[_Prepared]:
    """Choose recipients, senders and languages, and render every message of the batch."""
    chosen = _recipients(messages)
    prepared: list[_Prepared] = []
    for message in messages:
        item = _Prepared(message=message, contact=chosen[message.pk])
        customer = message.customer
        if customer.do_not_contact:
            item.outcome = _Outcome(OutboxStatus.CANCELLED, _("The customer is marked do not contact."))
        elif item.contact is None:
            what = _("an e-mail address") if message.channel == MessageChannel.EMAIL else _("a phone number")
            item.outcome = _Outcome(
                OutboxStatus.FAILED,
                _("No recipient: customer %(code)s has no contact with %(what)s that can still be used.")
                % {"code": customer.code, "what": what},
            )
        else:
            item.to = (
                item.contact.email if message.channel == MessageChannel.EMAIL else item.contact.phone.strip()
            )
            message.contact = item.contact
            message.recipient = item.to
            message.language = message.language or _language(item.contact, customer)
            if message.channel == MessageChannel.EMAIL:
                message.sender = _sender(message, customer)
        prepared.append(item)
    to_render = [p for p in prepared if p.outcome is None]
    # A message rendered on an earlier attempt is sent as it was then (it is the evidence).
    fresh = [p for p in to_render if not p.message.body_text or p.message.attach_letter]
    contexts = _contexts(fresh) if fresh else {}
    for item in fresh:
        message = item.message
        try:
            if not message.body_text:
                rendered = catalog.render(
                    key=message.template_key,
                    channel=TemplateChannel(message.channel),
                    language=message.language,
                    context=contexts[message.pk],
                )
                message.subject = rendered.subject[:300]
                message.body_text = rendered.text
                message.body_html = rendered.html
                message.language = rendered.language or message.language
            if message.attach_letter and message.channel == MessageChannel.EMAIL:
                item.attachment = _letter(message, contexts[message.pk], message.language)
        except Exception as error:  # a template or letter that cannot be made: tell the collector
            item.outcome = _Outcome(
                OutboxStatus.FAILED, _("Could not render the message: %(error)s") % {"error": error}
            )
    for item in prepared:
        if item.outcome is None and item.message.channel == MessageChannel.SMS:
            item.message.segments = sms_count(item.message.body_text.strip()).segments
    return prepared


# --- sending ---------------------------------------------------------------------------------------


def _smtp_backend(mail_connection: Any) -> bool:
    from django.core.mail.backends.smtp import EmailBackend

    return isinstance(mail_connection, EmailBackend)


def _send_email(items: Sequence[_Prepared], *, mail_connection: Any) -> None:
    """Send the batch over one connection; to an SMTP server as composed bytes, else through Django."""
    smtp = _smtp_backend(mail_connection)
    opened = False
    for item in items:
        message = item.message
        parts: dict[str, Any] = {
            "message_id": message.message_id,
            "sender": message.sender,
            "recipient": item.to,
            "subject": message.subject,
            "text": message.body_text,
            "html": message.body_html,
            "attachment": item.attachment,
        }
        try:
            if not opened:
                mail_connection.open()
                opened = True
            if smtp:
                # What Django's SMTP backend would send, without building a MIME tree first.
                envelope = email_envelope(**parts)
                mail_connection.connection.sendmail(envelope.sender, envelope.recipients, envelope.data)
            elif mail_connection.send_messages([email_build(**parts, connection=mail_connection)]) != 1:
                raise OSError("the mail backend did not take the message")
        except Exception as error:
            failure = email_failure_classify(error)
            status = OutboxStatus.FAILED if failure.permanent else OutboxStatus.QUEUED
            item.outcome = _Outcome(status, failure.reason, bad_address=failure.bad_address)
            if not failure.permanent:
                # The connection may be gone; the next message opens a fresh one.
                with contextlib.suppress(Exception):  # closing a broken connection may fail too
                    mail_connection.close()
                opened = False
            continue
        item.outcome = _Outcome(OutboxStatus.SENT, provider_id=message.message_id)
    if opened:
        with contextlib.suppress(Exception):  # the messages are sent; a failing QUIT changes nothing
            mail_connection.close()


def _send_sms(items: Sequence[_Prepared], *, gateway: SmsGateway) -> None:
    for item in items:
        message = item.message
        try:
            provider_id = gateway.send(
                to=item.to, text=message.body_text.strip(), message_id=message.message_id
            )
        except PermanentSmsError as error:
            item.outcome = _Outcome(OutboxStatus.FAILED, str(error), bad_address=True)
        except SmsError as error:
            item.outcome = _Outcome(OutboxStatus.QUEUED, str(error))
        except Exception as error:  # an adapter's own bug must not lose the batch
            item.outcome = _Outcome(OutboxStatus.QUEUED, f"{error.__class__.__name__}: {error}")
        else:
            item.outcome = _Outcome(OutboxStatus.SENT, provider_id=provider_id[:200])


# --- recording -------------------------------------------------------------------------------------

_RECORDED_FIELDS = [
    "status", "sent_at", "provider_id", "last_error", "next_attempt_at", "contact", "language",
    "sender", "recipient", "subject", "body_text", "body_html", "segments",
]  # fmt: skip


def _record(
    prepared: Sequence[_Prepared], *, clock: datetime, report: DeliveryReport, taken_over: set[int]
) -> None:
    """Write every outcome of the batch, flag bad addresses and open tasks, in one transaction."""
    max_attempts = settings.HUIKUAN_OUTBOX_MAX_ATTEMPTS
    failed: list[_Prepared] = []
    flagged: dict[int, Contact] = {}
    for item in prepared:
        message, outcome = item.message, item.outcome
        assert outcome is not None
        if outcome.status == OutboxStatus.QUEUED and message.attempts >= max_attempts:
            outcome = item.outcome = _Outcome(
                OutboxStatus.FAILED,
                _("Gave up after %(n)d attempts: %(error)s")
                % {"n": message.attempts, "error": outcome.error},
            )
        message.status = outcome.status
        message.last_error = outcome.error[:2000]
        if outcome.status == OutboxStatus.SENT:
            message.sent_at = clock
            message.provider_id = outcome.provider_id
            message.next_attempt_at = None
            report.sent += 1
        elif outcome.status == OutboxStatus.QUEUED:
            message.next_attempt_at = clock + retry_delay(message.attempts)
            report.retrying += 1
        elif outcome.status == OutboxStatus.CANCELLED:
            message.next_attempt_at = None
            report.cancelled += 1
        else:
            message.next_attempt_at = None
            report.failed += 1
            failed.append(item)
            if outcome.bad_address and item.contact is not None:
                contact = flagged.setdefault(item.contact.pk, item.contact)
                if message.channel == MessageChannel.EMAIL:
                    contact.email_failed_at = clock
                else:
                    contact.phone_failed_at = clock
                contact.delivery_failure = f"{message.recipient}: {outcome.error}"[:500]
        report.by_channel[message.channel][outcome.status.lower()] += 1
        if message.pk in taken_over:
            report.resent += 1
    with transaction.atomic():
        _messages_update([item.message for item in prepared])
        if flagged:
            Contact.objects.bulk_update(
                list(flagged.values()), ["email_failed_at", "phone_failed_at", "delivery_failure"]
            )
        if failed:
            _tasks_create(failed, clock=clock)


_AS_IS = (str, int, type(None))


def _messages_update(messages: Sequence[OutboxMessage]) -> None:
    """Write the recorded fields of the batch with one prepared statement run for every row.

    ``bulk_update`` builds a CASE expression per field and row, which costs more than sending the
    e-mails; one UPDATE executed for many parameter rows is what both databases do fastest.
    """
    fields: list[Any] = [OutboxMessage._meta.get_field(name) for name in _RECORDED_FIELDS]
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    assignments = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
    sql = f"UPDATE {table} SET {assignments} WHERE id = %s"  # noqa: S608 - names from the model
    # Strings, integers and NULL go to the driver as they are (what the fields would return for
    # them anyway); dates, times and choices go through their field.
    prepared = [(f.attname, f.get_db_prep_save) for f in fields]
    rows = []
    for message in messages:
        row = []
        for attname, prepare in prepared:
            value = getattr(message, attname)
            row.append(value if type(value) in _AS_IS else prepare(value, connection))
        row.append(message.pk)
        rows.append(row)
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _tasks_create(failed: Sequence[_Prepared], *, clock: datetime) -> None:
    """Give each customer's collector one DELIVERY_FAILURE task per failed message."""
    due_date = timezone.localtime(clock).date()
    tasks = []
    for item in failed:
        message = item.message
        channel = MessageChannel(message.channel).label
        tasks.append(
            Task(
                kind=TaskKind.DELIVERY_FAILURE,
                customer=message.customer,
                assignee_id=message.customer.collector_id,
                due_date=due_date,
                title=(
                    _("Delivery failed: %(channel)s to %(customer)s")
                    % {"channel": channel, "customer": message.customer.name}
                )[:300],
                script=_(
                    "The %(channel)s “%(template)s” to %(recipient)s could not be delivered: %(error)s\n"
                    "Correct the contact's details, then reach the customer another way."
                )
                % {
                    "channel": channel,
                    "template": message.template_key,
                    "recipient": message.recipient or "-",
                    "error": message.last_error,
                },
                message=message,
            )
        )
    Task.objects.bulk_create(tasks, ignore_conflicts=True)


# --- the service -----------------------------------------------------------------------------------


def _configured_channels(channels: Iterable[str] | None) -> tuple[list[str], list[str], SmsGateway | None]:
    wanted = [MessageChannel(c.upper()) for c in channels] if channels else list(DELIVERED_CHANNELS)
    gateway = sms_gateway() if MessageChannel.SMS in wanted else None
    usable: list[str] = []
    missing: list[str] = []
    for channel in wanted:
        ok = (channel == MessageChannel.EMAIL and email_configured()) or (
            channel == MessageChannel.SMS and gateway is not None
        )
        (usable if ok else missing).append(str(channel))
    return usable, missing, gateway


def outbox_deliver(
    *,
    now: datetime,
    limit: int | None = None,
    channels: Iterable[str] | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> DeliveryReport:
    """Send the messages due at ``now`` (QUEUED, past their send window and retry time), batch by batch.

    E-mail and SMS only (letters are printed in batches); a channel that is not configured is
    left queued and named in the report. ``limit`` caps the messages taken; ``progress`` is
    called with the number finished after each batch.
    """
    started = time.monotonic()
    report = DeliveryReport()
    usable, report.not_configured, gateway = _configured_channels(channels)
    if not usable:
        return report
    catalog = None
    remaining = limit if limit is not None else None
    while remaining is None or remaining > 0:
        # The lease and the sent time follow the real clock as the work goes on.
        clock = now + timedelta(seconds=time.monotonic() - started)
        size = batch_size if remaining is None else min(batch_size, remaining)
        ids, taken_over = _claim(now=now, clock=clock, size=size, channels=usable)
        if not ids:
            break
        if remaining is not None:
            remaining -= len(ids)
        messages = list(
            OutboxMessage.objects.filter(id__in=ids)
            .select_related("customer", "customer__collector", "customer__sales_rep", "contact")
            .order_by("id")
        )
        if catalog is None:
            catalog = _catalog()
        prepared = _prepare(messages, catalog=catalog)
        ready = [item for item in prepared if item.outcome is None]
        emails = [item for item in ready if item.message.channel == MessageChannel.EMAIL]
        texts = [item for item in ready if item.message.channel == MessageChannel.SMS]
        if emails:
            _send_email(emails, mail_connection=get_connection(fail_silently=False))
        if texts and gateway is not None:
            _send_sms(texts, gateway=gateway)
        clock = now + timedelta(seconds=time.monotonic() - started)
        _record(prepared, clock=clock, report=report, taken_over=taken_over)
        if progress is not None:
            progress(len(prepared))
    report.seconds = time.monotonic() - started
    return report
