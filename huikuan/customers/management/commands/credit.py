"""``huikuan credit rate|check|override|show|orders``: credit grades, the order check, overrides."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from huikuan.core.errors import HuikuanError
from huikuan.customers.credit import (
    credit_override_end,
    credit_override_set,
    credit_rate,
    credit_rate_if_due,
    run_summary,
)
from huikuan.customers.limits import amount_parse, credit_check
from huikuan.customers.models import RatingKind
from huikuan.customers.orders import orders_import
from huikuan.customers.selectors import customer_get


def _parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(
            f"{option}: {text!r} is not a date; write it as YYYY-MM-DD", returncode=2
        ) from None


class Command(BaseCommand):
    help = "Rate customers' credit, check an order against it, override a grade, import orders."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(
            dest="action", required=True, metavar="{rate,check,override,show,orders}"
        )
        rate = actions.add_parser("rate", help="score and grade every customer from its record now")
        rate.add_argument("--as-of", help="YYYY-MM-DD (default: today)")
        rate.add_argument(
            "--if-due",
            action="store_true",
            help="only when the month's, quarter's or year's scheduled rating has not run (for cron)",
        )
        rate.add_argument("--no-warnings", action="store_true", help="do not raise early warnings")
        rate.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
        rate.add_argument("--format", choices=("table", "json"), default="table")
        check = actions.add_parser("check", help="may this customer have an order of this amount?")
        check.add_argument("code", help="customer code")
        check.add_argument("--amount", required=True, help="order amount in the customer's currency")
        check.add_argument("--format", choices=("table", "json"), default="table")
        override = actions.add_parser("override", help="put a manager's grade in force until a date")
        override.add_argument("code", help="customer code")
        override.add_argument("--grade", help="A, B, C or D")
        override.add_argument("--reason", help="why (kept with the override and in the audit trail)")
        override.add_argument("--until", help="YYYY-MM-DD, the last day it is in force")
        override.add_argument("--end", action="store_true", help="end the customer's override now")
        override.add_argument("--format", choices=("table", "json"), default="table")
        show = actions.add_parser("show", help="a customer's grade, score and why")
        show.add_argument("code", help="customer code")
        show.add_argument("--format", choices=("table", "json"), default="table")
        orders = actions.add_parser("orders", help="import orders not yet invoiced from CSV or XLSX")
        orders.add_argument(
            "file", help="columns order_number, customer_code, order_date, currency, amount[, status]"
        )
        orders.add_argument("--encoding", help="CSV encoding (default: detected)")
        orders.add_argument("--format", choices=("table", "json"), default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = getattr(self, f"_{options['action']}")(options)
        except HuikuanError as error:
            raise CommandError(error.message, returncode=1) from None
        if options.get("format") == "json":
            self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2, default=str))

    def _table(self, options: dict[str, Any], lines: list[str]) -> None:
        if options.get("format") != "json":
            for line in lines:
                self.stdout.write(line)

    def _rate(self, options: dict[str, Any]) -> dict[str, Any]:
        as_of = _parse_date(options["as_of"], "--as-of") if options.get("as_of") else timezone.localdate()
        if options["if_due"]:
            result = credit_rate_if_due(as_of=as_of, triggered_by="command")
        else:
            from tqdm import tqdm

            bar = tqdm(
                desc="rating", unit="customer", file=sys.stderr, delay=1.0, leave=False,
                disable=options["no_progress"] or not sys.stderr.isatty(),
            )  # fmt: skip

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.n = done
                bar.refresh()

            try:
                run = credit_rate(
                    as_of=as_of,
                    kind=RatingKind.MANUAL,
                    triggered_by="command",
                    warnings=not options["no_warnings"],
                    progress=progress,
                )
            finally:
                bar.close()
            result = {"rated": True, **run_summary(run)}
        if result.get("rated"):
            self._table(
                options,
                [
                    f"Rated {result['customers_rated']} customers as of {result['as_of']} "
                    f"in {result['seconds']} s: {result['grades_changed']} grades changed, "
                    f"{result['warnings_raised']} early warnings raised."
                ],
            )
        else:
            self._table(options, [f"No rating due as of {result['as_of']}."])
        return result

    def _check(self, options: dict[str, Any]) -> dict[str, Any]:
        customer = customer_get(code=options["code"])
        amount = amount_parse(options["amount"], customer.currency)
        result = credit_check(customer=customer, amount=amount, as_of=timezone.localdate())
        lines = [f"{result['decision'].upper()}: {result['allowed_amount']} {customer.currency} allowed"]
        lines += [f"  - {reason}" for reason in result["reasons"]]
        self._table(options, lines)
        return result

    def _override(self, options: dict[str, Any]) -> dict[str, Any]:
        customer = customer_get(code=options["code"])
        if options["end"]:
            ended = credit_override_end(customer=customer)
            customer.refresh_from_db()
            self._table(options, [f"{customer.code}: {ended} override(s) ended; grade {customer.grade}."])
            return {"customer": customer.code, "ended": ended, "grade": customer.grade}
        missing = [name for name in ("grade", "reason", "until") if not options.get(name)]
        if missing:
            raise CommandError(f"override needs {', '.join('--' + name for name in missing)}", returncode=2)
        override = credit_override_set(
            customer=customer,
            grade=options["grade"],
            reason=options["reason"],
            until=_parse_date(options["until"], "--until"),
        )
        self._table(options, [f"{customer.code}: grade {override.grade} until {override.until.isoformat()}."])
        return {
            "customer": customer.code,
            "grade": override.grade,
            "reason": override.reason,
            "until": override.until.isoformat(),
        }

    def _show(self, options: dict[str, Any]) -> dict[str, Any]:
        from huikuan.customers.credit_api import profile_answer

        customer = customer_get(code=options["code"])
        result = profile_answer(customer=customer, as_of=timezone.localdate())
        lines = [f"{customer.code} {customer.name}: grade {result['grade']} (score {result['score']})"]
        if result["override"]:
            lines.append(f"  override until {result['override']['until']}: {result['override']['reason']}")
        lines += [
            f"  {factor['label']}: {factor['value']} ({factor['effect']:+})" for factor in result["factors"]
        ]
        self._table(options, lines)
        return result

    def _orders(self, options: dict[str, Any]) -> dict[str, Any]:
        result = orders_import(path=options["file"], encoding=options.get("encoding"))
        lines = [f"Orders created: {result['created']}, updated: {result['updated']}."]
        lines += [f"  row {error['row']}: {error['error']}" for error in result["errors"]]
        self._table(options, lines)
        if result["errors"] and options.get("format") != "json":
            raise CommandError(f"{len(result['errors'])} row(s) not imported", returncode=1)
        return result
