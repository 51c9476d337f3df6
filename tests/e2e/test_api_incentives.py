"""The incentives API: offers within and beyond a role's limit, approval, and 4xx with reasons."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from huikuan.accounts.models import Profile, Role
from huikuan.core.auth import api_token_create
from huikuan.customers.services import contact_create
from tests.e2e.api_client import ApiClient, assert_error
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db


def user_with(username: str, role: Role):
    user = get_user_model().objects.create_user(username=username)
    Profile.objects.create(user=user, role=role)
    return user


def client_for(user) -> ApiClient:
    _token, key = api_token_create(user=user)
    return ApiClient(key)


@pytest.fixture
def wang():
    return user_with("wang", Role.COLLECTOR)


@pytest.fixture
def mine(wang):
    customer = make_customer("MINE", collector=wang, language="en")
    make_invoice(customer, "3000.00", number="INV-MINE-1")
    make_invoice(customer, "1000.00", number="INV-MINE-2")
    contact_create(customer=customer, name="Chen", email="chen@example.com", is_primary=True)
    return customer


@pytest.fixture
def theirs():
    customer = make_customer("THEIRS", collector=user_with("li", Role.COLLECTOR))
    make_invoice(customer, "500.00", number="INV-THEIRS-1")
    return customer


@pytest.fixture
def collector(wang, mine, theirs) -> ApiClient:
    return client_for(wang)


DISCOUNT = {
    "kind": "discount",
    "invoices": ["INV-MINE-1"],
    "pay_by_date": "2099-01-10",
    "discount_percent": "2",
}
SETTLEMENT = {"kind": "settlement", "invoices": ["INV-MINE-1", "INV-MINE-2"], "pay_by_date": "2099-01-10",
              "settle_amount": "3000.00"}  # fmt: skip


def test_a_collector_offers_a_discount_within_their_limit_and_sends_it(collector):
    response = collector.post("/legal/customers/MINE/incentives", {**DISCOUNT, "terms": "2/10 net 30"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["open"], body["pay"], body["concession"]) == (
        "OFFERED",
        "3000.00",
        "2940.00",
        "60.00",
    )
    sent = collector.post(f"/legal/incentives/{body['id']}/send")
    assert sent.status_code == 200, sent.content


def test_a_settlement_beyond_the_limit_waits_and_a_manager_approves_it(collector):
    offer = collector.post("/legal/customers/MINE/incentives", SETTLEMENT).json()
    assert offer["status"] == "AWAITING_APPROVAL"
    assert_error(collector.post(f"/legal/incentives/{offer['id']}/approve"), 403, "approval_limit")
    assert_error(collector.post(f"/legal/incentives/{offer['id']}/reject", {}), 403, "approval_limit")
    assert_error(collector.post(f"/legal/incentives/{offer['id']}/send"), 409, "incentive_not_live")
    waiting = client_for(user_with("boss", Role.MANAGER)).get(
        "/legal/incentives", {"status": "awaiting_approval"}
    )
    assert [item["id"] for item in waiting.json()["items"]] == [offer["id"]]

    approved = client_for(user_with("m2", Role.MANAGER)).post(f"/legal/incentives/{offer['id']}/approve")

    assert approved.status_code == 200 and approved.json()["approved_by"] == "m2"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({**DISCOUNT, "discount_percent": "100"}, 400, "incentive_invalid"),
        ({**DISCOUNT, "kind": "bribe"}, 400, "incentive_invalid"),
        ({**SETTLEMENT, "settle_amount": "4000.00"}, 400, "incentive_invalid"),
        ({**DISCOUNT, "invoices": ["INV-THEIRS-1"]}, 400, "invoice_not_found"),
        ({**DISCOUNT, "invoices": []}, 400, "validation_error"),
        ({**DISCOUNT, "pay_by_date": "2000-01-01"}, 400, "incentive_invalid"),
    ],
)
def test_a_wrong_offer_answers_4xx_with_the_reason(collector, body, status, code):
    assert_error(collector.post("/legal/customers/MINE/incentives", body), status, code)


def test_a_second_offer_on_the_same_invoice_answers_409(collector):
    collector.post("/legal/customers/MINE/incentives", DISCOUNT)

    assert_error(collector.post("/legal/customers/MINE/incentives", DISCOUNT), 409, "invoice_has_offer")


def test_another_collectors_customer_and_offers_answer_404(collector, theirs):
    other = client_for(user_with("cc", Role.CREDIT_CONTROLLER))
    offer = other.post(
        "/legal/customers/THEIRS/incentives", {**DISCOUNT, "invoices": ["INV-THEIRS-1"]}
    ).json()

    assert_error(collector.get("/legal/customers/THEIRS/incentives"), 404, "customer_not_found")
    assert_error(collector.post(f"/legal/incentives/{offer['id']}/withdraw", {}), 404, "incentive_not_found")
    assert collector.get("/legal/incentives").json()["count"] == 0


def test_withdrawn_offers_cannot_be_withdrawn_again(collector):
    offer = collector.post("/legal/customers/MINE/incentives", DISCOUNT).json()

    assert (
        collector.post(f"/legal/incentives/{offer['id']}/withdraw", {"reason": "paid"}).json()["status"]
        == "WITHDRAWN"
    )
    assert_error(collector.post(f"/legal/incentives/{offer['id']}/withdraw", {}), 409, "incentive_not_live")
