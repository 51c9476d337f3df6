"""The legal pages: the customer panel, handing a debt over, recoveries, the pack and the letter."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader

from huikuan.accounts.models import Role
from huikuan.collections.legal import handover_create
from huikuan.collections.legal_models import HandoverStatus, LegalHandover
from huikuan.customers.models import CustomerStatus
from tests.e2e.web_builders import make_customer, make_overdue, make_user, signed_in_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.HUIKUAN_HOME = tmp_path


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def alice():
    return make_user("alice", Role.COLLECTOR)


@pytest.fixture
def bob():
    return make_user("bob", Role.COLLECTOR)


@pytest.fixture
def boss():
    return make_user("boss", Role.CREDIT_CONTROLLER)


@pytest.fixture
def customer(alice, today):
    customer = make_customer("WEB-L1", collector=alice, language="en")
    make_overdue(customer, "1200.00", days=40, today=today)
    make_overdue(customer, "300.00", days=10, today=today)
    return customer


def hand_over(customer, user, today, **fields):
    return handover_create(
        customer=customer,
        user=user,
        kind="AGENCY",
        agent_name=fields.pop("agent_name", "Dragon Collections"),
        commission_percent="10",
        handed_over_date=today,
        **fields,
    )


def test_a_controller_hands_the_debt_over_from_the_customer_page(boss, customer, today):
    client = signed_in_client(boss)
    page = client.get(f"/customers/{customer.code}/").content.decode()
    assert f"/legal/customers/{customer.code}/handover/" in page

    form = client.get(f"/legal/customers/{customer.code}/handover/")
    assert form.status_code == 200
    response = client.post(
        f"/legal/customers/{customer.code}/handover/",
        {
            "kind": "LAWYER",
            "agent_name": "金诚律师事务所",
            "commission_percent": "12.5",
            "handed_over_date": today.isoformat(),
            "currency": "",
        },
    )

    assert response.status_code == 303, response.content
    handover = LegalHandover.objects.get()
    assert (handover.kind, handover.amount_minor, handover.created_by) == ("LAWYER", 150_000, boss)
    customer.refresh_from_db()
    assert customer.status == CustomerStatus.LEGAL
    page = client.get(f"/customers/{customer.code}/").content.decode()
    assert "金诚律师事务所" in page


def test_a_collector_sees_the_panel_and_the_documents_but_may_not_hand_over(alice, customer):
    client = signed_in_client(alice)
    page = client.get(f"/customers/{customer.code}/").content.decode()

    assert f"/legal/customers/{customer.code}/evidence-pack/" in page
    assert f"/legal/customers/{customer.code}/handover/" not in page
    assert client.get(f"/legal/customers/{customer.code}/handover/").status_code == 403
    assert client.get("/legal/").status_code == 404


def test_another_collectors_customer_answers_404(bob, customer):
    client = signed_in_client(bob)

    for url in ("handover/", "evidence-pack/", "demand-letter/"):
        assert client.get(f"/legal/customers/{customer.code}/{url}").status_code == 404, url


def test_the_evidence_pack_downloads_from_the_customer_page_and_rehashes(alice, customer):
    response = signed_in_client(alice).get(f"/legal/customers/{customer.code}/evidence-pack/")

    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        for entry in manifest["files"]:
            assert hashlib.sha256(archive.read(entry["path"])).hexdigest() == entry["sha256"]


def test_the_demand_letter_downloads_in_either_language(alice, customer):
    client = signed_in_client(alice)
    for language, title in (("en", "Letter of demand"), ("zh-hans", "催告函")):
        response = client.get(f"/legal/customers/{customer.code}/demand-letter/", {"language": language})
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
        assert title in text and "1,500.00" in text


def test_recoveries_and_ending_on_the_hand_over_page(boss, customer, today):
    handover = hand_over(customer, boss, today)
    client = signed_in_client(boss)

    assert client.get(f"/legal/handovers/{handover.pk}/").status_code == 200
    client.post(
        f"/legal/handovers/{handover.pk}/recover/", {"amount": "500.00", "recovered_date": today.isoformat()}
    )
    handover.refresh_from_db()
    assert (handover.recovered_minor, handover.commission_minor) == (50_000, 5_000)
    assert handover.status == HandoverStatus.PARTLY_RECOVERED
    client.post(
        f"/legal/handovers/{handover.pk}/end/", {"status": "RETURNED", "ended_date": today.isoformat()}
    )
    handover.refresh_from_db()
    assert handover.status == HandoverStatus.RETURNED


def test_an_auditor_reads_the_pages_but_may_not_change_anything(customer, boss, today):
    handover = hand_over(customer, boss, today)
    client = signed_in_client(make_user("audrey", Role.AUDITOR))

    assert client.get("/legal/").status_code == 200
    assert client.get(f"/legal/handovers/{handover.pk}/").status_code == 200
    response = client.post(
        f"/legal/handovers/{handover.pk}/recover/", {"amount": "1.00", "recovered_date": today.isoformat()}
    )
    assert response.status_code == 403
    assert LegalHandover.objects.get().recovered_minor == 0


def test_the_list_page_takes_the_same_queries_for_few_or_many_hand_overs(boss, today):
    client = signed_in_client(boss)

    def add(n: int, start: int) -> None:
        for i in range(n):
            other = make_customer(f"LIST{start + i}")
            make_overdue(other, "10.00", days=5, today=today)
            hand_over(other, boss, today)

    add(1, 0)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/legal/").status_code == 200
    add(20, 100)
    with CaptureQueriesContext(connection) as many:
        page = client.get("/legal/").content.decode()

    assert "LIST119" in page
    assert len(many.captured_queries) == len(few.captured_queries) <= 10


def test_the_panel_costs_one_query(boss, customer, today):
    hand_over(customer, boss, today)
    client = signed_in_client(boss)
    client.get(f"/customers/{customer.code}/")
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/customers/{customer.code}/")

    assert len([q for q in queries.captured_queries if "collections_legalhandover" in q["sql"]]) == 1


def test_a_collector_offers_a_discount_and_a_manager_approves_a_larger_settlement(alice, customer, today):
    from huikuan.collections.incentive_models import Incentive, IncentiveStatus

    client = signed_in_client(alice)
    numbers = list(customer.invoices.order_by("due_date").values_list("number", flat=True))
    assert client.get(f"/legal/customers/{customer.code}/offer/").status_code == 200
    response = client.post(
        f"/legal/customers/{customer.code}/offer/",
        {
            "kind": "DISCOUNT",
            "invoice": [numbers[0]],
            "pay_by_date": today.isoformat(),
            "discount_percent": "2",
        },
    )
    assert response.status_code == 303, response.content
    discount = Incentive.objects.get()
    assert (discount.status, discount.concession_minor) == (IncentiveStatus.OFFERED, 2_400)

    client.post(
        f"/legal/customers/{customer.code}/offer/",
        {
            "kind": "SETTLEMENT",
            "invoice": [numbers[1]],
            "pay_by_date": today.isoformat(),
            "settle_amount": "250",
        },
    )
    settlement = Incentive.objects.exclude(pk=discount.pk).get()
    assert settlement.status == IncentiveStatus.AWAITING_APPROVAL
    page = client.get(f"/customers/{customer.code}/").content.decode()
    assert f"/legal/incentives/{settlement.pk}/approve/" in page
    client.post(f"/legal/incentives/{settlement.pk}/approve/")
    settlement.refresh_from_db()
    assert settlement.status == IncentiveStatus.AWAITING_APPROVAL  # a collector may give up 2 %, not 17 %

    signed_in_client(make_user("mia", Role.MANAGER)).post(f"/legal/incentives/{settlement.pk}/approve/")
    settlement.refresh_from_db()
    assert settlement.status == IncentiveStatus.OFFERED


def test_another_collectors_offer_answers_404(alice, bob, customer, today):
    from huikuan.collections.incentives import incentive_offer

    incentive = incentive_offer(
        customer=customer, user=alice, kind="DISCOUNT", invoices=list(customer.invoices.all()[:1]),
        discount_percent="1", pay_by_date=today,
    )  # fmt: skip

    assert signed_in_client(bob).post(f"/legal/incentives/{incentive.pk}/withdraw/").status_code == 404
    assert signed_in_client(bob).get(f"/legal/customers/{customer.code}/offer/").status_code == 404
