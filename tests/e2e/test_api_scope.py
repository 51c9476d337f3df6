"""Through the REST API each user reaches the customers their role reaches: a collector gets 404
for another collector's customer, a controller sees all, an auditor reads but never writes."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model

from huikuan.accounts.models import Profile, Role
from huikuan.core.auth import api_token_create
from huikuan.core.money import Money
from huikuan.customers.services import contact_create
from huikuan.ledger.services import payment_record
from tests.e2e.api_client import ApiClient, assert_error
from tests.e2e.test_api_auth import ROUTES
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db

AS_OF = "2024-06-30"


def user_with(username: str, role: Role):
    user = get_user_model().objects.create_user(username=username)
    Profile.objects.create(user=user, role=role)
    return user


def client_for(user) -> ApiClient:
    _token, key = api_token_create(user=user)
    return ApiClient(key)


@pytest.fixture
def book():
    """Wang and Li collect for one customer each; each has an invoice, a payment and a contact."""
    wang, li = user_with("wang", Role.COLLECTOR), user_with("li", Role.COLLECTOR)
    ids = {}
    for code, collector in (("MINE", wang), ("THEIRS", li)):
        customer = make_customer(code, collector=collector)
        make_invoice(customer, "300.00", number=f"INV-{code}", issue_date=date(2024, 4, 1))
        payment = payment_record(
            customer=customer, received_date=date(2024, 5, 1), amount=Money.of("100.00", "CNY")
        )
        contact = contact_create(customer=customer, name=f"Contact of {code}", email=f"ap@{code.lower()}.cn")
        ids[code] = {"payment": payment.pk, "contact": contact.pk}
    return {"wang": wang, "li": li, "ids": ids}


def urls_of(code: str, ids: dict) -> list[tuple[str, str]]:
    """Every read URL of the customer's records, with the identifier each error message names."""
    return [
        (f"/customers/{code}", code),
        (f"/customers/{code}/contacts", code),
        (f"/customers/{code}/credit-status", code),
        (f"/customers/{code}/dunning-preview?as_of={AS_OF}", code),
        (f"/invoices/INV-{code}", f"INV-{code}"),
        (f"/payments/{ids['payment']}", str(ids["payment"])),
        (f"/contacts/{ids['contact']}", str(ids["contact"])),
    ]


def test_a_collector_reaches_their_own_customer_and_all_that_belongs_to_it(book):
    wang = client_for(book["wang"])

    for url, _name in urls_of("MINE", book["ids"]["MINE"]):
        assert wang.get(url).status_code == 200, url


def test_a_collector_gets_404_for_another_collectors_customer_exactly_as_for_a_missing_one(book):
    wang = client_for(book["wang"])
    theirs = urls_of("THEIRS", book["ids"]["THEIRS"])
    missing = urls_of("NOWHERE", {"payment": 999_999, "contact": 888_888})

    for (other, other_name), (absent, absent_name) in zip(theirs, missing, strict=True):
        refused = assert_error(wang.get(other), 404)
        not_there = assert_error(wang.get(absent), 404)

        assert refused["code"] == not_there["code"], other
        assert refused["message"].replace(other_name, "?") == not_there["message"].replace(absent_name, "?")


def test_a_collector_cannot_change_another_collectors_customer_or_its_records(book):
    wang = client_for(book["wang"])
    theirs = book["ids"]["THEIRS"]

    assert_error(wang.patch("/customers/THEIRS", {"name": "Taken over"}), 404, "customer_not_found")
    assert_error(wang.post("/customers/THEIRS/contacts", {"name": "Spy"}), 404, "customer_not_found")
    assert_error(wang.patch("/invoices/INV-THEIRS", {"description": "x"}), 404, "invoice_not_found")
    assert_error(wang.patch(f"/payments/{theirs['payment']}", {"reference": "x"}), 404, "payment_not_found")
    assert_error(wang.patch(f"/contacts/{theirs['contact']}", {"name": "x"}), 404, "contact_not_found")
    invoice = {"customer": "THEIRS", "number": "INV-NEW", "issue_date": AS_OF, "amount": "10.00"}
    assert_error(wang.post("/invoices", invoice), 400, "customer_not_found")
    payment = {"customer": "THEIRS", "received_date": AS_OF, "amount": "10.00"}
    assert_error(wang.post("/payments", payment), 400, "customer_not_found")


def test_a_collectors_lists_and_aging_hold_only_their_customers(book):
    wang = client_for(book["wang"])

    customers = wang.get("/customers").json()["items"]
    invoices = wang.get("/invoices").json()["items"]
    payments = wang.get("/payments").json()["items"]
    aging = wang.get("/aging", {"as_of": AS_OF}).json()

    assert [row["code"] for row in customers] == ["MINE"]
    assert [row["number"] for row in invoices] == ["INV-MINE"]
    assert {row["customer"] for row in payments} == {"MINE"}
    assert [row["code"] for row in aging["customers"]] == ["MINE"]
    assert aging["totals"]["CNY"]["total"] == "200.00"
    assert aging["totals"]["CNY"]["customer_count"] == 1


def test_asking_for_another_collectors_customer_by_filter_finds_nothing(book):
    wang = client_for(book["wang"])

    assert wang.get("/invoices", {"customer": "THEIRS"}).json()["items"] == []
    assert wang.get("/payments", {"customer": "THEIRS"}).json()["items"] == []
    assert wang.get("/customers", {"search": "THEIRS"}).json()["items"] == []


def test_a_sales_rep_reaches_the_customers_they_sell_to(book):
    rep = user_with("zhao", Role.SALES_REP)
    make_customer("SOLD", sales_rep=rep)

    client = client_for(rep)

    assert [row["code"] for row in client.get("/customers").json()["items"]] == ["SOLD"]
    assert_error(client.get("/customers/MINE"), 404, "customer_not_found")


def test_a_customer_a_collector_creates_is_theirs(book):
    wang = client_for(book["wang"])

    created = wang.post("/customers", {"code": "NEW", "name": "New Trading"})

    assert created.status_code == 201, created.content
    assert created.json()["collector"] == "wang"
    assert wang.get("/customers/NEW").status_code == 200


@pytest.mark.parametrize("role", [Role.CREDIT_CONTROLLER, Role.MANAGER, Role.ADMIN, Role.AUDITOR])
def test_controllers_managers_admins_and_auditors_see_every_customer(book, role):
    client = client_for(user_with("someone", role))

    assert [row["code"] for row in client.get("/customers").json()["items"]] == ["MINE", "THEIRS"]
    assert len(client.get("/invoices").json()["items"]) == 2
    assert {row["code"] for row in client.get("/aging", {"as_of": AS_OF}).json()["customers"]} == {
        "MINE",
        "THEIRS",
    }
    for code in ("MINE", "THEIRS"):
        for url, _name in urls_of(code, book["ids"][code]):
            assert client.get(url).status_code == 200, url


def test_a_superuser_without_a_profile_sees_every_customer(book):
    root = get_user_model().objects.create_superuser(username="root", email="")

    assert len(client_for(root).get("/customers").json()["items"]) == 2


@pytest.mark.parametrize(
    ("method", "template", "url"), [route for route in ROUTES if route[0] != "get"], ids=lambda v: str(v)
)
def test_an_auditor_is_refused_every_change_with_403_read_only(book, method, template, url):
    auditor = client_for(user_with("audit", Role.AUDITOR))

    response = getattr(auditor, method)(url.replace("C1", "MINE"), {"name": "x"})

    body = assert_error(response, 403, "read_only")
    assert "read" in body["message"]


def test_an_auditors_refusal_changes_nothing(book):
    auditor = client_for(user_with("audit", Role.AUDITOR))

    auditor.patch("/customers/MINE", {"name": "Changed"})

    assert auditor.get("/customers/MINE").json()["name"] != "Changed"


def test_only_company_wide_roles_may_start_the_dunning_run(book):
    wang = client_for(book["wang"])
    controller = client_for(user_with("ctrl", Role.CREDIT_CONTROLLER))

    assert_error(wang.post("/dunning/runs", {"as_of": AS_OF, "dry_run": True}), 403, "role_not_allowed")
    assert controller.post("/dunning/runs", {"as_of": AS_OF, "dry_run": True}).status_code == 200


def test_a_collectors_invoice_list_takes_a_bounded_number_of_queries(book, django_assert_max_num_queries):
    for n in range(20):
        make_invoice(make_customer(f"W{n:02d}", collector=book["wang"]), number=f"INV-W{n:02d}")
    wang = client_for(book["wang"])
    wang.get("/invoices")

    with django_assert_max_num_queries(3):  # token with user and profile, count, page with customers
        response = wang.get("/invoices", {"page_size": 30})

    assert len(response.json()["items"]) == 21
