"""The audit trail: every change to customers, contacts, invoices and payments is kept, append-only."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth import get_user_model

from huikuan.core.models import AuditEntry, AuditTrailAppendOnly
from huikuan.core.money import Money
from huikuan.customers.services import contact_create, contact_update, customer_update
from huikuan.ledger.models import Allocation
from huikuan.ledger.services import (
    allocation_reverse,
    credit_note_issue,
    invoice_cancel,
    invoice_issue,
    invoice_update,
    invoice_write_off,
    payment_allocate,
    payment_record,
    payment_update,
)
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk():
    return get_user_model().objects.create_user("qian.wei", password="x")


def entries(entity: str, action: str | None = None) -> list[AuditEntry]:
    queryset = AuditEntry.objects.filter(entity=entity).order_by("id")
    if action:
        queryset = queryset.filter(action=action)
    return list(queryset)


def test_creating_a_customer_without_an_actor_is_recorded_as_the_system():
    customer = make_customer(code="AUD-1", name="广州南方五金")

    entry = entries("customers.customer")[0]
    assert (entry.action, entry.actor, entry.actor_label) == ("CREATE", None, "system")
    assert entry.customer_id == customer.pk and entry.after["name"] == "广州南方五金"


def test_a_customer_change_keeps_only_the_fields_that_changed_before_and_after(clerk):
    customer = make_customer(grade="B", payment_terms_days=30)

    customer_update(customer=customer, actor=clerk, grade="C", payment_terms_days=30, notes="")

    entry = entries("customers.customer", "UPDATE")[0]
    assert entry.actor == clerk and entry.actor_label == "qian.wei"
    assert (entry.before, entry.after) == ({"grade": "B"}, {"grade": "C"})


def test_a_change_that_changes_nothing_leaves_no_entry(clerk):
    customer = make_customer(grade="B")

    customer_update(customer=customer, actor=clerk, grade="B")

    assert entries("customers.customer", "UPDATE") == []


def test_contacts_are_recorded_on_their_customers_timeline(clerk):
    customer = make_customer()

    contact = contact_create(customer=customer, name="Ms Zhou", email="zhou@example.com", actor=clerk)
    contact_update(contact=contact, actor=clerk, phone="+86 21 5555 0101")

    created, changed = entries("customers.contact")
    assert created.customer_id == changed.customer_id == customer.pk
    assert changed.before == {"phone": ""} and changed.after == {"phone": "+86 21 5555 0101"}


def test_invoices_issued_corrected_credited_written_off_and_cancelled_are_all_recorded(clerk):
    customer = make_customer()
    invoice = invoice_issue(
        customer=customer,
        number="AUD-INV-1",
        issue_date=date(2024, 1, 1),
        due_date=date(2024, 1, 31),
        amount=Money.of("1000.00", "CNY"),
        actor=clerk,
    )
    invoice_update(invoice=invoice, actor=clerk, due_date=date(2024, 2, 15))
    credit_note_issue(
        invoice=invoice, amount=Money.of("100.00", "CNY"), on_date=date(2024, 2, 1), reason="price"
    )
    invoice_write_off(
        invoice=invoice, amount=Money.of("50.00", "CNY"), on_date=date(2024, 2, 2), reason="small"
    )
    other = make_invoice(customer)
    invoice_cancel(invoice=other, on_date=date(2024, 2, 3), reason="issued twice", user=clerk)

    issued, corrected = entries("ledger.invoice")[:2]
    assert issued.actor == clerk and issued.after["amount_minor"] == 100000
    assert corrected.before == {"due_date": "2024-01-31"} and corrected.after == {"due_date": "2024-02-15"}
    adjustments = entries("ledger.invoiceadjustment")
    assert [(e.after["kind"], e.after["amount_minor"]) for e in adjustments] == [
        ("CREDIT_NOTE", 10000),
        ("WRITE_OFF", 5000),
        ("CANCELLATION", 10000),
    ]
    assert adjustments[2].actor == clerk and adjustments[2].after["invoice_number"] == other.number
    assert {e.customer_id for e in adjustments} == {customer.pk}


def test_a_payment_is_recorded_with_where_it_went_and_later_allocations_and_reversals_too(clerk):
    customer = make_customer()
    first = make_invoice(customer, amount="100.00", number="AUD-P-1")
    payment = payment_record(
        customer=customer, received_date=date(2024, 2, 1), amount=Money.of("150.00", "CNY"), actor=clerk
    )
    second = make_invoice(customer, amount="80.00", issue_date=date(2024, 1, 15), number="AUD-P-2")

    payment_allocate(payment=payment, on_date=date(2024, 2, 5), actor=clerk)
    payment_update(payment=payment, actor=clerk, reference="BANK-REF-7")
    allocation_reverse(
        allocation=Allocation.objects.get(invoice=first), on_date=date(2024, 2, 6), actor=clerk
    )

    recorded, allocated, corrected = entries("ledger.payment")
    assert recorded.action == "CREATE" and recorded.after["allocations"] == [["AUD-P-1", 10000]]
    assert allocated.before == {"unapplied_minor": 5000, "allocations": []}
    assert allocated.after == {"unapplied_minor": 0, "allocations": [[second.number, 5000]]}
    assert corrected.before == {"reference": ""} and corrected.after == {"reference": "BANK-REF-7"}
    reversal = entries("ledger.allocation")[0]
    assert reversal.after["amount_minor"] == -10000 and reversal.after["invoice_number"] == "AUD-P-1"
    assert reversal.customer_id == customer.pk and reversal.actor == clerk


def test_an_audit_entry_cannot_be_changed_or_deleted():
    make_customer()
    entry = AuditEntry.objects.get()

    entry.actor_label = "someone else"
    with pytest.raises(AuditTrailAppendOnly):
        entry.save()
    with pytest.raises(AuditTrailAppendOnly):
        entry.delete()
    with pytest.raises(AuditTrailAppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(actor_label="someone else")
    with pytest.raises(AuditTrailAppendOnly):
        AuditEntry.objects.all().delete()

    assert AuditEntry.objects.get().actor_label == "system"


def test_removing_the_user_who_acted_keeps_the_entry_and_the_name(clerk):
    customer = make_customer()
    customer_update(customer=customer, actor=clerk, notes="Pays on the 25th")

    clerk.delete()

    entry = entries("customers.customer", "UPDATE")[0]
    assert entry.actor is None and entry.actor_label == "qian.wei"
