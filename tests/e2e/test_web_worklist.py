"""The worklist (home page): today's work within the user's customers, ordered by a priority that
each row explains; filters, bulk approval of messages, tasks done or skipped, and few queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


def test_the_rows_link_where_reverse_would(team, today):
    from django.urls import reverse

    customer = make_customer(code="华东 A&B/7", grade="B", collector=team["alice"])
    task = make_task(customer, TaskKind.CALL, due=today)

    html = signed_in_client(team["alice"]).get("/").content.decode()

    assert (
        f'href="{reverse("web:customer_detail", args=[customer.code])}?task={task.pk}#log"'.replace(
            "&", "&amp;"
        )
        in html
    )
    assert f'action="{reverse("web:task_done", args=[task.pk])}"' in html
    assert f'formaction="{reverse("web:task_skip", args=[task.pk])}"' in html


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
    htmx = {"HX-Request": "true"}

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
    with CaptureQueriesContext(connection) as few_more:
        assert len(client.get("/", {"shown": 100, "offset": 50}, headers=htmx).context["page"]) == 0
    add_work(40)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/").context["page"]) == 50
    with CaptureQueriesContext(connection) as many_more:
        assert len(client.get("/", {"shown": 100, "offset": 50}, headers=htmx).context["page"]) == 50

    assert len(many.captured_queries) == len(few.captured_queries)
    assert len(many.captured_queries) <= 10
    assert len(many_more.captured_queries) <= len(few_more.captured_queries) + 3  # the shown rows' records
    assert len(many_more.captured_queries) <= len(many.captured_queries)


# --- a long list: the top of it first, more on request -------------------------------------


def add_calls(collector, today, count: int) -> list[str]:
    """A call on each of ``count`` new customers, each a little more overdue than the one before;
    returns the tasks' keys, highest priority first."""
    keys = []
    for n in range(count):
        customer = make_customer(code=f"L{n:04d}", grade="B", collector=collector)
        make_overdue(customer, f"{100 + n}.00", days=30, today=today)
        keys.append(f"task-{make_task(customer, TaskKind.CALL, due=today).pk}")
    return keys[::-1]


def test_the_list_opens_on_its_first_50_items_and_shows_more_on_request(team, today):
    expected = add_calls(team["alice"], today, 120)
    client = signed_in_client(team["alice"])

    first = client.get("/")
    more = client.get("/", {"shown": 100, "offset": 50}, headers={"HX-Request": "true"})
    longer = client.get("/", {"shown": 100})
    everything = client.get("/", {"shown": 150})

    assert keys(first) == expected[:50]
    assert first.context["worklist"].counts == {"CALL": 120}
    html = first.content.decode()
    assert "120 items of work." in html and "50 of 120 shown" in html
    assert 'href="/?shown=100"' in html and 'hx-get="/?shown=100&amp;offset=50"' in html
    # The rows that follow, alone, to be added below the first ones.
    assert more.templates[0].name == "web/_worklist_rows.html"
    assert keys(more) == expected[50:100]
    assert 'id="worklist"' not in more.content.decode() and "offset=100" in more.content.decode()
    # The same list, without JavaScript, as a longer page.
    assert keys(longer) == expected[:100]
    assert keys(everything) == expected and "Show more" not in everything.content.decode()


def test_showing_more_keeps_the_filters(team, work, today):
    add_calls(team["alice"], today, 60)
    client = signed_in_client(team["alice"])

    calls = client.get("/", {"kind": "CALL", "q": "L00"})

    assert len(keys(calls)) == 50
    assert 'hx-get="/?kind=CALL&amp;q=L00&amp;shown=100&amp;offset=50"' in calls.content.decode()
    more = client.get(
        "/", {"kind": "CALL", "q": "L00", "shown": 100, "offset": 50}, headers={"HX-Request": "true"}
    )
    assert len(keys(more)) == 10 and "Show more" not in more.content.decode()


def test_after_an_action_the_list_comes_back_as_long_as_the_address_said(team, work, today):
    add_calls(team["alice"], today, 60)
    client = signed_in_client(team["alice"])

    with_htmx = client.post(
        f"/worklist/tasks/{work['call'].pk}/done/",
        {"query": "kind=CALL"},
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/?kind=CALL&shown=100"},
    )
    without = client.post(f"/worklist/tasks/{work['follow_up'].pk}/done/", {"query": "kind=CALL&shown=100"})

    assert with_htmx.status_code == 303 and with_htmx["Location"] == "/?kind=CALL&shown=100"
    assert without["Location"] == "/?kind=CALL&shown=100"
    assert len(keys(client.get(without["Location"]))) == 60


def test_a_source_larger_than_the_cap_is_ordered_from_its_oldest_and_the_page_says_so(
    team, today, monkeypatch
):
    from huikuan.web import selectors

    add_calls(team["alice"], today, 5)
    monkeypatch.setattr(selectors, "WORKLIST_SOURCE_CAP", 3)

    response = signed_in_client(team["alice"]).get("/")

    assert len(keys(response)) == 3 and response.context["worklist"].counts == {"CALL": 5}
    assert "Only the oldest 3 of each kind are ordered here" in response.content.decode()


# --- the priority, computed by the database ------------------------------------------------


def test_work_without_a_currency_of_its_own_is_priced_in_the_currency_most_overdue(team, today):
    customer = make_customer(code="M-MULTI", grade="B", currency="CNY", collector=team["alice"])
    usd = make_overdue(customer, "1000.00", days=10, today=today, currency="USD")
    make_overdue(customer, "50000", days=40, today=today, currency="JPY")
    follow_up = make_task(customer, TaskKind.FOLLOW_UP, due=today)
    message = make_pending_message(customer, [usd], as_of=today)

    items = {item.key: item for item in signed_in_client(team["alice"]).get("/").context["page"]}

    assert items[f"task-{follow_up.pk}"].priority.currency == "JPY"  # 50,000 × 40 outweighs 100,000 × 10
    assert items[f"task-{follow_up.pk}"].priority.score == 50000 * 40
    assert items[f"message-{message.pk}"].priority.currency == "USD"
    assert items[f"message-{message.pk}"].priority.score == 1000 * 10


def _expected_priority(customer, invoices, broken: int, currency: str | None, today):
    """The priority computed in Python alone, from the invoices as they were made."""
    from huikuan.core.money import from_minor
    from huikuan.web.priority import priority_compute, weighted_days

    overdue: dict[str, list[int]] = {}
    for invoice_currency, minor, days in invoices:
        if days > 0:
            sums = overdue.setdefault(invoice_currency, [0, 0])
            sums[0] += minor
            sums[1] += minor * days
    if currency is None:
        if customer.currency in overdue or not overdue:
            currency = customer.currency
        else:
            currency = max(sorted(overdue), key=lambda code: overdue[code][1])
    total, weighted = overdue.get(currency, [0, 0])
    return priority_compute(
        overdue=from_minor(total, currency),
        currency=currency,
        days=weighted_days(overdue_minor=total, day_weighted_minor=weighted),
        grade=customer.grade,
        broken_promises=broken,
    )


_customer_strategy = st.tuples(
    st.sampled_from("ABCD"),
    st.sampled_from(["CNY", "JPY", "KWD"]),  # the customer's own currency: 2, 0 and 3 decimals
    st.integers(min_value=0, max_value=3),  # broken promises
    st.lists(
        st.tuples(
            st.sampled_from(["CNY", "JPY", "KWD"]),
            st.integers(min_value=1, max_value=5_000_000),  # minor units
            st.integers(min_value=-5, max_value=400),  # days past due (none yet when ≤ 0)
        ),
        max_size=4,
    ),
    st.one_of(st.none(), st.sampled_from(["CNY", "JPY", "KWD"])),  # an open promise due, in …
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(customers=st.lists(_customer_strategy, min_size=1, max_size=5))
def test_the_database_orders_by_the_priority_each_row_shows(team, customers):
    from huikuan.core.money import from_minor
    from huikuan.web.selectors import worklist_build

    as_of = timezone.localdate()
    with transaction.atomic():
        expected = {}
        for n, (grade, own, broken, invoices, promised_in) in enumerate(customers):
            customer = make_customer(code=f"H{n}", grade=grade, currency=own, collector=team["alice"])
            for currency, minor, days in invoices:
                make_overdue(
                    customer, str(from_minor(minor, currency)), days=days, today=as_of, currency=currency
                )
            for _ in range(broken):
                make_promise(
                    customer, "1.00", promised=as_of - timedelta(days=40), status=PromiseStatus.BROKEN
                )
            task = make_task(customer, TaskKind.CALL, due=as_of)
            expected[f"task-{task.pk}"] = (
                _expected_priority(customer, invoices, broken, None, as_of),
                customer.code,
            )
            if promised_in:
                promise = make_promise(customer, "1", promised=as_of, currency=promised_in)
                expected[f"promise-{promise.pk}"] = (
                    _expected_priority(customer, invoices, broken, promised_in, as_of),
                    customer.code,
                )

        work = worklist_build(user=team["alice"], as_of=as_of, limit=50)
        transaction.set_rollback(True)

    assert {item.key: item.priority for item in work.items} == {
        key: value[0] for key, value in expected.items()
    }
    # Highest score first; the same score by customer code, then a promise before a task.
    assert [item.key for item in work.items] == sorted(
        expected, key=lambda key: (-expected[key][0].score, expected[key][1], key)
    )
