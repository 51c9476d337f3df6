"""The worklist (home page): today's work within the user's customers, ordered by a priority that
each row explains; filters, bulk approval of messages, tasks done or skipped, and few queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from huikuan.accounts.models import Role
from huikuan.collections.models import PromiseStatus, TaskKind, TaskStatus
from huikuan.core.models import AuditEntry
from huikuan.messaging.models import OutboxStatus
from tests.e2e.web_builders import (
    make_customer,
    make_overdue,
    make_pending_message,
    make_promise,
    make_task,
    make_user,
    signed_in_client,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def team(db):
    return {
        "alice": make_user("alice", Role.COLLECTOR, "Alice Chen"),
        "bob": make_user("bob", Role.COLLECTOR, "Bob Li"),
        "mia": make_user("mia", Role.MANAGER, "Mia Wang"),
        "audrey": make_user("audrey", Role.AUDITOR, "Audrey Sun"),
    }


@pytest.fixture
def work(team, today):
    """Alice: a risky customer to call and a good one with a message to approve, a promise due and
    a follow-up; Bob: one call of his own."""
    risky = make_customer(code="A-RISKY", name="上海恒信机电有限公司", grade="C", collector=team["alice"])
    make_overdue(risky, "12000.00", days=45, today=today)
    for _ in range(2):
        make_promise(risky, "500.00", promised=today - timedelta(days=60), status=PromiseStatus.BROKEN)
    good = make_customer(code="A-GOOD", name="Northwind Components", grade="A", collector=team["alice"])
    late = make_overdue(good, "1000.00", days=10, today=today)
    bobs = make_customer(code="B-ONE", name="Bob's Customer", grade="B", collector=team["bob"])
    make_overdue(bobs, "99999.00", days=200, today=today)
    return {
        "risky": risky,
        "good": good,
        "bobs": bobs,
        "call": make_task(risky, TaskKind.CALL, due=today, script="您好，我是回款公司的…"),
        "follow_up": make_task(good, TaskKind.FOLLOW_UP, due=today - timedelta(days=1)),
        "tomorrow": make_task(good, TaskKind.CALL, due=today + timedelta(days=1)),
        "message": make_pending_message(good, [late], as_of=today),
        "promise": make_promise(good, "1000.00", promised=today),
        "bobs_call": make_task(bobs, TaskKind.CALL, due=today),
        "bobs_message": make_pending_message(bobs, list(bobs.invoices.all()), as_of=today),
    }


def keys(response) -> list[str]:
    return [item.key for item in response.context["page"]]


def test_the_home_page_is_the_collectors_work_for_today_highest_priority_first(team, work):
    response = signed_in_client(team["alice"]).get("/")

    assert response.status_code == 200
    assert keys(response)[0] == f"task-{work['call'].pk}"
    assert set(keys(response)[1:]) == {
        f"task-{work['follow_up'].pk}",
        f"message-{work['message'].pk}",
        f"promise-{work['promise'].pk}",
    }  # the task due tomorrow is not today's work


def test_each_row_shows_and_explains_its_priority(team, work):
    response = signed_in_client(team["alice"]).get("/")
    html = response.content.decode()

    first = response.context["page"][0]
    # 12,000 overdue for 45 days, grade C (×1.5), two broken promises (×2).
    assert first.priority.score == 12000 * 45 * 3
    assert "1,620,000" in html
    assert "12,000.00 CNY overdue × 45 days × grade C ×1.5, 2 broken promises ×2" in html
    assert "1,000.00 CNY overdue × 10 days × grade A ×0.5" in html
    # The call opens on the customer page, tied to the task (where its script is shown).
    assert f'href="/customers/A-RISKY/?task={work["call"].pk}#log"' in html


def test_a_collector_never_sees_another_collectors_customers(team, work):
    html = signed_in_client(team["alice"]).get("/", {"everyone": "on"}).content.decode()

    assert "Bob&#x27;s Customer" not in html and "B-ONE" not in html


def test_a_manager_sees_everyones_work_when_asking_for_it(team, work):
    client = signed_in_client(team["mia"])

    mine = client.get("/")
    everyone = client.get("/", {"everyone": "on"})

    assert f"task-{work['bobs_call'].pk}" not in keys(mine)  # assigned to Bob
    assert f"message-{work['bobs_message'].pk}" in keys(mine)  # a manager approves anyone's messages
    assert f"task-{work['bobs_call'].pk}" in keys(everyone)
    # 99,999.00 overdue for 200 days at grade B outweighs everything of Alice's.
    assert [item.customer.code for item in everyone.context["page"]][:2] == ["B-ONE", "B-ONE"]


def test_the_worklist_filters_by_kind_and_customer(team, work):
    client = signed_in_client(team["alice"])

    approvals = client.get("/", {"kind": "APPROVAL"})
    by_name = client.get("/", {"q": "恒信"})
    by_code = client.get("/", {"q": "a-good"})

    assert keys(approvals) == [f"message-{work['message'].pk}"]
    assert approvals.context["worklist"].counts == {
        "CALL": 1,
        "FOLLOW_UP": 1,
        "APPROVAL": 1,
        "PROMISE_DUE": 1,
    }
    assert keys(by_name) == [f"task-{work['call'].pk}"]
    assert len(keys(by_code)) == 3


def test_htmx_gets_the_list_alone(team, work):
    response = signed_in_client(team["alice"]).get("/", {"kind": "CALL"}, headers={"HX-Request": "true"})
    html = response.content.decode()

    assert response.templates[0].name == "web/_worklist.html"
    assert "<html" not in html and 'id="worklist"' in html


def test_the_page_loads_htmx_and_the_shortcuts_from_our_own_static_files(team, work):
    html = signed_in_client(team["alice"]).get("/").content.decode()

    assert "/static/django_htmx/htmx-2.min.js" in html
    assert "/static/web/shortcuts.js" in html
    assert 'data-shortcut="a"' in html and 'data-shortcut="c"' in html and "data-row" in html
    assert "Keyboard shortcuts" in html
    assert "https://" not in html and "http://" not in html


def test_the_shortcuts_script_is_served(client):
    response = client.get("/static/web/shortcuts.js")

    assert response.status_code == 200
    assert b"keydown" in b"".join(response.streaming_content)


def test_selected_messages_are_approved_at_once_and_the_list_comes_back(team, work, today):
    other = make_pending_message(
        work["good"], list(work["good"].invoices.all()), as_of=today - timedelta(days=1)
    )
    client = signed_in_client(team["alice"])

    response = client.post(
        "/worklist/messages/",
        {"message": [work["message"].pk, other.pk], "action": "approve", "query": "kind=APPROVAL"},
        follow=True,
    )

    work["message"].refresh_from_db()
    assert work["message"].status == OutboxStatus.QUEUED
    assert work["message"].approved_by == team["alice"]
    other.refresh_from_db()
    assert other.status == OutboxStatus.QUEUED
    assert response.redirect_chain == [("/?kind=APPROVAL", 303)]
    assert "2 messages approved." in response.content.decode()
    assert keys(response) == []


def test_skipping_a_message_cancels_it(team, work):
    client = signed_in_client(team["alice"])

    client.post("/worklist/messages/", {"message": work["message"].pk, "action": "skip"})

    work["message"].refresh_from_db()
    assert work["message"].status == OutboxStatus.CANCELLED


def test_an_approval_after_htmx_returns_the_list_partial(team, work):
    client = signed_in_client(team["alice"])

    response = client.post(
        "/worklist/messages/",
        {"message": work["message"].pk, "action": "approve"},
        headers={"HX-Request": "true"},
        follow=True,
    )

    assert response.templates[0].name == "web/_worklist.html"
    assert "1 message approved." in response.content.decode()


def test_another_collectors_message_cannot_be_approved_by_id(team, work):
    client = signed_in_client(team["alice"])

    alone = client.post("/worklist/messages/", {"message": work["bobs_message"].pk, "action": "approve"})
    mixed = client.post(
        "/worklist/messages/", {"message": [work["bobs_message"].pk, work["message"].pk], "action": "approve"}
    )

    assert alone.status_code == 404
    assert mixed.status_code == 303
    work["bobs_message"].refresh_from_db()
    assert work["bobs_message"].status == OutboxStatus.AWAITING_APPROVAL


def test_an_auditor_reads_the_worklist_but_cannot_approve(team, work):
    client = signed_in_client(team["audrey"])

    page = client.get("/", {"everyone": "on"})
    refused = client.post("/worklist/messages/", {"message": work["message"].pk, "action": "approve"})

    assert page.status_code == 200 and f"message-{work['message'].pk}" in keys(page)
    assert refused.status_code == 403
    work["message"].refresh_from_db()
    assert work["message"].status == OutboxStatus.AWAITING_APPROVAL


def test_approving_nothing_says_so(team, work):
    response = signed_in_client(team["alice"]).post("/worklist/messages/", {"action": "approve"}, follow=True)

    assert "Select at least one message." in response.content.decode()


def test_a_task_is_done_or_skipped_from_the_list(team, work):
    client = signed_in_client(team["alice"])

    client.post(f"/worklist/tasks/{work['call'].pk}/done/")
    client.post(f"/worklist/tasks/{work['follow_up'].pk}/skip/", {"reason": "customer on holiday"})

    work["call"].refresh_from_db()
    work["follow_up"].refresh_from_db()
    assert work["call"].status == TaskStatus.DONE
    assert work["follow_up"].status == TaskStatus.CANCELLED
    assert AuditEntry.objects.filter(entity="collections.task", entity_id=str(work["follow_up"].pk)).exists()


def test_another_collectors_task_answers_not_found(team, work):
    response = signed_in_client(team["alice"]).post(f"/worklist/tasks/{work['bobs_call'].pk}/done/")

    assert response.status_code == 404
    work["bobs_call"].refresh_from_db()
    assert work["bobs_call"].status == TaskStatus.OPEN


def test_managers_may_look_at_another_day_and_collectors_may_not(team, work, today):
    tomorrow = (today + timedelta(days=1)).isoformat()

    for_manager = signed_in_client(team["mia"]).get("/", {"as_of": tomorrow, "everyone": "on"})
    for_collector = signed_in_client(team["alice"]).get("/", {"as_of": tomorrow})

    assert f"task-{work['tomorrow'].pk}" in keys(for_manager)
    assert f"task-{work['tomorrow'].pk}" not in keys(for_collector)
    assert for_collector.context["as_of"] == today


def test_the_worklist_takes_the_same_queries_for_few_or_many_items(team, today):
    alice = team["alice"]
    client = signed_in_client(alice)

    def add_work(count: int) -> None:
        for _ in range(count):
            customer = make_customer(grade="C", collector=alice)
            invoice = make_overdue(customer, "100.00", days=20, today=today)
            make_task(customer, TaskKind.CALL, due=today)
            make_pending_message(customer, [invoice], as_of=today)
            make_promise(customer, "50.00", promised=today)
            make_promise(customer, "50.00", promised=today - timedelta(days=30), status=PromiseStatus.BROKEN)

    add_work(2)
    with CaptureQueriesContext(connection) as few:
        assert len(client.get("/").context["page"]) == 6
    add_work(20)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/").context["page"]) == 50

    assert len(many.captured_queries) == len(few.captured_queries)
    assert len(many.captured_queries) <= 12
