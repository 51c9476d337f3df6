"""The real bank files import through ``huikuan bank import`` with the right counts and totals.

Every expected figure was read by hand from the files in ../shared/data/bank_statements/
(the :61: lines of the MT940 files, the Ntry/TxDtls amounts of the camt.053 files).
"""

from __future__ import annotations

import json
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from huikuan.banking.models import BankStatement, BankStatementLine, LineStatus
from huikuan.banking.services import bank_account_create

pytestmark = [pytest.mark.django_db, pytest.mark.shared_data]

# file: (accounts to add: (number, currency)), statements, lines, credits, debits, warnings
FILES = {
    "abnamro.sta": ((("517852257", "EUR"),), 2, 10, {"EUR": "0.00"}, {"EUR": "345.93"}, 2),
    "mt940.sta": ((("PL29114010810000267002001002", "PLN"),), 1, 3, {"PLN": "0.03"}, {"PLN": "0.00"}, 0),
    "sepa_snippet.sta": (
        (("50880050/0194787400888", "EUR"), ("50880050/0194791600888", "EUR")),
        2,
        11,
        {"EUR": "1430745.72"},
        {"EUR": "3574069.11"},
        1,
    ),
    "camt053.xml": ((("0035-2915203-10-000", "CHF"),), 1, 1, {"CHF": "1284.30"}, {"CHF": "0.00"}, 0),
    "test-camt053-txdtls": (
        (("CH1111000000123456789", "CHF"),),
        1,
        2,
        {"CHF": "3483.00"},
        {"CHF": "0.00"},
        0,
    ),
    "test-camt053.xml": ((("NL77ABNA0574908765", "EUR"),), 1, 4, {"EUR": "1405.31"}, {"EUR": "1418.30"}, 1),
}
# Lines of each file that are money in (the rest are debits).
CREDIT_LINES = {
    "abnamro.sta": 0,
    "mt940.sta": 3,
    "sepa_snippet.sta": 8,
    "camt053.xml": 1,
    "test-camt053-txdtls": 2,
    "test-camt053.xml": 1,
}


@pytest.fixture
def statements_dir(shared_data):
    return shared_data / "bank_statements"


def bank(*args: str) -> dict:
    out = StringIO()
    call_command("bank", "import", *args, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


def add_accounts(name: str) -> None:
    for n, (number, currency) in enumerate(FILES[name][0]):
        bank_account_create(name=f"{name} {n}", account_number=number, currency=currency)


def stored() -> tuple[int, int]:
    return BankStatement.objects.count(), BankStatementLine.objects.count()


@pytest.mark.parametrize("name", sorted(FILES))
def test_a_real_file_imports_with_the_counts_and_totals_it_holds(statements_dir, name):
    _accounts, statements, lines, credits, debits, warnings = FILES[name]
    add_accounts(name)

    result = bank(str(statements_dir / name))

    assert (result["statements"], result["lines"], result["new_lines"]) == (statements, lines, lines)
    assert (result["credits"], result["debits"]) == (credits, debits)
    assert len(result["warnings"]) == warnings
    assert stored() == (statements, lines)
    statuses = list(BankStatementLine.objects.values_list("status", flat=True))
    assert statuses.count(LineStatus.NEW) == CREDIT_LINES[name]
    assert statuses.count(LineStatus.EXCLUDED) == lines - CREDIT_LINES[name]


@pytest.mark.parametrize("name", sorted(FILES))
def test_a_real_file_imported_again_creates_nothing(statements_dir, name):
    add_accounts(name)
    bank(str(statements_dir / name))
    before = stored()

    again = bank(str(statements_dir / name))

    assert stored() == before
    assert (again["lines"], again["new_lines"]) == (FILES[name][2], 0)


def test_a_camt_line_keeps_its_dates_amount_payer_and_the_banks_reference(statements_dir):
    add_accounts("camt053.xml")

    bank(str(statements_dir / "camt053.xml"))

    line = BankStatementLine.objects.get()
    statement = BankStatement.objects.get()
    assert (line.booking_date, line.value_date, line.amount_minor, line.currency) == (
        date(2023, 1, 25),
        date(2023, 1, 25),
        128430,
        "CHF",
    )
    assert (line.counterparty_name, line.remittance, line.end_to_end_id) == (
        "PAYEE",
        "PAYMENT INFO",
        "9502830971",
    )
    assert line.identity == "ref:8082230156M02SJ62/1010"
    assert (statement.format, statement.opening_minor, statement.closing_minor) == ("camt.053", 83201, 211631)
    assert statement.period_start == statement.period_end == date(2023, 1, 25)


def test_a_split_camt_entry_becomes_one_line_per_transaction(statements_dir):
    add_accounts("test-camt053-txdtls")

    bank(str(statements_dir / "test-camt053-txdtls"))

    lines = BankStatementLine.objects.order_by("amount_minor")
    assert [(line.amount_minor, line.structured_reference) for line in lines] == [
        (129600, "302388292000022222222222222"),
        (218700, "302388292000011111111111111"),
    ]
    assert len({line.identity for line in lines}) == 2


def test_mt940_lines_without_a_bank_reference_are_identified_by_content(statements_dir):
    add_accounts("abnamro.sta")

    bank(str(statements_dir / "abnamro.sta"))

    identities = list(BankStatementLine.objects.values_list("identity", flat=True))
    assert all(identity.startswith("sha:") for identity in identities)
    assert BankStatementLine.objects.filter(amount_minor=-14148, booking_date=date(2011, 5, 23)).exists()


def test_a_file_overlapping_an_earlier_one_adds_only_the_new_days(statements_dir, tmp_path):
    """abnamro.sta holds the statement of 22–23 May, then that of 24 May: import the first, then all."""
    add_accounts("abnamro.sta")
    text = (statements_dir / "abnamro.sta").read_text(encoding="latin-1")
    first_statement = text[: text.index("\n-") + 2] + "\n"
    (tmp_path / "may23.sta").write_text(first_statement, encoding="latin-1")
    bank(str(tmp_path / "may23.sta"))
    assert stored() == (1, 8)

    result = bank(str(statements_dir / "abnamro.sta"))

    assert (result["lines"], result["new_lines"]) == (10, 2)
    assert stored() == (2, 10)
    assert BankStatement.objects.order_by("pk").last().identification.endswith("19322/1")


def test_an_unknown_account_is_refused_with_the_number_and_how_to_add_it(statements_dir):
    with pytest.raises(CommandError) as refused:
        bank(str(statements_dir / "mt940.sta"))

    assert refused.value.returncode == 2
    assert "PL29114010810000267002001002" in str(refused.value)
    assert "huikuan bank accounts add NAME --number PL29114010810000267002001002" in str(refused.value)
    assert stored() == (0, 0)


def test_an_account_in_another_currency_is_refused(statements_dir):
    bank_account_create(name="Poland", account_number="PL29114010810000267002001002", currency="EUR")

    with pytest.raises(CommandError) as refused:
        bank(str(statements_dir / "mt940.sta"))

    assert refused.value.returncode == 2
    assert "PLN" in str(refused.value) and "EUR" in str(refused.value)
    assert stored() == (0, 0)


def test_a_file_of_two_accounts_cannot_go_to_one_named_account(statements_dir):
    add_accounts("sepa_snippet.sta")

    with pytest.raises(CommandError, match="several accounts") as refused:
        bank(str(statements_dir / "sepa_snippet.sta"), "--account", "sepa_snippet.sta 0")

    assert refused.value.returncode == 2
    assert stored() == (0, 0)


def test_a_crash_after_the_first_statement_row_leaves_nothing(statements_dir, monkeypatch):
    add_accounts("abnamro.sta")
    real_bulk_create = BankStatementLine.objects.bulk_create

    def crash(rows, **kwargs):
        assert BankStatement.objects.exists()  # the statement row was written
        raise RuntimeError("connection lost")

    monkeypatch.setattr(BankStatementLine.objects, "bulk_create", crash)
    with pytest.raises(RuntimeError):
        bank(str(statements_dir / "abnamro.sta"))
    assert stored() == (0, 0)
    monkeypatch.setattr(BankStatementLine.objects, "bulk_create", real_bulk_create)

    result = bank(str(statements_dir / "abnamro.sta"))

    assert result["new_lines"] == 10


def test_xml_with_an_external_entity_is_refused_and_writes_nothing(tmp_path):
    bank_account_create(name="CH", account_number="CH1111000000123456789", currency="CHF")
    path = tmp_path / "evil.xml"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>&x;</BkToCstmrStmt></Document>'
    )

    with pytest.raises(CommandError) as refused:
        bank(str(path))

    assert refused.value.returncode == 2 and "\n" not in str(refused.value)
    assert stored() == (0, 0)


# --- a Chinese bank's CSV export (GBK) read through the account's mapping -------------------------

GBK_CSV = (
    "中国工商银行 账户明细\r\n"
    "账号：6222020200001234\r\n"
    "交易日期,对方户名,对方账号,摘要,借方发生额,贷方发生额,余额,币种\r\n"
    '2024-03-01,上海甲乙贸易有限公司,6217000010001234567,货款 INV-2024-001,,"12,345.60",112345.60,人民币\r\n'
    "2024-03-01,中国工商银行,,手续费,15.00,,112330.60,人民币\r\n"
    "2024-03-02,北京丙丁科技有限公司,6217000010007654321,发票 INV-2024-002 INV-2024-003,,8000.00,120330.60,人民币\r\n"
    "合计,,,,15.00,20345.60,,\r\n"
)


@pytest.fixture
def gbk_file(tmp_path):
    path = tmp_path / "icbc.csv"
    path.write_bytes(GBK_CSV.encode("gbk"))
    return path


def test_a_gbk_csv_imports_through_the_accounts_saved_mapping(gbk_file):
    call_command(
        "bank", "accounts", "add", "ICBC", "--number", "6222020200001234", "--currency", "CNY", "--mapping", "icbc",
        stdout=StringIO(),
    )  # fmt: skip

    result = bank(str(gbk_file), "--account", "ICBC", "--encoding", "gbk")

    assert (result["statements"], result["lines"], result["new_lines"]) == (1, 3, 3)
    assert (result["credits"], result["debits"]) == ({"CNY": "20345.60"}, {"CNY": "15.00"})
    payer = BankStatementLine.objects.get(amount_minor=1234560)
    assert (payer.counterparty_name, payer.counterparty_account, payer.status) == (
        "上海甲乙贸易有限公司",
        "6217000010001234567",
        LineStatus.NEW,
    )
    assert "INV-2024-001" in payer.remittance
    assert BankStatementLine.objects.get(amount_minor=-1500).status == LineStatus.EXCLUDED
    assert bank(str(gbk_file), "--account", "ICBC")["new_lines"] == 0


def test_a_gbk_csv_with_its_own_column_mapping_file_finds_its_account_by_the_number_in_it(gbk_file, tmp_path):
    mapping = {
        "columns": {
            "booking_date": "交易日期",
            "credit": "贷方发生额",
            "debit": "借方发生额",
            "counterparty_name": "对方户名",
            "remittance": "摘要",
        },
        "currency": "CNY",
        "encoding": "gbk",
    }
    (tmp_path / "mapping.json").write_text(json.dumps(mapping, ensure_ascii=False), encoding="utf-8")
    bank_account_create(name="ICBC", account_number="6222 0202 0000 1234", currency="CNY")

    result = bank(str(gbk_file), "--mapping", str(tmp_path / "mapping.json"))

    assert (result["lines"], result["credits"], result["accounts"]) == (3, {"CNY": "20345.60"}, ["ICBC"])
