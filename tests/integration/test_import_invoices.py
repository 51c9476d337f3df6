"""`huikuan import invoices`: upsert by number, customers created on the way, all or nothing."""

import sys
from datetime import date, datetime

import pytest
from django.core.management import call_command, execute_from_command_line
from django.db import connection
from openpyxl import Workbook

from huikuan.core.money import Money
from huikuan.core.tabular import ImportRejected
from huikuan.customers.models import Customer
from huikuan.ledger.imports import invoices_import
from huikuan.ledger.models import Invoice, InvoiceStatus
from huikuan.ledger.services import payment_record
from tests.factories import make_customer, make_invoice
from tests.importing import run_import, write_csv

pytestmark = pytest.mark.django_db

HEADER = ["invoice_number", "customer_code", "issue_date", "due_date", "currency", "amount"]


def ledger():
    """Everything an invoice import may write, to compare before and after."""
    return (
        list(Customer.objects.order_by("code").values()),
        list(Invoice.objects.order_by("number").values()),
    )


def test_invoices_are_created_open_for_their_amount(tmp_path):
    make_customer("C1")
    path = write_csv(
        tmp_path / "invoices.csv",
        [[*HEADER, "description", "po_number"],
         ["INV-1", "C1", "2024-01-31", "2024/3/1", "CNY", "¥1,234.56", "Steel", "PO-7"],
         ["INV-2", "C1", "2024年2月1日", "2024-03-02", "jpy", "5000", "", ""]],
    )  # fmt: skip

    code, out, err = run_import("invoices", path)

    assert code == 0, err
    assert "2 rows of invoices: 2 created, 0 updated, 0 unchanged" in out
    first = Invoice.objects.get(number="INV-1")
    assert (first.issue_date, first.due_date, first.currency, first.amount_minor, first.open_minor) == (
        date(2024, 1, 31), date(2024, 3, 1), "CNY", 123456, 123456,
    )  # fmt: skip
    assert (first.status, first.description, first.po_number, first.customer.code) == (
        InvoiceStatus.OPEN, "Steel", "PO-7", "C1",
    )  # fmt: skip
    assert Invoice.objects.get(number="INV-2").amount_minor == 5000  # JPY has no minor unit


def test_an_unknown_customer_with_a_name_is_created_with_the_invoice_currency(tmp_path):
    path = write_csv(
        tmp_path / "i.csv",
        [[*HEADER, "customer_name"], ["A1", "NEW", "2024-01-01", "2024-01-31", "USD", "10", "New Co"],
         ["A2", "NEW", "2024-01-02", "2024-02-01", "USD", "20", ""]],
    )  # fmt: skip

    result = invoices_import(path)

    customer = Customer.objects.get(code="NEW")
    assert (customer.name, customer.currency, customer.invoices.count()) == ("New Co", "USD", 2)
    assert result.details["customers_created"] == 1


def test_reimporting_the_same_file_changes_nothing(tmp_path):
    make_customer("C1")
    path = write_csv(
        tmp_path / "i.csv",
        [[*HEADER, "customer_name"], ["A1", "C1", "2024-01-01", "2024-01-31", "CNY", "10.00", ""],
         ["A2", "C2", "2024-01-01", "2024-01-31", "CNY", "20.00", "Created by the file"]],
    )  # fmt: skip
    invoices_import(path)
    before = ledger()

    result = invoices_import(path)

    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert result.details["customers_created"] == 0
    assert ledger() == before


def test_a_changed_amount_updates_the_invoice_and_its_open_balance(tmp_path):
    customer = make_customer("C1")
    write_csv(tmp_path / "v1.csv", [HEADER, ["A1", "C1", "2024-01-01", "2024-01-31", "CNY", "100.00"]])
    invoices_import(tmp_path / "v1.csv")
    payment_record(customer=customer, received_date=date(2024, 1, 15), amount=Money.of("40", "CNY"))
    write_csv(tmp_path / "v2.csv", [HEADER, ["A1", "C1", "2024-01-01", "2024-02-15", "CNY", "150.00"]])

    result = invoices_import(tmp_path / "v2.csv")

    invoice = Invoice.objects.get(number="A1")
    assert (result.updated, result.unchanged) == (1, 0)
    assert (invoice.amount_minor, invoice.open_minor, invoice.due_date) == (15000, 11000, date(2024, 2, 15))
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID


def test_an_amount_below_what_was_already_paid_is_refused(tmp_path):
    customer = make_customer("C1")
    write_csv(tmp_path / "v1.csv", [HEADER, ["A1", "C1", "2024-01-01", "2024-01-31", "CNY", "100.00"]])
    invoices_import(tmp_path / "v1.csv")
    payment_record(customer=customer, received_date=date(2024, 1, 15), amount=Money.of("60", "CNY"))
    write_csv(tmp_path / "v2.csv", [HEADER, ["A1", "C1", "2024-01-01", "2024-01-31", "CNY", "50.00"]])

    with pytest.raises(ImportRejected, match="1 problem") as rejected:
        invoices_import(tmp_path / "v2.csv")

    assert rejected.value.result.problems[0].message == (
        "invoice A1 already has 60.00 CNY paid or credited, more than 50.00"
    )
    assert Invoice.objects.get(number="A1").amount_minor == 10000


GOOD = ["G1", "C1", "2024-01-01", "2024-01-31", "CNY", "1.00"]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            ["B1", "C1", "2024-13-01", "2024-01-31", "CNY", "1"],
            'i.csv:3:issue_date: "2024-13-01" is not a real date',
        ),
        (
            ["B1", "C1", "next week", "2024-01-31", "CNY", "1"],
            'i.csv:3:issue_date: "next week" is not a date',
        ),
        (
            ["B1", "C1", "2024-01-01", "1/31/2024", "CNY", "1"],
            'i.csv:3:due_date: "1/31/2024" could be month/day or day/month; say which with --date-format',
        ),
        (
            ["B1", "C1", "2024-01-01", "2024-01-31", "CNY", "12abc"],
            'i.csv:3:amount: "12abc" is not an amount',
        ),
        (
            ["B1", "C1", "2024-01-01", "2024-01-31", "CNY", "1.005"],
            "i.csv:3:amount: 1.005 has more decimal places than CNY allows (2 decimal places)",
        ),
        (
            ["B1", "C1", "2024-01-01", "2024-01-31", "JPY", "1.5"],
            "i.csv:3:amount: 1.5 has more decimal places than JPY",
        ),
        (
            ["B1", "C1", "2024-01-01", "2024-01-31", "XYZ", "1"],
            'i.csv:3:currency: "XYZ" is not an ISO 4217 currency',
        ),
        (["B1", "C1", "2024-01-01", "2024-01-31", "", "1"], "i.csv:3:currency: a currency is required"),
        (["B1", "C1", "2024-01-01", "2024-01-31", "CNY", ""], "i.csv:3:amount: an amount is required"),
        (
            ["", "C1", "2024-01-01", "2024-01-31", "CNY", "1"],
            "i.csv:3:invoice_number: an invoice number is required",
        ),
        (["B1", "C1", "", "2024-01-31", "CNY", "1"], "i.csv:3:issue_date: a date is required"),
        (
            ["B1", "C9", "2024-01-01", "2024-01-31", "CNY", "1"],
            'i.csv:3:customer_code: customer "C9" does not exist; import it first, or give a customer_name',
        ),
        (
            ["G1", "C1", "2024-01-01", "2024-01-31", "CNY", "1"],
            'i.csv:3:invoice_number: invoice "G1" is also on row 2',
        ),
        (
            ["B1", "C1", "2024-01-01", "2024-01-31", "CNY", "(100.00)"],
            'i.csv:3:amount: "(100.00)" is negative; an invoice import takes only amounts above zero',
        ),
        (
            ["B1", "C1", "2024-01-01", "2024-01-31", "CNY", "0"],
            "i.csv:3:amount: the amount must be greater than zero",
        ),
        (
            ["B1", "C1", "2024-02-01", "2024-01-31", "CNY", "1"],
            "i.csv:3:due_date: the due date 2024-01-31 is before the issue date 2024-02-01",
        ),
        (
            ["B1", "C1", "2024-01-01", "2024-01-31", "CNY", "5 USD"],
            'i.csv:3:amount: "5 USD" is in USD, but the currency column says CNY',
        ),
    ],
)
def test_each_bad_cell_gives_its_message_and_nothing_is_written(tmp_path, monkeypatch, row, expected):
    make_customer("C1")
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "i.csv", [HEADER, GOOD, row])

    code, _out, err = run_import("invoices", "i.csv")

    assert code == 2
    assert expected in err
    assert err.strip().endswith("i.csv: 1 problem; nothing was imported")
    assert Invoice.objects.count() == 0


def test_a_missing_column_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "i.csv", [HEADER[:-1], GOOD[:-1]])

    code, _out, err = run_import("invoices", "i.csv")

    assert code == 2
    assert "i.csv:1:amount: required column amount (or 金额 / 发票金额 / 价税合计) is missing" in err


def test_every_problem_is_listed_with_its_spreadsheet_row_and_the_files_own_header(tmp_path, monkeypatch):
    make_customer("C1")
    monkeypatch.chdir(tmp_path)
    write_csv(
        tmp_path / "i.csv",
        [["发票号", "客户编码", "开票日期", "到期日", "币种", "金额"], GOOD, [], ["B1", "C1", "bad", "2024-01-31", "CNY", "x"],
         ["B2", "C1", "2024-01-01", "2024-01-31", "CNY", "1"]],
    )  # fmt: skip

    code, _out, err = run_import("invoices", "i.csv")

    assert code == 2
    assert err.splitlines()[:2] == [
        'i.csv:4:开票日期: "bad" is not a date; write it as YYYY-MM-DD',
        'i.csv:4:金额: "x" is not an amount',
    ]
    assert Invoice.objects.count() == 0


def test_the_first_hundred_problems_are_printed_then_a_count(tmp_path, monkeypatch):
    make_customer("C1")
    monkeypatch.chdir(tmp_path)
    write_csv(
        tmp_path / "i.csv",
        [HEADER, *[[f"B{n}", "C1", "2024-01-01", "2024-01-31", "CNY", "x"] for n in range(130)]],
    )

    _code, _out, err = run_import("invoices", "i.csv")

    lines = err.splitlines()
    assert lines[0] == 'i.csv:2:amount: "x" is not an amount'
    assert lines[99] == 'i.csv:101:amount: "x" is not an amount'
    assert lines[100] == "… and 30 more problems"


def test_the_command_exits_with_code_2_on_a_rejected_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "i.csv", [HEADER, ["B1", "C9", "2024-01-01", "2024-01-31", "CNY", "1"]])

    with pytest.raises(SystemExit) as exit_:
        execute_from_command_line(["huikuan", "import", "invoices", "i.csv", "--no-progress"])

    assert exit_.value.code == 2
    assert 'i.csv:2:customer_code: customer "C9" does not exist' in capsys.readouterr().err


def test_a_date_format_reads_month_first_dates(tmp_path):
    make_customer("C1")
    path = write_csv(tmp_path / "i.csv", [HEADER, ["A1", "C1", "1/31/2024", "3/1/2024", "USD", "$1,000.00"]])

    code, _out, err = run_import("invoices", path, "--date-format", "%m/%d/%Y")

    assert code == 0, err
    invoice = Invoice.objects.get(number="A1")
    assert (invoice.issue_date, invoice.due_date, invoice.amount_minor) == (
        date(2024, 1, 31),
        date(2024, 3, 1),
        100000,
    )


def test_a_gbk_csv_with_chinese_headers_imports(tmp_path):
    make_customer("K001")
    path = write_csv(
        tmp_path / "发票.csv",
        [["发票号", "客户编码", "客户名称", "开票日期", "到期日", "币种", "金额", "描述", "订单号", "备注"],
         ["FP-001", "K001", "上海回款", "2024年1月5日", "2024年2月4日", "人民币", "￥12,345.60", "钢材", "HT-9", "忽略"],
         ["FP-002", "K002", "北京新客户", "2024/1/6", "2024/2/5", "CNY", "800", "", "", ""]],
        encoding="gbk",
    )  # fmt: skip

    code, _out, err = run_import("invoices", path)

    assert code == 0, err
    first = Invoice.objects.get(number="FP-001")
    assert (first.amount_minor, first.description, first.po_number, first.issue_date) == (
        1234560, "钢材", "HT-9", date(2024, 1, 5),
    )  # fmt: skip
    assert Customer.objects.get(code="K002").name == "北京新客户"


def test_a_utf8_csv_with_a_byte_order_mark_imports(tmp_path):
    make_customer("C1")
    path = write_csv(tmp_path / "i.csv", [HEADER, GOOD], encoding="utf-8-sig")

    assert invoices_import(path).created == 1


def test_an_xlsx_file_with_excel_date_cells_imports(tmp_path):
    make_customer("C1")
    book = Workbook()
    sheet = book.active
    sheet.append(["Invoice_Number", "Customer_Code", "Issue_Date", "Due_Date", "Currency", "Amount"])
    sheet.append(["X-1", "C1", datetime(2024, 1, 31), datetime(2024, 3, 1), "EUR", 1234.56])
    sheet.append([1001, "C1", datetime(2024, 2, 1), "2024-03-02", "EUR", 99])  # a number as invoice number
    for row in (2, 3):
        sheet.cell(row=row, column=3).number_format = "yyyy-mm-dd"
    path = tmp_path / "invoices.xlsx"
    book.save(path)

    result = invoices_import(path)

    assert result.created == 2
    first = Invoice.objects.get(number="X-1")
    assert (first.issue_date, first.due_date, first.amount_minor) == (
        date(2024, 1, 31),
        date(2024, 3, 1),
        123456,
    )
    assert Invoice.objects.get(number="1001").amount_minor == 9900


def test_a_dry_run_reports_what_would_happen_and_writes_nothing(tmp_path):
    make_customer("C1")
    path = write_csv(
        tmp_path / "i.csv",
        [
            [*HEADER, "customer_name"],
            [*GOOD, ""],
            ["G2", "NEW", "2024-01-01", "2024-01-31", "CNY", "2", "New"],
        ],
    )
    before = ledger()

    code, out, _err = run_import("invoices", path, "--dry-run")

    assert code == 0
    assert "2 would be created" in out
    assert "customers created: 1" in out
    assert "dry run: nothing was written" in out
    assert ledger() == before


def test_a_file_that_is_not_there_is_reported(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _out, err = run_import("invoices", "missing.csv")
    assert code == 2
    assert "missing.csv: no such file" in err


def test_the_import_can_be_called_without_the_command(tmp_path):
    make_customer("C1")
    result = invoices_import(write_csv(tmp_path / "i.csv", [HEADER, GOOD]), dry_run=False)
    assert (result.kind, result.rows, result.created, result.ok) == ("invoices", 1, 1, True)


def test_stdout_is_not_a_terminal_so_no_progress_bar_is_drawn(tmp_path, capsys):
    make_customer("C1")
    path = write_csv(tmp_path / "i.csv", [HEADER, GOOD])
    assert not sys.stderr.isatty()

    call_command("import", "invoices", str(path))

    assert "%|" not in capsys.readouterr().err


@pytest.mark.parametrize("ledger_has_invoices", [False, True])
def test_a_bulk_load_leaves_every_invoice_index_in_place(tmp_path, monkeypatch, ledger_has_invoices):
    def indexes():
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, Invoice._meta.db_table)
        return sorted((name, tuple(info["columns"])) for name, info in constraints.items() if info["index"])

    monkeypatch.setattr("huikuan.ledger.imports.BULK_ROWS", 1)  # treat the small file as a large one
    customer = make_customer("C1")
    if ledger_has_invoices:
        make_invoice(customer, number="OLD-1")
    before = indexes()

    result = invoices_import(write_csv(tmp_path / "i.csv", [HEADER, GOOD]))

    assert result.created == 1
    assert indexes() == before
    assert len(before) >= 4  # (customer, currency, due date), (status, due date), issue date, customer
