"""The bank API: statements, lines, the review queue, unapplied cash, decisions, matching, roles."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.urls import path

from huikuan.accounts.models import Profile, Role
from huikuan.banking.api import bank_router
from huikuan.banking.matching_service import bank_match
from huikuan.banking.models import LineStatus
from huikuan.core.auth import api_token_create
from huikuan.ledger.models import Invoice, Payment
from tests.bank_factories import make_line, make_statement
from tests.e2e.api_client import ApiClient, assert_error
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db


def _mounted_api():
    """None when the application's API mounts the bank router, else an API like it that does."""
    from ninja import NinjaAPI

    from config.api import BearerToken, api
    from huikuan.core.api_errors import exception_handlers_install
    from huikuan.core.schemas import DecimalJsonParser, Utf8JSONRenderer

    if any(registration[1] is bank_router for registration in api._router_registrations):
        return None
    bank_api = NinjaAPI(
        urls_namespace="bank-api-tests",
        auth=BearerToken(),
        parser=DecimalJsonParser(),
        renderer=Utf8JSONRenderer(),
    )
    exception_handlers_install(bank_api)
    bank_api.add_router("/bank", bank_router)
    return bank_api


_api = _mounted_api()
urlpatterns = [path("api/v1/", _api.urls)] if _api is not None else []


@pytest.fixture(autouse=True)
def _bank_urls(settings):
    if urlpatterns:
        settings.ROOT_URLCONF = __name__


def _client(username: str, role: Role) -> ApiClient:
    user = get_user_model().objects.create_user(username=username)
    Profile.objects.create(user=user, role=role)
    _token, key = api_token_create(user=user)
    return ApiClient(key)


@pytest.fixture
def controller() -> ApiClient:
    return _client("controller", Role.CREDIT_CONTROLLER)


@pytest.fixture
def book():
    """Acme owes two invoices; three credits came in: one exact, one short (waits), one unknown."""
    acme = make_customer("ACME", name="Acme Trading")
    make_customer("OTHER", name="Other Ltd")
    make_invoice(acme, "1000.00", number="INV-0042", issue_date=date(2024, 1, 1))
    make_invoice(acme, "500.00", number="INV-0043", issue_date=date(2024, 1, 2))
    statement = make_statement()
    exact = make_line("500.00", statement=statement, payer="Acme Trading Ltd", remittance="INV-0043")
    short = make_line("600.00", statement=statement, payer="Holding Finance", remittance="INV-0042")
    unknown = make_line("77.70", statement=statement, payer="Stranger", booking_date=date(2024, 3, 1))
    debit = make_line("-20.00", statement=statement, payer="Bank fee")
    return {"statement": statement, "exact": exact, "short": short, "unknown": unknown, "debit": debit}


def _match(client: ApiClient) -> dict:
    response = client.post("/bank/match", {"as_of": "2024-03-20"})
    assert response.status_code == 200, response.content
    return response.json()


def test_matching_through_the_api_returns_the_runs_summary(controller, book):
    summary = _match(controller)

    assert (summary["applied"], summary["review"], summary["unmatched"]) == (1, 1, 1)
    assert summary["amounts"] == {
        "applied": {"CNY": "500.00"},
        "review": {"CNY": "600.00"},
        "unmatched": {"CNY": "77.70"},
    }
    assert [d["line"] for d in summary["decisions"]] == [
        book["unknown"].pk,
        book["exact"].pk,
        book["short"].pk,
    ]


def test_statements_and_their_lines_are_listed_with_decimal_strings(controller, book):
    statements = controller.get("/bank/statements").json()
    lines = controller.get(f"/bank/statements/{book['statement'].pk}/lines").json()

    assert statements["count"] == 1 and statements["items"][0]["line_count"] == 4
    assert [item["amount"] for item in lines["items"]] == ["77.70", "500.00", "600.00", "-20.00"]
    assert lines["items"][0]["status"] == "NEW" and lines["items"][0]["proposal"] is None


def test_the_review_queue_shows_each_proposal_with_its_reasons(controller, book):
    _match(controller)

    queue = controller.get("/bank/review").json()

    assert queue["count"] == 1
    item = queue["items"][0]
    assert item["id"] == book["short"].pk and item["status"] == "REVIEW"
    assert item["proposal"]["customer"] == "ACME"
    assert item["proposal"]["invoices"] == [{"number": "INV-0042", "amount": "600.00"}]
    assert 30 <= item["proposal"]["confidence"] < 90 and item["proposal"]["reasons"]


def test_unapplied_cash_is_listed_with_its_age_and_totals(controller, book):
    _match(controller)

    unmatched = controller.get("/bank/unmatched").json()
    totals = controller.get("/bank/unmatched/totals").json()

    assert [item["id"] for item in unmatched["items"]] == [book["unknown"].pk]
    assert unmatched["items"][0]["age_days"] >= (date.today() - date(2024, 3, 1)).days - 1
    assert totals[0]["currency"] == "CNY" and totals[0]["amount"] == "77.70" and totals[0]["lines"] == 1


def test_lines_are_filtered_by_status_and_a_bad_status_is_refused(controller, book):
    _match(controller)

    applied = controller.get("/bank/lines", {"status": "applied"}).json()

    assert [item["id"] for item in applied["items"]] == [book["exact"].pk]
    assert applied["items"][0]["customer"] == "ACME" and applied["items"][0]["payment_id"]
    assert_error(controller.get("/bank/lines", {"status": "PAID"}), 400, "validation_error")


def test_accepting_applies_the_line_and_a_second_accept_answers_409(controller, book):
    _match(controller)
    line = book["short"].pk

    response = controller.post(f"/bank/lines/{line}/accept")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "APPLIED" and body["customer"] == "ACME"
    [payment] = body["payments"]
    assert {key: payment[key] for key in ("id", "customer", "amount", "unapplied_amount", "payment_id")} == {
        "id": body["payment_id"],
        "customer": "ACME",
        "amount": "600.00",
        "unapplied_amount": "0.00",
        "payment_id": f"bank-line:{line}",
    }
    # The ledger's payment shape: the same as GET /payments/{id}, allocations included.
    assert payment["allocations"] == [
        {"invoice": "INV-0042", "amount": "600.00", "allocation_date": "2024-03-15"}
    ]
    assert payment["received_date"] == "2024-03-15" and payment["method"] == "BANK_TRANSFER"
    assert_error(controller.post(f"/bank/lines/{line}/accept"), 409, "bank_line_applied")


def test_applying_to_a_chosen_customer_and_invoices(controller, book):
    response = controller.post(
        f"/bank/lines/{book['short'].pk}/apply", {"customer": "ACME", "invoices": ["INV-0043"]}
    )

    assert response.status_code == 200, response.content
    assert Invoice.objects.get(number="INV-0043").open_minor == 0
    assert Invoice.objects.get(number="INV-0042").open_minor == 90_000


def test_applying_names_what_is_wrong(controller, book):
    line = book["short"].pk

    assert_error(
        controller.post(f"/bank/lines/{line}/apply", {"customer": "NOPE"}), 400, "customer_not_found"
    )
    assert_error(
        controller.post(f"/bank/lines/{line}/apply", {"customer": "OTHER", "invoices": ["INV-0042"]}),
        400,
        "invoice_of_another_customer",
    )
    assert_error(controller.post(f"/bank/lines/{line}/apply", {"customer": "ACME", "extra": 1}), 400)
    assert_error(
        controller.post("/bank/lines/999999/apply", {"customer": "ACME"}), 404, "bank_line_not_found"
    )
    assert_error(
        controller.post(f"/bank/lines/{book['debit'].pk}/apply", {"customer": "ACME"}),
        400,
        "bank_line_not_credit",
    )
    assert not Payment.objects.exists()


def test_a_split_must_add_up_and_then_records_a_payment_per_part(controller, book):
    url = f"/bank/lines/{book['short'].pk}/split"
    part = {"customer": "ACME", "invoices": ["INV-0042"], "amount": "500.00"}

    assert_error(controller.post(url, {"parts": [part]}), 400, "bank_split_mismatch")
    assert_error(controller.post(url, {"parts": [{**part, "amount": "600.001"}]}), 400, "validation_error")
    response = controller.post(url, {"parts": [part, {"customer": "OTHER", "amount": 100}]})

    assert response.status_code == 200, response.content
    body = response.json()
    assert [(p["customer"], p["amount"], p["unapplied_amount"]) for p in body["payments"]] == [
        ("ACME", "500.00", "0.00"),
        ("OTHER", "100.00", "100.00"),
    ]
    assert body["customer"] is None


def test_leaving_a_line_on_account_and_excluding_another(controller, book):
    on_account = controller.post(f"/bank/lines/{book['short'].pk}/on-account", {"customer": "ACME"})
    assert_error(
        controller.post(f"/bank/lines/{book['unknown'].pk}/exclude", {"reason": ""}), 400, "validation_error"
    )
    excluded = controller.post(
        f"/bank/lines/{book['unknown'].pk}/exclude", {"reason": "interest from the bank"}
    )

    assert on_account.status_code == 200 and excluded.status_code == 200
    assert on_account.json()["payments"][0]["unapplied_amount"] == "600.00"
    assert excluded.json()["status"] == "EXCLUDED"
    assert_error(
        controller.post(f"/bank/lines/{book['unknown'].pk}/accept"),
        409,
        "bank_line_excluded",
    )


def test_an_excluded_line_is_put_back_into_review(controller, book):
    line = book["unknown"]
    assert_error(controller.post(f"/bank/lines/{line.pk}/reinstate"), 409, "bank_line_not_excluded")
    controller.post(f"/bank/lines/{line.pk}/exclude", {"reason": "interest from the bank"})

    response = controller.post(f"/bank/lines/{line.pk}/reinstate")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "REVIEW"
    assert line.pk in [item["id"] for item in controller.get("/bank/review").json()["items"]]
    on_account = controller.post(f"/bank/lines/{line.pk}/on-account", {"customer": "ACME"})
    assert on_account.json()["status"] == "APPLIED"


def test_only_writers_put_a_line_back(book):
    auditor = _client("audit", Role.AUDITOR)
    collector = _client("wang", Role.COLLECTOR)

    assert_error(auditor.post(f"/bank/lines/{book['unknown'].pk}/reinstate"), 403, "read_only")
    assert_error(collector.post(f"/bank/lines/{book['unknown'].pk}/reinstate"), 403, "role_not_allowed")


def test_collectors_and_sales_reps_are_refused(book):
    for username, role in (("wang", Role.COLLECTOR), ("sales", Role.SALES_REP)):
        client = _client(username, role)
        for response in (
            client.get("/bank/statements"),
            client.get("/bank/review"),
            client.get(f"/bank/lines/{book['exact'].pk}"),
            client.post("/bank/match", {}),
            client.post(f"/bank/lines/{book['exact'].pk}/exclude", {"reason": "x"}),
        ):
            assert_error(response, 403, "role_not_allowed")
    assert not Payment.objects.exists()


def test_auditors_read_but_do_not_decide(book):
    auditor = _client("audit", Role.AUDITOR)

    assert auditor.get("/bank/lines").status_code == 200
    assert_error(auditor.post("/bank/match", {}), 403, "read_only")
    assert_error(auditor.post(f"/bank/lines/{book['exact'].pk}/accept"), 403, "read_only")


def test_managers_decide(book):
    manager = _client("boss", Role.MANAGER)
    bank_match(as_of=date(2024, 3, 20))

    response = manager.post(f"/bank/lines/{book['short'].pk}/accept")

    assert response.status_code == 200
    book["short"].refresh_from_db()
    assert book["short"].status == LineStatus.APPLIED


def test_without_a_token_nothing_is_shown(book):
    assert_error(ApiClient().get("/bank/statements"), 401, "unauthorized")
