"""Reading import files and parsing their cells: pure, no database."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook

from huikuan.core.money import CURRENCY_EXPONENTS, to_minor
from huikuan.core.tabular import (
    CellError,
    Column,
    ImportResult,
    TableError,
    amount_minor_parse,
    amount_parse,
    amount_split,
    amount_to_minor,
    currency_parse,
    date_format_normalise,
    date_parse,
    encoding_detect,
    header_match,
    integer_parse,
    table_open,
)

DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31))
CURRENCIES = st.sampled_from(sorted(CURRENCY_EXPONENTS))


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["2024-01-31", "2024/1/31", "2024/01/31", "2024.1.31", "2024年1月31日", "2024 年 1 月 31 日", "20240131",
     " 2024-01-31 ", "2024-01-31 00:00:00", "2024-01-31T08:30"],
)  # fmt: skip
def test_unambiguous_dates_are_read_without_options(text):
    assert date_parse(text) == date(2024, 1, 31)


def test_excel_date_cells_are_read_as_dates():
    assert date_parse(datetime(2024, 1, 31, 0, 0)) == date(2024, 1, 31)
    assert date_parse(date(2024, 1, 31)) == date(2024, 1, 31)


@pytest.mark.parametrize("text", ["1/31/2024", "31/1/2024", "01/02/2024", "1-2-24", "31.01.2024"])
def test_day_month_order_is_never_guessed(text):
    with pytest.raises(CellError, match="--date-format"):
        date_parse(text)


def test_a_date_format_reads_month_first_and_day_first_dates():
    assert date_parse("1/31/2024", date_format="%m/%d/%Y") == date(2024, 1, 31)
    assert date_parse("31/1/2024", date_format="%d/%m/%Y") == date(2024, 1, 31)
    assert date_parse("2024-01-31", date_format="%d/%m/%Y") == date(2024, 1, 31)  # ISO still reads


def test_a_date_that_does_not_match_the_date_format_says_so():
    with pytest.raises(CellError, match=r'"31/1/2024" does not match --date-format %m/%d/%Y'):
        date_parse("31/1/2024", date_format="%m/%d/%Y")


@pytest.mark.parametrize(
    ("value", "message"),
    [("2024-02-30", "is not a real date"), ("yesterday", "is not a date; write it as YYYY-MM-DD"),
     ("", "a date is required"), (45322, "is a number, not a date")],
)  # fmt: skip
def test_bad_dates_are_explained(value, message):
    with pytest.raises(CellError, match=message):
        date_parse(value)


@given(DATES)
def test_every_unambiguous_spelling_of_a_date_reads_back_as_that_date(day):
    spellings = [
        day.isoformat(),
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}年{day.month}月{day.day}日",
        day.strftime("%Y%m%d"),
    ]
    assert {date_parse(text) for text in spellings} == {day}


@given(DATES, st.sampled_from(["%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%m-%d-%Y", "%d %b %Y"]))
def test_a_date_written_with_a_date_format_reads_back_with_it(day, pattern):
    assert date_parse(day.strftime(pattern), date_format=pattern) == day


@given(DATES)
def test_slash_dates_without_a_date_format_are_always_refused(day):
    with pytest.raises(CellError, match="could be month/day or day/month"):
        date_parse(f"{day.month}/{day.day}/{day.year}")


def test_date_formats_may_be_written_as_letters():
    assert date_format_normalise("MM/DD/YYYY") == "%m/%d/%Y"
    assert date_format_normalise("%d/%m/%Y") == "%d/%m/%Y"
    with pytest.raises(ValueError, match="must name the day, the month and the year"):
        date_format_normalise("%m/%Y")


# --- amounts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "code"),
    [("1234.5", "1234.5", None), ("1,234.56", "1234.56", None), ("¥1,234.56", "1234.56", None),
     ("￥1,234.56", "1234.56", None), ("$1,234.56", "1234.56", None), ("€ 99", "99", None),
     ("£0.5", "0.5", None), ("US$12", "12", None), ("1,234.56 USD", "1234.56", "USD"),
     ("CNY 1234", "1234", "CNY"), ("RMB 88.8", "88.8", "CNY"), ("1,000元", "1000", "CNY"),
     ("(100.00)", "-100.00", None), ("-5", "-5", None), ("-¥5", "-5", None), ("(¥1,000.00)", "-1000.00", None),
     (1234, "1234", None), (1234.56, "1234.56", None), (0.1, "0.1", None)],
)  # fmt: skip
def test_amounts_are_read_in_the_forms_spreadsheets_show(text, amount, code):
    assert amount_split(text) == (Decimal(amount), code)


@pytest.mark.parametrize(
    "text", ["12abc", "1,50", "1.234,56", "12,34.5", "1e5", "--5", "(-5)", "USD", "", "NaN", "1 000"]
)
def test_things_that_are_not_amounts_are_refused(text):
    with pytest.raises(CellError):
        amount_parse(text)


def test_an_amount_with_more_decimals_than_its_currency_is_refused_not_rounded():
    assert amount_to_minor(Decimal("1.50"), "CNY") == 150
    with pytest.raises(
        CellError, match=r"1.234 has more decimal places than CNY allows \(2 decimal places\)"
    ):
        amount_to_minor(Decimal("1.234"), "CNY")
    with pytest.raises(CellError, match="JPY allows \\(no decimal places\\)"):
        amount_to_minor(Decimal("10.5"), "JPY")
    assert amount_to_minor(Decimal("1.234"), "KWD") == 1234


def test_absurdly_large_amounts_are_refused():
    with pytest.raises(CellError, match="too large"):
        amount_minor_parse("99999999999999999", "CNY")


@given(
    st.integers(min_value=-(10**13), max_value=10**13),
    CURRENCIES,
    st.booleans(),
    st.sampled_from(["", "¥", "$", "€", "£"]),
    st.sampled_from(["", " {code}"]),
)
def test_any_exact_amount_reads_back_in_any_spelling(minor, currency, grouped, symbol, suffix):
    places = CURRENCY_EXPONENTS[currency]
    amount = Decimal(minor).scaleb(-places)
    body = f"{abs(amount):,f}" if grouped else f"{abs(amount):f}"
    text = f"{symbol}{body}{suffix.format(code=currency)}"
    if amount < 0:
        text = f"({text})"
    assert amount_minor_parse(text, currency) == (minor, currency if suffix else None)


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=6, allow_nan=False), CURRENCIES)
def test_the_fast_path_for_plain_decimals_agrees_with_money(amount, currency):
    text = f"{amount:f}"
    try:
        expected = to_minor(amount, currency, exact=True)
    except ValueError:
        with pytest.raises(CellError, match="more decimal places"):
            amount_minor_parse(text, currency)
    else:
        assert amount_minor_parse(text, currency) == (expected, None)


def test_currencies_are_iso_codes_or_common_names():
    assert [currency_parse(c) for c in ("usd", " CNY ", "RMB", "人民币", "美元")] == [
        "USD",
        "CNY",
        "CNY",
        "CNY",
        "USD",
    ]
    with pytest.raises(CellError, match='"XYZ" is not an ISO 4217 currency code'):
        currency_parse("XYZ")


def test_whole_numbers_accept_spreadsheet_spellings():
    assert [integer_parse(v) for v in ("30", 30.0, "45天", "60 days")] == [30, 30, 45, 60]
    with pytest.raises(CellError, match="not a whole number"):
        integer_parse("thirty")


# --- files -----------------------------------------------------------------------------------


def _rows(path, **options):
    with table_open(path, **options) as table:
        return table.headers, table.header_row, [(n, cells[:-1]) for n, cells in table.rows()]


def test_csv_rows_carry_the_row_number_a_spreadsheet_shows(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text('code,name\nC1,"two\nlines"\n\nC2,x\n,\n', encoding="utf-8")

    headers, header_row, rows = _rows(path)

    assert (headers, header_row) == (["code", "name"], 1)
    assert rows == [(2, ["C1", "two\nlines"]), (4, ["C2", "x"])]


def test_short_rows_are_padded_and_long_rows_cut_to_the_header(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("a,b,c\n1\n1,2,3,4\n", encoding="utf-8")
    assert _rows(path)[2] == [(2, ["1", "", ""]), (3, ["1", "2", "3"])]


@pytest.mark.parametrize(
    ("encoding", "expected"), [("utf-8", "utf-8-sig"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030")]
)
def test_the_encoding_is_detected(tmp_path, encoding, expected):
    path = tmp_path / "a.csv"
    path.write_bytes("客户编码,客户名称\nC1,上海回款有限公司\n".encode(encoding))

    assert encoding_detect(path) == expected
    assert _rows(path)[0] == ["客户编码", "客户名称"]  # no BOM left in the first header


def test_a_wrong_encoding_given_by_the_user_is_reported(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("code,name\nC1,上海回款\n".encode("gbk"))
    with pytest.raises(TableError, match="cannot be read as utf-8"):
        _rows(path, encoding="utf-8")
    assert _rows(path, encoding="gbk")[2] == [(2, ["C1", "上海回款"])]


def test_xlsx_rows_keep_their_sheet_row_numbers_and_cell_types(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append([])  # an empty first row: the header is on row 2
    sheet.append(["issue_date", "amount"])
    sheet.append([datetime(2024, 1, 31), 1234.5])
    sheet.append([])
    sheet.append([datetime(2024, 2, 1), 7])
    path = tmp_path / "a.xlsx"
    book.save(path)

    headers, header_row, rows = _rows(path)

    assert (headers, header_row) == (["issue_date", "amount"], 2)
    assert rows == [(3, [datetime(2024, 1, 31), 1234.5]), (5, [datetime(2024, 2, 1), 7])]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [("a.xls", b"x", "old .xls"), ("a.json", b"{}", "only .csv and .xlsx"), ("a.csv", b"", "empty"),
     ("a.xlsx", b"not a zip", "not a readable .xlsx")],
)  # fmt: skip
def test_unreadable_files_are_reported(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(TableError, match=message):
        _rows(path)


def test_headers_match_names_and_aliases_and_report_missing_ones(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(" 客户编码 ,AMOUNT,extra\n", encoding="utf-8")
    columns = [Column("code", ("客户编码",), required=True), Column("amount", required=True),
               Column("name", required=True), Column("note")]  # fmt: skip
    result = ImportResult(kind="x", path=str(path))

    with table_open(path) as table:
        header = header_match(table, columns, result)

    assert header.index == {"code": 0, "amount": 1, "name": 3, "note": 3}
    assert header.label["code"] == "客户编码"
    assert [p.format("a.csv") for p in result.problems] == ["a.csv:1:name: required column name is missing"]


def test_problems_beyond_the_first_hundred_are_counted():
    result = ImportResult(kind="x", path="f.csv")
    for row in range(2, 152):
        result.problem(row, "amount", "bad")
    lines = result.problem_lines(100)
    assert lines[0] == "f.csv:2:amount: bad"
    assert lines[-1] == "… and 50 more problems"
    assert len(lines) == 101
