"""The credit API: the order check, profiles, ratings, overrides and orders."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from huikuan.accounts.models import Profile, Role
from huikuan.core.auth import api_token_create
from huikuan.core.money import Money
from huikuan.customers.models import Order
from huikuan.ledger.services import payment_record
from tests.e2e.api_client import ApiClient, api, api_token, api_user, assert_error  # noqa: F401
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db


def client_as(username: str, role: Role) -> ApiClient:
    user = get_user_model().objects.create_user(username=username)
    Profile.objects.create(user=user, role=role)
    return ApiClient(api_token_create(user=user)[1])


def test_overdue_past_tolerance_is_hold_and_payment_brings_approve(api, settings):
    settings.HUIKUAN_CREDIT_OVERDUE_TOLERANCE_DAYS = 5
    today = timezone.localdate()
    customer = make_customer("OVERDUE")
    invoice = make_invoice(customer, amount="500.00", issue_date=today - timedelta(days=40), due_days=30)

    answer = api.post("/credit/check", {"customer": "OVERDUE", "amount": "200.00"})

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert set(body) == {"decision", "allowed_amount", "reasons"}
    assert body["decision"] == "hold"
    assert body["allowed_amount"] == "0.00"
    assert any("Overdue 500.00 CNY" in reason for reason in body["reasons"])

    payment_record(customer=customer, received_date=today, amount=Money.of("500.00", "CNY"),
                   invoice_numbers=[invoice.number])  # fmt: skip
    body = api.post("/credit/check", {"customer": "OVERDUE", "amount": "200.00"}).json()
    assert body == {"decision": "approve", "allowed_amount": "200.00", "reasons": []}


def test_overdue_within_the_tolerance_does_not_hold(api, settings):
    settings.HUIKUAN_CREDIT_OVERDUE_TOLERANCE_DAYS = 15
    today = timezone.localdate()
    customer = make_customer("LATE")
    make_invoice(customer, amount="500.00", issue_date=today - timedelta(days=40), due_days=30)
    assert api.post("/credit/check", {"customer": "LATE", "amount": 1}).json()["decision"] == "approve"
    settings.HUIKUAN_CREDIT_OVERDUE_TOLERANCE_DAYS = 0
    settings.HUIKUAN_CREDIT_OVERDUE_TOLERANCE_AMOUNT = "500"
    assert api.post("/credit/check", {"customer": "LATE", "amount": 1}).json()["decision"] == "approve"
    settings.HUIKUAN_CREDIT_OVERDUE_TOLERANCE_AMOUNT = "499.99"
    assert api.post("/credit/check", {"customer": "LATE", "amount": 1}).json()["decision"] == "hold"


def test_over_the_limit_is_limited_to_the_headroom_and_none_left_is_hold(api):
    today = timezone.localdate()
    customer = make_customer("LIMIT", credit_limit_minor=100_000)
    make_invoice(customer, amount="300.00", issue_date=today, due_days=30)
    created = api.post(
        "/credit/orders",
        {"number": "SO-9", "customer": "LIMIT", "order_date": today.isoformat(), "amount": "200.00"},
    )
    assert created.status_code == 201, created.content
    assert created.json()["amount"] == "200.00"

    body = api.post("/credit/check", {"customer": "LIMIT", "amount": "800.00"}).json()
    assert body["decision"] == "limited"
    assert body["allowed_amount"] == "500.00"
    assert body["reasons"]
    assert (
        api.post("/credit/check", {"customer": "LIMIT", "amount": "500.00"}).json()["decision"] == "approve"
    )

    api.post(
        "/credit/orders",
        {"number": "SO-10", "customer": "LIMIT", "order_date": today.isoformat(), "amount": "500"},
    )
    body = api.post("/credit/check", {"customer": "LIMIT", "amount": "1"}).json()
    assert (body["decision"], body["allowed_amount"]) == ("hold", "0.00")
    # An order invoiced leaves exposure (its invoice takes over), a cancelled one too.
    patched = api.patch("/credit/orders/SO-10", {"status": "cancelled"})
    assert patched.json()["status"] == "CANCELLED"
    assert api.post("/credit/check", {"customer": "LIMIT", "amount": "1"}).json()["decision"] == "approve"
    assert Order.objects.filter(customer=customer, status="OPEN").count() == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"customer": "GOOD", "amount": "-5"}, 400, "amount_not_positive"),
        ({"customer": "GOOD", "amount": "0"}, 400, "amount_not_positive"),
        ({"customer": "GOOD", "amount": "1.234"}, 400, "amount_invalid"),
        ({"customer": "NOBODY", "amount": "5"}, 404, None),
        ({"customer": "GOOD"}, 400, None),
        ({"customer": "GOOD", "amount": "lots"}, 400, None),
        ({"customer": "GOOD", "amount": "5", "extra": 1}, 400, None),
    ],
)
def test_bad_input_is_a_4xx_with_a_reason(api, body, status, code):
    make_customer("GOOD")
    response = api.post("/credit/check", body)
    assert response.status_code in (status, 422) if code is None else response.status_code == status
    assert_error(response, response.status_code, code)


def test_a_collector_cannot_check_another_collectors_customer():
    client_as("wang", Role.COLLECTOR)
    li = client_as("li", Role.COLLECTOR)
    make_customer("WANGS", collector=get_user_model().objects.get(username="wang"))
    assert_error(li.post("/credit/check", {"customer": "WANGS", "amount": "5"}), 404)


def test_profile_ratings_and_override(api):
    today = timezone.localdate()
    customer = make_customer("PROFILE", grade="A")
    for n in range(4):
        invoice = make_invoice(customer, issue_date=today - timedelta(days=60 + 30 * n), due_days=30)
        payment_record(customer=customer, received_date=invoice.due_date + timedelta(days=50),
                       amount=Money.of("100.00", "CNY"), invoice_numbers=[invoice.number])  # fmt: skip
    rated = api.post("/credit/ratings", {})
    assert rated.status_code == 200, rated.content
    assert rated.json()["customers_rated"] == 1

    profile = api.get("/credit/customers/PROFILE").json()
    assert profile["grade"] == profile["rated_grade"] != "A"
    assert profile["score"] is not None
    keys = [factor["key"] for factor in profile["factors"]]
    assert "on_time_share" in keys
    on_time = next(factor for factor in profile["factors"] if factor["key"] == "on_time_share")
    assert (on_time["value"], on_time["display"], on_time["effect"]) == ("0.0", "0 %", "-40.0")
    assert on_time["label"] == "invoices paid on time"

    ratings = api.get("/credit/customers/PROFILE/ratings").json()
    assert len(ratings) == 1 and ratings[0]["inputs"]["invoices_due"] == 4

    until = (today + timedelta(days=10)).isoformat()
    # A credit controller may not override; a manager may.
    assert_error(
        api.post("/credit/customers/PROFILE/override", {"grade": "A", "reason": "deposit", "until": until}),
        403,
    )
    manager = client_as("boss", Role.MANAGER)
    answer = manager.post(
        "/credit/customers/PROFILE/override", {"grade": "a", "reason": "deposit paid", "until": until}
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["grade"] == "A"
    assert answer.json()["override"]["reason"] == "deposit paid"
    assert_error(
        manager.post("/credit/customers/PROFILE/override", {"grade": "Z", "reason": "x", "until": until}), 400
    )
    ended = manager.post("/credit/customers/PROFILE/override/end", {}).json()
    assert ended["override"] is None
    assert ended["grade"] == profile["rated_grade"]
    assert_error(api.get("/credit/customers/NOBODY"), 404)


def test_orders_are_listed_in_scope_and_numbers_are_unique(api):
    today = timezone.localdate().isoformat()
    make_customer("ORD")
    assert (
        api.post(
            "/credit/orders", {"number": "A-1", "customer": "ORD", "order_date": today, "amount": "5"}
        ).status_code
        == 201
    )
    assert_error(
        api.post("/credit/orders", {"number": "A-1", "customer": "ORD", "order_date": today, "amount": "5"}),
        409,
    )
    assert_error(
        api.post("/credit/orders", {"number": "A-2", "customer": "ORD", "order_date": today, "amount": "0"}),
        400,
    )
    listed = api.get("/credit/orders", {"customer": "ORD"}).json()
    assert [order["number"] for order in listed["items"]] == ["A-1"]
    assert_error(api.patch("/credit/orders/A-1", {"status": "shipped"}), 400)
    assert_error(api.patch("/credit/orders/NONE", {"status": "INVOICED"}), 404)
