"""Bank import: statements and new lines stored once, all or nothing, whatever file comes in.

The file's content is given here as parsed statements (a stand-in for the parsers), so that
these tests are about what the import does with them; the real bank files are in
test_bank_import_files.py.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from huikuan.banking import services
from huikuan.banking.models import BankAccount, BankStatement, BankStatementLine, LineStatus
from huikuan.banking.parsing import ParsedLine, ParsedStatement, StatementParseError
from huikuan.banking.services import (
    BankAccountInvalid,
    BankAccountNotFound,
    BankAccountUnknown,
    BankCurrencyMismatch,
    BankImportError,
    bank_account_create,
    bank_account_get,
    bank_import,
)
from huikuan.core.models import AuditEntry
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db

IBAN = "DE14 5088 0050 0194 7850 00"
DAY = date(2024, 3, 1)


def booking(day: int, amount: str, text: str = "", **fields) -> ParsedLine:
    return ParsedLine(
        booking_date=DAY + timedelta(days=day),
        amount=Decimal(amount),
        currency="EUR",
        remittance=text,
        **fields,
    )


def statement(*lines: ParsedLine, number: str = IBAN, currency: str = "EUR", **fields) -> ParsedStatement:
    return ParsedStatement(
        format="mt940", account_number=number, currency=currency, lines=list(lines), **fields
    )


@pytest.fixture
def bank_file(tmp_path, monkeypatch):
    """Return a maker of bank files whose parsed content is the statements given."""
    contents: dict[Path, list[ParsedStatement]] = {}

    def parse(path, *, mapping, encoding):
        if isinstance(contents[Path(path)], Exception):
            raise contents[Path(path)]
        return contents[Path(path)]

    monkeypatch.setattr(services, "statement_file_parse", parse)

    def make(*statements: ParsedStatement, name: str | None = None) -> Path:
        path = tmp_path / (name or f"file{len(contents)}.sta")
        path.write_text(repr(statements))
        contents[path] = list(statements)
        return path

    make.contents = contents  # type: ignore[attr-defined]
    return make


@pytest.fixture
def account() -> BankAccount:
    return bank_account_create(name="Deutsche EUR", account_number=IBAN, currency="eur")


def stored() -> tuple[int, int]:
    return BankStatement.objects.count(), BankStatementLine.objects.count()


def test_an_import_stores_the_statement_and_its_lines_credits_waiting_for_matching(account, bank_file):
    path = bank_file(
        statement(
            booking(0, "100.00", "INV-1"),
            booking(0, "-20.50", "fee"),
            booking(1, "30", "INV-2"),
            identification="ST1",
            opening_balance=Decimal("1000.00"),
            closing_balance=Decimal("1109.50"),
            period_start=DAY,
            period_end=DAY + timedelta(days=1),
        )
    )

    result = bank_import(path=path)

    assert result == {
        "file": path.name,
        "statements": 1,
        "lines": 3,
        "new_lines": 3,
        "new_credits": 2,
        "credits": {"EUR": "130.00"},
        "debits": {"EUR": "20.50"},
        "warnings": [],
        "accounts": ["Deutsche EUR"],
    }
    saved = BankStatement.objects.get()
    assert (saved.account, saved.identification, saved.opening_minor, saved.closing_minor) == (
        account,
        "ST1",
        100000,
        110950,
    )
    assert (saved.line_count, saved.new_line_count, saved.period_end) == (3, 3, date(2024, 3, 2))
    lines = list(
        BankStatementLine.objects.order_by("booking_date", "amount_minor").values_list(
            "amount_minor", "status"
        )
    )
    assert lines == [(-2050, LineStatus.EXCLUDED), (10000, LineStatus.NEW), (3000, LineStatus.NEW)]
    assert all(line.identity.startswith("sha:") for line in BankStatementLine.objects.all())


def test_the_same_file_again_stores_nothing(account, bank_file):
    path = bank_file(statement(booking(0, "100.00", "INV-1"), booking(0, "-5", "fee"), identification="ST1"))
    bank_import(path=path)
    before = stored()

    again = bank_import(path=path)

    assert stored() == before == (1, 2)
    assert (again["lines"], again["new_lines"]) == (2, 0)
    assert again["credits"] == {"EUR": "100.00"}  # what the file holds, imported before or not


def test_an_overlapping_period_stores_only_the_days_not_seen_before(account, bank_file):
    first = bank_file(statement(booking(0, "10", "A"), booking(1, "20", "B"), booking(1, "20", "B")))
    second = bank_file(statement(booking(1, "20", "B"), booking(1, "20", "B"), booking(2, "30", "C")))
    bank_import(path=first)

    result = bank_import(path=second)

    assert result["new_lines"] == 1
    assert sorted(BankStatementLine.objects.values_list("amount_minor", flat=True)) == [
        1000,
        2000,
        2000,
        3000,
    ]
    assert BankStatement.objects.order_by("pk").last().new_line_count == 1


def test_two_identical_payments_on_one_day_are_two_lines(account, bank_file):
    result = bank_import(path=bank_file(statement(booking(0, "50", "INV-9"), booking(0, "50", "INV-9"))))

    assert result["new_lines"] == 2
    assert BankStatementLine.objects.count() == 2


def test_a_line_with_the_banks_reference_is_recognised_by_it(account, bank_file):
    bank_import(path=bank_file(statement(booking(0, "50", "INV-9", bank_reference="MB1"))))

    result = bank_import(path=bank_file(statement(booking(0, "50", "INV 9 (resent)", bank_reference="MB1"))))

    assert result["new_lines"] == 0
    assert BankStatementLine.objects.get().identity == "ref:MB1"


def test_a_file_holding_the_same_statement_twice_stores_its_lines_once(account, bank_file):
    same = statement(booking(0, "50", "INV-9"), identification="ST1")

    result = bank_import(path=bank_file(same, same))

    assert (result["statements"], result["lines"], result["new_lines"]) == (2, 2, 1)
    assert stored() == (1, 1)


def test_statements_go_to_the_account_with_their_number_written_any_way(bank_file):
    germany = bank_account_create(name="DE", account_number="50880050/0194787400888", currency="EUR")
    swiss = bank_account_create(name="CH", account_number="0035-2915203-10-000", currency="CHF")
    path = bank_file(
        statement(booking(0, "1"), number="50880050/0194787400888"),
        statement(
            ParsedLine(booking_date=DAY, amount=Decimal("2"), currency="CHF"),
            number="0035 2915203 10 000",
            currency="chf",
        ),
    )

    result = bank_import(path=path)

    assert result["accounts"] == ["CH", "DE"]
    assert list(BankStatementLine.objects.order_by("amount_minor").values_list("account", flat=True)) == [
        germany.pk,
        swiss.pk,
    ]
    assert result["credits"] == {"CHF": "2.00", "EUR": "1.00"}


def test_an_unknown_account_is_refused_saying_how_to_add_it(bank_file):
    path = bank_file(statement(booking(0, "1"), number="nl77 abna 0574 9087 65"))

    with pytest.raises(BankAccountUnknown) as refused:
        bank_import(path=path)

    assert "NL77ABNA0574908765" in refused.value.message
    assert "huikuan bank accounts add NAME --number NL77ABNA0574908765 --currency" in refused.value.message
    assert stored() == (0, 0)


def test_a_file_without_an_account_number_needs_the_account_named(account, bank_file):
    path = bank_file(statement(booking(0, "1"), number=""))

    with pytest.raises(BankImportError, match="--account"):
        bank_import(path=path)
    result = bank_import(path=path, account=account)

    assert result["new_lines"] == 1


def test_a_named_account_must_be_the_one_the_file_is_for(account, bank_file):
    path = bank_file(statement(booking(0, "1"), number="NL77ABNA0574908765"))

    with pytest.raises(BankImportError, match="NL77ABNA0574908765.*Deutsche EUR"):
        bank_import(path=path, account=account)
    assert stored() == (0, 0)


def test_a_statement_in_another_currency_than_its_account_is_refused(account, bank_file):
    path = bank_file(statement(booking(0, "1"), currency="USD"))

    with pytest.raises(BankCurrencyMismatch, match="USD.*Deutsche EUR.*EUR"):
        bank_import(path=path)
    assert stored() == (0, 0)


def test_a_line_in_another_currency_is_refused_naming_the_line(account, bank_file):
    other = ParsedLine(booking_date=DAY, amount=Decimal("5"), currency="CNY")
    path = bank_file(statement(booking(0, "1"), other, identification="ST7"))

    with pytest.raises(BankCurrencyMismatch, match="statement ST7, line 2 .*CNY"):
        bank_import(path=path)
    assert stored() == (0, 0)


def test_more_decimals_than_the_currency_has_are_refused(bank_file):
    bank_account_create(name="Yen", account_number="JP1", currency="JPY")
    path = bank_file(
        statement(
            ParsedLine(booking_date=DAY, amount=Decimal("100.5"), currency="JPY"),
            number="JP1",
            currency="JPY",
        )
    )

    with pytest.raises(BankImportError, match="100.5 has more than 0 decimal places"):
        bank_import(path=path)
    assert stored() == (0, 0)


def test_a_parse_error_passes_through_and_writes_nothing(account, bank_file):
    path = bank_file()
    bank_file.contents[path] = StatementParseError(f"{path.name}: line 3: :61: has no amount")

    with pytest.raises(StatementParseError, match="line 3"):
        bank_import(path=path)
    assert stored() == (0, 0)


def test_a_crash_while_writing_lines_leaves_no_statement_behind(account, bank_file, monkeypatch):
    path = bank_file(
        statement(booking(0, "1"), identification="A"), statement(booking(1, "2"), identification="B")
    )
    writes = []
    real_bulk_create = BankStatementLine.objects.bulk_create

    def crash_on_second(rows, **kwargs):
        writes.append(len(rows))
        if len(writes) == 2:
            raise RuntimeError("disk full")
        return real_bulk_create(rows, **kwargs)

    monkeypatch.setattr(BankStatementLine.objects, "bulk_create", crash_on_second)

    with pytest.raises(RuntimeError):
        bank_import(path=path)

    assert writes == [1, 1]
    assert stored() == (0, 0)
    assert not AuditEntry.objects.filter(entity="banking.bankstatement").exists()


def test_the_parsers_warnings_are_kept_on_the_statement_and_reported_naming_it(account, bank_file):
    balance = (
        "Statement ST1 does not balance: opening 100 + lines 10 = 110, but the closing balance is 120 EUR"
    )
    path = bank_file(
        statement(
            booking(0, "10"),
            identification="ST1",
            warnings=["2 entries not booked yet were left out", balance],
        ),
        statement(booking(1, "10"), warnings=["page 2 of 3"]),
    )

    result = bank_import(path=path)

    assert result["warnings"] == [
        "statement ST1: 2 entries not booked yet were left out",
        balance,
        "statement 2: page 2 of 3",
    ]
    assert BankStatement.objects.order_by("pk").first().warnings == [
        "2 entries not booked yet were left out",
        balance,
    ]


def test_who_imported_is_recorded(account, bank_file):
    clerk = get_user_model().objects.create_user("clerk")

    bank_import(path=bank_file(statement(booking(0, "1"), identification="ST1")), actor=clerk)

    saved = BankStatement.objects.get()
    entry = AuditEntry.objects.get(entity="banking.bankstatement")
    assert saved.imported_by == clerk
    assert (entry.actor, entry.entity_id, entry.after["new_lines"]) == (clerk, str(saved.pk), 1)


def _queries(path: Path) -> tuple[int, int]:
    """Return the queries an import takes: (line INSERTs, everything else)."""
    with CaptureQueriesContext(connection) as context:
        bank_import(path=path)
    inserts = [
        q for q in context.captured_queries if q["sql"].startswith('INSERT INTO "banking_bankstatementline"')
    ]
    return len(inserts), len(context.captured_queries) - len(inserts)


def test_an_import_of_a_thousand_lines_takes_no_query_per_line(account, bank_file):
    small = bank_file(statement(*[booking(0, "1", f"L{n}") for n in range(2)]))
    large = bank_file(statement(*[booking(n % 28, "1", f"M{n}") for n in range(1000)], identification="big"))
    small_inserts, small_other = _queries(small)

    large_inserts, large_other = _queries(large)

    assert small_inserts == 1
    assert large_other == small_other
    # Lines go in as multi-row INSERTs; SQLite caps the parameters of one statement.
    assert large_inserts <= 1000 // 40
    assert BankStatementLine.objects.count() == 1002


# --- accounts -------------------------------------------------------------------------------


def test_an_account_is_found_by_id_name_or_number(account):
    assert bank_account_get(key=account.pk) == account
    assert bank_account_get(key="Deutsche EUR") == account
    assert bank_account_get(key="de14508800500194785000") == account
    with pytest.raises(BankAccountNotFound, match="accounts list"):
        bank_account_get(key="nothing")


def test_an_account_number_is_stored_without_spaces_and_in_upper_case(account):
    assert (account.account_number, account.currency) == ("DE14508800500194785000", "EUR")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "Deutsche EUR", "account_number": "X1", "currency": "EUR"}, "already a bank account named"),
        (
            {"name": "Other", "account_number": IBAN.lower(), "currency": "EUR"},
            "already the bank account Deutsche",
        ),
        ({"name": "Other", "account_number": "X2", "currency": "EURO"}, "Unknown currency"),
        ({"name": " ", "account_number": "X3", "currency": "EUR"}, "needs a name"),
    ],
)
def test_an_account_that_cannot_be_added_is_refused(account, fields, message):
    with pytest.raises(BankAccountInvalid, match=message):
        bank_account_create(**fields)
    assert BankAccount.objects.count() == 1


# --- the command ----------------------------------------------------------------------------


def run(*args: str) -> str:
    out = StringIO()
    call_command("bank", *args, stdout=out)
    return out.getvalue()


def test_the_command_adds_and_lists_accounts():
    added = run(
        "accounts",
        "add",
        "ICBC CNY",
        "--number",
        "6222 0202 0000 1234",
        "--currency",
        "cny",
        "--bank",
        "ICBC",
    )

    listed = json.loads(run("accounts", "list", "--format", "json"))

    assert "Bank account" in added and "6222020200001234" in added
    assert [(a["name"], a["number"], a["currency"], a["bank"], a["lines"]) for a in listed] == [
        ("ICBC CNY", "6222020200001234", "CNY", "ICBC", 0)
    ]
    assert "ICBC CNY" in run("accounts", "list")


def test_the_command_saves_a_mapping_from_a_json_file_or_copies_another_accounts(tmp_path):
    mapping = {"columns": {"booking_date": "交易日期", "amount": "金额"}, "encoding": "gbk"}
    (tmp_path / "icbc.json").write_text(json.dumps(mapping, ensure_ascii=False), encoding="utf-8")
    run(
        "accounts",
        "add",
        "ICBC 1",
        "--number",
        "1",
        "--currency",
        "CNY",
        "--mapping",
        str(tmp_path / "icbc.json"),
    )

    run("accounts", "add", "ICBC 2", "--number", "2", "--currency", "CNY", "--mapping", "ICBC 1")

    assert BankAccount.objects.get(name="ICBC 2").csv_mapping == mapping


def test_the_command_imports_and_prints_the_contract_as_json(account, bank_file):
    path = bank_file(statement(booking(0, "100.00"), booking(0, "-1")))

    result = json.loads(run("import", str(path), "--format", "json"))

    assert {
        key: result[key] for key in ("statements", "lines", "new_lines", "credits", "debits", "warnings")
    } == {
        "statements": 1,
        "lines": 2,
        "new_lines": 2,
        "credits": {"EUR": "100.00"},
        "debits": {"EUR": "1.00"},
        "warnings": [],
    }


def test_the_command_reads_the_account_by_name_and_reports_in_text(account, bank_file):
    path = bank_file(statement(booking(0, "100.00"), number=""))

    text = run("import", str(path), "--account", "Deutsche EUR")
    again = run("import", str(path), "--account", str(account.pk))

    assert "1 statement, 1 line: 1 new" in text and "EUR: credits 100.00, debits 0.00" in text
    assert "1 statement, 1 line: 0 new, 1 imported before" in again
    assert "1 new credit waits for matching: huikuan bank match" in text and "matching" not in again


@pytest.mark.parametrize(
    "args",
    [
        ("import", "{missing}"),
        ("import", "{file}", "--account", "nobody"),
        ("import", "{file}", "--mapping", "no-such.json"),
        ("import", "{file}", "--user", "ghost"),
        ("accounts", "add", "X", "--number", "1", "--currency", "ZZZ"),
    ],
)
def test_bad_input_is_one_line_exit_code_2_and_nothing_written(account, bank_file, tmp_path, args):
    path = bank_file(statement(booking(0, "1")))
    filled = [arg.format(file=path, missing=tmp_path / "missing.sta") for arg in args]

    with pytest.raises(CommandError) as refused:
        run(*filled)

    assert refused.value.returncode == 2
    assert "\n" not in str(refused.value)
    assert stored() == (0, 0) and BankAccount.objects.count() == 1


# --- matching from the command ----------------------------------------------------------------


def test_the_command_matches_an_imported_credit_to_the_invoice_it_names(bank_file):
    bank_account_create(name="ICBC", account_number="6222020200001234", currency="CNY")
    invoice = make_invoice(make_customer("C1"), "1200.00", number="INV-2024-0007")
    payment = ParsedLine(
        booking_date=DAY, amount=Decimal("1200.00"), currency="CNY", remittance="货款 INV-2024-0007"
    )
    run("import", str(bank_file(statement(payment, number="6222020200001234", currency="CNY"))))

    result = json.loads(run("match", "--format", "json", "--as-of", "2024-03-02"))
    again = run("match")

    assert (result["lines"], result["applied"], result["as_of"]) == (1, 1, "2024-03-02")
    invoice.refresh_from_db()
    assert invoice.open_minor == 0
    assert BankStatementLine.objects.get().status == LineStatus.APPLIED
    assert again.strip() == "No new credits to match."


def test_the_command_reports_a_match_in_words(bank_file):
    bank_account_create(name="ICBC", account_number="6222020200001234", currency="CNY")
    make_invoice(make_customer("C1"), "1200.00", number="INV-2024-0007")
    payment = ParsedLine(
        booking_date=DAY, amount=Decimal("1200.00"), currency="CNY", remittance="INV-2024-0007"
    )
    stranger = ParsedLine(
        booking_date=DAY, amount=Decimal("55.00"), currency="CNY", counterparty_name="Nobody"
    )
    run("import", str(bank_file(statement(payment, stranger, number="6222020200001234", currency="CNY"))))

    text = run("match")

    assert text.startswith("2 credit lines weighed")
    assert "1 applied" in text and "1 unmatched" in text and "unmatched: 55.00 CNY" in text
    assert "APPLIED 1200.00 CNY → C1 INV-2024-0007 (" in text


def test_a_match_date_that_is_not_a_date_is_refused():
    with pytest.raises(CommandError) as refused:
        run("match", "--as-of", "yesterday")

    assert refused.value.returncode == 2
