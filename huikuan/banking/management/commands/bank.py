"""``huikuan bank import|accounts|match``: bank statements in, incoming money onto invoices."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count
from django.utils import timezone

from huikuan.banking.models import BankAccount
from huikuan.banking.services import bank_account_create, bank_account_get, bank_import, csv_mapping_load
from huikuan.core.errors import HuikuanError

#: The exit code of input that was refused (argparse uses 2 for bad arguments too).
EXIT_REFUSED = 2
FORMATS = ("text", "json")
#: Decisions of a matching run listed in the text report.
DECISIONS_SHOWN = 20


class Command(BaseCommand):
    help = (
        "Import bank statements (camt.053, MT940, CSV/XLSX), keep the company's bank accounts, "
        "and match incoming money to open invoices."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{import,accounts,match}")
        importing = actions.add_parser(
            "import",
            help="store a bank file's statements and the lines not imported before",
            description=(
                "Store a bank file's statements and every line not imported before: the same file "
                "again, or one overlapping days already imported, adds nothing twice. Credits and "
                "debits are the totals of all the file's lines."
            ),
        )
        importing.add_argument("file", metavar="FILE", help="a camt.053 .xml, MT940 .sta, or .csv/.xlsx file")
        importing.add_argument(
            "--account",
            metavar="ID",
            help="the bank account (id, name or number); default: the account the file names",
        )
        importing.add_argument("--format", choices=FORMATS, default="text")
        importing.add_argument("--encoding", help="a CSV's text encoding, e.g. gbk (default: detected)")
        importing.add_argument(
            "--mapping",
            metavar="NAME_OR_JSON_FILE",
            help="a CSV/XLSX column mapping: a JSON file, or a bank account whose saved mapping to use "
            "(default: the account's own)",
        )
        importing.add_argument("--user", metavar="USERNAME", help="who imports it (recorded)")

        accounts = actions.add_parser("accounts", help="list or add the company's bank accounts")
        account_actions = accounts.add_subparsers(dest="accounts_action", required=True, metavar="{list,add}")
        listing = account_actions.add_parser("list", help="list the bank accounts")
        listing.add_argument("--format", choices=FORMATS, default="text")
        adding = account_actions.add_parser("add", help="add a bank account")
        adding.add_argument("name", metavar="NAME", help="a name people recognise, e.g. 'ICBC CNY'")
        adding.add_argument(
            "--number", required=True, metavar="IBAN", help="the IBAN or account number the bank files give"
        )
        adding.add_argument("--currency", required=True, metavar="CUR", help="ISO 4217 code, e.g. CNY")
        adding.add_argument("--bank", default="", metavar="B", help="the bank's name")
        adding.add_argument("--bic", default="", metavar="X")
        adding.add_argument(
            "--mapping",
            metavar="NAME_OR_JSON_FILE",
            help="how this bank's CSV/XLSX export is read: a JSON file, or another account whose mapping to copy",
        )
        adding.add_argument("--user", metavar="USERNAME", help="who adds it (recorded)")
        adding.add_argument("--format", choices=FORMATS, default="text")

        matching = actions.add_parser("match", help="match new credits to open invoices; apply the sure ones")
        matching.add_argument(
            "--as-of", metavar="YYYY-MM-DD", help="the day short-payment tasks are dated (default: today)"
        )
        matching.add_argument("--user", metavar="USERNAME", help="who runs it (recorded on applied payments)")
        matching.add_argument("--format", choices=FORMATS, default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "accounts":
            action = f"accounts_{options['accounts_action']}"
        try:
            getattr(self, f"_{action}")(options)
        except HuikuanError as error:
            raise CommandError(error.message, returncode=EXIT_REFUSED) from None

    def _user(self, options: dict[str, Any]) -> Any:
        if not options.get("user"):
            return None
        try:
            return get_user_model().objects.get(username=options["user"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"there is no user {options['user']!r}", returncode=EXIT_REFUSED) from None

    def _json(self, data: Any) -> None:
        self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))

    def _import(self, options: dict[str, Any]) -> None:
        user = self._user(options)
        account = bank_account_get(key=options["account"]) if options.get("account") else None
        mapping = csv_mapping_load(options["mapping"]) if options.get("mapping") else None
        result = bank_import(
            path=options["file"],
            account=account,
            actor=user,
            mapping=mapping,
            encoding=options.get("encoding"),
        )
        if options["format"] == "json":
            self._json(result)
            return
        self.stdout.write(import_summary(result))

    def _accounts_list(self, options: dict[str, Any]) -> None:
        accounts = list(BankAccount.objects.annotate(line_total=Count("lines")).order_by("name"))
        if options["format"] == "json":
            self._json([_account_data(account) | {"lines": account.line_total} for account in accounts])
            return
        if not accounts:
            self.stdout.write(
                "No bank accounts yet: add one with `huikuan bank accounts add NAME --number ...`."
            )
            return
        rows = [
            (
                str(account.pk),
                account.name,
                account.account_number or "-",
                account.currency,
                account.bank_name or "-",
                "yes" if account.csv_mapping else "-",
                str(account.line_total),
            )
            for account in accounts
        ]
        self.stdout.write(_table(("id", "name", "number", "currency", "bank", "CSV mapping", "lines"), rows))

    def _accounts_add(self, options: dict[str, Any]) -> None:
        user = self._user(options)
        mapping = csv_mapping_load(options["mapping"]) if options.get("mapping") else None
        account = bank_account_create(
            name=options["name"],
            account_number=options["number"],
            currency=options["currency"],
            bank_name=options["bank"],
            bic=options["bic"],
            csv_mapping=mapping,
            actor=user,
        )
        if options["format"] == "json":
            self._json(_account_data(account))
            return
        self.stdout.write(
            f"Bank account {account.pk} added: {account.name}, {account.account_number}, {account.currency}."
        )

    def _match(self, options: dict[str, Any]) -> None:
        from huikuan.banking.matching_service import bank_match

        as_of = timezone.localdate()
        if options.get("as_of"):
            try:
                as_of = date.fromisoformat(options["as_of"].strip())
            except ValueError:
                raise CommandError(
                    f"--as-of: {options['as_of']!r} is not a date; write it as YYYY-MM-DD",
                    returncode=EXIT_REFUSED,
                ) from None
        result = bank_match(as_of=as_of, actor=self._user(options))
        if options["format"] == "json":
            self._json(result)
            return
        self.stdout.write(match_summary(result))


def _account_data(account: BankAccount) -> dict[str, Any]:
    return {
        "id": account.pk,
        "name": account.name,
        "number": account.account_number,
        "currency": account.currency,
        "bank": account.bank_name,
        "bic": account.bic,
        "csv_mapping": account.csv_mapping,
    }


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


def import_summary(result: dict[str, Any]) -> str:
    """Return the readable report of a bank import."""
    statements, lines, new = result["statements"], result["lines"], result["new_lines"]
    known = lines - new
    head = (
        f"{result['file']}: {statements} statement{'' if statements == 1 else 's'}, "
        f"{lines} line{'' if lines == 1 else 's'}: {new} new"
        + (f", {known} imported before" if known else "")
    )
    out = [head, f"  account: {', '.join(result['accounts'])}"]
    for currency in result["credits"]:
        out.append(
            f"  {currency}: credits {result['credits'][currency]}, debits {result['debits'][currency]}"
        )
    out.extend(f"  warning: {warning}" for warning in result["warnings"])
    credits = result.get("new_credits", 0)
    if credits:
        waiting = "1 new credit waits" if credits == 1 else f"{credits} new credits wait"
        out.append(f"{waiting} for matching: huikuan bank match")
    return "\n".join(out)


def match_summary(result: dict[str, Any]) -> str:
    """Return the readable report of a matching run."""
    if not result.get("lines"):
        return "No new credits to match."
    out = [
        f"{result['lines']} credit line{'' if result['lines'] == 1 else 's'} weighed "
        f"(applied at {result['threshold']}% confidence or more): {result['applied']} applied, "
        f"{result['review']} waiting for review, {result['unmatched']} unmatched"
    ]
    for status, label in (("applied", "applied"), ("review", "for review"), ("unmatched", "unmatched")):
        amounts = result.get("amounts", {}).get(status) or {}
        if amounts:
            out.append(
                f"  {label}: " + ", ".join(f"{amount} {currency}" for currency, amount in amounts.items())
            )
    out.append(
        f"  payments {result['payments']}, allocations {result['allocations']}, short payments "
        f"{result['short_payments']} (collector tasks {result['short_payment_tasks']}), payer aliases learned "
        f"{result['aliases_learned']}"
    )
    decisions = result.get("decisions", [])
    for decision in decisions[:DECISIONS_SHOWN]:
        text = f"  line {decision.get('line')}: {decision.get('status')} {decision.get('amount')} {decision.get('currency')}"
        if decision.get("customer"):
            invoices = ", ".join(decision.get("invoices") or [])
            text += f" → {decision['customer']}" + (f" {invoices}" if invoices else "")
            text += f" ({decision.get('confidence')}%)"
        out.append(text)
    shown = min(len(decisions), DECISIONS_SHOWN)
    if result["lines"] > shown:
        out.append(f"  … and {result['lines'] - shown} more lines")
    out.extend(f"  warning: {warning}" for warning in result.get("warnings", []))
    if result["review"]:
        out.append("Proposals waiting for review are in the web app's bank review queue.")
    return "\n".join(out)
