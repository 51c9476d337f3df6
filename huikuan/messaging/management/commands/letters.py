"""``huikuan letters batch|posted|register``: print queued letters, and keep the dispatch register."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from huikuan.core.errors import HuikuanError
from huikuan.messaging.letters import (
    letter_batch_create,
    letter_batch_get,
    letter_record_posting,
    letter_register,
    register_csv,
)


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(f"--date: {text!r} is not a date; write it as YYYY-MM-DD", returncode=2)


class Command(BaseCommand):
    help = "Print queued letters into one PDF with a dispatch register; record tracking numbers."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{batch,posted,register}")
        actions.add_parser("batch", help="gather every queued letter that is due into one PDF to print")
        posted = actions.add_parser("posted", help="record that a letter was posted")
        posted.add_argument("message", metavar="MESSAGE_ID", help="the letter's outbox number or Message-ID")
        posted.add_argument("--tracking", required=True, help="the registered-post tracking number")
        posted.add_argument("--date", required=True, help="the day it was posted, YYYY-MM-DD")
        register = actions.add_parser("register", help="print a batch's dispatch register")
        register.add_argument("batch", metavar="BATCH_ID", type=int)
        register.add_argument("--format", choices=("table", "csv"), default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except HuikuanError as error:
            raise CommandError(error.message, returncode=1)

    def _batch(self, options: dict[str, Any]) -> None:
        batch = letter_batch_create(now=timezone.now())
        if batch is None:
            self.stdout.write("No letters are waiting to be printed.")
            return
        lines = letter_register(batch=batch)
        pages = sum(line.pages for line in lines)
        self.stdout.write(f"Batch {batch.pk}: {len(lines)} letters, {pages} pages.")
        self.stdout.write(f"Print:    {batch.pdf_path}")
        self.stdout.write(f"Register: {batch.register_path}")
        self.stdout.write(
            f"After posting, record each tracking number: huikuan letters posted MESSAGE_ID "
            f"--tracking NUMBER --date {timezone.localdate().isoformat()}"
        )

    def _posted(self, options: dict[str, Any]) -> None:
        letter = letter_record_posting(
            message_id=options["message"],
            tracking_number=options["tracking"],
            posted_date=_parse_date(options["date"]),
        )
        self.stdout.write(
            f"Letter {letter.pk} to {letter.customer.code}: posted {letter.posted_date}, "
            f"tracking {letter.tracking_number}."
        )

    def _register(self, options: dict[str, Any]) -> None:
        batch = letter_batch_get(batch_id=options["batch"])
        lines = letter_register(batch=batch)
        if options["format"] == "csv":
            self.stdout.write(register_csv(lines), ending="")
            return
        self.stdout.write(f"Batch {batch.pk}, printed {timezone.localtime(batch.created_at):%Y-%m-%d %H:%M}")
        header = ("line", "letter", "customer", "pages", "tracking", "posted", "address")
        rows = [
            (
                str(line.line),
                str(line.message),
                line.customer_code,
                str(line.pages),
                line.tracking_number or "-",
                line.posted_date or "-",
                " / ".join(line.address.splitlines()[1:]) or line.address,
            )
            for line in lines
        ]
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
        for row in [header, *rows]:
            cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
            self.stdout.write("  ".join([*cells, row[-1]]).rstrip())
