"""The collections API: calls, promises, disputes, plans and tasks, within the user's scope."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from pypdf import PdfReader

from huikuan.accounts.models import Profile, Role
from huikuan.collections.models import DisputeStatus, PromiseToPay, Task, TaskKind, TaskStatus
from huikuan.collections.services import dispute_open, plan_create, promise_create
from huikuan.core.auth import api_token_create
from huikuan.core.models import AuditEntry
from huikuan.core.money import Money
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
def li():
    return user_with("li", Role.COLLECTOR)


@pytest.fixture
def mine(wang):
    customer = make_customer("MINE", collector=wang)
    make_invoice(customer, "3000.00", number="INV-MINE-1")
    make_invoice(customer, "1000.00", number="INV-MINE-2")
    return customer


@pytest.fixture
def theirs(li):
    customer = make_customer("THEIRS", collector=li)
    make_invoice(customer, "500.00", number="INV-THEIRS-1")
    return customer


@pytest.fixture
def api(wang, mine, theirs) -> ApiClient:
    return client_for(wang)


def test_a_collector_logs_a_call_that_completes_the_task_and_schedules_a_follow_up(api, wang, mine):
    task = Task.objects.create(
        kind=TaskKind.CALL, customer=mine, assignee=wang, due_date=date(2024, 3, 4), title="c"
    )
    contact = contact_create(customer=mine, name="陈会计")

    response = api.post(
        "/customers/MINE/interactions",
        {
            "kind": "call",
            "outcome": "reached",
            "occurred_at": "2024-03-04T10:30:00+08:00",
            "notes": "Will pay half on Friday",
            "next_action_date": "2024-03-08",
            "contact_id": contact.pk,
            "task_id": task.pk,
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["outcome"], body["user"], body["contact_name"]) == (
        "CALL",
        "REACHED",
        "wang",
        "陈会计",
    )
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert Task.objects.filter(kind=TaskKind.FOLLOW_UP, assignee=wang, due_date=date(2024, 3, 8)).exists()
    listed = api.get("/customers/MINE/interactions").json()
    assert listed["count"] == 1 and listed["items"][0]["notes"] == "Will pay half on Friday"


def test_a_promise_through_the_api_pauses_its_invoices_and_says_until_when(api, wang):
    response = api.post(
        "/customers/MINE/promises",
        {
            "amount": "1500.00",
            "promised_date": "2024-03-15",
            "invoices": ["INV-MINE-1"],
            "promised_by": "王经理",
            "method": "written",
            "if_broken": "Supply stops.",
            "made_date": "2024-03-04",
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["amount"], body["currency"], body["status"], body["paused_until"]) == (
        "1500.00",
        "CNY",
        "OPEN",
        "2024-03-18",
    )
    assert body["invoices"] == ["INV-MINE-1"] and body["created_by"] == "wang"
    assert AuditEntry.objects.get(entity="collections.promisetopay").actor == wang


def test_a_promise_naming_another_collectors_invoice_is_refused_as_if_it_did_not_exist(api):
    response = api.post(
        "/customers/MINE/promises",
        {
            "amount": "10",
            "promised_date": "2024-03-15",
            "invoices": ["INV-THEIRS-1"],
            "made_date": "2024-03-04",
        },
    )

    assert_error(response, 400, "invoice_not_found")
    assert not PromiseToPay.objects.exists()


def test_a_promise_with_more_decimals_than_the_currency_has_is_refused(api):
    response = api.post(
        "/customers/MINE/promises",
        {"amount": "10.001", "promised_date": "2024-03-15", "made_date": "2024-03-04"},
    )

    assert_error(response, 400, "validation_error")


def test_a_dispute_is_opened_moved_on_and_resolved_by_a_credit_note(api, wang):
    opened = api.post(
        "/customers/MINE/disputes",
        {
            "invoice": "INV-MINE-2",
            "reason": "quantity",
            "notes": "short delivery",
            "opened_date": "2024-03-04",
        },
    )
    dispute_id = opened.json()["id"]

    investigating = api.post(
        f"/disputes/{dispute_id}/status", {"status": "investigating", "on_date": "2024-03-05"}
    )
    resolved = api.post(
        f"/disputes/{dispute_id}/status",
        {"status": "RESOLVED_CREDIT_NOTE", "on_date": "2024-03-09", "credit_note_amount": "200.00"},
    )
    again = api.post(f"/disputes/{dispute_id}/status", {"status": "REJECTED", "on_date": "2024-03-10"})

    assert opened.status_code == 201 and opened.json()["owner"] == "wang"
    assert investigating.json()["status"] == "INVESTIGATING"
    assert resolved.json()["status"] == "RESOLVED_CREDIT_NOTE" and resolved.json()["age_days"] == 5
    assert_error(again, 409, "dispute_closed")
    assert api.get("/invoices/INV-MINE-2").json()["open_amount"] == "800.00"
    assert [d["status"] for d in api.get("/customers/MINE/disputes").json()["items"]] == [
        DisputeStatus.RESOLVED_CREDIT_NOTE
    ]


def test_a_second_dispute_on_the_same_invoice_answers_409(api):
    body = {"invoice": "INV-MINE-2", "reason": "PRICE", "opened_date": "2024-03-04"}
    api.post("/customers/MINE/disputes", body)

    assert_error(api.post("/customers/MINE/disputes", body), 409, "dispute_already_open")


def test_a_plan_is_agreed_listed_and_its_agreement_downloaded(api):
    response = api.post(
        "/customers/MINE/plans",
        {"invoices": ["INV-MINE-1", "INV-MINE-2"], "start_date": "2024-03-04", "count": 4, "fee": "40.00"},
    )

    assert response.status_code == 201, response.content
    plan = response.json()
    assert (plan["principal"], plan["fee"], plan["total"]) == ("4000.00", "40.00", "4040.00")
    assert [row["amount"] for row in plan["instalments"]] == ["1010.00"] * 4
    assert plan["invoices"] == ["INV-MINE-1", "INV-MINE-2", f"PLAN-{plan['id']}"]
    pdf = api.get(f"/plans/{plan['id']}/agreement.pdf?language=en")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "INV-MINE-1" in text and "CNY 4,040.00" in text
    assert api.get("/customers/MINE/plans").json()["items"][0]["id"] == plan["id"]


def test_custom_amounts_that_do_not_add_up_answer_400_with_the_reason(api):
    response = api.post(
        "/customers/MINE/plans",
        {"invoices": ["INV-MINE-2"], "start_date": "2024-03-04", "amounts": ["500.00", "400.00"]},
    )

    assert_error(response, 400, "amounts_total")


def test_tasks_are_listed_within_the_users_scope_and_can_be_completed_or_skipped(api, wang, li, mine, theirs):
    own = Task.objects.create(
        kind=TaskKind.CALL, customer=mine, assignee=wang, due_date=date(2024, 3, 4), title="a"
    )
    other = Task.objects.create(
        kind=TaskKind.CALL, customer=theirs, assignee=li, due_date=date(2024, 3, 4), title="b"
    )
    skip = Task.objects.create(
        kind=TaskKind.VISIT, customer=mine, assignee=wang, due_date=date(2024, 3, 5), title="c"
    )

    listed = api.get("/tasks").json()
    done = api.post(f"/tasks/{own.pk}/complete")
    skipped = api.post(f"/tasks/{skip.pk}/skip", {"reason": "paid in full"})

    assert [t["id"] for t in listed["items"]] == [own.pk, skip.pk]
    assert done.json()["status"] == "DONE" and skipped.json()["status"] == "CANCELLED"
    assert_error(api.post(f"/tasks/{other.pk}/complete"), 404, "task_not_found")
    assert_error(api.post(f"/tasks/{own.pk}/complete"), 409, "task_not_open")
    assert api.get("/tasks", {"status": "DONE"}).json()["items"][0]["id"] == own.pk


def test_an_early_warning_task_carries_its_evidence_and_says_why(api, wang, mine):
    evidence = [
        {"cause": "unreachable"},
        {"fact": "unanswered_in_a_row", "value": 4},
        {"fact": "threshold", "value": 3},
    ]
    Task.objects.create(
        kind=TaskKind.EARLY_WARNING, customer=mine, assignee=wang, due_date=date(2024, 3, 4), title="w",
        evidence=evidence,
    )  # fmt: skip
    Task.objects.create(
        kind=TaskKind.CALL, customer=mine, assignee=wang, due_date=date(2024, 3, 5), title="c"
    )

    english = api.get("/tasks").json()["items"]
    chinese = api.http.get("/api/v1/tasks", HTTP_ACCEPT_LANGUAGE="zh-hans").json()["items"]

    assert [(task["kind"], task["evidence"]) for task in english] == [
        ("EARLY_WARNING", evidence),
        ("CALL", None),
    ]
    assert english[0]["evidence_text"] == "4 calls or visits in a row without an answer (a warning from 3)."
    assert chinese[0]["evidence_text"] == "连续 4 次电话或拜访无人应答（达到 3 次即预警）。"
    assert english[1]["evidence_text"] == ""


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/customers/THEIRS/interactions", {"kind": "NOTE", "notes": "x"}),
        ("/customers/THEIRS/promises", {"amount": "10", "promised_date": "2024-03-15"}),
        ("/customers/THEIRS/disputes", {"invoice": "INV-THEIRS-1", "reason": "PRICE"}),
        ("/customers/THEIRS/plans", {"invoices": ["INV-THEIRS-1"], "start_date": "2024-03-04", "count": 2}),
    ],
)
def test_another_collectors_customer_answers_404_for_reading_and_writing(api, url, body):
    assert_error(api.get(url), 404, "customer_not_found")
    assert_error(api.post(url, body), 404, "customer_not_found")
    assert not AuditEntry.objects.exclude(entity__in=["customers.customer", "ledger.invoice"]).exists()


def test_another_collectors_dispute_and_plan_answer_404(api, theirs, li):
    dispute = dispute_open(invoice=theirs.invoices.get(), reason="PRICE", opened_date=date(2024, 3, 4))
    other_invoice = make_invoice(theirs, "200.00", number="INV-THEIRS-2")
    plan = plan_create(
        customer=theirs, invoices=[other_invoice], start_date=date(2024, 3, 4), count=2, user=li
    )

    assert_error(api.get(f"/disputes/{dispute.pk}"), 404, "dispute_not_found")
    assert_error(api.post(f"/disputes/{dispute.pk}/status", {"status": "REJECTED"}), 404, "dispute_not_found")
    assert_error(api.get(f"/plans/{plan.pk}"), 404, "plan_not_found")
    assert_error(api.get(f"/plans/{plan.pk}/agreement.pdf"), 404, "plan_not_found")


def test_an_auditor_reads_collections_but_cannot_write(mine, wang):
    auditor = client_for(user_with("audit", Role.AUDITOR))
    promise_create(
        customer=mine,
        user=wang,
        amount=Money.of("5", "CNY"),
        promised_date=date(2024, 3, 9),
        made_date=date(2024, 3, 4),
    )

    assert auditor.get("/customers/MINE/promises").json()["count"] == 1
    assert_error(
        auditor.post("/customers/MINE/interactions", {"kind": "NOTE", "notes": "x"}), 403, "read_only"
    )


def test_list_endpoints_take_the_same_queries_for_one_row_or_many(
    api, wang, mine, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def add(n: int, start: int) -> None:
        for i in range(start, start + n):
            invoice = make_invoice(mine, "10.00", number=f"INV-Q-{i}")
            promise_create(
                customer=mine,
                user=wang,
                amount=Money.of("5", "CNY"),
                promised_date=date(2024, 3, 9),
                invoices=[invoice],
                made_date=date(2024, 3, 4),
            )
            dispute_open(invoice=invoice, reason="PRICE", user=wang, opened_date=date(2024, 3, 4))
            plan_create(
                customer=mine,
                invoices=[make_invoice(mine, "20.00", number=f"INV-P-{i}")],
                start_date=date(2024, 3, 4),
                count=2,
                user=wang,
            )
            api.post("/customers/MINE/interactions", {"kind": "NOTE", "notes": f"note {i}"})

    urls = [
        "/customers/MINE/promises",
        "/customers/MINE/disputes",
        "/customers/MINE/plans",
        "/customers/MINE/interactions",
        "/tasks",
    ]
    add(1, 0)
    counts = {}
    for url in urls:
        with CaptureQueriesContext(connection) as one:
            assert api.get(url).status_code == 200
        counts[url] = len(one.captured_queries)
    add(8, 1)

    for url in urls:
        with django_assert_max_num_queries(counts[url]):
            assert api.get(url).json()["count"] >= 9
