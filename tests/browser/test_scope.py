"""In a real browser: a collector reaches only their own customers, by page and by API."""

from __future__ import annotations

from datetime import date

import pytest

from huikuan.core.auth import api_token_create
from tests.browser.support import sign_in
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def two_collectors(make_user):
    """王丽 collects from 华东机电; 陈刚 collects from 北方重工."""
    wang = make_user("wang.li", role="COLLECTOR", first_name="Li", last_name="Wang")
    chen = make_user("chen.gang", role="COLLECTOR", first_name="Gang", last_name="Chen")
    own = make_customer(code="C-1001", name="上海华东机电设备有限公司", collector=wang)
    other = make_customer(code="C-2002", name="北方重工机械有限公司", collector=chen)
    make_invoice(own, "12000.00", issue_date=date(2026, 8, 1), number="INV-1001")
    make_invoice(other, "56000.00", issue_date=date(2026, 8, 1), number="INV-2002")
    return {"wang": wang, "chen": chen}


def test_another_collectors_customer_answers_404_by_url(page, two_collectors, screenshot):
    sign_in(page, "wang.li")

    own = page.goto("/customers/C-1001/")
    assert own is not None and own.status == 200
    assert "上海华东机电设备有限公司" in page.get_by_role("heading", level=1).inner_text()

    other = page.goto("/customers/C-2002/")

    assert other is not None and other.status == 404
    assert "北方重工" not in page.content()
    screenshot(page, "customer-of-another-collector-404.en")


def test_the_customer_search_never_shows_another_collectors_customer(page, two_collectors):
    sign_in(page, "wang.li")

    page.goto("/customers/?q=重工")
    assert "北方重工" not in page.content()

    page.goto("/customers/?q=C-")
    assert page.get_by_role("link", name="上海华东机电设备有限公司").count() >= 1
    assert "北方重工" not in page.content()


def test_another_collectors_customer_and_invoice_answer_404_by_api(page, two_collectors):
    _token, key = api_token_create(user=two_collectors["wang"], name="browser")
    headers = {"Authorization": f"Bearer {key}"}

    own = page.request.get("/api/v1/customers/C-1001", headers=headers)
    other = page.request.get("/api/v1/customers/C-2002", headers=headers)
    missing = page.request.get("/api/v1/customers/C-9999", headers=headers)
    other_invoice = page.request.get("/api/v1/invoices/INV-2002", headers=headers)

    assert own.status == 200 and own.json()["name"] == "上海华东机电设备有限公司"
    assert other.status == 404
    # Exactly as for a customer that does not exist: nothing tells the two apart.
    assert other.json() == {
        **missing.json(),
        "message": missing.json()["message"].replace("C-9999", "C-2002"),
    }
    assert other.json()["code"] == "customer_not_found"
    assert other_invoice.status == 404


def test_a_manager_reaches_every_customer(page, two_collectors, make_user):
    make_user("zhao.min", role="MANAGER")
    sign_in(page, "zhao.min")

    for code in ("C-1001", "C-2002"):
        response = page.goto(f"/customers/{code}/")
        assert response is not None and response.status == 200
