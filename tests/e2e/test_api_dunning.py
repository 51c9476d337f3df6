"""The credit-status check an order system makes, and dunning runs over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from huikuan.core.money import Money
from huikuan.customers.models import CustomerStatus
from huikuan.dunning.models import CreditHold, DunningRun, HoldKind
from huikuan.ledger.services import payment_record
from tests.e2e.api_client import anonymous, api, api_token, api_user, assert_error  # noqa: F401
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db


def overdue_customer(code: str, days: int = 40):
    customer = make_customer(code=code, country="CN", grade="B")
    today = timezone.localdate()
    make_invoice(customer, amount="500.00", issue_date=today - timedelta(days=30 + days), due_days=30)
    return customer


def test_a_customer_without_holds_may_be_supplied(api):
    overdue_customer("FREE")

    body = api.get("/customers/FREE/credit-status").json()

    assert body["status"] == "ok" and body["holds"] == [] and body["overdue"] == {"CNY": "500.00"}


def test_a_customer_on_hold_is_refused_with_the_reason(api):
    customer = overdue_customer("HELD")
    CreditHold.objects.create(
        customer=customer,
        kind=HoldKind.HOLD,
        currency="CNY",
        placed_date=timezone.localdate(),
        reason="manual",
    )

    body = api.get("/customers/HELD/credit-status").json()

    assert body["status"] == "hold" and body["holds"][0]["kind"] == "hold" and "manual" in body["reasons"]


def test_limited_supply_answers_with_its_cap(api):
    customer = overdue_customer("LIMITED")
    CreditHold.objects.create(
        customer=customer, kind=HoldKind.LIMITED, currency="CNY", cap_minor=5_000_000,
        placed_date=timezone.localdate(),
    )  # fmt: skip

    body = api.get("/customers/LIMITED/credit-status").json()

    assert body["status"] == "limited" and body["limit"] == {"amount": "50000.00", "currency": "CNY"}


def test_an_automatic_hold_lifts_as_soon_as_the_overdue_balance_is_paid(api):
    customer = overdue_customer("PAYS")
    run = DunningRun.objects.create(
        as_of=timezone.localdate(), started_at=timezone.now(), finished_at=timezone.now()
    )
    from huikuan.dunning.models import DunningAction, Policy

    policy = Policy.objects.get(code="standard")
    action = DunningAction.objects.create(
        run=run, as_of=run.as_of, customer=customer, currency="CNY", policy=policy, policy_version=1,
        stage=policy.stages.get(position=6), stage_position=6, amount_minor=50000, invoice_count=1,
        max_days_overdue=40,
    )  # fmt: skip
    CreditHold.objects.create(
        customer=customer, kind=HoldKind.HOLD, currency="CNY", placed_date=run.as_of, action=action
    )
    assert api.get("/customers/PAYS/credit-status").json()["status"] == "hold"

    payment_record(customer=customer, received_date=timezone.localdate(), amount=Money.of("500.00", "CNY"))

    assert api.get("/customers/PAYS/credit-status").json()["status"] == "ok"


def test_a_customer_with_legal_is_on_hold(api):
    make_customer(code="SUED", status=CustomerStatus.LEGAL)

    assert api.get("/customers/SUED/credit-status").json()["status"] == "hold"


def test_credit_status_of_an_unknown_customer_is_404_and_needs_a_token(api, anonymous):
    assert_error(api.get("/customers/NOPE/credit-status"), 404)
    assert anonymous.get("/customers/NOPE/credit-status").status_code == 401


def test_a_run_over_http_answers_like_the_command_and_refuses_an_earlier_date(api):
    overdue_customer("HTTP1", days=4)
    today = timezone.localdate()

    body = api.post("/dunning/runs", {"as_of": today.isoformat()}).json()

    assert body["as_of"] == today.isoformat() and isinstance(body["run_id"], int)
    assert api.get("/dunning/runs").json()[0]["as_of"] == today.isoformat()
    refused = api.post("/dunning/runs", {"as_of": (today - timedelta(days=1)).isoformat()})
    assert_error(refused, 409, "run_refused")
