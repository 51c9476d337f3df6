"""The daily promise review, and how promises and disputes hold invoices out of the dunning run."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from huikuan.collections.models import DisputeStatus, PromiseStatus, PromiseToPay, Task, TaskKind
from huikuan.collections.services import (
    dispute_open,
    dispute_set_status,
    promise_create,
    promises_review,
    short_payments_to_tasks,
)
from huikuan.core.models import AuditEntry
from huikuan.core.money import Money
from huikuan.dunning.engine import dunning_run
from huikuan.dunning.models import DunningAction
from huikuan.ledger.models import ShortPayment
from huikuan.ledger.services import payment_record
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db

MADE = date(2024, 3, 4)
PROMISED = date(2024, 3, 15)  # grace 3: dunning paused to 18 March, broken from the 19th


@pytest.fixture
def collector():
    return get_user_model().objects.create_user("zhao.lei", password="x")


@pytest.fixture
def customer(collector):
    return make_customer(collector=collector)


def promise(customer, amount: str = "1000.00", invoices=(), **kwargs) -> PromiseToPay:
    kwargs.setdefault("promised_date", PROMISED)
    kwargs.setdefault("made_date", MADE)
    return promise_create(
        customer=customer, user=None, amount=Money.of(amount, "CNY"), invoices=invoices, **kwargs
    )


def pay(customer, amount: str, on: date, *invoices) -> None:
    payment_record(
        customer=customer,
        received_date=on,
        amount=Money.of(amount, "CNY"),
        invoice_numbers=[invoice.number for invoice in invoices],
    )


def status_of(p: PromiseToPay) -> tuple[str, int, date | None]:
    p.refresh_from_db()
    return p.status, p.paid_minor, p.resolved_date


def test_a_promise_paid_in_full_on_its_invoices_is_kept_on_the_day_of_the_payment(customer):
    invoice = make_invoice(customer, amount="1000.00")
    p = promise(customer, invoices=[invoice])
    pay(customer, "1000.00", date(2024, 3, 12), invoice)

    counts = promises_review(as_of=date(2024, 3, 13))

    assert status_of(p) == (PromiseStatus.KEPT, 100000, date(2024, 3, 12))
    assert counts["kept"] == 1 and not Task.objects.filter(promise=p).exists()


def test_only_payments_from_the_day_of_the_promise_and_up_to_the_review_count(customer):
    invoice = make_invoice(customer, amount="1000.00")
    pay(customer, "200.00", date(2024, 3, 1), invoice)  # before the promise
    p = promise(customer, amount="800.00", invoices=[invoice])
    pay(customer, "300.00", date(2024, 3, 10), invoice)
    pay(customer, "500.00", date(2024, 3, 20), invoice)  # after the review date

    promises_review(as_of=date(2024, 3, 12))

    assert status_of(p) == (PromiseStatus.OPEN, 30000, None)


def test_a_promise_partly_paid_by_its_date_plus_grace_is_partly_kept_and_makes_a_task(customer, collector):
    invoice = make_invoice(customer, amount="1000.00")
    p = promise(customer, invoices=[invoice])
    pay(customer, "400.00", date(2024, 3, 14), invoice)

    promises_review(as_of=date(2024, 3, 18))
    still_open = status_of(p)
    promises_review(as_of=date(2024, 3, 19))

    assert still_open == (PromiseStatus.OPEN, 40000, None)
    assert status_of(p) == (PromiseStatus.PARTLY_KEPT, 40000, date(2024, 3, 19))
    task = Task.objects.get(promise=p)
    assert task.kind == TaskKind.PROMISE_BROKEN and task.assignee == collector
    assert "400.00 CNY paid" in task.title


def test_a_broken_promise_makes_one_task_however_often_it_is_reviewed(customer, collector):
    p = promise(customer, invoices=[make_invoice(customer, amount="1000.00")])

    first = promises_review(as_of=date(2024, 3, 19))
    second = promises_review(as_of=date(2024, 3, 19))
    promises_review(as_of=date(2024, 3, 25))

    assert status_of(p) == (PromiseStatus.BROKEN, 0, date(2024, 3, 19))
    assert (first["broken"], first["tasks"], second["broken"], second["tasks"]) == (1, 1, 0, 0)
    assert Task.objects.filter(kind=TaskKind.PROMISE_BROKEN).count() == 1
    entry = AuditEntry.objects.get(entity="collections.promisetopay", action="UPDATE")
    assert entry.actor_label == "collections review" and entry.after["status"] == "BROKEN"
    assert entry.customer_id == customer.pk


def test_a_payment_after_a_promise_broke_settles_the_invoice_but_the_promise_stays_broken(customer):
    invoice = make_invoice(customer, amount="1000.00")
    p = promise(customer, invoices=[invoice])
    promises_review(as_of=date(2024, 3, 19))
    pay(customer, "1000.00", date(2024, 3, 20), invoice)

    promises_review(as_of=date(2024, 3, 21))

    assert status_of(p)[0] == PromiseStatus.BROKEN


def test_a_promise_on_account_counts_the_customers_payments_in_its_currency(customer):
    make_invoice(customer, amount="5000.00")
    make_invoice(customer, amount="5000.00", currency="USD")
    p = promise(customer, amount="600.00")
    pay(customer, "250.00", date(2024, 3, 5))
    payment_record(customer=customer, received_date=date(2024, 3, 6), amount=Money.of("900", "USD"))
    pay(customer, "350.00", date(2024, 3, 7))

    promises_review(as_of=date(2024, 3, 8))

    assert status_of(p) == (PromiseStatus.KEPT, 60000, date(2024, 3, 7))


def test_the_review_needs_the_same_queries_for_three_promises_or_thirty(
    customer, django_assert_max_num_queries
):
    def promises(n: int) -> None:
        for i in range(n):
            other = make_customer()
            invoice = make_invoice(other, amount="100.00")
            promise(other, amount="100.00", invoices=[invoice] if i % 2 else [])
            if i % 3 == 0:
                pay(other, "100.00", date(2024, 3, 10), invoice)

    promises(3)  # one kept, one broken on an invoice, one broken on account
    with CaptureQueriesContext(connection) as few:
        promises_review(as_of=date(2024, 3, 19))
    PromiseToPay.objects.update(status=PromiseStatus.OPEN, paid_minor=0)
    Task.objects.all().delete()
    promises(27)

    with django_assert_max_num_queries(len(few.captured_queries)):
        counts = promises_review(as_of=date(2024, 3, 19))

    assert counts["reviewed"] == 30 and (counts["kept"], counts["broken"], counts["tasks"]) == (10, 20, 20)


def test_each_recent_short_payment_on_a_still_open_invoice_makes_one_task(customer, collector):
    short = make_invoice(customer, amount="1000.00", issue_date=date(2024, 2, 1))
    settled = make_invoice(customer, amount="500.00", issue_date=date(2024, 2, 1))
    old = make_invoice(customer, amount="500.00", issue_date=date(2023, 1, 1))
    pay(customer, "900.00", date(2024, 3, 10), short)
    pay(customer, "100.00", date(2024, 3, 10), settled)
    pay(customer, "400.00", date(2024, 3, 12), settled)
    pay(customer, "100.00", date(2023, 1, 20), old)
    assert ShortPayment.objects.count() == 3

    made = short_payments_to_tasks(as_of=date(2024, 3, 15))
    again = short_payments_to_tasks(as_of=date(2024, 3, 16))

    task = Task.objects.get(kind=TaskKind.SHORT_PAYMENT)
    assert (made, again) == (1, 0)
    assert task.short_payment.invoice == short and task.assignee == collector
    assert "short by 100.00 CNY" in task.title


def test_short_payment_tasks_take_the_same_queries_for_one_or_many(customer, django_assert_max_num_queries):
    def shorts(n: int) -> None:
        for _ in range(n):
            other = make_customer()
            invoice = make_invoice(other, amount="100.00")
            pay(other, "10.00", date(2024, 3, 10), invoice)

    shorts(1)
    with CaptureQueriesContext(connection) as one:
        short_payments_to_tasks(as_of=date(2024, 3, 15))
    shorts(20)

    with django_assert_max_num_queries(len(one.captured_queries)):
        assert short_payments_to_tasks(as_of=date(2024, 3, 15)) == 20


# --- with the dunning run --------------------------------------------------------------------

RUN_AT = datetime(2026, 11, 1, 20, 0, tzinfo=UTC)


def dunned_positions(customer, as_of: date) -> list[int]:
    result = dunning_run(as_of=as_of, now=RUN_AT, list_actions=False)
    return list(
        DunningAction.objects.filter(run_id=result.run_id, customer=customer).values_list(
            "stage_position", flat=True
        )
    )


@pytest.fixture
def overdue(customer):
    """An invoice 32 days overdue on Monday 2 November 2026, dunned once (stage 1) that day."""
    customer.country = "CN"
    customer.save(update_fields=["country"])
    invoice = make_invoice(customer, amount="1000.00", issue_date=date(2026, 9, 1), due_days=30)
    assert dunned_positions(customer, date(2026, 11, 2)) == [1]
    return invoice


def test_a_promise_pauses_dunning_of_its_invoices_until_its_date_plus_grace_then_they_return_at_their_stage(
    customer, overdue
):
    p = promise(
        customer,
        amount="1000.00",
        invoices=[overdue],
        made_date=date(2026, 11, 3),
        promised_date=date(2026, 11, 20),
        grace_days=3,
    )

    paused = dunned_positions(customer, date(2026, 11, 23))  # Monday: the last day of grace
    promises_review(as_of=date(2026, 11, 24))
    back = dunned_positions(customer, date(2026, 11, 24))

    assert paused == [] and back == [2]
    assert status_of(p)[0] == PromiseStatus.BROKEN


def test_a_promise_kept_settles_its_invoices_and_they_never_return(customer, overdue):
    p = promise(
        customer,
        invoices=[overdue],
        made_date=date(2026, 11, 3),
        promised_date=date(2026, 11, 20),
        grace_days=0,
    )
    pay(customer, "1000.00", date(2026, 11, 19), overdue)

    promises_review(as_of=date(2026, 11, 24))

    assert status_of(p)[0] == PromiseStatus.KEPT
    assert dunned_positions(customer, date(2026, 11, 24)) == []


def test_a_dispute_takes_the_invoice_out_of_dunning_and_rejecting_it_brings_it_back(
    customer, overdue, collector
):
    dispute = dispute_open(invoice=overdue, reason="QUALITY", opened_date=date(2026, 11, 3), user=collector)

    open_ = dunned_positions(customer, date(2026, 11, 10))
    dispute_set_status(
        dispute=dispute, status=DisputeStatus.INVESTIGATING, user=collector, on_date=date(2026, 11, 11)
    )
    investigating = dunned_positions(customer, date(2026, 11, 16))
    dispute_set_status(
        dispute=dispute, status=DisputeStatus.REJECTED, user=collector, on_date=date(2026, 11, 17)
    )
    rejected = dunned_positions(customer, date(2026, 11, 18))

    assert (open_, investigating, rejected) == ([], [], [2])


def test_a_dispute_resolved_by_a_partial_credit_note_returns_what_is_still_owed_to_dunning(
    customer, overdue, collector
):
    dispute = dispute_open(invoice=overdue, reason="PRICE", opened_date=date(2026, 11, 3))
    dispute_set_status(
        dispute=dispute,
        status=DisputeStatus.RESOLVED_CREDIT_NOTE,
        user=collector,
        on_date=date(2026, 11, 9),
        credit_note_amount=Money.of("300.00", "CNY"),
    )

    assert dunned_positions(customer, date(2026, 11, 10)) == [2]
    assert DunningAction.objects.get(as_of=date(2026, 11, 10)).amount_minor == 70000


def test_a_dispute_resolved_by_a_full_credit_note_leaves_nothing_to_dun(customer, overdue, collector):
    dispute = dispute_open(invoice=overdue, reason="NOT_RECEIVED", opened_date=date(2026, 11, 3))
    dispute_set_status(
        dispute=dispute,
        status=DisputeStatus.RESOLVED_CREDIT_NOTE,
        user=collector,
        on_date=date(2026, 11, 9),
        credit_note_amount=Money.of("1000.00", "CNY"),
    )

    assert dunned_positions(customer, date(2026, 11, 10)) == []


def test_the_promise_made_today_pauses_dunning_from_the_same_days_run(customer, overdue):
    promise(customer, invoices=[overdue], made_date=date(2026, 11, 10), promised_date=date(2026, 11, 12))

    assert dunned_positions(customer, date(2026, 11, 10)) == []
    assert dunned_positions(customer, date(2026, 11, 10) + timedelta(days=6)) == [2]


def test_two_promises_on_the_same_invoice_each_count_its_payments_once(customer):
    invoice = make_invoice(customer, amount="1000.00")
    first = promise(customer, amount="300.00", invoices=[invoice])
    second = promise(customer, amount="900.00", invoices=[invoice], made_date=date(2024, 3, 6))
    pay(customer, "200.00", date(2024, 3, 5), invoice)
    pay(customer, "250.00", date(2024, 3, 7), invoice)

    promises_review(as_of=date(2024, 3, 8))

    assert status_of(first) == (PromiseStatus.KEPT, 45000, date(2024, 3, 7))
    assert status_of(second) == (PromiseStatus.OPEN, 25000, None)
