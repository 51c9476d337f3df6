"""Whatever a bank file holds, reading it either works or raises StatementParseError, and soon."""

from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from huikuan.banking.parsing import StatementParseError
from huikuan.banking.parsing.detect import statement_file_parse
from tests.conftest import SHARED_DATA

FUZZ = settings(
    max_examples=120,
    deadline=5000,  # milliseconds: a parser that loops or backtracks badly fails here
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
MAPPING = {"preset": "generic", "currency": "EUR"}
SUFFIXES = st.sampled_from([".xml", ".sta", ".940", ".csv", ".txt", ".xlsx", ""])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("bank-fuzz")


@pytest.fixture(scope="module")
def real_files():
    folder = SHARED_DATA / "bank_statements"
    if not folder.is_dir():
        pytest.skip(f"real data folder {folder} is not present in this checkout")
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def read_or_refuse(workdir: Path, data: bytes, suffix: str, mapping: dict | None = MAPPING) -> None:
    """Read the data as a file; only StatementParseError may come out, and results must be sane."""
    path = workdir / f"statement{suffix}"
    path.write_bytes(data)
    try:
        statements = statement_file_parse(path, mapping=mapping)
    except StatementParseError as error:
        assert error.message
        return
    for statement in statements:
        assert len(statement.currency) == 3
        for line in statement.lines:
            assert line.amount.is_finite()
            assert line.currency
            assert len(line.bank_reference) <= 140 and len(line.counterparty_account) <= 64


@FUZZ
@given(data=st.binary(max_size=1500), suffix=SUFFIXES)
def test_random_bytes_are_read_or_refused(workdir, data, suffix):
    read_or_refuse(workdir, data, suffix)


MUTATION = st.tuples(
    st.sampled_from(["flip", "delete", "insert", "duplicate", "truncate"]),
    st.integers(min_value=0, max_value=20_000),
    st.binary(min_size=1, max_size=6),
)


def mutated(data: bytes, mutations: list[tuple[str, int, bytes]]) -> bytes:
    for kind, where, chunk in mutations:
        position = where % (len(data) + 1)
        if kind == "flip" and position < len(data):
            data = data[:position] + bytes([data[position] ^ chunk[0]]) + data[position + 1 :]
        elif kind == "delete":
            data = data[:position] + data[position + len(chunk) :]
        elif kind == "insert":
            data = data[:position] + chunk + data[position:]
        elif kind == "duplicate":
            data = data[:position] + data[position : position + 40] + data[position:]
        elif kind == "truncate":
            data = data[:position]
    return data


@pytest.mark.shared_data
@FUZZ
@given(choice=st.integers(min_value=0), mutations=st.lists(MUTATION, min_size=1, max_size=6))
def test_mutated_real_files_are_read_or_refused(workdir, real_files, choice, mutations):
    names = sorted(real_files)
    name = names[choice % len(names)]

    read_or_refuse(workdir, mutated(real_files[name], mutations), Path(name).suffix)


MT940_PIECES = st.sampled_from(
    [":20:", ":25:", ":28C:", ":28:", ":60F:", ":60M:", ":61:", ":86:", ":62F:", ":62M:", ":64:", ":65:", ":NS:",
     "-", "-}", "{1:F01BANK}{2:O940}{4:", "{5:{CHK:1}}", "\x01", "\x03", "C240101EUR1,00", "D991231PLN0,",
     "2401010102C1,00NTRFNONREF//B1", "2312310101RD5,NMSC", "2402300230C1,NTRF", "166?00GUTSCHRIFT?20EREF+E1",
     "?21SVWZ+INV 1?31DE44500105175407324931?32NAME?33REST", "Z RACH.: 1234567890; OD: JAN", "?", "+", "//", "\n"]
)  # fmt: skip
MT940_TEXT = st.lists(
    st.one_of(MT940_PIECES, st.text(alphabet="0123456789CDREUR,.?/+ :\n-", max_size=20)), max_size=40
).map("".join)


@FUZZ
@given(text=MT940_TEXT)
def test_mt940_like_text_is_read_or_refused(workdir, text):
    read_or_refuse(workdir, text.encode("utf-8"), ".sta")


CAMT_NAMES = st.sampled_from(
    ["Stmt", "Ntry", "Amt", "CdtDbtInd", "Bal", "Tp", "CdOrPrtry", "Cd", "Sts", "BookgDt", "ValDt", "Dt", "DtTm",
     "NtryDtls", "TxDtls", "Refs", "EndToEndId", "AcctSvcrRef", "RltdPties", "Dbtr", "Cdtr", "Pty", "Nm",
     "DbtrAcct", "Id", "IBAN", "Othr", "RmtInf", "Ustrd", "Strd", "CdtrRefInf", "Ref", "Acct", "Ccy", "FrToDt",
     "FrDtTm", "ToDtTm", "AmtDtls", "TxAmt", "BkTxCd", "Domn", "Fmly", "SubFmlyCd", "Prtry", "ElctrncSeqNb"]
)  # fmt: skip
CAMT_TEXT = st.one_of(
    st.sampled_from(["CRDT", "DBIT", "BOOK", "PDNG", "OPBD", "CLBD", "PRCD", "2024-01-31", "2024-02-30T10:00:00",
                     "12.50", "1e5", "NaN", "-1", "0.001", "EUR", "JPY", "XXX", ""]),
    st.text(alphabet="abcXYZ0123456789.-", max_size=12),
)  # fmt: skip


def _element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda name, attribute, body: f"<{name}{attribute}>{body}</{name}>",
        CAMT_NAMES,
        st.sampled_from(["", ' Ccy="EUR"', ' Ccy="JPY"', ' Ccy="??"']),
        st.one_of(CAMT_TEXT, st.lists(children, max_size=4).map("".join)),
    )


CAMT_BODY = st.recursive(CAMT_TEXT, _element, max_leaves=30)


@FUZZ
@given(body=st.lists(CAMT_BODY, max_size=4).map("".join), version=st.integers(min_value=1, max_value=9))
def test_camt_like_xml_is_read_or_refused(workdir, body, version):
    document = (
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.0{version}">'
        f"<BkToCstmrStmt><Stmt>{body}</Stmt>{body}</BkToCstmrStmt></Document>"
    )

    read_or_refuse(workdir, document.encode(), ".xml")


CSV_CELL = st.one_of(
    st.sampled_from(["Date", "Amount", "Credit", "Debit", "Balance", "Currency", "2024-01-31", "20240131", "1,234.56",
                     "(5.00)", "-", "合计", "¥12", "USD", "Total", "1/2/2024", ""]),
    st.text(max_size=10),
)  # fmt: skip
CSV_TEXT = st.lists(st.lists(CSV_CELL, max_size=6).map(",".join), max_size=12).map("\n".join)


@FUZZ
@given(text=CSV_TEXT, preset=st.sampled_from(["generic", "icbc", "ccb", "cmb"]),
       encoding=st.sampled_from(["utf-8", "gbk", "utf-16"]))  # fmt: skip
def test_random_csv_text_is_read_or_refused(workdir, text, preset, encoding):
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8")

    read_or_refuse(workdir, data, ".csv", {"preset": preset})


@pytest.fixture(scope="module")
def workbook_bytes(tmp_path_factory):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Account: 12-3456-789"])
    sheet.append(["Date", "Description", "Money in", "Money out", "Balance", "Currency"])
    sheet.append([datetime(2024, 6, 3), "INV 7", 1200.5, None, 1300.5, "USD"])
    sheet.append(["2024-06-04", "fee", None, "2.25", 1298.25, "USD"])
    path = tmp_path_factory.mktemp("workbook") / "statement.xlsx"
    workbook.save(path)
    return path.read_bytes()


@FUZZ
@given(mutations=st.lists(MUTATION, min_size=1, max_size=4))
def test_mutated_workbooks_are_read_or_refused(workdir, workbook_bytes, mutations):
    read_or_refuse(workdir, mutated(workbook_bytes, mutations), ".xlsx")


def test_the_unmutated_workbook_is_read(workdir, workbook_bytes):
    path = workdir / "intact.xlsx"
    path.write_bytes(workbook_bytes)

    [statement] = statement_file_parse(path, mapping=MAPPING)

    assert [str(line.amount) for line in statement.lines] == ["1200.5", "-2.25"]
