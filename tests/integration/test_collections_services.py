"""Calls, visits, promises, disputes and tasks: what each write does and what it leaves in the audit trail."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile

from huikuan.collections.models import (
    Dispute,
    DisputeStatus,
    Interaction,
    PromiseMethod,
    PromiseStatus,
    Task,
    TaskKind,
    TaskStatus,
)
from huikuan.collections.selectors import customer_promise_record, dispute_age_days
from huikuan.collections.services import (
    DisputeAlreadyOpen,
    DisputeClosed,
    PromiseInvalid,
    TaskNotOpen,
    WrongCustomer,
    dispute_open,
    dispute_set_status,
    interaction_log,
    promise_create,
    task_complete,
    task_skip,
)
from huikuan.core.models import AuditEntry
from huikuan.core.money import Money
from huikuan.ledger.models import AdjustmentKind, InvoiceAdjustment
from huikuan.ledger.services import LedgerError
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db

WHEN = datetime(2024, 3, 4, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai on 4 March 2024


@pytest.fixture
def collector():
    return get_user_model().objects.create_user("li.na", password="x")


@pytest.fixture
def customer(collector):
    return make_customer(collector=collector)


def call_task(customer, collector) -> Task:
    return Task.objects.create(
        kind=TaskKind.CALL, customer=customer, assignee=collector, due_date=date(2024, 3, 4), title="call"
    )


def audit_of(instance) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(entity=instance._meta.label_lower, entity_id=str(instance.pk)))


def test_logging_a_call_completes_its_task_and_a_next_action_date_makes_a_follow_up(customer, collector):
    task = call_task(customer, collector)

    interaction = interaction_log(
        customer=customer,
        user=collector,
        kind="CALL",
        occurred_at=WHEN,
        outcome="REACHED",
        notes="Spoke to Mr Wang; will check with finance.\nCall back Thursday.",
        next_action_date=date(2024, 3, 7),
        task=task,
    )

    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.completed_at == WHEN
    follow_up = Task.objects.get(interaction=interaction, kind=TaskKind.FOLLOW_UP)
    assert follow_up.assignee == collector and follow_up.due_date == date(2024, 3, 7)
    assert "Spoke to Mr Wang" in follow_up.title and "Call back" not in follow_up.title
    assert audit_of(interaction)[0].actor == collector
    assert audit_of(task)[0].after["status"] == "DONE"


def test_a_call_for_another_customers_task_is_refused(customer, collector):
    other = make_customer()
    task = call_task(other, collector)

    with pytest.raises(WrongCustomer):
        interaction_log(customer=customer, user=collector, kind="CALL", occurred_at=WHEN, task=task)
    assert not Interaction.objects.exists()


def test_an_unknown_outcome_is_refused(customer, collector):
    with pytest.raises(Exception) as error:
        interaction_log(customer=customer, user=collector, kind="CALL", occurred_at=WHEN, outcome="HAPPY")
    assert getattr(error.value, "code", "") == "outcome_invalid"


def test_a_promise_records_who_promised_how_and_its_evidence(customer, collector, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    invoice = make_invoice(customer, amount="5000.00")
    call = interaction_log(
        customer=customer, user=collector, kind="CALL", occurred_at=WHEN, outcome="PROMISED"
    )

    promise = promise_create(
        customer=customer,
        user=collector,
        amount=Money.of("3000.00", "CNY"),
        promised_date=date(2024, 3, 15),
        invoices=[invoice],
        promised_by="王经理 (finance manager)",
        method=PromiseMethod.RECORDED,
        if_broken="The account goes on credit hold.",
        evidence=ContentFile(b"RIFF....WAVE", name="call.wav"),
        interaction=call,
    )

    assert promise.status == PromiseStatus.OPEN and promise.grace_days == 3
    assert promise.made_date == date(2024, 3, 4)  # the day of the call
    assert list(promise.invoices.all()) == [invoice]
    assert (tmp_path / promise.evidence.name).read_bytes() == b"RIFF....WAVE"
    entry = audit_of(promise)[0]
    assert entry.actor == collector and entry.after["invoices"] == [invoice.number]
    assert entry.customer_id == customer.pk


def test_a_promise_for_more_than_its_invoices_owe_or_in_another_currency_is_refused(customer, collector):
    invoice = make_invoice(customer, amount="100.00")

    with pytest.raises(PromiseInvalid) as too_much:
        promise_create(
            customer=customer,
            user=collector,
            amount=Money.of("100.01", "CNY"),
            promised_date=date(2024, 3, 15),
            invoices=[invoice],
            made_date=date(2024, 3, 4),
        )
    with pytest.raises(PromiseInvalid) as currency:
        promise_create(
            customer=customer,
            user=collector,
            amount=Money.of("50", "USD"),
            promised_date=date(2024, 3, 15),
            invoices=[invoice],
            made_date=date(2024, 3, 4),
        )

    assert too_much.value.code == "exceeds_open_amount"
    assert currency.value.code == "currency_mismatch"


def test_a_promise_dated_before_it_was_made_or_for_another_customers_invoice_is_refused(customer, collector):
    other_invoice = make_invoice(make_customer())

    with pytest.raises(PromiseInvalid) as past:
        promise_create(
            customer=customer,
            user=collector,
            amount=Money.of("10", "CNY"),
            promised_date=date(2024, 3, 1),
            made_date=date(2024, 3, 4),
        )
    with pytest.raises(WrongCustomer):
        promise_create(
            customer=customer,
            user=collector,
            amount=Money.of("10", "CNY"),
            promised_date=date(2024, 3, 10),
            invoices=[other_invoice],
            made_date=date(2024, 3, 4),
        )
    assert past.value.code == "promised_date_past"


def test_a_portal_promise_is_recorded_as_made_through_the_portal(customer):
    promise = promise_create(
        customer=customer,
        user=None,
        amount=Money.of("10", "CNY"),
        promised_date=date(2024, 3, 10),
        method=PromiseMethod.PORTAL,
        made_date=date(2024, 3, 4),
    )

    assert audit_of(promise)[0].actor_label == "portal"


def test_a_dispute_goes_to_the_customers_collector_with_one_task(customer, collector):
    invoice = make_invoice(customer)
    clerk = get_user_model().objects.create_user("clerk", password="x")

    dispute = dispute_open(
        invoice=invoice,
        reason="QUANTITY",
        user=clerk,
        notes="Two pallets short",
        opened_date=date(2024, 3, 4),
    )

    assert dispute.owner == collector and dispute.raised_by == clerk and dispute.customer == customer
    task = Task.objects.get(dispute=dispute)
    assert task.kind == TaskKind.DISPUTE and task.assignee == collector
    assert invoice.number in task.title
    assert audit_of(dispute)[0].actor == clerk
    assert dispute_age_days(dispute=dispute, as_of=date(2024, 3, 14)) == 10


def test_a_second_open_dispute_on_the_same_invoice_is_refused(customer):
    invoice = make_invoice(customer)
    dispute_open(invoice=invoice, reason="PRICE", opened_date=date(2024, 3, 4))

    with pytest.raises(DisputeAlreadyOpen):
        dispute_open(invoice=invoice, reason="QUALITY", opened_date=date(2024, 3, 5))


def test_a_portal_dispute_has_no_user_and_says_so_in_the_audit_trail(customer):
    dispute = dispute_open(
        invoice=make_invoice(customer), reason="NOT_RECEIVED", source="PORTAL", opened_date=date(2024, 3, 4)
    )

    assert dispute.raised_by is None and dispute.source == "PORTAL"
    assert audit_of(dispute)[0].actor_label == "portal"


def test_resolving_a_dispute_by_credit_note_issues_it_and_closes_the_task(customer, collector):
    invoice = make_invoice(customer, amount="1000.00")
    dispute = dispute_open(invoice=invoice, reason="PRICE", opened_date=date(2024, 3, 4))
    dispute_set_status(
        dispute=dispute, status=DisputeStatus.INVESTIGATING, user=collector, on_date=date(2024, 3, 5)
    )

    dispute_set_status(
        dispute=dispute,
        status=DisputeStatus.RESOLVED_CREDIT_NOTE,
        user=collector,
        on_date=date(2024, 3, 9),
        credit_note_amount=Money.of("150.00", "CNY"),
    )

    dispute.refresh_from_db()
    invoice.refresh_from_db()
    assert dispute.status == DisputeStatus.RESOLVED_CREDIT_NOTE and dispute.resolved_date == date(2024, 3, 9)
    assert invoice.open_minor == 85000
    note = InvoiceAdjustment.objects.get(invoice=invoice)
    assert note.kind == AdjustmentKind.CREDIT_NOTE and note.reference == f"DISPUTE-{dispute.pk}"
    assert Task.objects.get(dispute=dispute).status == TaskStatus.DONE
    assert [entry.after["status"] for entry in audit_of(dispute)] == [
        "RESOLVED_CREDIT_NOTE",
        "INVESTIGATING",
        "OPEN",
    ]


def test_a_credit_note_larger_than_the_invoice_owes_leaves_the_dispute_open(customer, collector):
    invoice = make_invoice(customer, amount="100.00")
    dispute = dispute_open(invoice=invoice, reason="PRICE", opened_date=date(2024, 3, 4))

    with pytest.raises(LedgerError):
        dispute_set_status(
            dispute=dispute,
            status=DisputeStatus.RESOLVED_CREDIT_NOTE,
            user=collector,
            on_date=date(2024, 3, 9),
            credit_note_amount=Money.of("100.01", "CNY"),
        )

    assert Dispute.objects.get(pk=dispute.pk).status == DisputeStatus.OPEN


def test_a_closed_dispute_cannot_be_reopened(customer, collector):
    dispute = dispute_open(invoice=make_invoice(customer), reason="OTHER", opened_date=date(2024, 3, 4))
    dispute_set_status(
        dispute=dispute, status=DisputeStatus.REJECTED, user=collector, on_date=date(2024, 3, 6)
    )

    with pytest.raises(DisputeClosed):
        dispute_set_status(
            dispute=dispute, status=DisputeStatus.OPEN, user=collector, on_date=date(2024, 3, 7)
        )


def test_completing_or_skipping_a_task_twice_is_refused_and_the_skip_reason_is_kept(customer, collector):
    done = call_task(customer, collector)
    skipped = call_task(customer, collector)

    task_complete(task=done, user=collector, now=WHEN)
    task_skip(task=skipped, user=collector, reason="Customer paid this morning", now=WHEN)

    with pytest.raises(TaskNotOpen):
        task_complete(task=done, user=collector)
    with pytest.raises(TaskNotOpen):
        task_skip(task=skipped, user=collector)
    skipped.refresh_from_db()
    assert skipped.status == TaskStatus.CANCELLED
    assert audit_of(skipped)[0].after == {
        "status": "CANCELLED",
        "completed_at": WHEN.isoformat(),
        "reason": "Customer paid this morning",
    }


def test_the_promise_record_counts_each_outcome(customer, collector):
    for status in ("KEPT", "KEPT", "BROKEN", "OPEN", "PARTLY_KEPT"):
        promise = promise_create(
            customer=customer,
            user=collector,
            amount=Money.of("10", "CNY"),
            promised_date=date(2024, 3, 10),
            made_date=date(2024, 3, 4),
        )
        type(promise).objects.filter(pk=promise.pk).update(status=status)

    assert customer_promise_record(customer=customer) == {"kept": 2, "partly_kept": 1, "broken": 1, "open": 1}
