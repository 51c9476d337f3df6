"""Orders on the customer page: the order check (前帐未清,不谈下回交易), recording an order not yet
invoiced, marking it invoiced or cancelled, and the exposure that counts it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from huikuan.accounts.models import Role
from huikuan.core.models import AuditEntry
from huikuan.core.money import Money
from huikuan.customers.models import Order, OrderStatus
from huikuan.customers.orders import order_create
from tests.e2e.web_builders import make_customer, make_overdue, make_user, signed_in_client

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def rep():
    return make_user("zhou", Role.SALES_REP, "Zhou Rep")


@pytest.fixture
def customer(rep):
    """A limit of 50,000 CNY with 30,000 open and not yet due: 20,000 of headroom."""
    customer = make_customer(
        "ORD-1", name="苏州精工机械有限公司", sales_rep=rep, credit_limit_minor=5_000_000
    )
    make_overdue(customer, "30000.00", days=-10, today=timezone.localdate())  # due in ten days
    return customer


def check(client, customer, amount, *, htmx: bool = False, language: str = "en"):
    headers = {"Accept-Language": language, **(HTMX if htmx else {})}
    return client.get(f"/credit/customers/{customer.code}/check/", {"amount": amount}, headers=headers)


def test_an_order_within_the_headroom_may_be_supplied_in_full(rep, customer):
    response = check(signed_in_client(rep), customer, "12000.00", htmx=True)

    html = response.content.decode()
    assert response.status_code == 200
    assert "supply the whole order" in html
    assert "<html" not in html  # htmx gets the answer alone


def test_an_order_over_the_headroom_is_limited_to_it_with_the_reason(rep, customer):
    html = check(signed_in_client(rep), customer, "26000", htmx=True).content.decode()

    assert "supply up to 20,000.00 CNY" in html
    assert "exposure 30,000.00 of limit 50,000.00 CNY leaves 20,000.00" in html  # amounts grouped


def test_money_overdue_holds_the_order_and_says_since_when(rep, customer, today):
    make_overdue(customer, "800.00", days=45, today=today)

    html = check(signed_in_client(rep), customer, "100", htmx=True).content.decode()

    assert "hold: supply nothing now" in html
    assert "Overdue 800.00 CNY" in html and "45 days" in html


def test_the_check_reads_in_chinese_for_a_chinese_reader(rep, customer):
    html = check(signed_in_client(rep), customer, "100", htmx=True, language="zh-hans")
    assert "可全额供货" in html.content.decode()


def test_the_check_without_htmx_is_a_page_of_its_own_and_bad_amounts_are_refused(rep, customer):
    client = signed_in_client(rep)

    page = check(client, customer, "12000")
    refused = check(client, customer, "-5")
    too_precise = check(client, customer, "10.005", htmx=True)

    assert page.status_code == 200 and "<html" in page.content.decode()
    assert "supply the whole order" in page.content.decode()
    assert refused.status_code == 400 and "greater than or equal to" in refused.content.decode()
    assert "CNY amounts have at most 2 decimal places." in too_precise.content.decode()


def test_the_customer_page_offers_the_check_and_counts_open_orders_in_the_exposure(rep, customer, today):
    order_create(customer=customer, number="SO-77", order_date=today, amount=Money.of("5000", "CNY"))

    html = signed_in_client(rep).get(f"/customers/{customer.code}/").content.decode()

    assert 'id="orders"' in html and "Check the order" in html
    assert "SO-77" in html and "5,000.00 CNY" in html
    assert "35,000.00 CNY" in html  # 30,000 invoiced and 5,000 ordered
    assert "of which 5,000.00 in orders not yet invoiced" in html
    assert "Record an order" in html


def test_a_sales_rep_records_an_order_and_hears_what_the_check_says(rep, customer, today):
    client = signed_in_client(rep)

    response = client.post(
        f"/credit/customers/{customer.code}/orders/",
        {"number": " SO-100 ", "order_date": today.isoformat(), "amount": "26000", "currency": "cny"},
        follow=True,
    )

    order = Order.objects.get(number="SO-100")
    assert (order.customer, order.amount_minor, order.currency, order.status) == (
        customer,
        2_600_000,
        "CNY",
        OrderStatus.OPEN,
    )
    html = response.content.decode()
    assert "Order SO-100 recorded: 26,000.00 CNY" in html
    assert "The order check says: supply up to 20,000.00 CNY." in html  # checked before it counted
    assert AuditEntry.objects.filter(entity="customers.order", actor=rep).count() == 1


def test_a_second_order_with_the_same_number_is_refused_and_the_form_kept(rep, customer, today):
    client = signed_in_client(rep)
    form = {"number": "SO-1", "order_date": today.isoformat(), "amount": "100", "currency": "CNY"}
    client.post(f"/credit/customers/{customer.code}/orders/", form)

    again = client.post(f"/credit/customers/{customer.code}/orders/", {**form, "description": "重复"})

    assert again.status_code == 400
    assert "Order SO-1 is already recorded." in again.content.decode()
    assert "重复" in again.content.decode()
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", "0", "greater than or equal to"),
        ("currency", "XXY", "XXY is not a currency code."),
        ("order_date", "next week", "Enter a valid date."),
        ("number", "", "This field is required."),
    ],
)
def test_a_bad_order_is_refused_with_the_reason_and_nothing_is_recorded(
    rep, customer, today, field, value, message
):
    form = {
        "number": "SO-9",
        "order_date": today.isoformat(),
        "amount": "100",
        "currency": "CNY",
        field: value,
    }

    response = signed_in_client(rep).post(f"/credit/customers/{customer.code}/orders/", form)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Order.objects.exists()


def test_an_order_marked_invoiced_leaves_the_list_and_the_exposure(rep, customer, today):
    order = order_create(customer=customer, number="SO-5", order_date=today, amount=Money.of("5000", "CNY"))
    client = signed_in_client(rep)

    response = client.post(
        f"/credit/customers/{customer.code}/orders/{order.pk}/status/", {"status": "INVOICED"}, follow=True
    )

    order.refresh_from_db()
    assert order.status == OrderStatus.INVOICED
    html = response.content.decode()
    assert "Order SO-5 is marked invoiced." in html
    assert "No orders waiting for an invoice." in html
    assert "30,000.00 CNY" in html and "in orders not yet invoiced" not in html


def test_an_auditor_may_check_but_not_record_and_others_reach_only_their_customers(rep, customer, today):
    auditor = signed_in_client(make_user("audrey", Role.AUDITOR))
    stranger = signed_in_client(make_user("other", Role.SALES_REP))
    order = order_create(customer=customer, number="SO-6", order_date=today, amount=Money.of("10", "CNY"))
    form = {"number": "SO-7", "order_date": today.isoformat(), "amount": "100", "currency": "CNY"}

    assert check(auditor, customer, "100").status_code == 200
    assert "Record an order" not in auditor.get(f"/customers/{customer.code}/").content.decode()
    assert auditor.post(f"/credit/customers/{customer.code}/orders/", form).status_code == 403
    assert check(stranger, customer, "100").status_code == 404
    assert stranger.post(f"/credit/customers/{customer.code}/orders/", form).status_code == 404
    status_url = f"/credit/customers/{customer.code}/orders/{order.pk}/status/"
    assert stranger.post(status_url, {"status": "CANCELLED"}).status_code == 404
    other = make_customer("ORD-2", sales_rep=rep)
    elsewhere = f"/credit/customers/{other.code}/orders/{order.pk}/status/"
    assert signed_in_client(rep).post(elsewhere, {"status": "CANCELLED"}).status_code == 404
    order.refresh_from_db()
    assert order.status == OrderStatus.OPEN and not Order.objects.filter(number="SO-7").exists()


def test_the_customer_page_takes_the_same_queries_with_one_order_or_many(rep, customer, today):
    client = signed_in_client(rep)
    numbers = iter(range(100))

    def add_orders(count: int) -> None:
        for _ in range(count):
            order_create(
                customer=customer,
                number=f"SO-{next(numbers)}",
                order_date=today - timedelta(days=1),
                amount=Money.of("10", "CNY"),
            )

    add_orders(1)
    with CaptureQueriesContext(connection) as few:
        client.get(f"/customers/{customer.code}/")
    add_orders(20)
    with CaptureQueriesContext(connection) as many:
        html = client.get(f"/customers/{customer.code}/").content.decode()

    assert len(many.captured_queries) == len(few.captured_queries)
    assert "The latest 10 are shown." in html
