"""Telling bank files apart by their content and name, and reading each with its parser."""

from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from huikuan.banking.parsing import StatementFormat, StatementParseError
from huikuan.banking.parsing.detect import statement_file_parse, statement_format_detect

D = Decimal


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("name", "kind", "lines"),
    [
        ("test-camt053.xml", StatementFormat.CAMT053, [4]),
        ("test-camt053-txdtls", StatementFormat.CAMT053, [2]),  # no extension: the content decides
        ("camt053.xml", StatementFormat.CAMT053, [1]),
        ("abnamro.sta", StatementFormat.MT940, [8, 2]),
        ("sepa_snippet.sta", StatementFormat.MT940, [4, 7]),
        ("mt940.sta", StatementFormat.MT940, [3]),
    ],
)
def test_each_real_file_is_recognised_and_read(shared_data, name, kind, lines):
    statements = statement_file_parse(shared_data / "bank_statements" / name)

    assert {statement.format for statement in statements} == {kind}
    assert [len(statement.lines) for statement in statements] == lines


def test_mt940_in_a_txt_file_is_read_as_mt940_not_csv(tmp_path):
    path = tmp_path / "export.txt"
    path.write_bytes(
        b":20:X\r\n:25:1\r\n:60F:C240101EUR0,\r\n:61:240105C1,NTRF\r\n:62F:C240105EUR1,\r\n-\r\n"
    )

    [statement] = statement_file_parse(path)

    assert statement.format == StatementFormat.MT940
    assert statement.lines[0].amount == D("1")


def test_xml_with_a_byte_order_mark_is_read_as_camt(tmp_path):
    path = tmp_path / "statement.dat"
    path.write_bytes(
        b'\xef\xbb\xbf<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
        b"<BkToCstmrStmt><Stmt><Id>1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy>"
        b"</Acct></Stmt></BkToCstmrStmt></Document>"
    )

    [statement] = statement_file_parse(path)

    assert (statement.format, statement.account_number, statement.lines) == (
        "camt.053",
        "DE89370400440532013000",
        [],
    )


@pytest.mark.parametrize(
    "head",
    [
        b"{1:F01BANKDEFFAXXX0000000000}{2:O940...}{4:\n:20:REF\n:25:123\n",
        b"\x01\n:20:REF\n:25:123\n:28C:1/1\n",
        b"ABNANL2A\n940\nABNANL2A\n:20:ABN AMRO BANK NV\n:25:517852257\n",
    ],
)
def test_mt940_is_recognised_inside_envelopes_and_after_bank_headers(head):
    assert statement_format_detect(Path("file.bin"), head) == StatementFormat.MT940


def test_csv_without_a_mapping_is_refused_naming_the_presets(tmp_path):
    path = tmp_path / "bank.csv"
    path.write_text("Date,Amount\n2024-01-01,1\n")

    with pytest.raises(
        StatementParseError, match="read with a column mapping.*presets: ccb, cmb, generic, icbc"
    ):
        statement_file_parse(path)


def test_xlsx_is_read_with_the_mapping_given(tmp_path):
    workbook = Workbook()
    workbook.active.append(["Date", "Amount"])
    workbook.active.append(["2024-01-02", "-3.50"])
    path = tmp_path / "bank.xlsx"
    workbook.save(path)

    with pytest.raises(StatementParseError, match="read with a column mapping"):
        statement_file_parse(path)
    [statement] = statement_file_parse(path, mapping={"preset": "generic", "currency": "EUR"})
    assert (statement.format, statement.lines[0].amount) == (StatementFormat.XLSX, D("-3.50"))


def test_csv_encoding_given_by_the_caller_wins(tmp_path):
    path = tmp_path / "big5.csv"
    path.write_bytes("日期,金額\n2024-01-02,5.00\n".encode("big5"))
    mapping = {"columns": {"booking_date": "日期", "amount": "金額"}, "currency": "TWD"}

    [statement] = statement_file_parse(path, mapping=mapping, encoding="big5")

    assert statement.lines[0].amount == D("5.00")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old .xls format"),
        ("scan.pdf", b"%PDF-1.7\n", "not a bank statement file that can be read"),
        ("empty.sta", b"", "The file is empty"),
        ("lines.sta", b":61:2401010101C1,00NTRF\n:62F:C240101EUR1,\n", "no statement"),
    ],
)
def test_files_that_are_no_statement_are_refused_clearly(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(StatementParseError, match=message):
        statement_file_parse(path)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(StatementParseError, match="No such file: gone.sta"):
        statement_file_parse(tmp_path / "gone.sta")


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path, settings):
    settings.HUIKUAN_BANK_FILE_MAX_BYTES = 1024 * 1024
    path = tmp_path / "huge.sta"
    path.write_bytes(b":20:X\n" + b" " * (1024 * 1024 + 1))

    with pytest.raises(StatementParseError, match="bank files up to 1 MB are read"):
        statement_file_parse(path)
