"""Payments through HTTP: record and allocate, list with filters, get, correct."""

from datetime import date

import pytest

from huikuan.core.money import Money
from huikuan.ledger.models import Invoice, Payment
from huikuan.ledger.services import payment_record, payment_unallocate
from tests.e2e.api_client import anonymous, api, api_token, api_user, assert_error  # noqa: F401
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db


def _payment(**overrides):
    body = {"customer": "C1", "received_date": "2024-03-01", "currency": "CNY", "amount": "150.00"}
    body.update(overrides)
    return body


def test_a_payment_settles_the_named_invoice_first_and_reports_its_allocations(api):
    customer = make_customer("C1")
    make_invoice(customer, "100.00", number="OLD", issue_date=date(2024, 1, 1))
    make_invoice(customer, "100.00", number="NAMED", issue_date=date(2024, 2, 1))

    response = api.post(
        "/payments",
        _payment(
            invoice_numbers=["NAMED"],
            reference="TT-001",
            payer_name="上海某某公司",
            method="bank_acceptance_bill",
        ),
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["amount"], body["unapplied_amount"], body["currency"]) == ("150.00", "0.00", "CNY")
    assert body["method"] == "BANK_ACCEPTANCE_BILL" and body["payer_name"] == "上海某某公司"
    assert body["allocations"] == [
        {"invoice": "NAMED", "amount": "100.00", "allocation_date": "2024-03-01"},
        {"invoice": "OLD", "amount": "50.00", "allocation_date": "2024-03-01"},
    ]
    assert Invoice.objects.get(number="OLD").open_minor == 5000


def test_money_beyond_the_open_invoices_stays_unapplied_on_account(api):
    make_invoice(make_customer("C1"), "100.00", number="INV-1")

    body = api.post("/payments", _payment(amount="250")).json()

    assert body["unapplied_amount"] == "150.00"
    assert [a["amount"] for a in body["allocations"]] == ["100.00"]


@pytest.mark.parametrize(
    ("currency", "sent", "returned"),
    [("JPY", "150000", "150000"), ("KWD", "1.005", "1.005"), ("KWD", 7, "7.000")],
)
def test_payment_amounts_round_trip_in_every_exponent(api, currency, sent, returned):
    make_customer("C1")

    body = api.post("/payments", _payment(currency=currency, amount=sent)).json()

    assert body["amount"] == returned == body["unapplied_amount"]


def test_currency_defaults_to_the_customers(api):
    make_customer("C1", currency="JPY")

    response = api.post("/payments", {"customer": "C1", "received_date": "2024-03-01", "amount": "500"})

    assert (response.json()["currency"], response.json()["amount"]) == ("JPY", "500")


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"customer": "NOPE"}, 400, "customer_not_found"),
        ({"invoice_numbers": ["NOPE"]}, 400, "invoice_not_found"),
        ({"invoice_numbers": ["OTHER"]}, 400, "invoice_of_another_customer"),
        ({"currency": "USD", "invoice_numbers": ["INV-1"]}, 400, "currency_mismatch"),
        ({"amount": "-1"}, 400, "amount_not_positive"),
        ({"amount": "abc"}, 400, "validation_error"),
        ({"amount": "1.001"}, 400, "validation_error"),
        ({"currency": "XYZ"}, 400, "validation_error"),
        ({"method": "BITCOIN"}, 400, "validation_error"),
        ({"received_date": "yesterday"}, 400, "validation_error"),
        ({"invoice_numbers": "INV-1"}, 400, "validation_error"),
    ],
)
def test_invalid_payments_are_refused_and_nothing_is_recorded(api, overrides, status, code):
    make_invoice(make_customer("C1"), number="INV-1")
    make_invoice(make_customer("C2"), number="OTHER")

    assert_error(api.post("/payments", _payment(**overrides)), status, code)

    assert not Payment.objects.exists()
    assert set(Invoice.objects.values_list("open_minor", flat=True)) == {10000}


def test_a_duplicate_payment_id_is_refused(api):
    make_customer("C1")
    assert api.post("/payments", _payment(payment_id="BANK-1")).status_code == 201

    assert_error(api.post("/payments", _payment(payment_id="BANK-1")), 409, "payment_id_taken")

    assert Payment.objects.count() == 1


def test_a_payment_is_fetched_by_id_with_reversals_shown_as_negative_rows(api):
    customer = make_customer("C1")
    make_invoice(customer, "100.00", number="INV-1")
    payment = payment_record(customer=customer, received_date=date(2024, 3, 1), amount=Money.of("60", "CNY"))
    payment_unallocate(payment=payment, on_date=date(2024, 3, 5))

    body = api.get(f"/payments/{payment.pk}").json()

    assert body["unapplied_amount"] == "60.00"
    assert [(a["amount"], a["allocation_date"]) for a in body["allocations"]] == [
        ("60.00", "2024-03-01"),
        ("-60.00", "2024-03-05"),
    ]


def test_an_unknown_payment_is_404(api):
    assert_error(api.get("/payments/424242"), 404, "payment_not_found")
    assert_error(api.patch("/payments/424242", {"reference": "x"}), 404, "payment_not_found")


def test_patch_corrects_reference_payer_and_method_only(api):
    payment = payment_record(
        customer=make_customer("C1"), received_date=date(2024, 3, 1), amount=Money.of("5", "CNY")
    )

    response = api.patch(
        f"/payments/{payment.pk}", {"reference": "TT-9", "payer_name": "Acme", "method": "cash"}
    )

    assert response.status_code == 200, response.content
    payment.refresh_from_db()
    assert (payment.reference, payment.payer_name, payment.method) == ("TT-9", "Acme", "CASH")
    assert_error(api.patch(f"/payments/{payment.pk}", {"amount": "6"}), 400, "validation_error")
    assert_error(api.patch(f"/payments/{payment.pk}", {"method": None}), 400, "validation_error")


def test_payments_are_listed_newest_first_and_filtered(api):
    first, second = make_customer("C1"), make_customer("C2")
    make_invoice(first, "10.00", number="INV-1")
    payment_record(customer=first, received_date=date(2024, 1, 5), amount=Money.of("10", "CNY"))
    payment_record(customer=first, received_date=date(2024, 2, 5), amount=Money.of("10", "USD"))
    payment_record(customer=second, received_date=date(2024, 3, 5), amount=Money.of("10", "CNY"))

    def dates(**params):
        response = api.get("/payments", params)
        assert response.status_code == 200, response.content
        return [item["received_date"] for item in response.json()["items"]]

    assert dates() == ["2024-03-05", "2024-02-05", "2024-01-05"]
    assert dates(customer="C1") == ["2024-02-05", "2024-01-05"]
    assert dates(currency="usd") == ["2024-02-05"]
    assert dates(received_after="2024-02-05") == ["2024-03-05", "2024-02-05"]
    assert dates(received_before="2024-02-04") == ["2024-01-05"]
    assert dates(unapplied="true") == ["2024-03-05", "2024-02-05"]
    assert dates(unapplied="false") == ["2024-01-05"]


def test_listing_payments_with_allocations_takes_a_bounded_number_of_queries(
    api, django_assert_max_num_queries
):
    for n in range(20):
        customer = make_customer(f"C{n:02d}")
        make_invoice(customer, "10.00", number=f"A{n:02d}")
        make_invoice(customer, "10.00", number=f"B{n:02d}")
        payment_record(customer=customer, received_date=date(2024, 3, 1), amount=Money.of("15", "CNY"))
    api.get("/payments")

    with django_assert_max_num_queries(4):  # token, count, page with customers, allocations with invoices
        response = api.get("/payments", {"page_size": 20})

    items = response.json()["items"]
    assert len(items) == 20 and all(len(item["allocations"]) == 2 for item in items)
