"""``huikuan statements issue|send|review|pdf|list``: monthly statements of account (对账单)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from huikuan.core.errors import HuikuanError
from huikuan.core.money import format_minor
from huikuan.customers.selectors import customer_get
from huikuan.ledger.models import Statement, StatementStatus
from huikuan.ledger.statements import (
    REPLY_DAYS,
    month_parse,
    month_previous_end,
    statement_confirm,
    statement_dispute,
    statement_pdf,
    statement_reference,
    statement_send,
    statements_for_customer,
    statements_issue_monthly,
    statements_review,
)


def _parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(
            f"{option}: {text!r} is not a date; write it as YYYY-MM-DD", returncode=2
        ) from None


def _month(options: dict[str, Any]) -> date:
    if options.get("month"):
        return month_parse(options["month"])
    return month_previous_end(timezone.localdate())


class Command(BaseCommand):
    help = "Make, send and follow up monthly statements of account."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(
            dest="action", required=True, metavar="{issue,send,confirm,dispute,review,pdf,list}"
        )
        issue = actions.add_parser(
            "issue", help="make the month's statement for every customer with activity or a balance"
        )
        issue.add_argument("--month", help="YYYY-MM (default: last month)")
        issue.add_argument("--send", action="store_true", help="also e-mail every statement not sent yet")
        issue.add_argument("--format", choices=("text", "json"), default="text")
        send = actions.add_parser("send", help="e-mail one customer's statement now")
        send.add_argument("code", metavar="CODE", help="the customer's code")
        send.add_argument("--month", help="YYYY-MM (default: last month)")
        send.add_argument(
            "--currency", help="only this currency (default: every one with activity or a balance)"
        )
        send.add_argument(
            "--portal-link",
            action="store_true",
            help="create a portal link and put it in the e-mail, so the customer can answer online",
        )
        for answer, helptext in (
            ("confirm", "record that the customer confirmed its statement (by e-mail, phone or on paper)"),
            ("dispute", "record that the customer says its statement is wrong; the collector gets a task"),
        ):
            parser_ = actions.add_parser(answer, help=helptext)
            parser_.add_argument("code", metavar="CODE")
            parser_.add_argument("--month", help="YYYY-MM (default: last month)")
            parser_.add_argument("--currency", help="needed when the customer has statements in several")
            parser_.add_argument("--name", required=True, help="who answered for the customer")
            parser_.add_argument("--note", default="", required=answer == "dispute", help="what they said")
        review = actions.add_parser("review", help="mark statements left unanswered as no reply")
        review.add_argument("--as-of", help="YYYY-MM-DD (default: today)")
        review.add_argument("--reply-days", type=int, default=REPLY_DAYS)
        pdf = actions.add_parser("pdf", help="write one statement as a PDF file")
        pdf.add_argument("code", metavar="CODE")
        pdf.add_argument("--month", help="YYYY-MM (default: last month)")
        pdf.add_argument("--currency")
        pdf.add_argument("--language", choices=("en", "zh-hans"))
        pdf.add_argument("--output", required=True, help="the PDF file to write")
        listing = actions.add_parser("list", help="list the month's statements and their answers")
        listing.add_argument("--month", help="YYYY-MM (default: last month)")
        listing.add_argument("--status", choices=[s.lower() for s in StatementStatus.values])

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except HuikuanError as error:
            raise CommandError(error.message, returncode=1) from None

    def _issue(self, options: dict[str, Any]) -> None:
        result = statements_issue_monthly(month_end=_month(options), send=options["send"], now=timezone.now())
        if options["format"] == "json":
            self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
            return
        self.stdout.write(
            f"Statements for {result['month']}: {result['statements']} "
            f"({result['created']} new, {result['updated']} brought up to date)."
        )
        sent = result.get("sent")
        if sent is not None:
            self.stdout.write(f"Queued for e-mail: {sent['queued']}.")
            if sent["no_email"]:
                self.stdout.write(f"No usable e-mail address: {', '.join(sent['no_email'])}.")
            if sent["do_not_contact"]:
                self.stdout.write(f"Marked do not contact: {', '.join(sent['do_not_contact'])}.")
            if sent["queued"]:
                self.stdout.write("They go out with the next delivery: huikuan outbox deliver")

    def _send(self, options: dict[str, Any]) -> None:
        customer = customer_get(code=options["code"])
        statements = statements_for_customer(
            customer=customer, period_end_date=_month(options), currency=options.get("currency")
        )
        portal_url = ""
        if options["portal_link"]:
            from huikuan.portal.services import portal_link_create, portal_url_for

            _link, key = portal_link_create(customer=customer, now=timezone.now())
            portal_url = portal_url_for(key=key)
        for statement in statements:
            message = statement_send(statement=statement, now=timezone.now(), portal_url=portal_url)
            self.stdout.write(
                f"{statement_reference(statement)}: closing balance "
                f"{format_minor(statement.closing_minor, statement.currency)} {statement.currency}; "
                f"queued as message {message.pk} to {message.contact.email if message.contact else '-'}."
            )
        self.stdout.write("It goes out with the next delivery: huikuan outbox deliver")

    def _answered(self, options: dict[str, Any]) -> Statement:
        customer = customer_get(code=options["code"])
        statements = Statement.objects.select_related("customer").filter(
            customer=customer, period_end_date=_month(options)
        )
        if options.get("currency"):
            statements = statements.filter(currency=options["currency"].strip().upper())
        found = list(statements.order_by("currency"))
        if not found:
            raise CommandError(f"{customer.code} has no statement for that month", returncode=1)
        if len(found) > 1:
            currencies = ", ".join(s.currency for s in found)
            raise CommandError(f"{customer.code} has statements in {currencies}; choose one with --currency")
        return found[0]

    def _confirm(self, options: dict[str, Any]) -> None:
        statement = statement_confirm(
            statement=self._answered(options), responder_name=options["name"], note=options["note"]
        )
        self.stdout.write(f"{statement_reference(statement)} confirmed by {statement.responder_name}.")

    def _dispute(self, options: dict[str, Any]) -> None:
        statement = statement_dispute(
            statement=self._answered(options), responder_name=options["name"], note=options["note"]
        )
        self.stdout.write(
            f"{statement_reference(statement)} disputed by {statement.responder_name}; "
            "the collector has a task to settle it."
        )

    def _review(self, options: dict[str, Any]) -> None:
        as_of = _parse_date(options["as_of"], "--as-of") if options.get("as_of") else timezone.localdate()
        result = statements_review(as_of=as_of, reply_days=options["reply_days"])
        self.stdout.write(f"Statements now marked no reply: {result['no_reply']}.")

    def _pdf(self, options: dict[str, Any]) -> None:
        customer = customer_get(code=options["code"])
        statements = statements_for_customer(
            customer=customer, period_end_date=_month(options), currency=options.get("currency")
        )
        if len(statements) > 1:
            currencies = ", ".join(s.currency for s in statements)
            raise CommandError(f"{customer.code} has statements in {currencies}; choose one with --currency")
        output = Path(options["output"])
        output.write_bytes(statement_pdf(statement=statements[0], language=options.get("language")))
        self.stdout.write(f"{statement_reference(statements[0])} written to {output}")

    def _list(self, options: dict[str, Any]) -> None:
        rows = Statement.objects.filter(period_end_date=_month(options)).select_related("customer")
        if options.get("status"):
            rows = rows.filter(status=options["status"].upper())
        rows = rows.order_by("customer__code", "currency")
        count = 0
        for statement in rows:
            count += 1
            answer = f" — {statement.responder_name}" if statement.responder_name else ""
            self.stdout.write(
                f"{statement_reference(statement)}  {statement.status:<9}  "
                f"{format_minor(statement.opening_minor, statement.currency):>14}  "
                f"{format_minor(statement.closing_minor, statement.currency):>14}{answer}"
            )
        if not count:
            self.stdout.write("No statements.")
