"""What every statement parser shares: amounts checked against the currency, fields cut to the
lengths the database keeps, and the balance check.

A bank reference the bank repeats within a statement is passed on as it is: the line identity
(``huikuan.banking.identity``) then falls back to the line's content, which stays the same when
an overlapping file holds only some of those lines.
"""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal

from django.utils.translation import gettext as _

from huikuan.banking.parsing import ParsedLine, ParsedStatement, StatementParseError
from huikuan.core.money import TooManyDecimals, UnknownCurrency, normalise_currency, to_minor

#: Column sizes of BankStatementLine / BankStatement: longer text is cut, never refused.
FIELD_LENGTHS = {
    "counterparty_name": 200,
    "counterparty_account": 64,
    "structured_reference": 140,
    "bank_reference": 140,
    "end_to_end_id": 140,
    "transaction_code": 40,
}
IDENTIFICATION_LENGTH = 140
ACCOUNT_NUMBER_LENGTH = 64
#: No statement line is a quadrillion; the amount column must not overflow.
MAX_MINOR = 10**15

_SPACES = re.compile(r"\s+")


def text_clean(value: str | None) -> str:
    """Return the text with runs of whitespace (line breaks included) turned into one space."""
    if not value:
        return ""
    return _SPACES.sub(" ", value).strip()


def account_clean(value: str | None) -> str:
    """Return an account number or IBAN without spaces, in upper case, as BankAccount keeps it."""
    return _SPACES.sub("", value or "").upper()[:ACCOUNT_NUMBER_LENGTH]


def currency_checked(code: str | None, where: str) -> str:
    """Return the ISO 4217 code, or raise StatementParseError naming where it was read."""
    try:
        return normalise_currency(code or "")
    except UnknownCurrency:
        if not code:
            raise StatementParseError(_("%(where)s: the currency is missing") % {"where": where})
        raise StatementParseError(
            _("%(where)s: %(code)s is not an ISO 4217 currency code") % {"where": where, "code": code[:10]}
        )


def amount_checked(amount: Decimal, currency: str, where: str) -> Decimal:
    """Return the amount if the currency can hold it exactly, or raise StatementParseError."""
    try:
        minor = to_minor(amount, currency, exact=True)
    except TooManyDecimals:
        raise StatementParseError(
            _("%(where)s: %(amount)s has more decimal places than %(currency)s allows")
            % {"where": where, "amount": amount, "currency": currency}
        )
    except ValueError:
        raise StatementParseError(
            _("%(where)s: %(amount)s is not an amount") % {"where": where, "amount": amount}
        )
    if abs(minor) >= MAX_MINOR:
        raise StatementParseError(
            _("%(where)s: %(amount)s is too large an amount") % {"where": where, "amount": amount}
        )
    return amount


def line_fitted(line: ParsedLine) -> ParsedLine:
    """Return the line with its short fields cut to the lengths the database keeps."""
    changes = {}
    for name, length in FIELD_LENGTHS.items():
        value = getattr(line, name)
        if len(value) > length:
            changes[name] = value[:length]
    return dataclasses.replace(line, **changes) if changes else line


def balance_warning(statement: ParsedStatement) -> str | None:
    """Return a warning when opening balance + lines differs from the closing balance, else None.

    Real bank files do not always balance (intermediate pages, lines left out), so this is
    reported rather than refused. Lines in another currency than the statement's are left out.
    """
    if statement.opening_balance is None or statement.closing_balance is None:
        return None
    total = sum((line.amount for line in statement.lines if line.currency == statement.currency), Decimal(0))
    expected = statement.opening_balance + total
    if expected == statement.closing_balance:
        return None
    return _(
        "Statement %(statement)s does not balance: opening %(opening)s + lines %(lines)s = %(expected)s, "
        "but the closing balance is %(closing)s %(currency)s (difference %(difference)s)"
    ) % {
        "statement": statement.identification or statement.account_number or "?",
        "opening": statement.opening_balance,
        "lines": total,
        "expected": expected,
        "closing": statement.closing_balance,
        "currency": statement.currency,
        "difference": statement.closing_balance - expected,
    }


def statement_finished(statement: ParsedStatement) -> ParsedStatement:
    """Fit the lines and the statement's own fields to the database, and add the balance warning."""
    statement.lines = [line_fitted(line) for line in statement.lines]
    statement.identification = statement.identification[:IDENTIFICATION_LENGTH]
    statement.account_number = account_clean(statement.account_number)
    if statement.period_start is None and statement.lines:
        statement.period_start = min(line.booking_date for line in statement.lines)
    if statement.period_end is None and statement.lines:
        statement.period_end = max(line.booking_date for line in statement.lines)
    warning = balance_warning(statement)
    if warning:
        statement.warnings.append(warning)
    return statement
