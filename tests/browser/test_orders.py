"""In a real browser: a sales rep checks an order on the customer page before taking it, then
records it, and sees it counted in the exposure."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from huikuan.customers.models import Order, OrderStatus
from tests.browser.support import sign_in
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def customer(make_user):
    """A limit of 50,000 CNY, 30,000 of it used by an invoice not yet due."""
    rep = make_user("zhou", role="SALES_REP", first_name="Zhou")
    customer = make_customer(
        code="C-2001", name="苏州精工机械有限公司", sales_rep=rep, credit_limit_minor=5_000_000
    )
    make_invoice(customer, "30000.00", issue_date=timezone.localdate(), due_days=30, number="INV-2001")
    return customer


def test_a_sales_rep_checks_an_order_then_records_it(page, customer, screenshot):
    sign_in(page, "zhou", next_url="/customers/C-2001/")
    orders = page.locator("#orders")

    orders.get_by_label("Order amount (CNY)").fill("26000")
    orders.get_by_role("button", name="Check the order").click()

    answer = orders.get_by_role("status")
    answer.wait_for()
    assert "supply up to 20,000.00 CNY" in answer.inner_text()
    assert page.url.endswith("/customers/C-2001/")  # answered in place
    screenshot(page, "customer-order-check.en")

    orders.locator("summary", has_text="Record an order").click()
    form = orders.locator("form", has=page.get_by_role("button", name="Record the order"))
    form.get_by_label("Order number").fill("SO-2001")
    form.get_by_label("Order date").fill((timezone.localdate() - timedelta(days=1)).isoformat())
    form.get_by_label("Order amount").fill("20000")
    with page.expect_navigation():
        form.get_by_role("button", name="Record the order").click()

    page.get_by_text("Order SO-2001 recorded: 20,000.00 CNY").wait_for()
    assert page.locator("#orders tr", has_text="SO-2001").count() == 1
    assert "of which 20,000.00 in orders not yet invoiced" in page.locator("main").inner_text()
    order = Order.objects.get(number="SO-2001")
    assert order.status == OrderStatus.OPEN and order.amount_minor == 2_000_000
