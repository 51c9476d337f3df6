"""Money never gains or loses a minor unit through allocation, un-allocation and credit notes."""

from datetime import date, timedelta

from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from huikuan.core.money import Money
from huikuan.ledger.models import Allocation, Invoice, InvoiceAdjustment, Payment
from huikuan.ledger.services import credit_note_issue, payment_record, payment_unallocate
from tests.factories import make_customer, make_invoice

DAY0 = date(2024, 1, 1)

# One currency for each ISO 4217 exponent: 0, 2, 3 and 4 decimal places.
CURRENCIES = st.sampled_from(["JPY", "CNY", "KWD", "CLF"])

operation = st.one_of(
    st.tuples(st.just("pay"), st.integers(1, 5_000_000), st.lists(st.integers(0, 5), max_size=3)),
    st.tuples(st.just("unallocate"), st.integers(0, 20), st.just([])),
    st.tuples(st.just("credit"), st.integers(0, 5), st.integers(1, 3_000_000)),
)


def _total(queryset, field="amount_minor") -> int:
    return queryset.aggregate(total=Sum(field))["total"] or 0


class LedgerConservationTests(TestCase):
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        currency=CURRENCIES,
        invoice_amounts=st.lists(st.integers(1, 3_000_000), min_size=1, max_size=6),
        operations=st.lists(operation, max_size=10),
    )
    def test_every_minor_unit_is_accounted_for(self, currency, invoice_amounts, operations):
        customer = make_customer(currency=currency)
        invoices = [
            make_invoice(customer, str(Money(minor, currency).amount), currency, DAY0 + timedelta(days=i))
            for i, minor in enumerate(invoice_amounts)
        ]
        day = DAY0 + timedelta(days=40)
        for step, (kind, value, extra) in enumerate(operations):
            on_date = day + timedelta(days=step)
            if kind == "pay":
                named = [invoices[i % len(invoices)].number for i in extra]
                payment_record(
                    customer=customer,
                    received_date=on_date,
                    amount=Money(value, currency),
                    invoice_numbers=named,
                )
            elif kind == "unallocate":
                payments = list(Payment.objects.filter(customer=customer).order_by("pk"))
                if payments:
                    payment_unallocate(payment=payments[value % len(payments)], on_date=on_date)
            else:
                invoice = Invoice.objects.get(pk=invoices[value % len(invoices)].pk)
                amount = min(extra, invoice.open_minor)
                if amount > 0:
                    credit_note_issue(
                        invoice=invoice, amount=Money(amount, currency), on_date=on_date, reason="test"
                    )
            self.assert_balanced(customer)

    def assert_balanced(self, customer):
        for invoice in Invoice.objects.filter(customer=customer):
            settled = _total(invoice.allocations.all()) + _total(invoice.adjustments.all())
            assert invoice.open_minor == invoice.amount_minor - settled
            assert 0 <= invoice.open_minor <= invoice.amount_minor
        for payment in Payment.objects.filter(customer=customer):
            assert payment.unapplied_minor == payment.amount_minor - _total(payment.allocations.all())
            assert 0 <= payment.unapplied_minor <= payment.amount_minor
        invoices = Invoice.objects.filter(customer=customer)
        payments = Payment.objects.filter(customer=customer)
        settled_by_payments = _total(payments) - _total(payments, "unapplied_minor")
        assert settled_by_payments == _total(Allocation.objects.filter(payment__customer=customer))
        credited = _total(InvoiceAdjustment.objects.filter(invoice__customer=customer))
        assert _total(invoices) - _total(invoices, "open_minor") == settled_by_payments + credited
