"""In a real browser, a collector's day: the worklist, a call logged with a promise, the timeline,
and the promise turning broken once the date has passed (dates are passed in, nothing sleeps)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from huikuan.collections.models import PromiseStatus, PromiseToPay, Task, TaskKind, TaskStatus
from tests.browser.support import sign_in, switch_language
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SCRIPT = "您好，我是回款公司的王丽，来电确认发票 INV-1001 的付款安排。"


@pytest.fixture
def today():
    """The business day the pages show a collector (the company's local date)."""
    return timezone.localdate()


@pytest.fixture
def collector(make_user):
    return make_user("wang.li", role="COLLECTOR", first_name="Li", last_name="Wang")


@pytest.fixture
def call_task(collector, today):
    """华东机电 owes 12,000.00 and 8,000.00 CNY, long overdue; the run asked for a call today."""
    customer = make_customer(code="C-1001", name="上海华东机电设备有限公司", collector=collector, grade="C")
    make_invoice(customer, "12000.00", issue_date=today - timedelta(days=95), due_days=30, number="INV-1001")
    make_invoice(customer, "8000.00", issue_date=today - timedelta(days=70), due_days=30, number="INV-1002")
    return Task.objects.create(
        kind=TaskKind.CALL,
        customer=customer,
        assignee=collector,
        due_date=today,
        title="Call 上海华东机电设备有限公司 about 20,000.00 CNY overdue",
        script=SCRIPT,
    )


def log_call_with_promise(page, *, pay_by, screenshot=None) -> None:
    """From the worklist: open the task's call form, record that 王芳 promised INV-1001 by ``pay_by``."""
    row = page.locator("tr[data-row]", has_text="上海华东机电设备有限公司")
    row.get_by_role("link", name="Log call").click()
    page.wait_for_url("**/customers/C-1001/**")
    form = page.locator("form.log-form")
    assert SCRIPT in form.locator(".script").inner_text()
    form.get_by_label("Outcome").select_option(label="promised to pay")
    form.get_by_label("Notes").fill("王芳（财务）说资金月底到位，先付 INV-1001。")
    form.locator("summary", has_text="A promise to pay was given").click()
    form.get_by_label("Amount").fill("12000.00")
    form.get_by_label("Pay by").fill(pay_by.isoformat())
    form.get_by_label("Who promised").fill("王芳")
    form.get_by_label("INV-1001").check()
    form.get_by_label("If it is not kept").fill("Supply stops and the account goes to the manager.")
    if screenshot:
        screenshot(page, "log-call-form.en")
    form.get_by_role("button", name="Record").click()


def test_a_collector_logs_a_call_with_a_promise_and_sees_it_on_the_timeline(
    page, call_task, today, screenshot
):
    sign_in(page, "wang.li")
    assert page.get_by_role("heading", name="Today's work").is_visible()
    assert page.locator("tr[data-row]", has_text="上海华东机电设备有限公司").count() == 1
    screenshot(page, "worklist-call-task.en")

    log_call_with_promise(page, pay_by=today + timedelta(days=7), screenshot=screenshot)

    page.get_by_text("The call and the promise are recorded.").wait_for()
    timeline = page.locator("#timeline")
    assert "王芳（财务）说资金月底到位" in timeline.inner_text()
    assert timeline.locator(".event", has_text="12,000.00").count() >= 1
    screenshot(page, "customer-360-after-call.en")
    promise = PromiseToPay.objects.get(customer=call_task.customer)
    assert promise.status == PromiseStatus.OPEN
    assert promise.amount_minor == 1_200_000 and promise.promised_by == "王芳"
    assert list(promise.invoices.values_list("number", flat=True)) == ["INV-1001"]
    assert promise.interaction is not None and promise.interaction.outcome == "PROMISED"
    # The call carried out the task: it leaves the worklist.
    assert Task.objects.get(pk=call_task.pk).status == TaskStatus.DONE
    page.locator("header nav.mainnav").get_by_role("link", name="Worklist").click()
    assert page.locator("tr[data-row]", has_text="上海华东机电设备有限公司").count() == 0


def test_the_promise_turns_broken_once_the_as_of_date_passes_it(new_page, call_task, today, make_user):
    page = new_page()
    pay_by = today + timedelta(days=7)
    sign_in(page, "wang.li")
    log_call_with_promise(page, pay_by=pay_by)
    page.get_by_text("The call and the promise are recorded.").wait_for()
    promise = PromiseToPay.objects.get(customer=call_task.customer)

    # The review on the promised day itself, and within the grace days, leaves it open …
    call_command("collections", "review", "--as-of", pay_by.isoformat())
    promise.refresh_from_db()
    assert promise.status == PromiseStatus.OPEN
    # … and after them, with nothing paid, breaks it.
    later = pay_by + timedelta(days=promise.grace_days + 1)
    call_command("collections", "review", "--as-of", later.isoformat())

    promise.refresh_from_db()
    assert promise.status == PromiseStatus.BROKEN
    page.goto("/customers/C-1001/")
    promise_event = page.locator("#timeline .event", has_text="12,000.00").filter(has_text="broken")
    assert promise_event.count() >= 1
    broken_task = Task.objects.get(promise=promise, kind=TaskKind.PROMISE_BROKEN)
    assert broken_task.assignee == call_task.assignee

    # A manager looks at the worklist as of that later date and finds the broken promise on it.
    make_user("zhao.min", role="MANAGER")
    manager = new_page()
    sign_in(manager, "zhao.min", next_url=f"/?as_of={later.isoformat()}&everyone=on")
    row = manager.locator("tr[data-row]", has_text="上海华东机电设备有限公司").filter(
        has_text="broken promise"
    )
    assert row.count() == 1
    assert "1 broken promise" in row.inner_text() or "broken promise" in row.locator(".priority").inner_text()


def test_the_customer_page_and_the_call_form_read_in_chinese(page, call_task, screenshot):
    sign_in(page, "wang.li", next_url="/customers/C-1001/")

    switch_language(page, "简体中文")

    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert "上海华东机电设备有限公司" in page.get_by_role("heading", level=1).inner_text()
    assert page.get_by_role("heading", name="记录电话或拜访").is_visible()
    assert page.locator("header nav.mainnav").get_by_role("link", name="客户").is_visible()
    screenshot(page, "customer-360-call-task.zh-hans")
    page.goto(f"/customers/C-1001/log/?task={call_task.pk}")
    assert SCRIPT in page.locator("form.log-form .script").inner_text()
    screenshot(page, "log-call-form.zh-hans")
    page.goto("/")
    screenshot(page, "worklist-call-task.zh-hans")
