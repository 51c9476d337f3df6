"""``huikuan interest``: show how late-payment interest and compensation on one debt are computed."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huikuan.core.errors import HuikuanError
from huikuan.core.money import UnknownCurrency, format_minor, normalise_currency, to_minor
from huikuan.dunning.interest import (
    ACT_360,
    ACT_365,
    RULE_CONTRACT,
    RULES,
    InterestResult,
    interest_compute,
    rate_text,
)
from huikuan.dunning.rates import RateInvalid, rate_table_load

FORMATS = ("json", "table")
RULE_NAMES = {rule.upper(): rule for rule in RULES}
DAY_COUNT_NAMES = {"ACT/365": ACT_365, "365": ACT_365, "ACT/360": ACT_360, "360": ACT_360}


def _usage_error(message: str) -> CommandError:
    return CommandError(message, returncode=2)


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise _usage_error(f"{option}: {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2024-06-30")


def _number(text: str, option: str) -> Decimal:
    try:
        value = Decimal(text.strip().rstrip("%"))
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise _usage_error(f"{option}: {text!r} is not a number")
    return value


def _amount_minor(text: str, currency: str, option: str) -> int:
    value = _number(text, option)
    try:
        return to_minor(value, currency, exact=True)
    except ValueError as error:
        raise _usage_error(f"{option}: {error}")


def interest_table_text(result: InterestResult) -> str:
    """Return the computation as an aligned table a clerk can check by hand."""
    money = result.currency
    header = ("from", "to", "days", "rate %", "interest")
    rows = [
        (
            period.start.isoformat(),
            period.end.isoformat(),
            str(period.days),
            rate_text(period.annual_rate),
            format_minor(period.interest_minor, money),
        )
        for period in result.periods
    ]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    lines = [
        "  ".join(
            cell.rjust(width) if index >= 2 else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    summary = [
        ("principal", format_minor(result.principal_minor, money)),
        ("rule", result.rule),
        ("days", str(result.days)),
        ("interest", format_minor(result.interest_minor, money)),
        ("compensation", format_minor(result.compensation_minor, money)),
        ("total", format_minor(result.total_minor, money)),
    ]
    label_width = max(len(label) for label, _ in summary)
    tail = [
        f"{label.ljust(label_width)}  {value} {money if label not in ('rule', 'days') else ''}".rstrip()
        for label, value in summary
    ]
    return "\n".join([*lines, "", *tail]) + "\n"


class Command(BaseCommand):
    help = "Compute late-payment interest and compensation on one debt, period by period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--amount", required=True, metavar="A", help="the debt, e.g. 10000.00")
        parser.add_argument("--currency", required=True, metavar="C", help="ISO currency, e.g. GBP")
        parser.add_argument("--due", required=True, metavar="DATE", help="due date, YYYY-MM-DD")
        parser.add_argument("--until", required=True, metavar="DATE", help="payment (or reckoning) date")
        parser.add_argument(
            "--rule", required=True, metavar="|".join(RULES), help="interest rule (CONTRACT needs --rate)"
        )
        parser.add_argument("--rate", metavar="R", help="contractual annual rate in percent, e.g. 12")
        parser.add_argument(
            "--payment",
            action="append",
            default=[],
            metavar="DATE:AMOUNT",
            help="a partial payment; lowers the base from the next day (repeatable)",
        )
        parser.add_argument("--grace", type=str, default="0", metavar="DAYS", help="grace days after due")
        parser.add_argument(
            "--day-count", default=ACT_365, metavar="ACT/365|ACT/360", help="day count (default ACT/365)"
        )
        parser.add_argument(
            "--compound-monthly", action="store_true", help="capitalise interest monthly (CONTRACT only)"
        )
        parser.add_argument(
            "--markup", metavar="M", help="cn-lpr markup as a fraction (default 0.5 = +50 %%)"
        )
        parser.add_argument(
            "--country", default="", metavar="CC", help="eu-late-payment: country margin (DE, FR)"
        )
        parser.add_argument(
            "--format", default="json", metavar="|".join(FORMATS), help="output (default json)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        output_format = options["format"]
        if output_format not in FORMATS:
            raise _usage_error(f"--format: {output_format!r} is not one of {', '.join(FORMATS)}")
        try:
            currency = normalise_currency(options["currency"])
        except UnknownCurrency:
            raise _usage_error(f"--currency: {options['currency']!r} is not an ISO currency code")
        rule = RULE_NAMES.get(options["rule"].strip().upper())
        if rule is None:
            raise _usage_error(f"--rule: {options['rule']!r} is not one of {', '.join(RULES)}")
        principal = _amount_minor(options["amount"], currency, "--amount")
        if principal < 0:
            raise _usage_error("--amount: the debt cannot be negative")
        due = _date(options["due"], "--due")
        until = _date(options["until"], "--until")
        if until < due:
            raise _usage_error(f"--until: {until} is before the due date {due}")
        contract_rate = None
        if options["rate"] is not None:
            if rule != RULE_CONTRACT:
                raise _usage_error(
                    "--rate: only --rule CONTRACT takes a rate; the other rules use the rate tables"
                )
            contract_rate = _number(options["rate"], "--rate")
        elif rule == RULE_CONTRACT:
            raise _usage_error("--rate: --rule CONTRACT needs the contract's annual rate, e.g. --rate 12")
        payments = []
        for text in options["payment"]:
            day_text, _, amount_text = text.partition(":")
            if not amount_text:
                raise _usage_error(f"--payment: {text!r} should read DATE:AMOUNT, e.g. 2024-03-15:2500.00")
            payments.append((_date(day_text, "--payment"), _amount_minor(amount_text, currency, "--payment")))
        try:
            grace = int(options["grace"])
        except ValueError:
            grace = -1
        if grace < 0:
            raise _usage_error(f"--grace: {options['grace']!r} is not a number of days")
        day_count = DAY_COUNT_NAMES.get(options["day_count"].strip().upper())
        if day_count is None:
            raise _usage_error(f"--day-count: {options['day_count']!r} is not ACT/365 or ACT/360")
        markup = _number(options["markup"], "--markup") if options["markup"] is not None else None

        try:
            result = interest_compute(
                principal_minor=principal,
                currency=currency,
                due_date=due,
                until_date=until,
                rule=rule,
                rates=rate_table_load(),
                contract_rate=contract_rate,
                lpr_markup=markup,
                country=options["country"],
                day_count=day_count,
                grace_days=grace,
                compound_monthly=options["compound_monthly"],
                payments=payments,
            )
        except (HuikuanError, RateInvalid) as error:
            raise _usage_error(error.message)
        if output_format == "json":
            self.stdout.write(json.dumps(result.to_json(), ensure_ascii=False))
        else:
            self.stdout.write(interest_table_text(result), ending="")
