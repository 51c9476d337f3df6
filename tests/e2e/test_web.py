"""The web pages over HTTP: login, aging overview, customers, language switch, admin."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from openpyxl import load_workbook
from pypdf import PdfReader

from huikuan.accounts.models import Role
from huikuan.accounts.services import user_create
from huikuan.core.money import Money
from huikuan.customers.services import contact_create
from huikuan.ledger.services import payment_record
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db

AS_OF = date(2024, 6, 30)


@pytest.fixture
def user():
    """A credit controller: reaches every customer."""
    return user_create(username="clerk", role=Role.CREDIT_CONTROLLER, password="s3cret-pass", name="Lin")


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def ledger():
    """Two customers: CNY 1,234.50 open 1-30 days past due, 80,000.00 current; USD 2,500.00 over 90 days."""
    shanghai = make_customer(code="C0001", name="上海华东机电设备有限公司")
    northwind = make_customer(code="C0002", name="Northwind Components Ltd", currency="USD", country="GB")
    make_invoice(shanghai, "1234.50", issue_date=date(2024, 5, 1), due_days=45, number="INV-1")  # due 06-15
    make_invoice(shanghai, "80000.00", issue_date=date(2024, 6, 20), due_days=30, number="INV-2")  # due 07-20
    paid = make_invoice(shanghai, "500.00", issue_date=date(2024, 4, 1), due_days=30, number="INV-3")
    make_invoice(northwind, "2500.00", "USD", issue_date=date(2024, 1, 10), due_days=30, number="INV-4")
    payment_record(
        customer=shanghai,
        received_date=date(2024, 5, 2),
        amount=Money.of("500", "CNY"),
        invoice_numbers=[paid.number],
    )
    contact_create(
        customer=shanghai, name="王芳", email="caiwu@example.cn", phone="+86 138 0000 0000", is_primary=True
    )
    return {"shanghai": shanghai, "northwind": northwind}


def test_pages_ask_for_a_login_first(client):
    for url in ("/", "/aging/", "/customers/", "/customers/C0001/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


def test_the_login_page_signs_a_user_in_and_sends_them_home(client, user):
    page = client.get("/accounts/login/?next=/customers/")
    assert page.status_code == 200
    assert b'name="username"' in page.content and b'name="password"' in page.content

    response = client.post(
        "/accounts/login/", {"username": "clerk", "password": "s3cret-pass", "next": "/customers/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/customers/"


def test_the_aging_page_shows_totals_per_currency(signed_in, ledger):
    response = signed_in.get("/aging/", {"as_of": AS_OF.isoformat()})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Receivables aging" in html
    assert "1,234.50" in html  # the CNY 1-30 bucket and overdue total
    assert "81,234.50" in html  # the CNY total
    assert "80,000.00" in html  # current
    assert "2,500.00" in html  # the USD invoice, in the 91-180 bucket
    cny = next(row for row in response.context["currencies"] if row.currency == "CNY")
    assert [str(bar.amount) for bar in cny.bars][:3] == ["80000.00", "1234.50", "0.00"]
    usd = next(row for row in response.context["currencies"] if row.currency == "USD")
    assert {bar.label: str(bar.amount) for bar in usd.bars}["91-180"] == "2500.00"
    assert 'class="bar b0" style="height: 100' in html  # the largest CNY bucket is the full bar


def test_the_aging_page_is_point_in_time(signed_in, ledger):
    before_any_invoice = signed_in.get("/aging/", {"as_of": "2023-12-31"})

    assert before_any_invoice.context["currencies"] == []
    assert "Nothing is open on this date." in before_any_invoice.content.decode()


def test_a_bad_as_of_date_is_reported_and_today_is_used(signed_in, ledger):
    response = signed_in.get("/aging/", {"as_of": "31/06/2024"})

    assert response.status_code == 200
    assert response.context["form"].errors


def test_the_aging_downloads_as_csv_xlsx_and_pdf(signed_in, ledger):
    query = {"as_of": AS_OF.isoformat()}

    csv_answer = signed_in.get("/aging/export.csv", query)
    xlsx_answer = signed_in.get("/aging/export.xlsx", query)
    pdf_answer = signed_in.get("/aging/export.pdf", query)

    assert csv_answer["Content-Disposition"] == 'attachment; filename="aging-2024-06-30.csv"'
    lines = csv_answer.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "code,name,currency,current,1-30,31-60,61-90,91-180,181-365,365+,total"
    assert "C0001,上海华东机电设备有限公司,CNY,80000.00,1234.50,0.00,0.00,0.00,0.00,0.00,81234.50" in lines
    workbook = load_workbook(io.BytesIO(xlsx_answer.content))
    rows = list(workbook["Aging"].iter_rows(values_only=True))
    assert rows[0][:3] == ("code", "name", "currency") and len(rows) == 3
    assert next(row for row in rows if row[0] == "C0002")[-1] == Decimal("2500.00")
    assert pdf_answer["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf_answer.content)).pages)
    assert "Receivables aging" in text and "2024-06-30" in text
    assert "上海华东机电设备有限公司" in text and "81,234.50" in text


def test_the_aging_download_groups_by_collector_and_refuses_an_unknown_format(signed_in, ledger):
    grouped = signed_in.get("/aging/export.csv", {"as_of": AS_OF.isoformat(), "by": "collector"})

    assert grouped["Content-Disposition"].endswith('aging-2024-06-30-by-collector.csv"')
    assert grouped.content.decode("utf-8-sig").splitlines()[0].startswith("collector,currency,current")
    assert signed_in.get("/aging/export.doc").status_code == 404


def test_a_collectors_aging_download_holds_only_their_customers(client, ledger):
    alice = user_create(username="alice", role=Role.COLLECTOR, password="s3cret-pass", name="Alice")
    ledger["northwind"].collector = alice
    ledger["northwind"].save(update_fields=["collector"])
    client.force_login(alice)

    csv_text = client.get("/aging/export.csv", {"as_of": AS_OF.isoformat()}).content.decode("utf-8-sig")
    pdf = client.get("/aging/export.pdf", {"as_of": AS_OF.isoformat()}).content
    pdf_text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)

    assert [line.split(",")[0] for line in csv_text.splitlines()[1:]] == ["C0002"]
    assert "C0002" in pdf_text and "C0001" not in pdf_text and "CNY" not in pdf_text


def test_switching_to_chinese_shows_chinese_text_and_formats(signed_in, ledger):
    switched = signed_in.post("/i18n/setlang/", {"language": "zh-hans", "next": "/aging/"})
    assert switched.status_code == 302

    html = signed_in.get("/aging/", {"as_of": AS_OF.isoformat()}).content.decode()

    assert '<html lang="zh-hans">' in html
    assert "应收账款账龄分析" in html
    assert "未到期" in html
    assert "1,234.50" in html
    assert "2024年6月30日" in html
    customers = signed_in.get("/customers/").content.decode()
    assert "客户" in customers and "账期（天）" in customers


def test_english_is_the_default_language(signed_in, ledger):
    html = signed_in.get("/aging/", {"as_of": AS_OF.isoformat()}).content.decode()

    assert '<html lang="en">' in html
    assert "June 30, 2024" in html


def test_the_customer_list_searches_code_and_name(signed_in, ledger):
    found = signed_in.get("/customers/", {"q": "Northwind"})

    assert [c.code for c in found.context["page"]] == ["C0002"]
    assert signed_in.get("/customers/", {"q": "华东"}).context["page"].paginator.count == 1
    assert signed_in.get("/customers/", {"q": "nothing-like-this"}).context["page"].paginator.count == 0


def test_the_customer_list_pages_with_a_bounded_number_of_queries(signed_in, django_assert_max_num_queries):
    collector = get_user_model().objects.create_user(username="alice", first_name="Alice")
    for n in range(1, 121):
        make_customer(code=f"K{n:04d}", name=f"Customer {n}", collector=collector)

    with django_assert_max_num_queries(6):
        first = signed_in.get("/customers/")
    with django_assert_max_num_queries(6):
        last = signed_in.get("/customers/", {"page": 3})

    assert len(first.context["page"]) == 50
    assert [c.code for c in last.context["page"]][0] == "K0101"
    assert "Alice" in first.content.decode()
    assert "page=2" in first.content.decode()


def test_an_unknown_customer_is_not_found(signed_in):
    assert signed_in.get("/customers/NOPE/").status_code == 404


def test_a_collector_reaches_only_their_own_customers_on_every_page(client, ledger):
    alice = user_create(username="alice", role=Role.COLLECTOR, password="s3cret-pass", name="Alice")
    ledger["northwind"].collector = alice
    ledger["northwind"].save(update_fields=["collector"])
    client.force_login(alice)

    listed = client.get("/customers/")
    searched = client.get("/customers/", {"q": "华东"})
    aging = client.get("/aging/", {"as_of": AS_OF.isoformat()})

    assert [c.code for c in listed.context["page"]] == ["C0002"]
    assert searched.context["page"].paginator.count == 0
    assert [row.currency for row in aging.context["currencies"]] == ["USD"]
    assert client.get("/customers/C0002/").status_code == 200
    assert client.get("/customers/C0001/").status_code == 404  # as for a customer that does not exist


def test_the_stylesheet_is_linked_and_no_cdn_is_used(signed_in, ledger):
    html = signed_in.get("/aging/", {"as_of": AS_OF.isoformat()}).content.decode()

    assert "/static/web/huikuan.css" in html
    assert "https://" not in html and "http://" not in html


def test_logging_out_returns_to_the_login_page(signed_in):
    response = signed_in.post("/accounts/logout/", {"next": "/accounts/login/"})

    assert response.status_code == 302
    assert signed_in.get("/").status_code == 302


ADMIN_MODELS = (
    "customers/customer",
    "customers/contact",
    "ledger/invoice",
    "ledger/payment",
    "ledger/allocation",
    "ledger/invoiceadjustment",
    "ledger/shortpayment",
    "core/apitoken",
)


@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_the_admin_lists_every_model(admin_client, ledger, model):
    response = admin_client.get(f"/admin/{model}/")

    assert response.status_code == 200


def test_the_admin_shows_amounts_as_decimals_and_derived_fields_read_only(admin_client, ledger):
    listing = admin_client.get("/admin/ledger/invoice/", {"q": "INV-1"}).content.decode()
    assert "1234.50 CNY" in listing

    invoice = ledger["shanghai"].invoices.get(number="INV-1")
    form = admin_client.get(f"/admin/ledger/invoice/{invoice.pk}/change/").context["adminform"].form
    assert (
        "open_minor" not in form.fields and "status" not in form.fields and "amount_minor" not in form.fields
    )


def test_an_invoice_added_in_the_admin_is_issued_through_the_ledger(admin_client, ledger):
    response = admin_client.post(
        "/admin/ledger/invoice/add/",
        {
            "number": "INV-ADMIN",
            "customer": ledger["shanghai"].pk,
            "issue_date": "2024-06-01",
            "due_date": "2024-07-01",
            "currency": "cny",
            "amount": "99.95",
            "description": "",
            "po_number": "",
            "allocations-TOTAL_FORMS": "0",
            "allocations-INITIAL_FORMS": "0",
            "adjustments-TOTAL_FORMS": "0",
            "adjustments-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    invoice = ledger["shanghai"].invoices.get(number="INV-ADMIN")
    assert (invoice.currency, invoice.amount_minor, invoice.open_minor, invoice.status) == (
        "CNY",
        9995,
        9995,
        "OPEN",
    )


def test_a_payment_added_in_the_admin_is_allocated_by_the_ledger_rule(admin_client, ledger):
    response = admin_client.post(
        "/admin/ledger/payment/add/",
        {
            "customer": ledger["shanghai"].pk,
            "received_date": "2024-06-28",
            "currency": "CNY",
            "amount": "1000.00",
            "method": "BANK_TRANSFER",
            "reference": "TT1",
            "payer_name": "",
            "external_id": "",
            "invoice_numbers": "INV-1",
            "allocations-TOTAL_FORMS": "0",
            "allocations-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302
    invoice = ledger["shanghai"].invoices.get(number="INV-1")
    assert (invoice.open_minor, invoice.status) == (23450, "PARTIALLY_PAID")
    assert invoice.short_payments.get().short_minor == 23450


def test_the_aging_page_takes_the_same_queries_for_few_or_many_customers(signed_in):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def add_customers(count: int) -> None:
        for _ in range(count):
            customer = make_customer()
            make_invoice(customer, "100.00", issue_date=date(2024, 3, 1), due_days=30)

    add_customers(2)
    with CaptureQueriesContext(connection) as few:
        signed_in.get("/aging/", {"as_of": AS_OF.isoformat()})
    add_customers(40)
    with CaptureQueriesContext(connection) as many:
        response = signed_in.get("/aging/", {"as_of": AS_OF.isoformat()})

    assert response.context["customer_count"] == 42
    assert len(many.captured_queries) == len(few.captured_queries)
