from datetime import date

import pytest

from huikuan.core.models import AuditEntry
from huikuan.core.money import Money
from huikuan.ledger.models import Allocation, InvoiceStatus, Payment, ShortPayment
from huikuan.ledger.services import (
    CurrencyMismatch,
    ExceedsOpenAmount,
    LedgerError,
    PaymentIdTaken,
    WrongCustomer,
    allocation_reverse,
    credit_note_issue,
    invoice_cancel,
    invoice_write_off,
    payment_record,
    payment_unallocate,
)
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db


def test_a_payment_settles_the_oldest_due_invoice_first_and_keeps_the_rest_on_account():
    customer = make_customer()
    newer = make_invoice(customer, "100.00", issue_date=date(2024, 2, 1))
    older = make_invoice(customer, "50.00", issue_date=date(2024, 1, 1))

    payment = payment_record(customer=customer, received_date=date(2024, 3, 1), amount=Money.of("170", "CNY"))

    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.open_minor, older.status) == (0, InvoiceStatus.PAID)
    assert (newer.open_minor, newer.status) == (0, InvoiceStatus.PAID)
    assert older.settled_date == date(2024, 3, 1)
    assert payment.unapplied_minor == 2000


def test_named_invoices_are_settled_before_older_ones():
    customer = make_customer()
    older = make_invoice(customer, "50.00", issue_date=date(2024, 1, 1))
    named = make_invoice(customer, "80.00", issue_date=date(2024, 2, 1))

    payment_record(
        customer=customer,
        received_date=date(2024, 3, 1),
        amount=Money.of("100", "CNY"),
        invoice_numbers=[named.number],
    )

    older.refresh_from_db()
    named.refresh_from_db()
    assert named.status == InvoiceStatus.PAID
    assert (older.open_minor, older.status) == (3000, InvoiceStatus.PARTIALLY_PAID)


def test_a_partial_payment_of_a_named_invoice_records_the_short_amount():
    customer = make_customer()
    invoice = make_invoice(customer, "100.00")

    payment = payment_record(
        customer=customer,
        received_date=date(2024, 2, 5),
        amount=Money.of("93.50", "CNY"),
        invoice_numbers=[invoice.number],
    )

    short = ShortPayment.objects.get(payment=payment)
    assert (short.invoice_id, short.short_minor, short.event_date) == (invoice.pk, 650, date(2024, 2, 5))


def test_a_payment_cannot_name_another_customers_invoice_or_another_currency():
    customer, other = make_customer(), make_customer()
    theirs = make_invoice(other)
    dollars = make_invoice(customer, currency="USD")
    with pytest.raises(WrongCustomer):
        payment_record(
            customer=customer,
            received_date=date(2024, 3, 1),
            amount=Money.of("1", "CNY"),
            invoice_numbers=[theirs.number],
        )
    with pytest.raises(CurrencyMismatch):
        payment_record(
            customer=customer,
            received_date=date(2024, 3, 1),
            amount=Money.of("1", "CNY"),
            invoice_numbers=[dollars.number],
        )


def test_unallocating_returns_the_money_to_the_payment_and_reopens_the_invoice():
    customer = make_customer()
    invoice = make_invoice(customer, "100.00")
    payment = payment_record(customer=customer, received_date=date(2024, 2, 1), amount=Money.of("100", "CNY"))

    payment_unallocate(payment=payment, on_date=date(2024, 2, 10))

    invoice.refresh_from_db()
    payment.refresh_from_db()
    assert (invoice.open_minor, invoice.status, invoice.settled_date) == (10000, InvoiceStatus.OPEN, None)
    assert payment.unapplied_minor == 10000
    assert Allocation.objects.filter(payment=payment).count() == 2  # the original and its reversal


def test_a_reversed_allocation_cannot_be_reversed_twice():
    customer = make_customer()
    make_invoice(customer)
    payment = payment_record(customer=customer, received_date=date(2024, 2, 1), amount=Money.of("100", "CNY"))
    allocation = payment.allocations.get()
    allocation_reverse(allocation=allocation, on_date=date(2024, 2, 2))
    with pytest.raises(Exception, match="already been reversed"):
        allocation_reverse(allocation=allocation, on_date=date(2024, 2, 3))


def test_credit_notes_write_offs_and_cancellations_set_the_status():
    customer = make_customer()
    credited, written_off, cancelled = (make_invoice(customer, "100.00") for _ in range(3))

    credit_note_issue(
        invoice=credited, amount=Money.of("100", "CNY"), on_date=date(2024, 2, 1), reason="damaged goods"
    )
    invoice_write_off(invoice=written_off, on_date=date(2024, 2, 1), reason="bankrupt")
    invoice_cancel(invoice=cancelled, on_date=date(2024, 2, 1), reason="issued twice")

    statuses = [inv.status for inv in (credited, written_off, cancelled) if not inv.refresh_from_db()]
    assert statuses == [InvoiceStatus.PAID, InvoiceStatus.WRITTEN_OFF, InvoiceStatus.CANCELLED]


def test_a_credit_note_cannot_exceed_what_is_open():
    invoice = make_invoice(make_customer(), "100.00")
    with pytest.raises(ExceedsOpenAmount):
        credit_note_issue(
            invoice=invoice, amount=Money.of("100.01", "CNY"), on_date=date(2024, 2, 1), reason="x"
        )


def test_a_payment_id_from_the_source_system_is_recorded_once():
    customer = make_customer()
    payment_record(
        customer=customer, received_date=date(2024, 2, 1), amount=Money.of("1", "CNY"), external_id="P-1"
    )
    with pytest.raises(PaymentIdTaken, match="P-1 already exists"):
        payment_record(
            customer=customer, received_date=date(2024, 2, 1), amount=Money.of("1", "CNY"), external_id="P-1"
        )


def test_a_payment_left_on_account_is_applied_to_no_invoice():
    customer = make_customer()
    invoice = make_invoice(customer, "100.00")

    payment = payment_record(
        customer=customer,
        received_date=date(2024, 3, 1),
        amount=Money.of("60", "CNY"),
        external_id="advance-1",
        allocate=False,
    )

    invoice.refresh_from_db()
    assert (payment.amount_minor, payment.unapplied_minor) == (6000, 6000)
    assert (invoice.open_minor, invoice.status) == (10_000, InvoiceStatus.OPEN)
    assert not Allocation.objects.exists() and not ShortPayment.objects.exists()
    entry = AuditEntry.objects.get(entity="ledger.payment", entity_id=str(payment.pk))
    assert entry.after["allocations"] == [] and entry.after["unapplied_minor"] == 6000


def test_a_payment_left_on_account_names_no_invoices():
    customer = make_customer()
    invoice = make_invoice(customer, "100.00")

    with pytest.raises(LedgerError):
        payment_record(
            customer=customer,
            received_date=date(2024, 3, 1),
            amount=Money.of("60", "CNY"),
            invoice_numbers=[invoice.number],
            allocate=False,
        )
    assert not Payment.objects.exists()
