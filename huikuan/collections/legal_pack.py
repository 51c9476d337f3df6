"""The evidence pack: everything a lawyer needs about one customer's debt, in one ZIP.

The ZIP holds the invoices and payments (CSV), the confirmed statements (their PDFs, the copies
sent when kept), the whole timeline (CSV, and a PDF of it), every message that left the outbox with
its delivery record, the promises to pay with their evidence files, the hand-overs with their
recoveries, the interest computation per invoice (CSV), the demand letter (催告函) in the
customer's language, and ``manifest.json``: each file's path, size and SHA-256, so that anyone can
check later that nothing in the pack was changed.

The pack is written to a temporary file as it is built, each member streamed into the ZIP and
hashed on the way, and every table read in chunks (``iterator``), so a customer with a long
history costs disk, not memory.
"""

from __future__ import annotations

import csv
import hashlib
import heapq
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from huikuan.collections.legal_letter import (
    claim_compute,
    demand_letter_filename,
    demand_letter_pdf_for,
    interest_csv_rows,
    letter_language,
)
from huikuan.collections.legal_models import LegalHandover, LegalRecovery
from huikuan.core.money import format_minor
from huikuan.customers.models import Customer
from huikuan.messaging.letters import FONT_FAMILY

CHUNK = 2000
# The timeline PDF is for reading; past this many events it shows the latest ones and says that
# timeline.csv holds them all.
TIMELINE_PDF_MAX_DEFAULT = 1000
MANIFEST = "manifest.json"


def timeline_pdf_max() -> int:
    return int(getattr(settings, "HUIKUAN_LEGAL_TIMELINE_PDF_MAX", TIMELINE_PDF_MAX_DEFAULT))


@dataclass
class PackEntry:
    path: str
    sha256: str
    bytes: int
    description: str


@dataclass
class Pack:
    """A pack written to ``path``: its manifest entries and the figures it was made from."""

    path: Path
    customer_code: str
    as_of: date
    language: str
    entries: list[PackEntry] = field(default_factory=list)

    @property
    def filename(self) -> str:
        return f"evidence-{self.customer_code.replace('/', '_')}-{self.as_of:%Y%m%d}.zip"


class _HashingWriter:
    """Write into a ZIP member while counting and hashing what passes."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        self.target.write(data)
        return len(data)


class _PackWriter:
    def __init__(self, archive: zipfile.ZipFile, pack: Pack) -> None:
        self.archive = archive
        self.pack = pack
        self.names: set[str] = set()

    def _unique(self, path: str) -> str:
        candidate, stem, suffix, n = path, *os.path.splitext(path), 1
        while candidate in self.names:
            n += 1
            candidate = f"{stem}-{n}{suffix}"
        self.names.add(candidate)
        return candidate

    def member(self, path: str, description: str, write: Callable[[_HashingWriter], object]) -> None:
        path = self._unique(path)
        info = zipfile.ZipInfo(path, date_time=_zip_time())
        info.compress_type = zipfile.ZIP_DEFLATED
        with self.archive.open(info, "w", force_zip64=True) as target:
            writer = _HashingWriter(target)
            write(writer)
        self.pack.entries.append(PackEntry(path, writer.digest.hexdigest(), writer.size, description))

    def data(self, path: str, description: str, data: bytes) -> None:
        self.member(path, description, lambda writer: writer.write(data))

    def csv(self, path: str, description: str, rows: Iterable[Iterable[Any]]) -> None:
        def write(writer: _HashingWriter) -> None:
            buffer = io.StringIO()
            table = csv.writer(buffer, lineterminator="\r\n")
            writer.write("\ufeff".encode())  # spreadsheet programs then read the Chinese text as UTF-8
            for n, row in enumerate(rows, start=1):
                table.writerow(row)
                if n % 500 == 0:
                    writer.write(buffer.getvalue().encode("utf-8"))
                    buffer.seek(0)
                    buffer.truncate()
            writer.write(buffer.getvalue().encode("utf-8"))

        self.member(path, description, write)

    def file(self, path: str, description: str, source: IO[bytes]) -> None:
        def write(writer: _HashingWriter) -> None:
            while chunk := source.read(1 << 16):
                writer.write(chunk)

        self.member(path, description, write)


def _zip_time() -> tuple[int, int, int, int, int, int]:
    now = timezone.localtime()
    return (max(now.year, 1980), now.month, now.day, now.hour, now.minute, now.second)


def _iso(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    return value.isoformat()


def _safe(name: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    return keep.strip("._") or "file"


# --- tables -----------------------------------------------------------------------------------


def _invoice_rows(customer: Customer, as_of: date) -> Iterator[tuple[Any, ...]]:
    from huikuan.ledger.models import Invoice

    yield (
        "number",
        "issue_date",
        "due_date",
        "currency",
        "amount",
        "open",
        "status",
        "days_overdue",
        "po_number",
        "description",
    )
    rows = (
        Invoice.objects.filter(customer=customer)
        .order_by("issue_date", "number")
        .values_list(
            "number",
            "issue_date",
            "due_date",
            "currency",
            "amount_minor",
            "open_minor",
            "status",
            "po_number",
            "description",
        )  # fmt: skip
    )
    for number, issued, due, currency, amount, open_minor, status, po, description in rows.iterator(CHUNK):
        overdue = max((as_of - due).days, 0) if open_minor > 0 else 0
        yield (
            number,
            _iso(issued),
            _iso(due),
            currency,
            format_minor(amount, currency),
            format_minor(open_minor, currency),
            status,
            overdue,
            po,
            description,
        )


def _payment_rows(customer: Customer) -> Iterator[tuple[Any, ...]]:
    from huikuan.ledger.models import Allocation, Payment

    yield ("payment_id", "received_date", "currency", "amount", "method", "reference", "payer_name",
           "invoice", "allocated", "allocation_date")  # fmt: skip
    payments = Payment.objects.filter(customer=customer).order_by("received_date", "id")
    for payment in payments.iterator(CHUNK):
        head = (
            payment.pk,
            _iso(payment.received_date),
            payment.currency,
            format_minor(payment.amount_minor, payment.currency),
            payment.method,
            payment.reference,
            payment.payer_name,
        )
        yield (*head, "", "", "")
    allocations = (
        Allocation.objects.filter(payment__customer=customer)
        .order_by("allocation_date", "id")
        .values_list("payment_id", "invoice__number", "amount_minor", "allocation_date", "payment__currency")
    )
    for payment_id, number, amount, day, currency in allocations.iterator(CHUNK):
        yield (payment_id, "", currency, "", "", "", "", number, format_minor(amount, currency), _iso(day))


@dataclass(frozen=True, order=True)
class _Event:
    at: datetime
    kind: str
    title: str
    detail: str = ""
    status: str = ""
    who: str = ""


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _person(user_name: str | None, first: str | None, last: str | None) -> str:
    full = f"{first or ''} {last or ''}".strip()
    return full or (user_name or "")


def _timeline_streams(customer: Customer) -> list[Iterator[_Event]]:
    """One stream per kind of record, each oldest first, each read in chunks."""
    from huikuan.collections.models import Dispute, InstalmentPlan, Interaction, PromiseToPay
    from huikuan.core.models import AuditEntry
    from huikuan.ledger.models import Invoice, Payment, Statement
    from huikuan.messaging.models import OutboxMessage

    def invoices() -> Iterator[_Event]:
        rows = Invoice.objects.filter(customer=customer).order_by("issue_date", "id")
        for number, issued, due, currency, amount in rows.values_list(
            "number", "issue_date", "due_date", "currency", "amount_minor"
        ).iterator(CHUNK):
            yield _Event(
                _day_start(issued),
                "invoice",
                f"{number} {format_minor(amount, currency)} {currency}",
                f"due {due.isoformat()}",
            )

    def payments() -> Iterator[_Event]:
        rows = Payment.objects.filter(customer=customer).order_by("received_date", "id")
        for day, currency, amount, method, reference in rows.values_list(
            "received_date", "currency", "amount_minor", "method", "reference"
        ).iterator(CHUNK):
            yield _Event(
                _day_start(day), "payment", f"{format_minor(amount, currency)} {currency}", reference, method
            )

    def messages() -> Iterator[_Event]:
        rows = OutboxMessage.objects.filter(customer=customer).order_by("created_at", "id")
        for created, sent, channel, status, subject, key, recipient in rows.values_list(
            "created_at", "sent_at", "channel", "status", "subject", "template_key", "recipient"
        ).iterator(CHUNK):
            detail = " · ".join(part for part in (recipient, f"sent {_iso(sent)}" if sent else "") if part)
            yield _Event(created, f"message {channel.lower()}", subject or key, detail, status)

    def interactions() -> Iterator[_Event]:
        rows = Interaction.objects.filter(customer=customer).order_by("occurred_at", "id")
        for at, kind, outcome, notes, username, first, last in rows.values_list(
            "occurred_at", "kind", "outcome", "notes", "user__username", "user__first_name", "user__last_name"
        ).iterator(CHUNK):
            yield _Event(at, kind.lower(), outcome, notes, "", _person(username, first, last))

    def promises() -> Iterator[_Event]:
        rows = PromiseToPay.objects.filter(customer=customer).order_by("created_at", "id")
        for at, currency, amount, promised, by, method, status in rows.values_list(
            "created_at", "currency", "amount_minor", "promised_date", "promised_by", "method", "status"
        ).iterator(CHUNK):
            yield _Event(
                at,
                "promise",
                f"{format_minor(amount, currency)} {currency} by {promised.isoformat()}",
                f"{by} {method}".strip(),
                status,
            )

    def disputes() -> Iterator[_Event]:
        rows = Dispute.objects.filter(customer=customer).order_by("created_at", "id")
        for at, number, reason, notes, status in rows.values_list(
            "created_at", "invoice__number", "reason", "notes", "status"
        ).iterator(CHUNK):
            yield _Event(at, "dispute", f"{number}: {reason}", notes, status)

    def plans() -> Iterator[_Event]:
        rows = InstalmentPlan.objects.filter(customer=customer).order_by("created_at", "id")
        for at, currency, principal, start, status in rows.values_list(
            "created_at", "currency", "principal_minor", "start_date", "status"
        ).iterator(CHUNK):
            amount = f"{format_minor(principal, currency)} {currency}" if currency else ""
            yield _Event(at, "plan", f"{amount} from {start.isoformat()}".strip(), "", status)

    def statements() -> Iterator[_Event]:
        rows = Statement.objects.filter(customer=customer).order_by("created_at", "id")
        for at, end, currency, closing, status, responder, note in rows.values_list(
            "created_at",
            "period_end_date",
            "currency",
            "closing_minor",
            "status",
            "responder_name",
            "response_note",
        ).iterator(CHUNK):
            yield _Event(
                at,
                "statement",
                f"{end:%Y-%m} {format_minor(closing, currency)} {currency}",
                f"{responder} {note}".strip(),
                status,
            )

    def changes() -> Iterator[_Event]:
        rows = AuditEntry.objects.filter(customer=customer).order_by("at", "id")
        for at, entity, entity_id, action, after, label in rows.values_list(
            "at", "entity", "entity_id", "action", "after", "actor_label"
        ).iterator(CHUNK):
            detail = json.dumps(after, ensure_ascii=False, sort_keys=True) if after else ""
            yield _Event(at, "change", f"{entity} {entity_id} {action.lower()}", detail, "", label)

    return [
        invoices(), payments(), messages(), interactions(), promises(), disputes(), plans(), statements(), changes()
    ]  # fmt: skip


TIMELINE_HEADER = ("at", "kind", "title", "detail", "status", "who")


def timeline_events(customer: Customer) -> Iterator[_Event]:
    """Every event of the customer's history, oldest first, merged from the streams as they are read."""
    return heapq.merge(*_timeline_streams(customer), key=lambda event: event.at)


# --- the pack ---------------------------------------------------------------------------------


def _write_timeline(writer: _PackWriter, customer: Customer, language: str) -> None:
    limit = timeline_pdf_max()
    latest: list[_Event] = []
    total = 0

    def rows() -> Iterator[tuple[str, ...]]:
        nonlocal total
        yield TIMELINE_HEADER
        for event in timeline_events(customer):
            total += 1
            latest.append(event)
            if len(latest) > limit:
                del latest[: len(latest) - limit]
            yield (_iso(event.at), event.kind, event.title, event.detail, event.status, event.who)

    writer.csv("timeline/timeline.csv", "the whole timeline: every record and change, oldest first", rows())
    from weasyprint import HTML

    html = render_to_string(
        "collections/legal_timeline.html",
        {
            "html_lang": "zh-Hans" if language == "zh-hans" else "en",
            "font_family": FONT_FAMILY,
            "customer": customer,
            "events": [
                {
                    "at": _iso(event.at),
                    "kind": event.kind,
                    "title": event.title,
                    "detail": event.detail,
                    "status": event.status,
                    "who": event.who,
                }  # fmt: skip
                for event in latest
            ],
            "total": total,
            "shown": len(latest),
        },
    )
    writer.data(
        "timeline/timeline.pdf",
        "the timeline to read (the latest events when long)",
        HTML(string=html).write_pdf(),
    )


def _write_statements(writer: _PackWriter, customer: Customer, language: str) -> None:
    from huikuan.ledger.models import Statement, StatementStatus
    from huikuan.ledger.statements import statement_archived_pdf, statement_pdf, statement_reference

    confirmed = (
        Statement.objects.filter(customer=customer, status=StatementStatus.CONFIRMED)
        .select_related("customer")
        .order_by("period_end_date", "currency")
    )
    for statement in confirmed.iterator(200):
        name = f"statements/{_safe(statement_reference(statement))}.pdf"
        archived = statement_archived_pdf(statement=statement)
        description = (
            f"statement {statement.period_end_date:%Y-%m} {statement.currency}, confirmed by "
            f"{statement.responder_name or '—'} on {_iso(statement.responded_at)}"
        )
        if archived is not None:
            with archived.open("rb") as source:
                writer.file(name, description + " (the copy sent)", source)
        else:
            writer.data(
                name, description + " (made now)", statement_pdf(statement=statement, language=language)
            )


MESSAGE_HEADER = (
    "id", "channel", "status", "template", "language", "from", "to", "subject", "created_at", "approved_at",
    "approved_by", "sent_at", "attempts", "provider_id", "message_id", "last_error", "letter_batch",
    "tracking_number", "posted_date", "file",
)  # fmt: skip


def _write_messages(writer: _PackWriter, customer: Customer) -> None:
    from huikuan.messaging.models import OutboxMessage, OutboxStatus

    sent = (
        OutboxMessage.objects.filter(customer=customer, status__in=[OutboxStatus.SENT, OutboxStatus.FAILED])
        .select_related("approved_by")
        .order_by("created_at", "id")
    )
    register: list[tuple[Any, ...]] = [MESSAGE_HEADER]
    for message in sent.iterator(CHUNK):
        name = f"messages/{message.pk}-{message.channel.lower()}.txt"
        record = [
            ("Message-ID", message.message_id),
            ("Channel", message.channel),
            ("Status", message.status),
            ("From", message.sender),
            ("To", message.recipient),
            ("Subject", message.subject),
            ("Language", message.language),
            ("Queued", _iso(message.created_at)),
            ("Approved", f"{_iso(message.approved_at)} {message.approved_by or ''}".strip()),
            ("Sent", _iso(message.sent_at)),
            ("Attempts", str(message.attempts)),
            ("Provider id", message.provider_id),
            ("Last error", message.last_error),
            ("Tracking number", message.tracking_number),
            ("Posted", _iso(message.posted_date)),
        ]
        text = "".join(f"{key}: {value}\n" for key, value in record if value) + "\n" + message.body_text
        writer.data(name, f"message {message.pk} as sent, with its delivery record", text.encode("utf-8"))
        if message.body_html:
            writer.data(
                f"messages/{message.pk}-{message.channel.lower()}.html",
                f"message {message.pk}: the HTML part as sent",
                message.body_html.encode("utf-8"),
            )
        register.append(
            (
                message.pk,
                message.channel,
                message.status,
                message.template_key,
                message.language,
                message.sender,
                message.recipient,
                message.subject,
                _iso(message.created_at),
                _iso(message.approved_at),
                str(message.approved_by or ""),
                _iso(message.sent_at),
                message.attempts,
                message.provider_id,
                message.message_id,
                message.last_error,
                message.letter_batch_id or "",
                message.tracking_number,
                _iso(message.posted_date),
                name,
            )  # fmt: skip
        )
    writer.csv(
        "messages/messages.csv", "every message sent (or failed for good), with its delivery record", register
    )


PROMISE_HEADER = (
    "id", "made_date", "promised_date", "currency", "amount", "paid", "status", "promised_by", "method",
    "if_broken", "invoices", "notes", "evidence_file",
)  # fmt: skip


def _write_promises(writer: _PackWriter, customer: Customer) -> None:
    from huikuan.collections.models import PromiseToPay

    promises = (
        PromiseToPay.objects.filter(customer=customer)
        .prefetch_related("invoices")
        .order_by("created_at", "id")
    )
    rows: list[tuple[Any, ...]] = [PROMISE_HEADER]
    for promise in promises.iterator(200):
        evidence = ""
        if promise.evidence:
            base = _safe((promise.evidence.name or "evidence").rsplit("/", 1)[-1])
            evidence = f"promises/{promise.pk}-{base}"
            try:
                with promise.evidence.open("rb") as source:
                    writer.file(
                        evidence, f"evidence of promise {promise.pk} ({promise.get_method_display()})", source
                    )
                evidence = writer.pack.entries[-1].path
            except FileNotFoundError:
                evidence = f"(missing: {promise.evidence.name})"
        rows.append(
            (
                promise.pk,
                _iso(promise.made_date or promise.created_at),
                _iso(promise.promised_date),
                promise.currency,
                format_minor(promise.amount_minor, promise.currency),
                format_minor(promise.paid_minor, promise.currency),
                promise.status,
                promise.promised_by,
                promise.method,
                promise.if_broken,
                " ".join(invoice.number for invoice in promise.invoices.all()),
                promise.notes,
                evidence,
            )  # fmt: skip
        )
    writer.csv(
        "promises/promises.csv", "every promise to pay, with who promised, how, and the evidence file", rows
    )


HANDOVER_HEADER = (
    "handover_id", "kind", "agent", "their_reference", "handed_over_date", "currency", "amount",
    "commission_percent", "status", "ended_date", "invoices", "recovered_date", "recovered", "commission",
)  # fmt: skip


def _handover_rows(customer: Customer) -> Iterator[tuple[Any, ...]]:
    yield HANDOVER_HEADER
    handovers = LegalHandover.objects.filter(customer=customer).prefetch_related("invoices").order_by("id")
    for handover in handovers:
        money = handover.currency
        yield (
            handover.pk, handover.kind, handover.agent_name, handover.agent_reference,
            _iso(handover.handed_over_date), money, format_minor(handover.amount_minor, money),
            f"{handover.commission_percent}", handover.status, _iso(handover.ended_date),
            " ".join(invoice.number for invoice in handover.invoices.all()), "",
            format_minor(handover.recovered_minor, money), format_minor(handover.commission_minor, money),
        )  # fmt: skip
        for recovery in LegalRecovery.objects.filter(handover=handover).order_by("recovered_date", "id"):
            yield (
                handover.pk, "", "", "", "", money, "", "", "", "", "", _iso(recovery.recovered_date),
                format_minor(recovery.amount_minor, money), format_minor(recovery.commission_minor, money),
            )  # fmt: skip


INCENTIVE_HEADER = (
    "id", "kind", "status", "offered_date", "pay_by_date", "currency", "open", "pay", "concession",
    "discount_percent", "terms", "invoices", "created_by", "approved_by", "booked_date", "reason",
)  # fmt: skip


def _incentive_rows(customer: Customer) -> Iterator[tuple[Any, ...]]:
    from huikuan.collections.incentive_models import Incentive

    yield INCENTIVE_HEADER
    offers = (
        Incentive.objects.filter(customer=customer).select_related("created_by", "approved_by").order_by("id")
    )
    for offer in offers.iterator(500):
        money = offer.currency
        yield (
            offer.pk, offer.kind, offer.status, _iso(offer.offered_date), _iso(offer.pay_by_date), money,
            format_minor(offer.open_minor, money), format_minor(offer.pay_minor, money),
            format_minor(offer.concession_minor, money),
            f"{offer.discount_percent:f}" if offer.discount_percent is not None else "", offer.terms,
            " ".join(line["number"] for line in offer.lines), str(offer.created_by or ""),
            str(offer.approved_by or ""), _iso(offer.booked_date), offer.ended_reason,
        )  # fmt: skip


def _pack_directory() -> str | None:
    configured = getattr(settings, "HUIKUAN_LEGAL_PACK_DIR", "")
    if configured:
        Path(configured).mkdir(parents=True, exist_ok=True)
        return str(configured)
    return None


def evidence_pack_build(
    *, customer: Customer, as_of: date, language: str | None = None, target: Path | None = None
) -> Pack:
    """Write the customer's evidence pack to ``target`` (default: a new temporary file) and return it.

    The caller owns the file: it is not removed here (:func:`evidence_pack_open` removes it once read).
    """
    chosen = letter_language(customer, language)
    if target is None:
        handle, name = tempfile.mkstemp(prefix="huikuan-evidence-", suffix=".zip", dir=_pack_directory())
        os.close(handle)
        target = Path(name)
    pack = Pack(path=target, customer_code=customer.code, as_of=as_of, language=chosen)
    try:
        with translation.override(chosen), zipfile.ZipFile(target, "w", allowZip64=True) as archive:
            writer = _PackWriter(archive, pack)
            claim = claim_compute(customer=customer, as_of=as_of)
            writer.data(
                demand_letter_filename(customer, as_of, chosen),
                "the demand letter (催告函) in the customer's language",
                demand_letter_pdf_for(claim=claim, language=chosen),
            )
            writer.csv(
                "interest/interest.csv",
                "interest per invoice: rule, periods, rates, bases",
                interest_csv_rows(claim),
            )
            writer.csv(
                "invoices/invoices.csv",
                "every invoice of the customer, as the ledger holds it",
                _invoice_rows(customer, as_of),
            )
            writer.csv(
                "invoices/payments.csv", "every payment and what it was applied to", _payment_rows(customer)
            )
            _write_statements(writer, customer, chosen)
            _write_timeline(writer, customer, chosen)
            _write_messages(writer, customer)
            _write_promises(writer, customer)
            writer.csv(
                "legal/handovers.csv",
                "hand-overs to agencies and lawyers, and their recoveries",
                _handover_rows(customer),
            )
            writer.csv(
                "legal/incentives.csv",
                "discount and settlement offers made, approved and booked",
                _incentive_rows(customer),
            )
            manifest = {
                "customer": {
                    "code": customer.code,
                    "name": customer.name,
                    "legal_name": customer.legal_name,
                    "tax_id": customer.tax_id,
                },  # fmt: skip
                "as_of": as_of.isoformat(),
                "created_at": _iso(timezone.now()),
                "language": chosen,
                "company": settings.HUIKUAN_COMPANY_NAME,
                "algorithm": "sha256",
                "files": [
                    {
                        "path": entry.path,
                        "sha256": entry.sha256,
                        "bytes": entry.bytes,
                        "description": entry.description,
                    }
                    for entry in pack.entries
                ],
            }
            archive.writestr(
                zipfile.ZipInfo(MANIFEST, date_time=_zip_time()),
                json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"),
                compress_type=zipfile.ZIP_DEFLATED,
            )
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return pack


def evidence_pack_open(pack: Pack) -> IO[bytes]:
    """Return the pack's file opened for reading, already unlinked so that closing it frees the disk."""
    handle = pack.path.open("rb")
    if os.name == "posix":
        pack.path.unlink(missing_ok=True)
    return handle
