"""GET /aging: the point-in-time aging as the CLI's JSON, with bad parameters answered as 400."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from huikuan.core.money import Money
from huikuan.ledger.aging_report import aging_build
from huikuan.ledger.services import payment_record
from tests.e2e.api_client import anonymous, api, api_token, api_user, assert_error  # noqa: F401
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def portfolio(api_user):
    """Two customers in CNY and KWD; one invoice is paid after 2024-06-30."""
    acme = make_customer("ACME", name="Acme", collector=api_user, grade="A")
    gulf = make_customer("GULF", name="Gulf Trading", currency="KWD")
    make_invoice(acme, "100.00", number="A-1", issue_date=date(2024, 5, 1))  # due 05-31: 30 days late
    make_invoice(acme, "250.50", number="A-2", issue_date=date(2024, 6, 15))  # due 07-15: current
    make_invoice(gulf, "12.345", "KWD", number="G-1", issue_date=date(2024, 1, 1))  # due 01-31: 151 days
    payment_record(
        customer=acme, received_date=date(2024, 7, 10), amount=Money.of("100", "CNY"), invoice_numbers=["A-1"]
    )


def test_the_aging_as_of_a_past_date_counts_an_invoice_paid_later_as_open(api, portfolio):
    response = api.get("/aging", {"as_of": "2024-06-30"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["as_of"] == "2024-06-30"
    assert body["buckets"] == ["current", "1-30", "31-60", "61-90", "91-180", "181-365", "365+"]
    acme = next(row for row in body["customers"] if row["code"] == "ACME")
    assert (acme["current"], acme["1-30"], acme["total"]) == ("250.50", "100.00", "350.50")
    gulf = next(row for row in body["customers"] if row["code"] == "GULF")
    assert (gulf["currency"], gulf["91-180"], gulf["total"]) == ("KWD", "12.345", "12.345")
    assert body["totals"]["CNY"]["overdue"] == "100.00"
    assert body["totals"]["KWD"]["total"] == "12.345"


def test_the_api_returns_exactly_the_reports_json(api, portfolio):
    for params, kwargs in [
        ({"as_of": "2024-06-30"}, {}),
        ({"as_of": "2024-06-30", "by": "collector"}, {"by": "collector"}),
        (
            {"as_of": "2024-06-30", "by": "currency", "buckets": "15,45"},
            {"by": "currency", "buckets": (15, 45)},
        ),
        ({"as_of": "2024-07-31", "by": "grade"}, {"by": "grade"}),
    ]:
        expected = aging_build(as_of=date.fromisoformat(params["as_of"]), **kwargs)

        assert api.get("/aging", params).json() == expected


def test_custom_buckets_name_the_columns(api, portfolio):
    body = api.get("/aging", {"as_of": "2024-06-30", "buckets": "30, 90"}).json()

    assert body["buckets"] == ["current", "1-30", "31-90", "90+"]


def test_the_aging_defaults_to_today_by_customer(api, portfolio):
    body = api.get("/aging").json()

    assert body["as_of"] == timezone.localdate().isoformat()
    assert "by" not in body and "groups" not in body


def test_customers_with_nothing_open_are_left_out(api, portfolio):
    body = api.get("/aging", {"as_of": "2024-07-31"}).json()

    assert [row["code"] for row in body["customers"]] == ["ACME", "GULF"]
    assert next(row for row in body["customers"] if row["code"] == "ACME")["total"] == "250.50"


def test_nothing_open_is_an_empty_report(api):
    body = api.get("/aging", {"as_of": "2024-06-30"}).json()

    assert (body["customers"], body["totals"]) == ([], {})


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"as_of": "2024-02-30"}, "validation_error"),
        ({"as_of": "30/06/2024"}, "validation_error"),
        ({"as_of": "99999-01-01"}, "validation_error"),
        ({"by": "region"}, "validation_error"),
        ({"buckets": "abc"}, "aging_buckets_invalid"),
        ({"buckets": "60,30"}, "aging_buckets_invalid"),
        ({"buckets": "0,30"}, "aging_buckets_invalid"),
        ({"buckets": "-30"}, "aging_buckets_invalid"),
        ({"buckets": ""}, "aging_buckets_invalid"),
        ({"buckets": "30,60,"}, "aging_buckets_invalid"),
        ({"buckets": "99999999999999999999"}, "aging_buckets_invalid"),
        ({"buckets": ",".join(str(n) for n in range(1, 40))}, "aging_buckets_invalid"),
    ],
)
def test_bad_parameters_are_a_400_with_a_code(api, params, code):
    body = assert_error(api.get("/aging", params), 400, code)

    if code == "validation_error":
        assert body["message"].startswith(next(iter(params)) + ":")


def test_the_aging_takes_the_same_few_queries_for_3_or_30_customers(api, django_assert_max_num_queries):
    today = timezone.localdate()

    def queries_for(customers: int) -> int:
        # The same span of issue dates for few or many: how far back the DSO count-back reads
        # (a bounded number of queries) depends on the history, not on the customers.
        for n in range(customers):
            make_invoice(make_customer(), "10.00", issue_date=today - timedelta(days=3 * (n % 3)))
        api.get("/aging")  # the first use of a token records it
        with CaptureQueriesContext(connection) as captured:
            response = api.get("/aging")
        assert response.status_code == 200
        return len(captured)

    few = queries_for(3)
    many = queries_for(27)

    assert few == many
    with django_assert_max_num_queries(6):  # token, then the report's own few queries
        api.get("/aging")
