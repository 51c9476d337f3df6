"""In a real browser: a collector's worklist, and approving the message a dunning stage holds back."""

from __future__ import annotations

from datetime import date

import pytest

from huikuan.messaging.models import OutboxMessage, OutboxStatus
from tests.browser.support import sign_in, switch_language
from tests.factories import make_action, make_customer, make_invoice, make_outbox_message

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def collector(make_user):
    return make_user("wang.li", role="COLLECTOR", first_name="Li", last_name="Wang")


@pytest.fixture
def pending_message(collector):
    """A formal notice to 华东机电 that waits for a person to approve it before it goes out."""
    customer = make_customer(code="C-1001", name="上海华东机电设备有限公司", collector=collector)
    invoice = make_invoice(customer, "12000.00", issue_date=date(2026, 8, 1), due_days=30, number="INV-1001")
    action = make_action(customer, [invoice], as_of=date(2026, 11, 20))
    return make_outbox_message(action, status=OutboxStatus.AWAITING_APPROVAL)


def test_a_collector_approves_a_pending_message_from_the_worklist(page, pending_message, screenshot):
    sign_in(page, "wang.li")
    row = page.locator("tr[data-row]", has_text="上海华东机电设备有限公司")
    assert row.count() == 1
    assert "12,000.00" in row.locator(".priority").inner_text()
    screenshot(page, "worklist-pending-message.en")

    row.get_by_role("button", name="Approve").click()

    page.get_by_role("status").filter(has_text="1 message approved.").wait_for()
    assert page.locator("tr[data-row]", has_text="上海华东机电设备有限公司").count() == 0
    pending_message.refresh_from_db()
    assert pending_message.status == OutboxStatus.QUEUED
    assert pending_message.approved_by.username == "wang.li"


def test_a_collector_skips_selected_messages_in_bulk(page, pending_message):
    sign_in(page, "wang.li")
    page.get_by_label("Select the message to 上海华东机电设备有限公司").check()

    page.locator("#bulk").get_by_role("button", name="Skip").click()

    page.get_by_role("status").filter(has_text="1 message skipped.").wait_for()
    assert OutboxMessage.objects.get(pk=pending_message.pk).status == OutboxStatus.CANCELLED


def test_the_worklist_reads_in_chinese(page, pending_message, screenshot):
    sign_in(page, "wang.li")

    switch_language(page, "简体中文")

    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.locator("header nav.mainnav").get_by_role("link", name="客户").is_visible()
    assert page.get_by_role("heading", name="今日工作").is_visible()
    row = page.locator("tr[data-row]", has_text="上海华东机电设备有限公司")
    assert row.get_by_role("button", name="批准").is_visible()
    screenshot(page, "worklist-pending-message.zh-hans")


@pytest.fixture
def two_pending_messages(collector, pending_message):
    """A second held-back notice, to 北方重工, due later: it sorts below the first."""
    customer = make_customer(code="C-1002", name="北方重工机械有限公司", collector=collector)
    invoice = make_invoice(customer, "3000.00", issue_date=date(2026, 10, 1), due_days=30, number="INV-1002")
    action = make_action(customer, [invoice], as_of=date(2026, 11, 21))
    return [pending_message, make_outbox_message(action, status=OutboxStatus.AWAITING_APPROVAL)]


def test_the_worklist_is_worked_from_the_keyboard(page, two_pending_messages):
    first, second = two_pending_messages
    sign_in(page, "wang.li")
    rows = page.locator("tr[data-row]")
    assert rows.count() == 2

    page.keyboard.press("j")
    page.keyboard.press("j")
    focused = page.evaluate("document.activeElement.id")
    assert focused == rows.nth(1).get_attribute("id")
    page.keyboard.press("k")
    assert page.evaluate("document.activeElement.id") == rows.nth(0).get_attribute("id")
    approved_name = rows.nth(0).locator("td a").first.inner_text()

    page.keyboard.press("a")

    page.get_by_role("status").filter(has_text="1 message approved.").wait_for()
    statuses = dict(OutboxMessage.objects.values_list("customer__name", "status"))
    assert statuses[approved_name] == OutboxStatus.QUEUED
    assert sorted(statuses.values()) == [OutboxStatus.AWAITING_APPROVAL, OutboxStatus.QUEUED]
    # After the list is replaced, the focus is back on a row, ready for the next key.
    page.wait_for_function("document.activeElement && document.activeElement.hasAttribute('data-row')")
    assert rows.count() == 1

    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.name") == "q"
    page.keyboard.press("Escape")
    page.keyboard.press("?")
    assert page.locator("dialog#shortcuts").is_visible()


@pytest.fixture
def long_worklist(collector):
    """55 calls due today, each on a customer a little more overdue than the one before."""
    from huikuan.collections.models import Task, TaskKind

    for n in range(55):
        customer = make_customer(code=f"L-{n:03d}", name=f"Long List Customer {n:03d}", collector=collector)
        make_invoice(
            customer, f"{1000 + n}.00", issue_date=date(2026, 8, 1), due_days=30, number=f"INV-L{n:03d}"
        )
        Task.objects.create(
            kind=TaskKind.CALL,
            customer=customer,
            assignee=collector,
            due_date=date(2026, 1, 5),
            title=f"Call {n}",
        )


def test_the_worklist_opens_on_its_top_50_and_the_keyboard_shows_more(page, long_worklist):
    sign_in(page, "wang.li")
    rows = page.locator("tr[data-row]")
    assert rows.count() == 50
    assert "Long List Customer 054" in rows.first.inner_text()  # the most overdue first

    rows.nth(49).focus()
    page.keyboard.press("j")

    page.wait_for_function("document.querySelectorAll('tr[data-row]').length === 55")
    # The focus moves on to the first row that came, ready for the next key.
    page.wait_for_function("id => document.activeElement.id === id", arg=rows.nth(50).get_attribute("id"))
    assert "shown=100" in page.url
    assert page.get_by_role("link", name="Show more").count() == 0

    page.keyboard.press("d")  # done, from a row that came with "Show more"

    page.get_by_role("status").filter(has_text="Done: Call").wait_for()
    assert rows.count() == 54  # the list came back as long as it was, less the call done
