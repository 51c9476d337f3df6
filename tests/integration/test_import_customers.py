"""`huikuan import customers`: upsert by code, the finance contact, all or nothing."""

import pytest
from django.contrib.auth import get_user_model
from openpyxl import Workbook

from huikuan.core.tabular import ImportRejected
from huikuan.customers.imports import customers_import
from huikuan.customers.models import Contact, ContactRole, Customer
from tests.factories import make_customer
from tests.importing import run_import, write_csv

pytestmark = pytest.mark.django_db


def snapshot():
    customers = list(Customer.objects.order_by("code").values())
    contacts = list(Contact.objects.order_by("pk").values())
    return customers, contacts


HEADER = ["code", "name", "legal_name", "tax_id", "country", "language", "currency", "payment_terms_days",
          "credit_limit", "grade", "email", "phone", "contact_name", "collector"]  # fmt: skip


def test_customers_are_created_with_every_column(tmp_path):
    get_user_model().objects.create_user("wang")
    path = write_csv(
        tmp_path / "customers.csv",
        [HEADER,
         ["C001", "Acme", "Acme Trading Ltd", "91310000X", "cn", "en", "usd", "45", "$50,000.00", "a",
          "ap@acme.example", "+86 21 1234", "Li Na", "wang"],
         ["C002", "Beta", "", "", "", "", "", "", "", "", "", "", "", ""]],
    )  # fmt: skip

    code, out, _err = run_import("customers", path)

    assert code == 0
    assert "2 rows of customers: 2 created, 0 updated, 0 unchanged" in out
    acme = Customer.objects.get(code="C001")
    assert (acme.name, acme.legal_name, acme.tax_id, acme.country, acme.language, acme.currency) == (
        "Acme", "Acme Trading Ltd", "91310000X", "CN", "en", "USD",
    )  # fmt: skip
    assert (acme.payment_terms_days, acme.credit_limit_minor, acme.grade, acme.collector.username) == (
        45, 5_000_000, "A", "wang",
    )  # fmt: skip
    contact = acme.contacts.get()
    assert (contact.role, contact.name, contact.email, contact.phone, contact.is_primary) == (
        ContactRole.FINANCE, "Li Na", "ap@acme.example", "+86 21 1234", True,
    )  # fmt: skip
    beta = Customer.objects.get(code="C002")
    assert (beta.currency, beta.payment_terms_days, beta.grade, beta.contacts.count()) == ("CNY", 30, "B", 0)


def test_reimporting_the_same_file_changes_nothing(tmp_path):
    path = write_csv(
        tmp_path / "customers.csv",
        [HEADER, ["C001", "Acme", "", "", "CN", "", "CNY", "30", "1000", "B", "ap@acme.example", "", "", ""]],
    )
    customers_import(path)
    before = snapshot()

    result = customers_import(path)

    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)
    assert result.details.get("contacts_created", 0) == result.details.get("contacts_updated", 0) == 0
    assert snapshot() == before


def test_a_changed_row_updates_the_customer_and_empty_cells_keep_stored_values(tmp_path):
    make_customer("C001", name="Old name", tax_id="TAX-1", grade="C")
    path = write_csv(tmp_path / "c.csv", [["code", "name", "tax_id", "grade"], ["C001", "New name", "", "A"]])

    result = customers_import(path)

    customer = Customer.objects.get(code="C001")
    assert (result.updated, customer.name, customer.tax_id, customer.grade) == (1, "New name", "TAX-1", "A")


def test_the_primary_finance_contact_is_updated_and_a_business_primary_keeps_its_flag(tmp_path):
    acme = make_customer("C001")
    boss = Contact.objects.create(customer=acme, role=ContactRole.BUSINESS, name="Boss", is_primary=True)
    beta = make_customer("C002")
    finance = Contact.objects.create(
        customer=beta, role=ContactRole.FINANCE, name="Zhao", email="old@beta.example"
    )
    path = write_csv(
        tmp_path / "c.csv",
        [["code", "name", "email", "联系人"], ["C001", "Acme", "ap@acme.example", ""],
         ["C002", "Beta", "new@beta.example", "Zhao Lei"]],
    )  # fmt: skip

    result = customers_import(path)

    created = acme.contacts.get(role=ContactRole.FINANCE)
    assert (created.name, created.email, created.is_primary) == ("ap@acme.example", "ap@acme.example", False)
    boss.refresh_from_db()
    finance.refresh_from_db()
    assert boss.is_primary
    assert (finance.name, finance.email) == ("Zhao Lei", "new@beta.example")
    assert (result.details["contacts_created"], result.details["contacts_updated"]) == (1, 1)


def test_a_gbk_csv_with_chinese_headers_imports(tmp_path):
    path = write_csv(
        tmp_path / "客户.csv",
        [["客户编码", "客户名称", "税号", "币种", "账期", "信用额度", "等级", "邮箱", "电话", "联系人", "备注"],
         ["K001", "上海回款科技有限公司", "91310115MA1", "人民币", "60天", "￥200,000.00", "优质", "cw@huikuan.example",
          "021-5555", "王会计", "ignored"]],
        encoding="gbk",
    )  # fmt: skip

    code, out, err = run_import("customers", path)

    assert code == 0, err
    customer = Customer.objects.get(code="K001")
    assert (customer.name, customer.tax_id, customer.currency, customer.payment_terms_days) == (
        "上海回款科技有限公司", "91310115MA1", "CNY", 60,
    )  # fmt: skip
    assert (customer.credit_limit_minor, customer.grade) == (20_000_000, "A")
    assert customer.contacts.get().name == "王会计"


def test_a_utf8_csv_with_a_byte_order_mark_imports(tmp_path):
    path = write_csv(tmp_path / "c.csv", [["code", "name"], ["C1", "Ünïcode GmbH"]], encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")

    customers_import(path)

    assert Customer.objects.get(code="C1").name == "Ünïcode GmbH"


def test_an_xlsx_file_imports(tmp_path):
    book = Workbook()
    book.active.append(["Code", "Name", "payment_terms_days", "credit_limit", "currency"])
    book.active.append(["X1", "Excel Ltd", 30, 1500.5, "EUR"])
    path = tmp_path / "customers.xlsx"
    book.save(path)

    customers_import(path)

    customer = Customer.objects.get(code="X1")
    assert (customer.payment_terms_days, customer.credit_limit_minor, customer.currency) == (
        30,
        150050,
        "EUR",
    )


@pytest.mark.parametrize(
    ("header", "row", "expected"),
    [
        (
            ["code", "name", "collector"],
            ["C1", "A", "nobody"],
            'c.csv:3:collector: no user has the username "nobody"',
        ),
        (
            ["code", "name", "currency"],
            ["C1", "A", "XYZ"],
            'c.csv:3:currency: "XYZ" is not an ISO 4217 currency code',
        ),
        (["code", "name"], ["C1", ""], "c.csv:3:name: a customer name is required"),
        (["code", "name", "grade"], ["C1", "A", "E"], 'c.csv:3:grade: "E" is not a grade'),
        (
            ["code", "name", "credit_limit"],
            ["C1", "A", "10.001"],
            "c.csv:3:credit_limit: 10.001 has more decimal places",
        ),
        (
            ["code", "name", "email"],
            ["C1", "A", "not-mail"],
            'c.csv:3:email: "not-mail" is not an e-mail address',
        ),
        (["code", "name", "country"], ["C1", "A", "China"], 'c.csv:3:country: "China" is not a two-letter'),
        (["code"], ["C1"], "c.csv:1:name: required column name (or 客户名称 / 客户名) is missing"),
    ],
)
def test_each_bad_cell_is_reported_and_nothing_is_written(tmp_path, monkeypatch, header, row, expected):
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "c.csv", [header, ["C0", "Fine", *([""] * (len(header) - 2))][: len(header)], row])

    code, out, err = run_import("customers", "c.csv")

    assert code == 2
    assert expected in err
    assert "nothing was imported" in err
    assert Customer.objects.count() == 0


def test_a_code_twice_in_one_file_is_an_error(tmp_path):
    path = write_csv(tmp_path / "c.csv", [["code", "name"], ["C1", "A"], ["C2", "B"], ["C1", "A again"]])

    with pytest.raises(ImportRejected) as rejected:
        customers_import(path)

    assert [(p.row, p.column, p.message) for p in rejected.value.result.problems] == [
        (4, "code", 'customer "C1" is also on row 2')
    ]
    assert Customer.objects.count() == 0


def test_a_dry_run_reports_and_writes_nothing(tmp_path):
    path = write_csv(
        tmp_path / "c.csv", [["code", "name", "email"], ["C1", "A", "a@x.example"], ["C2", "B", ""]]
    )

    code, out, _err = run_import("customers", path, "--dry-run")

    assert code == 0
    assert "2 would be created" in out and "dry run: nothing was written" in out
    assert Customer.objects.count() == Contact.objects.count() == 0


def test_a_collector_is_found_by_username_whatever_its_case(tmp_path):
    wang = get_user_model().objects.create_user("Wang")
    path = write_csv(tmp_path / "c.csv", [["code", "name", "催收员"], ["C1", "A", "wang"]])

    customers_import(path)

    assert Customer.objects.get(code="C1").collector == wang
