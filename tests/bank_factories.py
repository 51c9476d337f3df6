"""Small builders for bank accounts, statements and lines, written directly as an import leaves them."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from huikuan.banking.models import BankAccount, BankStatement, BankStatementLine, LineStatus, PayerAlias
from huikuan.core.money import to_minor
from huikuan.customers.models import Customer

_sequence = itertools.count(1)


def make_bank_account(currency: str = "CNY", name: str | None = None) -> BankAccount:
    n = next(_sequence)
    return BankAccount.objects.create(
        name=name or f"Account {n}", account_number=f"CN{n:018d}", currency=currency, bank_name="Test Bank"
    )


def make_statement(account: BankAccount | None = None, currency: str = "CNY") -> BankStatement:
    account = account or make_bank_account(currency)
    n = next(_sequence)
    return BankStatement.objects.create(
        account=account,
        format="csv",
        identification=f"ST{n}",
        file_name=f"statement-{n}.csv",
        file_sha256=f"{n:064d}",
        currency=account.currency,
        period_start=date(2024, 3, 1),
        period_end=date(2024, 3, 31),
    )


def make_line(
    amount: str | Decimal = "100.00",
    *,
    statement: BankStatement | None = None,
    currency: str | None = None,
    booking_date: date = date(2024, 3, 15),
    payer: str = "",
    account: str = "",
    remittance: str = "",
    structured_reference: str = "",
    status: str = LineStatus.NEW,
) -> BankStatementLine:
    """A statement line; ``amount`` is signed (a debit is negative)."""
    statement = statement or make_statement(currency=currency or "CNY")
    currency = currency or statement.currency
    line = BankStatementLine.objects.create(
        account=statement.account,
        statement=statement,
        identity=f"ref:{next(_sequence)}",
        booking_date=booking_date,
        value_date=booking_date,
        currency=currency,
        amount_minor=to_minor(Decimal(str(amount)), currency),
        counterparty_name=payer,
        counterparty_account=account,
        remittance=remittance,
        structured_reference=structured_reference,
        status=status,
    )
    statement.line_count += 1
    statement.new_line_count += 1
    statement.save(update_fields=["line_count", "new_line_count"])
    return line


def make_alias(customer: Customer, *, account: str = "", name: str = "", confirmations: int = 1) -> None:
    """Payer aliases as earlier confirmed matches would have taught them."""
    from huikuan.banking.matching import account_key, payer_name_key

    if account:
        PayerAlias.objects.create(
            kind="ACCOUNT", value=account_key(account), customer=customer, confirmations=confirmations
        )
    if name:
        PayerAlias.objects.create(
            kind="NAME", value=payer_name_key(name), customer=customer, confirmations=confirmations
        )
