"""Letters: the formal notice on paper, printed in batches with a dispatch register.

A registered letter is the most formal channel and its dispatch is evidence (PLAYBOOK §3), so
every batch leaves two files under ``HUIKUAN_HOME/letters/``: one PDF to print, letter after
letter, and a CSV register listing each letter's customer, address, pages and message, with
columns for the tracking number and posting date that ``huikuan letters posted`` fills in.

The page layout (letterhead, date, address block, title, body, invoice table, signature) is
fixed here; the wording comes from the user-editable LETTER template. PDFs are made by
WeasyPrint with the Noto CJK fonts, so Chinese and English letters print alike.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from huikuan.core.errors import HuikuanError, NotFound
from huikuan.messaging.models import LetterBatch, MessageChannel, OutboxMessage, OutboxStatus
from huikuan.messaging.rendering import Rendered, render_html, render_template

FONT_FAMILY = '"Noto Serif CJK SC", "Noto Sans CJK SC", "Noto Serif", serif'

REGISTER_COLUMNS = (
    "line",
    "message",
    "message_id",
    "customer_code",
    "customer_name",
    "address",
    "pages",
    "first_page",
    "tracking_number",
    "posted_date",
)

_LAYOUT = """<!DOCTYPE html>
<html lang="{{ html_lang }}"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
@page { size: A4; margin: 18mm 20mm 20mm 22mm;
  @bottom-center { content: "{{ reference }} · " counter(page) " / " counter(pages); font-size: 8pt; color: #555; } }
body { font-family: FONT_FAMILY; font-size: 10pt; line-height: 1.55; color: #111; }
.letterhead { border-bottom: 1.2pt solid #222; padding-bottom: 2mm; margin-bottom: 5mm; }
.letterhead .company { font-size: 16pt; font-weight: bold; letter-spacing: 0.5pt; }
.letterhead .address { font-size: 9pt; color: #333; }
.meta { text-align: right; font-size: 9pt; margin-bottom: 3mm; }
.recipient { margin-bottom: 5mm; }
h1 { text-align: center; font-size: 15pt; margin: 2mm 0 4mm; }
h1.zh { letter-spacing: 3pt; }
.body p { margin: 0 0 2mm; }
.body.zh p { text-indent: 2em; }
.body.zh p.salutation { text-indent: 0; }
table.invoices { width: 100%; border-collapse: collapse; margin: 1mm 0 4mm; font-size: 9pt; }
h2.invoices { font-size: 10pt; margin: 4mm 0 0; break-after: avoid; }
table.invoices th, table.invoices td { border: 0.6pt solid #444; padding: 1mm 2mm; }
table.invoices tr { break-inside: avoid; }
table.invoices th { background: #eee; }
table.invoices td.number, table.invoices th.number { text-align: right; }
table.invoices tfoot th { text-align: right; }
.signature { margin-top: 6mm; text-align: right; break-inside: avoid; }
.signature.en { text-align: left; }
.signature .closing { margin-bottom: 8mm; }
.signature .company { font-weight: bold; }
</style></head>
<body>
<div class="letterhead"><div class="company">{{ company.name }}</div>
{% if company.address %}<div class="address">{{ company.address|linebreaksbr }}</div>{% endif %}</div>
<div class="meta">{{ labels.date }}{{ as_of }}<br>{{ labels.reference }}{{ reference }}</div>
<div class="recipient">{{ customer.legal_name }}<br>{{ customer.postal_address|linebreaksbr }}
{% if contact.name %}<br>{{ labels.attention }}{{ contact.name }}{% endif %}</div>
<h1 class="{{ body_class }}">{{ title }}</h1>
<div class="body {{ body_class }}">{{ body_html|safe }}</div>
{% if invoices %}<h2 class="invoices">{{ labels.table }}</h2><table class="invoices">
<thead><tr><th>{{ labels.number }}</th><th>{{ labels.issue_date }}</th><th>{{ labels.due_date }}</th>
<th class="number">{{ labels.days_overdue }}</th><th class="number">{{ labels.open_amount }}</th></tr></thead>
<tbody>{% for invoice in invoices %}<tr><td>{{ invoice.number }}</td><td>{{ invoice.issue_date }}</td>
<td>{{ invoice.due_date }}</td><td class="number">{{ invoice.days_overdue }}</td>
<td class="number">{{ invoice.open_amount_text }}</td></tr>{% endfor %}</tbody>
<tfoot>{% for total in totals %}<tr><th colspan="4">{{ labels.total }}</th><th>{{ total.text }}</th></tr>{% endfor %}
{% for charge in charges %}<tr><th colspan="4">{{ charge.label|capfirst }}{% if charge.invoice %} ({{ charge.invoice }}){% endif %}</th><th>{{ charge.text }}</th></tr>{% endfor %}
{% if charges %}{% for total in grand_totals %}<tr><th colspan="4">{{ labels.grand_total }}</th><th>{{ total.text }}</th></tr>{% endfor %}{% endif %}
</tfoot></table>{% endif %}
<div class="signature {{ body_class }}">{% if body_class == "en" %}<div class="closing">{{ labels.closing }}</div>{% endif %}
<div class="company">{{ company.name }}</div>
{% if sender.name and sender.name != company.name %}<div>{{ sender.name }}{% if sender.title %} · {{ sender.title }}{% endif %}</div>{% elif sender.title %}<div>{{ sender.title }}</div>{% endif %}
<div>{{ as_of }}</div></div>
</body></html>
""".replace("FONT_FAMILY", FONT_FAMILY)


class LetterError(HuikuanError):
    code = "letter_invalid"


class LetterNotFound(NotFound):
    code = "letter_not_found"


def _labels(language: str) -> dict[str, str]:
    with translation.override(language):
        return {
            "date": _("Date: "),
            "reference": _("Reference: "),
            "attention": _("Attention: "),
            "table": _("Invoices concerned"),
            "number": _("Invoice"),
            "issue_date": _("Issue date"),
            "due_date": _("Due date"),
            "days_overdue": _("Days overdue"),
            "open_amount": _("Open amount"),
            "total": _("Total overdue"),
            "grand_total": _("Total payable"),
            # Closes letters in languages that end with a formula before the signature.
            "closing": _("Yours faithfully,"),
        }


def _paragraphs(text: str) -> str:
    """Turn plain text into paragraphs: blank lines separate them, single newlines break lines."""
    blocks = [block.strip("\n") for block in text.replace("\r\n", "\n").split("\n\n")]
    parts = []
    for index, block in enumerate(block for block in blocks if block.strip()):
        css = ' class="salutation"' if index == 0 else ""
        parts.append(f"<p{css}>" + "<br>".join(html.escape(line) for line in block.split("\n")) + "</p>")
    return "\n".join(parts)


def letter_html(*, rendered: Rendered, context: Mapping[str, Any]) -> str:
    """Return the letter as one HTML page: the layout around the rendered wording."""
    language = rendered.language or str(context.get("language", "")) or settings.LANGUAGE_CODE
    page = dict(context)
    page.update(
        {
            "title": rendered.subject,
            "body_html": rendered.html or _paragraphs(rendered.text),
            "body_class": "zh" if language == "zh-hans" else "en",
            "html_lang": "zh-Hans" if language == "zh-hans" else "en",
            "labels": _labels(language),
        }
    )
    page.setdefault("reference", "")
    return render_html(_LAYOUT, page)


def _document(page_html: str) -> Any:
    from weasyprint import HTML

    return HTML(string=page_html, base_url=None).render()


def letter_pdf(*, rendered: Rendered, context: Mapping[str, Any]) -> bytes:
    """Return the letter as a PDF document."""
    return _document(letter_html(rendered=rendered, context=context)).write_pdf()


def letter_attachment(
    *, message: OutboxMessage, context: Mapping[str, Any], language: str
) -> tuple[str, bytes]:
    """Return (file name, PDF) of the stage's LETTER template, to attach to the e-mail of a formal stage."""
    rendered = render_template(
        key=message.template_key, channel=MessageChannel.LETTER, language=language, context=context
    )
    reference = str(context.get("reference") or message.pk)
    return f"{reference}.pdf", letter_pdf(rendered=rendered, context=context)


# --- print batches and the dispatch register -------------------------------------------------------


@dataclass(frozen=True)
class RegisterLine:
    line: int
    message: int
    message_id: str
    customer_code: str
    customer_name: str
    address: str
    pages: int
    first_page: int
    tracking_number: str
    posted_date: str

    def as_row(self) -> list[str]:
        return [str(getattr(self, column)) for column in REGISTER_COLUMNS]


def _letters_dir() -> Path:
    folder = Path(settings.HUIKUAN_HOME) / "letters"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def letter_register(*, batch: LetterBatch) -> list[RegisterLine]:
    """Return the batch's dispatch register as it stands, in print order (one query)."""
    rows = (
        OutboxMessage.objects.filter(letter_batch=batch)
        .select_related("customer")
        .order_by("customer__code", "id")
    )
    lines, first_page = [], 1
    for index, message in enumerate(rows, start=1):
        pages = int(message.segments or 0)
        lines.append(
            RegisterLine(
                line=index,
                message=message.pk,
                message_id=message.message_id,
                customer_code=message.customer.code,
                customer_name=message.customer.legal_name or message.customer.name,
                address=message.recipient,
                pages=pages,
                first_page=first_page,
                tracking_number=message.tracking_number,
                posted_date=message.posted_date.isoformat() if message.posted_date else "",
            )
        )
        first_page += pages
    return lines


def register_csv(lines: Sequence[RegisterLine]) -> str:
    """Return the register as CSV text with a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(REGISTER_COLUMNS)
    for line in lines:
        writer.writerow(line.as_row())
    return buffer.getvalue()


def _write_register(batch: LetterBatch) -> None:
    if batch.register_path:
        Path(batch.register_path).write_text(register_csv(letter_register(batch=batch)), encoding="utf-8-sig")


def _due_letters(now: datetime) -> Any:
    queryset = (
        OutboxMessage.objects.filter(
            channel=MessageChannel.LETTER, status=OutboxStatus.QUEUED, not_before_at__lte=now
        )
        .select_related("customer")
        .order_by("customer__code", "id")
    )
    if connection.features.has_select_for_update_skip_locked:
        # Two batch commands at once each take different letters instead of printing one twice.
        queryset = queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset


def letter_batch_create(*, now: datetime) -> LetterBatch | None:
    """Print every queued letter due by ``now`` into one PDF with its register; None when there are none.

    The letters are marked SENT with the batch: from here the register is what tracks them.
    A letter to a customer without a postal address is marked FAILED with the reason, and one
    to a customer marked do-not-contact is cancelled.
    """
    from huikuan.messaging.context import message_context_for_messages
    from huikuan.messaging.rendering import template_catalog_load

    with transaction.atomic():
        messages = list(_due_letters(now))
        if not messages:
            return None
        skipped: list[OutboxMessage] = []
        printable: list[OutboxMessage] = []
        for message in messages:
            if message.customer.do_not_contact:
                message.status = OutboxStatus.CANCELLED
                message.last_error = _("The customer is marked do not contact.")
                skipped.append(message)
            elif not message.customer.postal_address.strip():
                message.status = OutboxStatus.FAILED
                message.last_error = _("Customer %(code)s has no postal address.") % {
                    "code": message.customer.code
                }
                skipped.append(message)
            else:
                printable.append(message)
        OutboxMessage.objects.bulk_update(skipped, ["status", "last_error"])
        if not printable:
            return None
        contexts = message_context_for_messages(printable)
        catalog = template_catalog_load(keys={message.template_key for message in printable})
        batch = LetterBatch.objects.create()
        documents = []
        for message in printable:
            context = contexts[message.pk]
            rendered = catalog.render(
                key=message.template_key,
                channel=MessageChannel.LETTER,
                language=context["language"],
                context=context,
            )
            document = _document(letter_html(rendered=rendered, context=context))
            documents.append(document)
            message.language = rendered.language
            message.subject = rendered.subject[:300]
            message.body_text = rendered.text
            message.body_html = rendered.html
            message.recipient = "\n".join(
                part for part in (message.customer.legal_name or message.customer.name,
                                  message.customer.postal_address.strip()) if part
            )  # fmt: skip
            message.segments = len(document.pages)  # pages, for the register
            message.status = OutboxStatus.SENT
            message.sent_at = now
            message.attempts += 1
            message.letter_batch = batch
        stamp = timezone.localtime(now).strftime("%Y%m%d-%H%M%S")
        folder = _letters_dir()
        pdf_path = folder / f"letters-{batch.pk:05d}-{stamp}.pdf"
        register_path = folder / f"letters-{batch.pk:05d}-{stamp}-register.csv"
        pages = [page for document in documents for page in document.pages]
        documents[0].copy(pages).write_pdf(pdf_path)
        OutboxMessage.objects.bulk_update(
            printable,
            [
                "language", "subject", "body_text", "body_html", "recipient", "segments", "status",
                "sent_at", "attempts", "letter_batch",
            ],
        )  # fmt: skip
        batch.pdf_path = str(pdf_path)
        batch.register_path = str(register_path)
        batch.save(update_fields=["pdf_path", "register_path"])
        _write_register(batch)
    return batch


def letter_get(*, message: str | int) -> OutboxMessage:
    """Return a letter by its outbox number or its Message-ID, or raise LetterNotFound."""
    text = str(message).strip()
    letters = OutboxMessage.objects.filter(channel=MessageChannel.LETTER)
    found = (
        letters.filter(pk=int(text)).first()
        if text.isdigit()
        else letters.filter(message_id__in=[text, f"<{text.strip('<>')}>"]).first()
    )
    if found is None:
        raise LetterNotFound(_("There is no letter %(message)s.") % {"message": text})
    return found


def letter_record_posting(*, message_id: str | int, tracking_number: str, posted_date: date) -> OutboxMessage:
    """Record that a printed letter was posted, with its tracking number: the evidence of dispatch."""
    tracking = tracking_number.strip()
    if not tracking:
        raise LetterError(_("A tracking number is needed."))
    with transaction.atomic():
        letter = letter_get(message=message_id)
        if letter.letter_batch_id is None:
            raise LetterError(
                _("Letter %(message)s has not been printed in a batch yet.") % {"message": letter.pk}
            )
        letter.tracking_number = tracking[:100]
        letter.posted_date = posted_date
        letter.save(update_fields=["tracking_number", "posted_date"])
        batch = letter.letter_batch
        assert batch is not None
        _write_register(batch)
    return letter


def letter_batch_get(*, batch_id: int) -> LetterBatch:
    batch = LetterBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        raise LetterNotFound(_("There is no letter batch %(batch)s.") % {"batch": batch_id})
    return batch
