"""Bank accounts and statement import: a bank file in, its statements and new lines stored once.

An import reads the whole file first (parsers know nothing of the database), checks every line
— the account it belongs to, its currency, its decimals — and only then writes, in one
transaction: a file that fails anywhere leaves nothing behind. Lines are recognised by their
identity (:mod:`huikuan.banking.identity`), so the same file again, or a file overlapping days
already imported, adds only lines never seen before. Debits are kept for reconciliation but are
excluded from matching at once; credits wait for matching as ``NEW``.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from huikuan.banking.identity import statement_line_identities
from huikuan.banking.models import BankAccount, BankStatement, BankStatementLine, LineStatus
from huikuan.banking.parsing import ParsedLine, ParsedStatement, StatementParseError
from huikuan.core.audit import audit_record
from huikuan.core.errors import HuikuanError, NotFound
from huikuan.core.models import AuditAction
from huikuan.core.money import (
    TooManyDecimals,
    UnknownCurrency,
    exponent,
    format_minor,
    normalise_currency,
    to_minor,
)

#: Lines written per INSERT, and identities looked up per query.
BULK_BATCH = 2000
#: Who an import is recorded as when no user ran it (the command line, a scheduled job).
IMPORT_ACTOR_LABEL = "bank import"


class BankAccountInvalid(HuikuanError):
    """A bank account cannot be created as asked (name or number taken, unknown currency, ...)."""

    code = "bank_account_invalid"


class BankAccountNotFound(NotFound):
    code = "bank_account_not_found"


class BankImportError(HuikuanError):
    """A bank file that cannot be imported as it is; nothing was written."""

    code = "bank_import_invalid"


class BankAccountUnknown(BankImportError):
    """The file's account is not one of ours (yet), and no account was named."""

    code = "bank_account_unknown"


class BankCurrencyMismatch(BankImportError):
    """The file's statement or a line is in another currency than the account."""

    code = "bank_currency_mismatch"


# --- accounts --------------------------------------------------------------------------------


def account_number_normalise(number: str) -> str:
    """Return an IBAN or account number as stored and compared: no spaces, upper case."""
    return "".join((number or "").split()).upper()


def _number_loose(number: str) -> str:
    # Letters and digits only: "0035-2915203-10-000" and "0035 2915203 10 000" are one account.
    return "".join(ch for ch in number.upper() if ch.isalnum())


def bank_account_create(
    *,
    name: str,
    account_number: str,
    currency: str,
    bank_name: str = "",
    bic: str = "",
    csv_mapping: dict[str, Any] | None = None,
    actor: Any = None,
) -> BankAccount:
    """Create one of the company's bank accounts, the number normalised so files find it."""
    name = " ".join((name or "").split())
    number = account_number_normalise(account_number)
    if not name:
        raise BankAccountInvalid(_("A bank account needs a name."))
    try:
        currency = normalise_currency(currency)
    except UnknownCurrency:
        raise BankAccountInvalid(
            _("Unknown currency %(currency)r: use an ISO 4217 code such as CNY or EUR.")
            % {"currency": currency}
        ) from None
    if csv_mapping:
        csv_mapping_check(csv_mapping)
    if BankAccount.objects.filter(name=name).exists():
        raise BankAccountInvalid(_("There is already a bank account named %(name)s.") % {"name": name})
    if number:
        taken = BankAccount.objects.filter(account_number=number).first()
        if taken is not None:
            raise BankAccountInvalid(
                _("Account number %(number)s is already the bank account %(name)s.")
                % {"number": number, "name": taken.name}
            )
    account = BankAccount(
        name=name,
        account_number=number,
        currency=currency,
        bank_name=(bank_name or "").strip(),
        bic=account_number_normalise(bic),
        csv_mapping=csv_mapping or {},
    )
    try:
        account.full_clean()
    except ValidationError as error:
        problems = "; ".join(f"{key}: {' '.join(messages)}" for key, messages in error.message_dict.items())
        raise BankAccountInvalid(problems) from None
    with transaction.atomic():
        account.save()
        audit_record(
            instance=account, action=AuditAction.CREATE, actor=actor, after=_account_snapshot(account)
        )
    return account


def csv_mapping_check(mapping: Any) -> None:
    """Refuse a column mapping the CSV/XLSX reader would refuse, before it is saved."""
    from huikuan.banking.parsing.tabular import mapping_check

    try:
        mapping_check(mapping)
    except StatementParseError as error:
        raise BankAccountInvalid(error.message) from None


def _account_snapshot(account: BankAccount) -> dict[str, Any]:
    return {
        "name": account.name,
        "account_number": account.account_number,
        "currency": account.currency,
        "bank_name": account.bank_name,
        "bic": account.bic,
        "csv_mapping": account.csv_mapping,
    }


def bank_account_get(*, key: str | int) -> BankAccount:
    """Return the bank account with this id, name or account number."""
    text = str(key).strip()
    if text.isdigit():
        by_id = BankAccount.objects.filter(pk=int(text)).first()
        if by_id is not None:
            return by_id
    found = BankAccount.objects.filter(name=text).first() or _account_by_number(text)
    if found is None:
        raise BankAccountNotFound(
            _("No bank account %(key)s: `huikuan bank accounts list` shows them by id, name and number.")
            % {"key": text}
        )
    return found


def _account_by_number(number: str) -> BankAccount | None:
    normalised = account_number_normalise(number)
    if not normalised:
        return None
    exact = BankAccount.objects.filter(account_number=normalised).first()
    if exact is not None:
        return exact
    # The company has a handful of accounts: comparing them all, loosely, costs nothing.
    loose = _number_loose(normalised)
    candidates = [
        account
        for account in BankAccount.objects.exclude(account_number="")
        if _number_loose(account.account_number) == loose
    ]
    return candidates[0] if len(candidates) == 1 else None


def csv_mapping_load(value: str) -> dict[str, Any]:
    """Return a column mapping named on the command line: a JSON file, a preset, or a bank account.

    A preset is one of the built-in bank layouts (``icbc``, ``ccb``, ...); a bank account's name
    reuses the mapping saved on it (two accounts at the same bank).
    """
    from huikuan.banking.parsing.tabular import PRESETS

    text = (value or "").strip()
    path = Path(text).expanduser()
    if text.lower().endswith(".json") or path.is_file():
        try:
            mapping = json.loads(path.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise BankImportError(_("%(path)s: no such mapping file") % {"path": text}) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise BankImportError(
                _("%(path)s is not a JSON column mapping: %(error)s") % {"path": text, "error": error}
            ) from None
        if not isinstance(mapping, dict):
            raise BankImportError(_("%(path)s must hold a JSON object.") % {"path": text})
        return mapping
    if text.lower() in PRESETS:
        return {"preset": text.lower()}
    account = BankAccount.objects.filter(name=text).first()
    if account is None or not account.csv_mapping:
        raise BankImportError(
            _(
                "%(mapping)s is neither a JSON mapping file, nor a preset (%(presets)s), nor a bank "
                "account with a saved mapping."
            )
            % {"mapping": text, "presets": ", ".join(sorted(PRESETS))}
        )
    return dict(account.csv_mapping)


# --- import ----------------------------------------------------------------------------------


def statement_file_parse(
    path: Path, *, mapping: dict[str, Any] | None, encoding: str | None
) -> list[ParsedStatement]:
    """Read a bank file into statements (camt.053, MT940, CSV/XLSX), whatever its format."""
    from huikuan.banking.parsing.detect import statement_file_parse as parse

    return parse(path, mapping=mapping, encoding=encoding)


@dataclass
class _Prepared:
    """A parsed statement checked against its account: its lines' amounts in minor units and identities."""

    parsed: ParsedStatement
    account: BankAccount
    label: str
    currency: str
    opening_minor: int | None
    closing_minor: int | None
    amounts: list[int]
    identities: list[str]
    warnings: list[str] = field(default_factory=list)


def bank_import(
    *,
    path: str | Path,
    account: BankAccount | None = None,
    actor: Any = None,
    mapping: dict[str, Any] | None = None,
    encoding: str | None = None,
) -> dict[str, Any]:
    """Import a bank file: store its statements and the lines not imported before.

    Returns the import's summary: ``statements`` and ``lines`` in the file; ``new_lines``
    stored, ``new_credits`` of them money in that waits for matching; ``credits`` and
    ``debits`` per currency, totals of all the file's lines (new or not, so they can be compared
    with the bank's file; debits as a positive amount); ``warnings``, each naming its
    statement; the ``file`` name and the ``accounts`` the lines went to.
    """
    path = Path(path)
    try:
        content = path.read_bytes()
    except OSError as error:
        raise BankImportError(
            _("%(path)s cannot be read: %(error)s") % {"path": path, "error": error.strerror or error}
        ) from None
    if mapping is None and account is not None and account.csv_mapping:
        mapping = dict(account.csv_mapping)
    statements = statement_file_parse(path, mapping=mapping, encoding=encoding)
    if not statements:
        raise BankImportError(_("%(path)s holds no bank statement.") % {"path": path.name})
    accounts = _accounts_for(statements, account=account, file_name=path.name)
    prepared = [
        _statement_prepare(statement, account=accounts[n], file_name=path.name, position=n + 1)
        for n, statement in enumerate(statements)
    ]
    new_rows = _statements_store(
        prepared, file_name=path.name, file_sha256=hashlib.sha256(content).hexdigest(), actor=actor
    )
    credits: dict[str, int] = defaultdict(int)
    debits: dict[str, int] = defaultdict(int)
    for item in prepared:
        credits[item.currency] += sum(amount for amount in item.amounts if amount > 0)
        debits[item.currency] -= sum(amount for amount in item.amounts if amount < 0)
    return {
        "file": path.name,
        "statements": len(prepared),
        "lines": sum(len(item.amounts) for item in prepared),
        "new_lines": len(new_rows),
        "new_credits": sum(1 for row in new_rows if row.amount_minor > 0),
        "credits": {currency: format_minor(total, currency) for currency, total in sorted(credits.items())},
        "debits": {currency: format_minor(total, currency) for currency, total in sorted(debits.items())},
        "warnings": [_warning_placed(item, warning) for item in prepared for warning in item.warnings],
        "accounts": sorted({item.account.name for item in prepared}),
    }


def _warning_placed(item: _Prepared, warning: str) -> str:
    """Return the warning naming its statement, unless it already does."""
    identification = item.parsed.identification
    if identification and identification in warning:
        return warning
    return f"{item.label}: {warning}"


def _accounts_for(
    statements: list[ParsedStatement], *, account: BankAccount | None, file_name: str
) -> list[BankAccount]:
    """Return the account of each statement: the one named, else the one with the file's number."""
    numbers = [account_number_normalise(statement.account_number) for statement in statements]
    if account is not None:
        distinct = sorted({number for number in numbers if number})
        if len(distinct) > 1:
            raise BankImportError(
                _(
                    "%(file)s holds statements of several accounts (%(numbers)s): import it without "
                    "--account, once each is added with its number."
                )
                % {"file": file_name, "numbers": ", ".join(distinct)}
            )
        own = account.account_number
        for number in distinct:
            if own and _number_loose(number) != _number_loose(own):
                raise BankImportError(
                    _("%(file)s is a statement of account %(number)s, not of %(name)s (%(own)s).")
                    % {"file": file_name, "number": number, "name": account.name, "own": own}
                )
        return [account] * len(statements)
    found: dict[str, BankAccount] = {}
    for number in numbers:
        if number in found:
            continue
        if not number:
            raise BankImportError(
                _("%(file)s does not say which account it is for: name the account with --account.")
                % {"file": file_name}
            )
        match = _account_by_number(number)
        if match is None:
            raise BankAccountUnknown(
                _(
                    "%(file)s is a statement of account %(number)s, which is not one of the bank "
                    "accounts here: add it with `huikuan bank accounts add NAME --number %(number)s "
                    "--currency CUR`, or name an account with --account."
                )
                % {"file": file_name, "number": number}
            )
        found[number] = match
    return [found[number] for number in numbers]


def _statement_label(statement: ParsedStatement, position: int) -> str:
    if statement.identification:
        return _("statement %(id)s") % {"id": statement.identification}
    return _("statement %(n)d") % {"n": position}


def _currency_of(code: str, *, where: str) -> str:
    try:
        return normalise_currency(code)
    except UnknownCurrency:
        raise BankImportError(
            _("%(where)s: unknown currency %(code)r") % {"where": where, "code": code}
        ) from None


def _minor(amount: Decimal, currency: str, *, where: str) -> int:
    try:
        return to_minor(amount, currency, exact=True)
    except TooManyDecimals:
        raise BankImportError(
            _("%(where)s: %(amount)s has more than %(places)d decimal places, more than %(currency)s allows")
            % {"where": where, "amount": amount, "places": exponent(currency), "currency": currency}
        ) from None
    except ValueError:
        raise BankImportError(
            _("%(where)s: %(amount)s is not an amount") % {"where": where, "amount": amount}
        ) from None


_LIMITS: dict[str, int | None] = {
    name: getattr(BankStatementLine._meta.get_field(name), "max_length", None)
    for name in (
        "counterparty_name",
        "counterparty_account",
        "structured_reference",
        "bank_reference",
        "end_to_end_id",
        "transaction_code",
    )
}


def _fit(value: str, name: str) -> str:
    # Some banks write longer references than the standards allow; the start is what identifies.
    text = (value or "").strip()
    limit = _LIMITS[name]
    return text if limit is None or len(text) <= limit else text[:limit]


def _statement_prepare(
    statement: ParsedStatement, *, account: BankAccount, file_name: str, position: int
) -> _Prepared:
    """Check one statement against its account: currencies, decimals; amounts into minor units."""
    label = _statement_label(statement, position)
    where = f"{file_name}: {label}"
    currency = (
        _currency_of(statement.currency, where=where) if statement.currency.strip() else account.currency
    )
    if currency != account.currency:
        raise BankCurrencyMismatch(
            _("%(where)s is in %(currency)s, but the bank account %(name)s is in %(account_currency)s.")
            % {
                "where": where,
                "currency": currency,
                "name": account.name,
                "account_currency": account.currency,
            }
        )

    def line_where(n: int, line: ParsedLine) -> str:
        return _("%(where)s, line %(n)d (booked %(date)s)") % {
            "where": where,
            "n": n,
            "date": line.booking_date.isoformat(),
        }

    scale = Decimal(1).scaleb(exponent(currency))
    amounts: list[int] = []
    for n, line in enumerate(statement.lines, start=1):
        if line.currency != currency and line.currency.strip():
            line_currency = _currency_of(line.currency, where=line_where(n, line))
            if line_currency != currency:
                raise BankCurrencyMismatch(
                    _(
                        "%(where)s is in %(line_currency)s, but the statement and its account are in "
                        "%(currency)s."
                    )
                    % {"where": line_where(n, line), "line_currency": line_currency, "currency": currency}
                )
        scaled = line.amount * scale
        if scaled == scaled.to_integral_value():
            amounts.append(int(scaled))
        else:  # refused, with where and why
            amounts.append(_minor(line.amount, currency, where=line_where(n, line)))
    opening = (
        None
        if statement.opening_balance is None
        else _minor(statement.opening_balance, currency, where=where)
    )
    closing = (
        None
        if statement.closing_balance is None
        else _minor(statement.closing_balance, currency, where=where)
    )
    return _Prepared(
        parsed=statement,
        account=account,
        label=label,
        currency=currency,
        opening_minor=opening,
        closing_minor=closing,
        amounts=amounts,
        identities=statement_line_identities(statement.lines),
        warnings=list(statement.warnings),
    )


def _line_row(
    line: ParsedLine, *, statement: BankStatement, identity: str, amount_minor: int
) -> BankStatementLine:
    return BankStatementLine(
        account_id=statement.account_id,
        statement_id=statement.pk,
        identity=identity,
        booking_date=line.booking_date,
        value_date=line.value_date,
        currency=statement.currency,
        amount_minor=amount_minor,
        counterparty_name=_fit(line.counterparty_name, "counterparty_name"),
        counterparty_account=_fit(line.counterparty_account, "counterparty_account"),
        remittance=(line.remittance or "").strip(),
        structured_reference=_fit(line.structured_reference, "structured_reference"),
        bank_reference=_fit(line.bank_reference, "bank_reference"),
        end_to_end_id=_fit(line.end_to_end_id, "end_to_end_id"),
        transaction_code=_fit(line.transaction_code, "transaction_code"),
        # Only money coming in can pay an invoice; the rest is kept for reconciliation.
        status=LineStatus.NEW if amount_minor > 0 else LineStatus.EXCLUDED,
    )


def _identities_stored(account: BankAccount, identities: list[str]) -> set[str]:
    stored: set[str] = set()
    for start in range(0, len(identities), BULK_BATCH):
        chunk = identities[start : start + BULK_BATCH]
        stored.update(
            BankStatementLine.objects.filter(account=account, identity__in=chunk).values_list(
                "identity", flat=True
            )
        )
    return stored


def _statement_stored_before(item: _Prepared) -> bool:
    return BankStatement.objects.filter(
        account=item.account,
        identification=item.parsed.identification,
        period_start=item.parsed.period_start,
        period_end=item.parsed.period_end,
        opening_minor=item.opening_minor,
        closing_minor=item.closing_minor,
    ).exists()


def _statements_store(
    prepared: list[_Prepared], *, file_name: str, file_sha256: str, actor: Any
) -> list[BankStatementLine]:
    """Write the statements and their new lines in one transaction; return the lines written.

    A statement none of whose lines is new and that was stored before is not stored again, so
    importing a file twice writes nothing at all.
    """
    user = actor if actor is not None and getattr(actor, "pk", None) else None
    written: list[BankStatementLine] = []
    with transaction.atomic():
        # Two imports of overlapping files for one account wait for each other here, so both
        # cannot find the same line new.
        account_ids = sorted({item.account.pk for item in prepared})
        list(
            BankAccount.objects.select_for_update()
            .filter(pk__in=account_ids)
            .order_by("pk")
            .values_list("pk")
        )
        seen: dict[int, set[str]] = defaultdict(set)
        for item in prepared:
            already = seen[item.account.pk] | _identities_stored(item.account, item.identities)
            new = [n for n, identity in enumerate(item.identities) if identity not in already]
            seen[item.account.pk].update(item.identities)
            if not new and _statement_stored_before(item):
                continue
            statement = BankStatement.objects.create(
                account=item.account,
                format=item.parsed.format,
                identification=item.parsed.identification[:140],
                file_name=file_name[:255],
                file_sha256=file_sha256,
                currency=item.currency,
                period_start=item.parsed.period_start,
                period_end=item.parsed.period_end,
                opening_minor=item.opening_minor,
                closing_minor=item.closing_minor,
                line_count=len(item.amounts),
                new_line_count=len(new),
                warnings=item.warnings,
                imported_by=user,
            )
            lines = item.parsed.lines
            new_rows = [
                _line_row(
                    lines[n], statement=statement, identity=item.identities[n], amount_minor=item.amounts[n]
                )
                for n in new
            ]
            BankStatementLine.objects.bulk_create(new_rows, batch_size=BULK_BATCH)
            written.extend(new_rows)
            audit_record(
                instance=statement,
                action=AuditAction.CREATE,
                actor=user,
                actor_label="" if user is not None else IMPORT_ACTOR_LABEL,
                after={
                    "account": item.account.name,
                    "file": file_name,
                    "lines": len(item.amounts),
                    "new_lines": len(new_rows),
                },
            )
    return written
