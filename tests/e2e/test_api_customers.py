"""Customers and contacts through HTTP: create, list with filters and pages, get, update."""

import pytest
from django.contrib.auth import get_user_model

from huikuan.customers.models import Contact, Customer
from huikuan.customers.services import contact_create
from tests.e2e.api_client import anonymous, api, api_token, api_user, assert_error  # noqa: F401
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


def test_a_customer_created_over_the_api_is_stored_and_returned(api, api_user):
    response = api.post(
        "/customers",
        {
            "code": "C-100",
            "name": "上海回款科技有限公司",
            "tax_id": "91310000MA1FL0000X",
            "country": "cn",
            "currency": "cny",
            "payment_terms_days": 45,
            "credit_limit": "500000.00",
            "grade": "a",
            "collector": "clerk",
            "tags": ["key account"],
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["code"] == "C-100"
    assert body["currency"] == "CNY" and body["country"] == "CN" and body["grade"] == "A"
    assert body["credit_limit"] == "500000.00"
    assert body["collector"] == "clerk"
    stored = Customer.objects.get(code="C-100")
    assert stored.credit_limit_minor == 50_000_000
    assert stored.collector == api_user
    assert stored.payment_terms_days == 45


def test_chinese_text_is_sent_as_utf_8_not_as_escapes(api):
    make_customer("C1", name="上海回款科技有限公司")

    response = api.get("/customers/C1")

    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert "上海回款科技有限公司".encode() in response.content


def test_a_customer_is_fetched_by_its_own_code_even_with_a_slash(api):
    make_customer("ACME/SH", name="Acme Shanghai")

    response = api.get("/customers/ACME/SH")

    assert response.status_code == 200
    assert response.json()["name"] == "Acme Shanghai"


def test_an_unknown_customer_is_404_with_its_code(api):
    assert_error(api.get("/customers/NOPE"), 404, "customer_not_found")


def test_patch_changes_only_the_fields_sent(api):
    make_customer("C1", name="Old name", grade="B", notes="keep me")

    response = api.patch("/customers/C1", {"name": "New name", "status": "hold", "credit_limit": 1200})

    assert response.status_code == 200, response.content
    stored = Customer.objects.get(code="C1")
    assert (stored.name, stored.status, stored.grade, stored.notes) == ("New name", "HOLD", "B", "keep me")
    assert response.json()["credit_limit"] == "1200.00"


def test_patch_with_null_clears_a_nullable_field_but_not_a_required_one(api):
    make_customer("C1", credit_limit_minor=100)

    assert api.patch("/customers/C1", {"credit_limit": None}).json()["credit_limit"] is None
    body = assert_error(api.patch("/customers/C1", {"name": None}), 400, "validation_error")
    assert body["message"].startswith("name:")


def test_the_code_of_a_customer_cannot_be_changed(api):
    make_customer("C1")

    body = assert_error(api.patch("/customers/C1", {"code": "C2"}), 400, "validation_error")

    assert "code" in body["message"]
    assert Customer.objects.filter(code="C1").exists()


def test_a_duplicate_customer_code_is_a_409_conflict(api):
    make_customer("C1")

    assert_error(api.post("/customers", {"code": "C1", "name": "Again"}), 409, "customer_code_taken")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "No code"}, "code"),
        ({"code": "C9"}, "name"),
        ({"code": "C9", "name": "X", "currency": "XYZ"}, "currency"),
        ({"code": "C9", "name": "X", "grade": "Z"}, "grade"),
        ({"code": "C9", "name": "X", "credit_limit": "abc"}, "credit_limit"),
        ({"code": "C9", "name": "X", "credit_limit": "-5"}, "credit_limit"),
        ({"code": "C9", "name": "X", "currency": "JPY", "credit_limit": "10.5"}, "credit_limit"),
        ({"code": "C9", "name": "X", "payment_terms_days": -1}, "payment_terms_days"),
        ({"code": "C9", "name": "X", "payment_terms_days": 10**30}, "payment_terms_days"),
        ({"code": "C9", "name": "X", "country": "China"}, "country"),
        ({"code": "", "name": "X"}, "code"),
        ({"code": "C9", "name": "X\x00"}, "name"),
        ({"code": "C9", "name": "X", "nmae": "typo"}, "nmae"),
    ],
)
def test_invalid_customer_input_is_a_400_naming_the_field(api, body, field):
    response = api.post("/customers", body)

    error = assert_error(response, 400, "validation_error")
    assert error["message"].startswith(f"{field}:"), error
    assert not Customer.objects.exists()


def test_an_unknown_collector_is_a_400_with_its_own_code(api):
    assert_error(
        api.post("/customers", {"code": "C9", "name": "X", "collector": "ghost"}), 400, "user_not_found"
    )


def test_customers_are_listed_by_code_in_pages_with_the_total(api):
    for n in range(7):
        make_customer(f"C{n}")

    first = api.get("/customers", {"page_size": 3}).json()
    last = api.get("/customers", {"page_size": 3, "page": 3}).json()

    assert first["count"] == 7 and first["page"] == 1 and first["page_size"] == 3
    assert [item["code"] for item in first["items"]] == ["C0", "C1", "C2"]
    assert [item["code"] for item in last["items"]] == ["C6"]


@pytest.mark.parametrize("params", [{"page": 0}, {"page_size": 0}, {"page_size": 501}, {"page": "x"}])
def test_out_of_range_paging_is_a_400(api, params):
    assert_error(api.get("/customers", params), 400, "validation_error")


def test_customers_are_filtered_by_search_grade_status_and_collector(api, api_user):
    other = get_user_model().objects.create_user(username="other")
    make_customer("SH-1", name="Shanghai Steel", grade="A", collector=api_user)
    make_customer("BJ-1", name="Beijing Steel", grade="A", status="HOLD", collector=other)
    make_customer("SH-2", name="Shanghai Paper", grade="C")

    def codes(**params):
        response = api.get("/customers", params)
        assert response.status_code == 200, response.content
        return [item["code"] for item in response.json()["items"]]

    assert codes(search="steel") == ["BJ-1", "SH-1"]
    assert codes(search="sh-") == ["SH-1", "SH-2"]
    assert codes(grade="a") == ["BJ-1", "SH-1"]
    assert codes(status="HOLD") == ["BJ-1"]
    assert codes(collector="clerk") == ["SH-1"]
    assert codes(grade="A", collector="other") == ["BJ-1"]
    assert_error(api.get("/customers", {"grade": "Q"}), 400, "validation_error")


def test_listing_customers_takes_a_bounded_number_of_queries(api, api_user, django_assert_max_num_queries):
    for n in range(40):
        make_customer(f"C{n:02d}", collector=api_user, sales_rep=api_user)
    api.get("/customers")  # the first use of a token records it

    with django_assert_max_num_queries(3):  # token, count, page
        response = api.get("/customers", {"page_size": 40})

    assert len(response.json()["items"]) == 40


# --- contacts ---------------------------------------------------------------------------


def test_a_contact_is_added_to_a_customer_and_fetched_by_id(api):
    make_customer("C1")

    created = api.post(
        "/customers/C1/contacts",
        {"name": "王经理", "role": "finance", "email": "wang@example.cn", "phone": "+86 21 5555 0000",
         "preferred_channel": "phone", "preferred_hours": "09:00-11:30", "is_primary": True},
    )  # fmt: skip

    assert created.status_code == 201, created.content
    contact_id = created.json()["id"]
    fetched = api.get(f"/contacts/{contact_id}").json()
    assert fetched["customer"] == "C1"
    assert (fetched["role"], fetched["preferred_channel"], fetched["is_primary"]) == (
        "FINANCE",
        "PHONE",
        True,
    )


def test_a_new_primary_contact_takes_the_flag_from_the_old_one(api):
    customer = make_customer("C1")
    old = contact_create(customer=customer, name="Old", is_primary=True)

    api.post("/customers/C1/contacts", {"name": "New", "is_primary": True})

    old.refresh_from_db()
    assert old.is_primary is False
    assert [item["name"] for item in api.get("/customers/C1/contacts").json()["items"]] == ["New", "Old"]


def test_a_contact_is_updated_by_patch(api):
    contact = contact_create(customer=make_customer("C1"), name="Li", email="li@example.cn")

    response = api.patch(f"/contacts/{contact.pk}", {"email": "li.na@example.cn", "role": "OWNER"})

    assert response.status_code == 200, response.content
    contact.refresh_from_db()
    assert (contact.email, contact.role, contact.name) == ("li.na@example.cn", "OWNER", "Li")


def test_an_invalid_contact_email_is_refused_and_nothing_is_stored(api):
    make_customer("C1")

    assert_error(api.post("/customers/C1/contacts", {"name": "X", "email": "not-an-email"}), 400)

    assert not Contact.objects.exists()


def test_contacts_of_an_unknown_customer_and_an_unknown_contact_are_404(api):
    assert_error(api.get("/customers/NOPE/contacts"), 404, "customer_not_found")
    assert_error(api.post("/customers/NOPE/contacts", {"name": "X"}), 404, "customer_not_found")
    assert_error(api.get("/contacts/999999"), 404, "contact_not_found")
    assert_error(api.get(f"/contacts/{10**30}"), 404, "contact_not_found")


def test_listing_contacts_takes_a_bounded_number_of_queries(api, django_assert_max_num_queries):
    customer = make_customer("C1")
    for n in range(25):
        contact_create(customer=customer, name=f"Contact {n}")
    api.get("/customers/C1/contacts")

    with django_assert_max_num_queries(4):  # token, customer, count, page
        response = api.get("/customers/C1/contacts")

    assert response.json()["count"] == 25


def test_changes_made_over_the_api_are_in_the_audit_trail_under_the_tokens_user(api, api_user):
    from huikuan.core.models import AuditEntry

    api.post("/customers", {"code": "C-AUD", "name": "审计测试有限公司"})
    api.patch("/customers/C-AUD", {"grade": "c"})
    api.post(
        "/invoices", {"number": "INV-AUD", "customer": "C-AUD", "issue_date": "2024-05-01", "amount": "10.00"}
    )

    entries = list(AuditEntry.objects.filter(customer__code="C-AUD").order_by("id"))
    assert [(entry.entity, entry.action) for entry in entries] == [
        ("customers.customer", "CREATE"),
        ("customers.customer", "UPDATE"),
        ("ledger.invoice", "CREATE"),
    ]
    assert {entry.actor_id for entry in entries} == {api_user.pk}
    assert entries[1].before == {"grade": "B"} and entries[1].after == {"grade": "C"}
