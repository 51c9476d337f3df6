"""The legal API: hand-overs, recoveries, the evidence pack and the demand letter, within scope."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from django.contrib.auth import get_user_model
from pypdf import PdfReader

from huikuan.accounts.models import Profile, Role
from huikuan.core.auth import api_token_create
from huikuan.customers.models import Customer, CustomerStatus
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
def li():
    return user_with("li", Role.COLLECTOR)


@pytest.fixture
def mine(wang):
    customer = make_customer("MINE", collector=wang, language="en")
    make_invoice(customer, "3000.00", number="INV-MINE-1")
    make_invoice(customer, "1000.00", number="INV-MINE-2")
    return customer


@pytest.fixture
def theirs(li):
    customer = make_customer("THEIRS", collector=li)
    make_invoice(customer, "500.00", number="INV-THEIRS-1")
    return customer


@pytest.fixture
def controller(mine, theirs) -> ApiClient:
    return client_for(user_with("boss", Role.CREDIT_CONTROLLER))


@pytest.fixture
def collector(wang, mine, theirs) -> ApiClient:
    return client_for(wang)


AGENCY = {"kind": "agency", "agent_name": "Dragon Collections", "commission_percent": "15"}


def test_a_controller_hands_a_debt_over_and_records_recoveries_with_commission(controller, mine):
    response = controller.post(
        "/legal/customers/MINE/handovers", {**AGENCY, "handed_over_date": "2024-06-01"}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["amount"], body["status"], body["invoices"]) == (
        "4000.00",
        "ACTIVE",
        ["INV-MINE-1", "INV-MINE-2"],
    )
    assert Customer.objects.get(code="MINE").status == CustomerStatus.LEGAL
    recovered = controller.post(
        f"/legal/handovers/{body['id']}/recoveries", {"amount": "1000.00", "recovered_date": "2024-06-10"}
    )
    assert recovered.status_code == 201, recovered.content
    after = recovered.json()
    assert (after["recovered"], after["commission"], after["outstanding"], after["status"]) == (
        "1000.00",
        "150.00",
        "3000.00",
        "PARTLY_RECOVERED",
    )
    assert after["recoveries"][0]["commission"] == "150.00"
    ended = controller.post(
        f"/legal/handovers/{body['id']}/end", {"status": "closed", "ended_date": "2024-07-01"}
    )
    assert ended.status_code == 200 and ended.json()["status"] == "CLOSED"
    assert Customer.objects.get(code="MINE").status == CustomerStatus.ACTIVE


def test_chosen_invoices_only(controller):
    response = controller.post("/legal/customers/MINE/handovers", {**AGENCY, "invoices": ["INV-MINE-2"]})

    assert response.status_code == 201 and response.json()["amount"] == "1000.00"


def test_a_collector_reads_their_customers_hand_overs_but_may_not_make_one(controller, collector):
    controller.post("/legal/customers/MINE/handovers", AGENCY)
    controller.post("/legal/customers/THEIRS/handovers", AGENCY)

    assert_error(collector.post("/legal/customers/MINE/handovers", AGENCY), 403, "role_not_allowed")
    listed = collector.get("/legal/handovers").json()
    assert [item["customer"] for item in listed["items"]] == ["MINE"]
    theirs_id = controller.get("/legal/handovers", {"customer": "THEIRS"}).json()["items"][0]["id"]
    assert_error(collector.get(f"/legal/handovers/{theirs_id}"), 404, "handover_not_found")
    assert_error(
        collector.post(f"/legal/handovers/{theirs_id}/recoveries", {"amount": "1"}), 404, "handover_not_found"
    )


def test_another_collectors_customer_answers_404_everywhere(collector):
    assert_error(collector.get("/legal/customers/THEIRS/handovers"), 404, "customer_not_found")
    assert_error(collector.get("/legal/customers/THEIRS/evidence-pack.zip"), 404, "customer_not_found")
    assert_error(collector.get("/legal/customers/THEIRS/demand-letter.pdf"), 404, "customer_not_found")
    assert_error(collector.post("/legal/customers/THEIRS/handovers", AGENCY), 404, "customer_not_found")


def test_an_auditor_may_not_hand_over(mine):
    auditor = client_for(user_with("audit", Role.AUDITOR))

    assert_error(auditor.post("/legal/customers/MINE/handovers", AGENCY), 403, "read_only")
    assert auditor.get("/legal/customers/MINE/handovers").status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({**AGENCY, "commission_percent": "120"}, 400, "handover_invalid"),
        ({**AGENCY, "commission_percent": "12.345"}, 400, "handover_invalid"),
        ({**AGENCY, "kind": "bailiff"}, 400, "validation_error"),
        ({**AGENCY, "agent_name": ""}, 400, "validation_error"),
        ({**AGENCY, "invoices": ["NO-SUCH"]}, 400, "invoice_not_found"),
        ({**AGENCY, "invoices": ["INV-THEIRS-1"]}, 400, "of_another_customer"),
        ({**AGENCY, "currency": "USD"}, 400, "nothing_to_hand_over"),
    ],
)
def test_a_wrong_hand_over_answers_4xx_with_the_reason(controller, body, status, code):
    response = controller.post("/legal/customers/MINE/handovers", body)

    assert_error(response, status, code)
    assert response.json()["message"]


def test_conflicts_and_wrong_recoveries_answer_with_their_reasons(controller):
    handover = controller.post("/legal/customers/MINE/handovers", AGENCY).json()

    assert_error(controller.post("/legal/customers/MINE/handovers", AGENCY), 409, "already_handed_over")
    url = f"/legal/handovers/{handover['id']}"
    assert_error(controller.post(f"{url}/recoveries", {"amount": "4000.01"}), 400, "recovery_exceeds_debt")
    assert_error(controller.post(f"{url}/recoveries", {"amount": "0"}), 400, "recovery_invalid")
    assert_error(controller.post(f"{url}/recoveries", {"amount": "1.001"}), 400, "validation_error")
    assert_error(controller.post(f"{url}/end", {"status": "recovered"}), 400, "handover_invalid")
    controller.post(f"{url}/end", {"status": "returned"})
    assert_error(controller.post(f"{url}/recoveries", {"amount": "1"}), 409, "handover_not_open")
    assert_error(controller.post(f"{url}/end", {"status": "closed"}), 409, "handover_not_open")


def test_the_evidence_pack_downloads_and_its_manifest_rehashes(collector, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path

    response = collector.get("/legal/customers/MINE/evidence-pack.zip")

    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "evidence-MINE-" in response["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["files"]
        for entry in manifest["files"]:
            assert hashlib.sha256(archive.read(entry["path"])).hexdigest() == entry["sha256"]


def test_the_demand_letter_downloads_in_the_language_asked(collector):
    response = collector.get("/legal/customers/MINE/demand-letter.pdf", {"language": "zh-hans"})

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "催告函" in text and "INV-MINE-1" in text


def test_the_list_costs_the_same_few_queries_for_many_hand_overs(controller, django_assert_max_num_queries):
    for n in range(12):
        customer = make_customer(f"MANY{n}")
        make_invoice(customer, "10.00")
        controller.post(f"/legal/customers/MANY{n}/handovers", AGENCY)

    with django_assert_max_num_queries(8):
        response = controller.get("/legal/handovers")

    assert response.json()["count"] == 12
