"""The daily collections review: the command, the Celery task, and its place before the dunning run."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from huikuan.celery import (
    COLLECTIONS_REVIEW_TASK,
    DUNNING_RUN_TASK,
    Schedule,
    beat_schedule,
    schedule_from_settings,
)
from huikuan.collections.models import PlanStatus, PromiseStatus, PromiseToPay, Task, TaskKind
from huikuan.collections.services import plan_create, promise_create
from huikuan.core.management.commands.worker import DUNNING, Command, LoopState
from huikuan.core.money import Money
from huikuan.dunning.models import DunningAction, DunningRun
from huikuan.ledger.services import payment_record
from tests.factories import make_customer, make_invoice

SCHEDULE = Schedule(
    dunning_run_at=time(6, 0), delivery_interval=60, letter_batch_at=time(14, 0), time_zone="Asia/Shanghai"
)


def broken_promise_and_short_payment():
    customer = make_customer(code="C-REVIEW")
    promise = promise_create(
        customer=customer,
        user=None,
        amount=Money.of("100.00", "CNY"),
        promised_date=date(2024, 3, 10),
        made_date=date(2024, 3, 1),
    )
    invoice = make_invoice(customer, amount="500.00")
    payment_record(
        customer=customer,
        received_date=date(2024, 3, 12),
        amount=Money.of("1.00", "USD"),
    )
    payment_record(
        customer=customer,
        received_date=date(2024, 3, 12),
        amount=Money.of("400.00", "CNY"),
        invoice_numbers=[invoice.number],
    )
    return promise


@pytest.mark.django_db
def test_the_review_command_prints_what_it_did_as_json():
    promise = broken_promise_and_short_payment()
    out = StringIO()

    call_command("collections", "review", "--as-of", "2024-03-14", "--format", "json", stdout=out)

    result = json.loads(out.getvalue())
    assert result["as_of"] == "2024-03-14"
    # The CNY payment came after the promise and counts: 400 ≥ 100, so it was kept.
    assert result["promises"]["kept"] == 1 and result["short_payment_tasks"] == 1
    assert result["plans"] == {"reviewed": 0, "completed": 0, "broken": 0, "tasks": 0}
    promise.refresh_from_db()
    assert promise.status == PromiseStatus.KEPT


@pytest.mark.django_db
def test_the_review_command_prints_a_summary_and_running_it_again_changes_nothing():
    customer = make_customer()
    promise_create(
        customer=customer,
        user=None,
        amount=Money.of("5", "CNY"),
        promised_date=date(2024, 3, 1),
        made_date=date(2024, 3, 1),
    )
    first, second = StringIO(), StringIO()

    call_command("collections", "review", "--as-of", "2024-03-14", stdout=first)
    call_command("collections", "review", "--as-of", "2024-03-14", stdout=second)

    assert "Collections review for 2024-03-14" in first.getvalue()
    assert "1 broken, 1 tasks" in first.getvalue()
    assert "0 open reviewed" in second.getvalue()
    assert Task.objects.filter(kind=TaskKind.PROMISE_BROKEN).count() == 1


@pytest.mark.django_db
def test_a_review_date_that_is_not_a_date_is_refused_in_one_line():
    with pytest.raises(CommandError) as error:
        call_command("collections", "review", "--as-of", "14/03/2024")

    assert "YYYY-MM-DD" in str(error.value) and error.value.returncode == 2


def test_beat_sends_the_review_a_quarter_of_an_hour_before_the_run_unless_told_otherwise():
    entries = beat_schedule(SCHEDULE)
    review = entries["collections-review-daily"]

    assert review["task"] == COLLECTIONS_REVIEW_TASK
    assert review["schedule"].hour == {5} and review["schedule"].minute == {45}
    assert entries["dunning-run-daily"]["task"] == DUNNING_RUN_TASK
    early = Schedule(
        dunning_run_at=time(0, 5), delivery_interval=60, letter_batch_at=time(14, 0), time_zone="UTC"
    )
    assert early.review_time == time(0, 0)


def test_beat_rates_credit_and_classifies_debtors_between_the_review_and_the_run():
    entries = beat_schedule(SCHEDULE)

    def minutes(name: str) -> int:
        schedule = entries[name]["schedule"]
        return min(schedule.hour) * 60 + min(schedule.minute)

    order = ["collections-review-daily", "credit-rate-daily", "debtors-classify-daily", "dunning-run-daily"]
    assert [minutes(name) for name in order] == sorted(minutes(name) for name in order)
    assert len({minutes(name) for name in order}) == 4
    assert entries["credit-rate-daily"]["task"] == "huikuan.customers.credit_rate"
    assert entries["debtors-classify-daily"]["task"] == "huikuan.insights.classify"


def test_the_review_time_can_be_set(settings):
    settings.HUIKUAN_COLLECTIONS_REVIEW_AT = "04:30"

    assert schedule_from_settings().review_time == time(4, 30)


def test_the_review_task_is_registered_under_its_scheduled_name():
    from huikuan.celery import app

    app.loader.import_default_modules()

    assert COLLECTIONS_REVIEW_TASK in app.tasks


@pytest.mark.django_db
def test_the_worker_reviews_before_the_days_run_so_a_broken_plans_invoices_are_dunned_the_same_day(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    customer = make_customer(country="CN")
    invoice = make_invoice(customer, amount="2000.00", issue_date=date(2026, 9, 1), due_days=30)
    plan = plan_create(
        customer=customer, invoices=[invoice], start_date=date(2026, 10, 5), count=2, user=None
    )
    promise = promise_create(
        customer=customer,
        user=None,
        amount=Money.of("10", "CNY"),
        promised_date=date(2026, 11, 1),
        made_date=date(2026, 10, 20),
        grace_days=0,
    )
    command = Command(stdout=StringIO(), stderr=StringIO())
    command.state, command.warned, command.verbosity = LoopState(), set(), 1
    now = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)  # 06:30 on Tuesday 24 November in Shanghai

    command._step(DUNNING, now=now, today=date(2026, 11, 24), schedule=SCHEDULE)

    plan.refresh_from_db()
    assert plan.status == PlanStatus.BROKEN
    assert PromiseToPay.objects.get(pk=promise.pk).status == PromiseStatus.BROKEN
    run = DunningRun.objects.get(as_of=date(2026, 11, 24))
    assert DunningAction.objects.filter(run=run, customer=customer).exists()
    output = command.stdout.getvalue()
    assert output.index("review: ") < output.index("credit_rate: ") < output.index("classify: ")
    assert output.index("classify: ") < output.index("dunning: ")


@pytest.mark.django_db
def test_the_review_in_the_first_week_of_a_month_issues_and_queues_last_months_statements(settings):
    from huikuan.collections.services import collections_review
    from huikuan.customers.services import contact_create
    from huikuan.ledger.models import Statement, StatementStatus
    from huikuan.messaging.models import OutboxMessage

    settings.HUIKUAN_STATEMENTS_ISSUE_DAYS = 7
    customer = make_customer(code="C-STMT")
    contact_create(customer=customer, name="Li Na", email="ap@example.cn", is_primary=True)
    make_invoice(customer, amount="800.00", issue_date=date(2024, 2, 10))

    mid_month = collections_review(as_of=date(2024, 3, 20), now=datetime(2024, 3, 20, tzinfo=UTC))
    assert "statements_issued" not in mid_month
    assert not Statement.objects.exists()

    first = collections_review(as_of=date(2024, 4, 2), now=datetime(2024, 4, 2, tzinfo=UTC))
    again = collections_review(as_of=date(2024, 4, 3), now=datetime(2024, 4, 3, tzinfo=UTC))

    statement = Statement.objects.get()
    assert statement.period_end_date == date(2024, 3, 31)
    assert statement.status == StatementStatus.SENT
    assert first["statements_issued"] == {
        "month": "2024-03", "statements": 1, "created": 1, "queued": 1, "no_email": 0,
    }  # fmt: skip
    assert again["statements_issued"]["created"] == 0 and again["statements_issued"]["queued"] == 0
    assert OutboxMessage.objects.filter(customer=customer, template_key="statement").count() == 1


@pytest.mark.django_db
def test_monthly_statements_can_be_turned_off(settings):
    from huikuan.collections.services import statements_monthly_due

    settings.HUIKUAN_STATEMENTS_MONTHLY = False
    assert statements_monthly_due(as_of=date(2024, 4, 1)) is False
    settings.HUIKUAN_STATEMENTS_MONTHLY = True
    assert statements_monthly_due(as_of=date(2024, 4, 1)) is True
    assert statements_monthly_due(as_of=date(2024, 4, 8)) is False
