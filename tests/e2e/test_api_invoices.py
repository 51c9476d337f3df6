"""Invoices through HTTP: issue, list with filters, get, correct; money as exact decimal strings."""

import json
from datetime import date, timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huikuan.core.money import Money
from huikuan.customers.models import Customer
from huikuan.ledger.models import Invoice
from huikuan.ledger.services import credit_note_issue, payment_record
from tests.e2e.api_client import anonymous, api, api_token, api_user, assert_error  # noqa: F401
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db


def _invoice(**overrides):
    body = {
        "number": "INV-1",
        "customer": "C1",
        "issue_date": "2024-01-10",
        "currency": "CNY",
        "amount": "1234.50",
    }
    body.update(overrides)
    return body


def test_an_invoice_is_issued_and_returned_with_amounts_as_decimal_strings(api):
    make_customer("C1")

    response = api.post("/invoices", _invoice(due_date="2024-02-09", po_number="PO-7", description="steel"))

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["amount"] == "1234.50" and body["open_amount"] == "1234.50"
    assert (body["currency"], body["status"], body["customer"]) == ("CNY", "OPEN", "C1")
    assert (body["due_date"], body["po_number"], body["settled_date"]) == ("2024-02-09", "PO-7", None)
    stored = Invoice.objects.get(number="INV-1")
    assert (stored.amount_minor, stored.open_minor) == (123450, 123450)


def test_currency_and_due_date_default_to_the_customers(api):
    make_customer("C1", currency="USD", payment_terms_days=45)

    body = api.post(
        "/invoices", {"number": "INV-1", "customer": "C1", "issue_date": "2024-01-10", "amount": 5}
    ).json()

    assert (body["currency"], body["due_date"], body["amount"]) == ("USD", "2024-02-24", "5.00")


@pytest.mark.parametrize(
    ("currency", "sent", "returned", "minor"),
    [
        ("JPY", "1234", "1234", 1234),
        ("JPY", 1500000, "1500000", 1500000),
        ("KWD", "12.345", "12.345", 12345),
        ("KWD", "0.001", "0.001", 1),
        ("CNY", "0.1", "0.10", 10),
        ("CNY", "99999999999.99", "99999999999.99", 9999999999999),
    ],
)
def test_money_round_trips_exactly_in_every_exponent(api, currency, sent, returned, minor):
    make_customer("C1")

    created = api.post("/invoices", _invoice(currency=currency, amount=sent))

    assert created.status_code == 201, created.content
    assert created.json()["amount"] == returned
    assert api.get("/invoices/INV-1").json()["amount"] == returned
    assert Invoice.objects.get().amount_minor == minor


def test_a_json_number_is_read_exactly_not_through_a_float(api):
    make_customer("C1")
    # 1e16 + 0.01 has no exact float; read as a float it would come back as 10000000000000000.
    raw = json.dumps(_invoice(amount="AMOUNT")).replace('"AMOUNT"', "99999999999999.99")

    response = api.post("/invoices", raw=raw)

    assert response.status_code == 201, response.content
    assert response.json()["amount"] == "99999999999999.99"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "人民币"}, "currency"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "1,234.50"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "Infinity"}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": None}, "amount"),
        ({"amount": "1e999999999"}, "amount"),
        ({"amount": "12.345"}, "amount"),
        ({"currency": "JPY", "amount": "10.5"}, "amount"),
        ({"issue_date": "2024-02-30"}, "issue_date"),
        ({"issue_date": "31/01/2024"}, "issue_date"),
        ({"issue_date": "20244-01-31"}, "issue_date"),
        ({"issue_date": "0024-01-31"}, "issue_date"),
        ({"number": ""}, "number"),
        ({"number": "x" * 65}, "number"),
        ({"description": "x" * 501}, "description"),
        ({"amout": "1"}, "amout"),
    ],
)
def test_invalid_invoice_input_is_a_400_naming_the_field(api, overrides, field):
    make_customer("C1")

    error = assert_error(api.post("/invoices", _invoice(**overrides)), 400, "validation_error")

    assert error["message"].startswith(f"{field}:"), error
    assert not Invoice.objects.exists()


@pytest.mark.parametrize("missing", ["number", "customer", "issue_date", "amount"])
def test_a_missing_required_field_is_named(api, missing):
    make_customer("C1")
    body = _invoice()
    del body[missing]

    error = assert_error(api.post("/invoices", body), 400, "validation_error")

    assert error["message"] == f"{missing}: Field required"


@pytest.mark.parametrize(("amount", "code"), [("-5", "amount_not_positive"), ("0", "amount_not_positive")])
def test_a_zero_or_negative_amount_is_refused_by_the_ledger_rule(api, amount, code):
    make_customer("C1")

    assert_error(api.post("/invoices", _invoice(amount=amount)), 400, code)


def test_a_due_date_before_the_issue_date_is_refused(api):
    make_customer("C1")

    assert_error(api.post("/invoices", _invoice(due_date="2024-01-01")), 400, "dates_out_of_order")


def test_an_invoice_of_an_unknown_customer_is_a_400_naming_the_customer(api):
    error = assert_error(api.post("/invoices", _invoice(customer="NOPE")), 400, "customer_not_found")

    assert "NOPE" in error["message"]


def test_a_duplicate_invoice_number_is_a_409_and_keeps_the_first(api):
    make_customer("C1")
    api.post("/invoices", _invoice())

    assert_error(api.post("/invoices", _invoice(amount="1")), 409, "invoice_number_taken")

    assert Invoice.objects.get().amount_minor == 123450


@pytest.mark.parametrize(
    "raw",
    ['{"number": "INV-1",', "not json", '{"amount": NaN}', b"\xff\xfe", "[1, 2]", '"text"', "null"],
)
def test_a_malformed_or_non_object_body_is_a_400_not_a_500(api, raw):
    make_customer("C1")

    error = assert_error(api.post("/invoices", raw=raw), 400)

    assert error["code"] in {"malformed_json", "validation_error"}


def test_an_empty_body_says_which_fields_are_required(api):
    error = assert_error(api.post("/invoices", raw=""), 400, "validation_error")

    assert error["message"] == "request body: Field required"


def test_an_invoice_number_with_slashes_is_addressable(api):
    customer = make_customer("C1")
    make_invoice(customer, number="FP/2024/0001")

    assert api.get("/invoices/FP/2024/0001").json()["number"] == "FP/2024/0001"
    assert_error(api.get("/invoices/FP/2024/0002"), 404, "invoice_not_found")


def test_open_amount_and_status_follow_payments(api):
    customer = make_customer("C1")
    invoice = make_invoice(customer, "100.00", number="INV-1")
    payment_record(customer=customer, received_date=date(2024, 2, 1), amount=Money.of("40", "CNY"))

    body = api.get("/invoices/INV-1").json()

    assert (body["amount"], body["open_amount"], body["status"]) == ("100.00", "60.00", "PARTIALLY_PAID")
    assert invoice.pk


def test_patch_corrects_description_po_number_and_due_date(api):
    make_invoice(make_customer("C1"), number="INV-1", issue_date=date(2024, 1, 1))

    response = api.patch(
        "/invoices/INV-1", {"description": "fixed", "po_number": "PO-9", "due_date": "2024-03-01"}
    )

    assert response.status_code == 200, response.content
    stored = Invoice.objects.get()
    assert (stored.description, stored.po_number, stored.due_date) == ("fixed", "PO-9", date(2024, 3, 1))


def test_the_amount_can_be_corrected_while_nothing_refers_to_it(api):
    make_invoice(make_customer("C1"), "100.00", number="INV-1")

    body = api.patch("/invoices/INV-1", {"amount": "120.00"}).json()

    assert (body["amount"], body["open_amount"]) == ("120.00", "120.00")


def test_the_amount_cannot_change_once_a_payment_refers_to_it(api):
    customer = make_customer("C1")
    make_invoice(customer, "100.00", number="INV-1")
    payment_record(customer=customer, received_date=date(2024, 2, 1), amount=Money.of("40", "CNY"))

    assert_error(api.patch("/invoices/INV-1", {"amount": "120.00"}), 409, "invoice_has_activity")

    assert Invoice.objects.get().amount_minor == 10000


def test_the_amount_cannot_change_once_a_credit_note_refers_to_it(api):
    invoice = make_invoice(make_customer("C1"), "100.00", number="INV-1")
    credit_note_issue(
        invoice=invoice, amount=Money.of("10", "CNY"), on_date=date(2024, 1, 5), reason="damaged"
    )

    assert_error(api.patch("/invoices/INV-1", {"amount": "120.00"}), 409, "invoice_has_activity")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"number": "INV-2"}, 400, "validation_error"),
        ({"currency": "USD"}, 400, "validation_error"),
        ({"due_date": "2023-12-01"}, 400, "dates_out_of_order"),
        ({"due_date": None}, 400, "validation_error"),
        ({"amount": "-1"}, 400, "amount_not_positive"),
    ],
)
def test_patch_refuses_what_cannot_change(api, body, status, code):
    make_invoice(make_customer("C1"), number="INV-1", issue_date=date(2024, 1, 1))

    assert_error(api.patch("/invoices/INV-1", body), status, code)


def test_invoices_are_filtered_by_customer_status_currency_and_due_dates(api):
    first, second = make_customer("C1"), make_customer("C2")
    make_invoice(first, "10", number="A", issue_date=date(2024, 1, 1))  # due 2024-01-31
    make_invoice(first, "10", "USD", number="B", issue_date=date(2024, 2, 1))  # due 2024-03-02
    make_invoice(second, "10", number="C", issue_date=date(2024, 3, 1))  # due 2024-03-31
    payment_record(customer=second, received_date=date(2024, 3, 5), amount=Money.of("10", "CNY"))

    def numbers(**params):
        response = api.get("/invoices", params)
        assert response.status_code == 200, response.content
        return [item["number"] for item in response.json()["items"]]

    assert numbers() == ["A", "B", "C"]
    assert numbers(customer="C1") == ["A", "B"]
    assert numbers(status="paid") == ["C"]
    assert numbers(currency="usd") == ["B"]
    assert numbers(due_after="2024-03-02") == ["B", "C"]
    assert numbers(due_before="2024-03-02") == ["A", "B"]
    assert numbers(due_after="2024-02-01", due_before="2024-03-30") == ["B"]
    assert numbers(customer="NOPE") == []


def test_the_overdue_filter_uses_todays_business_date_and_the_open_amount(api):
    customer = make_customer("C1")
    today = timezone.localdate()
    make_invoice(customer, number="LATE", issue_date=today - timedelta(days=40))
    make_invoice(customer, number="DUE-TODAY", issue_date=today - timedelta(days=30))
    make_invoice(customer, number="PAID-LATE", issue_date=today - timedelta(days=60))
    payment_record(
        customer=customer, received_date=today, amount=Money.of("100", "CNY"), invoice_numbers=["PAID-LATE"]
    )

    overdue = [item["number"] for item in api.get("/invoices", {"overdue": "true"}).json()["items"]]
    not_overdue = [item["number"] for item in api.get("/invoices", {"overdue": "false"}).json()["items"]]

    assert overdue == ["LATE"]
    assert sorted(not_overdue) == ["DUE-TODAY", "PAID-LATE"]


@pytest.mark.parametrize(
    "params", [{"status": "NOPE"}, {"currency": "XX"}, {"overdue": "maybe"}, {"due_after": "2024-13-01"}]
)
def test_invalid_filters_are_a_400(api, params):
    assert_error(api.get("/invoices", params), 400, "validation_error")


def test_listing_invoices_takes_a_bounded_number_of_queries(api, django_assert_max_num_queries):
    for n in range(30):
        make_invoice(make_customer(f"C{n:02d}"), number=f"INV-{n:02d}")
    api.get("/invoices")

    with django_assert_max_num_queries(3):  # token, count, page with customers
        response = api.get("/invoices", {"page_size": 30})

    assert len(response.json()["items"]) == 30


# --- no input gives a 500 ---------------------------------------------------------------

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["CNY", "JPY", "KWD", "2024-01-31", "2024-02-30", "1e999", "-0", "0.001", "C1", "INV-1"]),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
invoice_body = st.fixed_dictionaries(
    {},
    optional={
        "number": st.one_of(st.text(max_size=70), json_value),
        "customer": st.one_of(st.just("C1"), json_value),
        "issue_date": st.one_of(st.dates().map(str), json_value),
        "due_date": st.one_of(st.dates().map(str), json_value),
        "currency": st.one_of(st.sampled_from(["CNY", "jpy", "KWD", "XXX", ""]), json_value),
        "amount": st.one_of(st.decimals(allow_nan=False, allow_infinity=False).map(str), json_value),
        "description": json_value,
        "po_number": json_value,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(invoice_body, json_value))
def test_no_request_body_makes_post_invoices_fail_with_a_500(api, body):
    # Fixtures run once for all examples: C1 exists throughout, invoices pile up (duplicates: 409).
    if not Customer.objects.filter(code="C1").exists():
        make_customer("C1")

    response = api.post("/invoices", body)

    assert response.status_code in {201, 400, 409}, (body, response.content)
    if response.status_code != 201:
        assert set(response.json()) == {"code", "message"}


@pytest.mark.parametrize(
    "url",
    [
        "/customers/A%00B",
        "/customers/%00/contacts",
        "/invoices/A%00B",
        "/customers?search=%00",
        "/invoices?customer=%00",
    ],
)
def test_a_nul_character_in_a_path_or_filter_is_a_400_on_every_database(api, url):
    response = api.http.get(f"/api/v1{url}")

    assert_error(response, 400, "validation_error")
