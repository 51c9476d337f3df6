"""CSV and XLSX bank exports read through a column mapping: Chinese banks' layouts, GBK, title rows."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import Workbook

from huikuan.banking.parsing import StatementFormat, StatementParseError
from huikuan.banking.parsing.tabular import PRESETS, mapping_check, tabular_parse

D = Decimal

ICBC_ROWS = [
    "中国工商银行 账户明细查询",
    "账号：6222 0212 3456 7890,,户名：上海某某贸易有限公司",
    "起止日期：2024-01-01 至 2024-01-31",
    "",
    "交易时间,对方单位名称,对方账号,摘要,用途,借方发生额,贷方发生额,余额",
    '2024-01-05 10:00:00,上海甲公司,3100 1234 5678 90,货款,INV-2024-0001,,"12,000.00",112000.00',
    "2024-01-06 11:00:00,国家电网上海分公司,1234,电费,,500.00,,111500.00",
    "2024-01-07 09:30:00,北京乙公司,11002233,转账,发票 INV-2024-0002 INV-2024-0003,,3000.50,114500.50",
    '合计,,,,,500.00,"15,000.50",',
]


def write_csv(path, rows, encoding="gbk"):
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode(encoding))
    return path


@pytest.fixture
def icbc_csv(tmp_path):
    return write_csv(tmp_path / "明细.csv", ICBC_ROWS)


def test_gbk_export_with_title_rows_is_read_below_its_header(icbc_csv):
    [statement] = tabular_parse(icbc_csv, mapping={"preset": "icbc"})

    assert statement.format == StatementFormat.CSV
    assert statement.currency == "CNY"
    assert [line.amount for line in statement.lines] == [D("12000.00"), D("-500.00"), D("3000.50")]
    assert [line.booking_date for line in statement.lines] == [
        date(2024, 1, 5),
        date(2024, 1, 6),
        date(2024, 1, 7),
    ]
    assert [line.extra["row"] for line in statement.lines] == [6, 7, 8]
    assert (statement.period_start, statement.period_end) == (date(2024, 1, 5), date(2024, 1, 7))


def test_credit_and_debit_columns_give_the_sign_and_the_payer_fields(icbc_csv):
    [statement] = tabular_parse(icbc_csv, mapping={"preset": "icbc"})
    payer, utility, second = statement.lines

    assert payer.counterparty_name == "上海甲公司"
    assert payer.counterparty_account == "31001234567890"
    assert payer.remittance == "货款 INV-2024-0001"  # 摘要 and 用途 joined
    assert utility.counterparty_name == "国家电网上海分公司" and not utility.is_credit
    assert second.remittance == "转账 发票 INV-2024-0002 INV-2024-0003"


def test_account_number_in_a_title_row_becomes_the_statements_account(icbc_csv):
    [statement] = tabular_parse(icbc_csv, mapping={"preset": "icbc"})

    assert statement.account_number == "6222021234567890"


def test_running_balance_gives_opening_and_closing_and_the_total_row_is_left_out(icbc_csv):
    [statement] = tabular_parse(icbc_csv, mapping={"preset": "icbc"})

    assert (statement.opening_balance, statement.closing_balance) == (D("100000.00"), D("114500.50"))
    assert statement.warnings == ["Left out: 1 total row"]


def test_explicit_mapping_with_skip_rows_and_encoding(icbc_csv):
    mapping = {
        "columns": {
            "booking_date": "交易时间",
            "credit": "贷方发生额",
            "debit": "借方发生额",
            "counterparty_name": "对方单位名称",
            "remittance": ["用途"],
        },
        "currency": "人民币",
        "skip_rows": 4,
        "encoding": "gbk",
    }

    [statement] = tabular_parse(icbc_csv, mapping=mapping)

    assert statement.currency == "CNY"
    assert [line.amount for line in statement.lines] == [D("12000.00"), D("-500.00"), D("3000.50")]
    assert statement.lines[0].remittance == "INV-2024-0001"
    assert statement.opening_balance is None  # no balance column mapped


def test_skip_rows_that_do_not_end_at_the_header_are_refused(icbc_csv):
    with pytest.raises(StatementParseError, match="Row 3: The row after the 2 skipped rows is not a header"):
        tabular_parse(icbc_csv, mapping={"preset": "icbc", "skip_rows": 2})


def test_newest_first_export_takes_its_balances_from_the_other_end(tmp_path):
    rows = [ICBC_ROWS[4], *reversed(ICBC_ROWS[5:8])]
    path = write_csv(tmp_path / "newest-first.csv", rows, encoding="utf-8-sig")

    [statement] = tabular_parse(path, mapping={"preset": "icbc"})

    assert (statement.opening_balance, statement.closing_balance) == (D("100000.00"), D("114500.50"))
    assert statement.warnings == []


def test_ccb_layout_with_full_width_brackets_and_a_reference_column(tmp_path):
    rows = [
        "账号,币种,交易时间,借方发生额（支取）,贷方发生额（收入）,余额,对方户名,对方账号,记账日期,摘要,备注,账户明细编号-交易流水号",
        "11001234500052500001,人民币,20240301 10:11:12,,8800.00,18800.00,杭州丙公司,3301020304,20240301,汇入,HK-778,1-00012",
        "11001234500052500001,人民币,20240302 08:00:00,200.00,,18600.00,建设银行,,20240302,手续费,,1-00013",
    ]
    path = write_csv(tmp_path / "ccb.csv", rows)

    [statement] = tabular_parse(path, mapping={"preset": "ccb"})

    assert statement.account_number == "11001234500052500001"
    assert [line.amount for line in statement.lines] == [D("8800.00"), D("-200.00")]
    assert [line.bank_reference for line in statement.lines] == ["1-00012", "1-00013"]
    assert statement.lines[0].remittance == "汇入 HK-778"
    assert statement.lines[0].booking_date == date(2024, 3, 1)  # 记账日期 20240301
    assert (statement.opening_balance, statement.closing_balance) == (D("10000.00"), D("18600.00"))


def test_cmb_layout_reads_its_payer_columns_written_with_full_width_brackets(tmp_path):
    rows = [
        "交易日,交易时间,起息日,交易类型,借方金额,贷方金额,余额,摘要,流水号,收（付）方名称,收（付）方帐号",
        "20240410,093000,20240411,汇入汇款,,1500.00,2500.00,货款 INV-88,G1234,深圳丁公司,7559 0001",
    ]
    path = write_csv(tmp_path / "cmb.csv", rows)

    [statement] = tabular_parse(path, mapping={"preset": "cmb"})

    [line] = statement.lines
    assert (line.booking_date, line.value_date) == (date(2024, 4, 10), date(2024, 4, 11))
    assert (line.counterparty_name, line.counterparty_account) == ("深圳丁公司", "75590001")
    assert (line.bank_reference, line.transaction_code) == ("G1234", "汇入汇款")


def test_signed_amount_with_a_direction_column(tmp_path):
    rows = [
        "日期,金额,借贷,币种,附言",
        "2024-05-01,100.00,贷,CNY,A",
        "2024-05-02,40.00,借,USD,B",
        "2024-05-03,5,C,CNY,",
    ]
    path = write_csv(tmp_path / "direction.csv", rows, encoding="utf-8")
    mapping = {"columns": {"booking_date": "日期", "amount": "金额", "direction": "借贷", "currency": "币种",
                           "remittance": "附言"}}  # fmt: skip

    cny, usd = tabular_parse(path, mapping=mapping)

    assert (cny.currency, [line.amount for line in cny.lines]) == ("CNY", [D("100.00"), D("5")])
    assert (usd.currency, [line.amount for line in usd.lines]) == ("USD", [D("-40.00")])


def test_an_unknown_direction_is_refused_with_row_and_column(tmp_path):
    path = write_csv(tmp_path / "d.csv", ["日期,金额,借贷", "2024-05-01,100.00,转"], encoding="utf-8")
    mapping = {"columns": {"booking_date": "日期", "amount": "金额", "direction": "借贷"}, "currency": "CNY"}

    with pytest.raises(StatementParseError, match="Row 2, column 借贷: '转' says neither credit nor debit"):
        tabular_parse(path, mapping=mapping)


def test_decimal_comma_amounts(tmp_path):
    path = write_csv(tmp_path / "eu.csv", ["Date,Amount", '2024-05-01,"1.234,56"', '2024-05-02,"-0,5"'])
    mapping = {
        "columns": {"booking_date": "Date", "amount": "Amount"},
        "currency": "EUR",
        "decimal_comma": True,
    }

    [statement] = tabular_parse(path, mapping=mapping)

    assert [line.amount for line in statement.lines] == [D("1234.56"), D("-0.5")]


def test_generic_preset_reads_an_xlsx_with_date_cells_and_numbers(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Statement of account 12-3456-789"])
    sheet.append([])
    sheet.append(
        ["Date", "Value date", "Description", "Counterparty", "Money in", "Money out", "Balance", "Currency"]
    )
    sheet.append([datetime(2024, 6, 3), 20240604, "INV 7", "Acme Ltd", 1200.5, None, 1300.5, "usd"])
    sheet.append([datetime(2024, 6, 4), None, "Bank fee", "", None, 2.25, 1298.25, "usd"])
    path = tmp_path / "export.xlsx"
    workbook.save(path)

    [statement] = tabular_parse(path, mapping={"preset": "generic"})

    assert statement.format == StatementFormat.XLSX
    assert statement.currency == "USD"
    assert [line.amount for line in statement.lines] == [D("1200.5"), D("-2.25")]
    assert statement.lines[0].value_date == date(2024, 6, 4)  # 20240604 typed as a number
    assert statement.lines[0].counterparty_name == "Acme Ltd"
    assert [line.extra["row"] for line in statement.lines] == [4, 5]
    assert (statement.opening_balance, statement.closing_balance) == (D("100.0"), D("1298.25"))


# --- problems name the row and the column --------------------------------------------------------------


def test_a_bad_date_names_its_row_and_column(tmp_path):
    rows = [*ICBC_ROWS[4:6], "2024-13-05,某公司,1,摘要,,,100.00,1"]
    path = write_csv(tmp_path / "bad.csv", rows)

    with pytest.raises(StatementParseError, match='Row 3, column 交易时间: "2024-13-05" is not a real date'):
        tabular_parse(path, mapping={"preset": "icbc"})


def test_an_ambiguous_date_asks_for_a_date_format_in_the_mapping(tmp_path):
    path = write_csv(tmp_path / "us.csv", ["Date,Amount", "03/04/2024,1.00"], encoding="utf-8")
    mapping = {"columns": {"booking_date": "Date", "amount": "Amount"}, "currency": "USD"}

    with pytest.raises(StatementParseError, match="Row 2, column Date: .*date_format in the mapping"):
        tabular_parse(path, mapping=mapping)
    [statement] = tabular_parse(path, mapping={**mapping, "date_format": "MM/DD/YYYY"})
    assert statement.lines[0].booking_date == date(2024, 3, 4)


def test_a_bad_amount_names_its_row_and_column(tmp_path):
    rows = [ICBC_ROWS[4], "2024-01-05,某公司,1,摘要,,,十二元,1"]
    path = write_csv(tmp_path / "bad.csv", rows)

    with pytest.raises(StatementParseError, match='Row 2, column 贷方发生额: "十二元" is not an amount'):
        tabular_parse(path, mapping={"preset": "icbc"})


def test_a_row_with_both_credit_and_debit_is_refused(tmp_path):
    path = write_csv(tmp_path / "both.csv", [ICBC_ROWS[4], "2024-01-05,某公司,1,摘要,,5.00,100.00,1"])

    with pytest.raises(StatementParseError, match="Row 2, column 贷方发生额: both the credit and the debit"):
        tabular_parse(path, mapping={"preset": "icbc"})


def test_more_decimals_than_the_currency_has_are_refused(tmp_path):
    path = write_csv(tmp_path / "jpy.csv", ["Date,Amount", "2024-01-05,1.5"], encoding="utf-8")

    with pytest.raises(
        StatementParseError, match="Row 2, column Amount: 1.5 has more decimal places than JPY"
    ):
        tabular_parse(
            path, mapping={"columns": {"booking_date": "Date", "amount": "Amount"}, "currency": "JPY"}
        )


def test_rows_without_an_amount_and_zero_rows_are_left_out_and_counted(tmp_path):
    rows = ["Date,Amount,Note", "2024-01-05,10.00,x", ",,printed 2024-02-01", "2024-01-06,0.00,interest"]
    path = write_csv(tmp_path / "notes.csv", rows, encoding="utf-8")

    [statement] = tabular_parse(path, mapping={"preset": "generic", "currency": "EUR"})

    assert len(statement.lines) == 1
    assert statement.warnings == ["Left out: 1 row without an amount, 1 row with a zero amount"]


def test_a_file_without_the_mapped_header_is_refused_saying_what_was_looked_for(icbc_csv):
    with pytest.raises(
        StatementParseError, match=r"No header row with the date column \(Booking date / Date"
    ):
        tabular_parse(icbc_csv, mapping={"preset": "generic"})


def test_a_file_with_a_header_but_no_lines_is_refused(tmp_path):
    path = write_csv(tmp_path / "empty.csv", [ICBC_ROWS[4]])

    with pytest.raises(StatementParseError, match="no statement lines"):
        tabular_parse(path, mapping={"preset": "icbc"})


def test_no_currency_anywhere_is_refused(tmp_path):
    path = write_csv(tmp_path / "nocur.csv", ["Date,Amount", "2024-01-05,1.00"], encoding="utf-8")

    with pytest.raises(StatementParseError, match='Row 2: no currency; add a currency column or "currency"'):
        tabular_parse(path, mapping={"columns": {"booking_date": "Date", "amount": "Amount"}})


def test_columns_the_mapping_names_but_the_file_lacks_are_a_warning(tmp_path):
    path = write_csv(tmp_path / "few.csv", ["Date,Amount", "2024-01-05,1.00"], encoding="utf-8")
    mapping = {
        "columns": {"booking_date": "Date", "amount": "Amount", "bank_reference": "Ref"},
        "currency": "EUR",
    }

    [statement] = tabular_parse(path, mapping=mapping)

    assert statement.warnings == ["Columns of the mapping not in the file: bank_reference (Ref)"]


def test_undecodable_text_is_refused_asking_for_the_encoding(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"Date,Amount\n2024-01-05,1.00\n" + b"\xff\xfe\xfd\n")

    with pytest.raises(StatementParseError, match="name its encoding"):
        tabular_parse(path, mapping={"preset": "generic"})


# --- the mapping ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"preset": "hsbc"}, "Unknown mapping preset 'hsbc'; the presets are ccb, cmb, generic, icbc"),
        ({"preset": "icbc", "colums": {}}, "unknown keys: colums"),
        ({"columns": {"date": "日期"}}, "unknown fields: date"),
        ({"columns": {"amount": "金额"}}, "must name the booking_date column"),
        ({"columns": {"booking_date": "日期"}}, "must name an amount column"),
        ({"columns": {"booking_date": "日期", "amount": 3}}, "column amount must be a header text or a list"),
        ({"preset": "icbc", "currency": "XYZ"}, "The mapping's currency: "),
        ({"preset": "icbc", "skip_rows": -1}, "skip_rows must be a whole number"),
        ({"preset": "icbc", "date_format": "%Y"}, "date_format"),
        ({"preset": "icbc", "credit_marks": "贷"}, "credit_marks and debit_marks must be lists"),
        ([], "must be a JSON object"),
    ],
)
def test_mistakes_in_the_mapping_are_refused_clearly(mapping, message):
    with pytest.raises(StatementParseError, match=message):
        mapping_check(mapping)


def test_the_accounts_own_columns_override_the_presets_column_by_column():
    checked = mapping_check({"preset": "icbc", "columns": {"remittance": "附言"}, "currency": "USD"})

    assert checked.columns["remittance"] == ["附言"]
    assert checked.columns["credit"] == PRESETS["icbc"]["columns"]["credit"]
    assert checked.currency == "USD"


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_a_valid_mapping(name):
    checked = mapping_check({"preset": name})

    assert checked.columns["booking_date"]
