"""`huikuan demo --no-serve`: a realistic portfolio, consistent books, deterministic, a working login."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count, Q, Sum

from huikuan.core.demo import demo_portfolio_plan
from huikuan.core.money import Money
from huikuan.customers.models import Contact, Customer
from huikuan.ledger.models import (
    AdjustmentKind,
    Allocation,
    Invoice,
    InvoiceAdjustment,
    InvoiceStatus,
    Payment,
    ShortPayment,
)
from huikuan.ledger.services import (
    credit_note_issue,
    invoice_cancel,
    invoice_issue,
    invoice_write_off,
    payment_record,
)
from tests.factories import make_customer

pytestmark = pytest.mark.django_db

AS_OF = date(2025, 6, 30)


def demo(*args: str) -> str:
    out = StringIO()
    call_command("demo", "--no-serve", "--as-of", AS_OF.isoformat(), *args, stdout=out)
    return out.getvalue()


def books() -> list[tuple]:
    """Everything the demo wrote that a seed decides, in a stable order."""
    customers = list(
        Customer.objects.order_by("code").values_list("code", "name", "currency", "grade", "tags")
    )
    invoices = list(
        Invoice.objects.order_by("number").values_list(
            "number", "customer__code", "due_date", "amount_minor", "open_minor"
        )
    )
    # A payment from the bank month is named after its statement line's key, which a rebuild
    # draws anew: it counts by what it is, not by that name.
    payments = sorted(
        ("bank-line" if external_id.startswith("bank-line:") else external_id, *rest)
        for external_id, *rest in Payment.objects.values_list(
            "external_id", "received_date", "amount_minor", "unapplied_minor"
        )
    )
    return [customers, invoices, payments]


def test_the_demo_fills_an_empty_database_with_a_varied_portfolio():
    output = demo("--seed", "1", "--customers", "30")

    assert Customer.objects.count() == 30
    assert Contact.objects.filter(is_primary=True).count() == 30
    assert Customer.objects.filter(name__contains="有限公司").exists()
    assert Customer.objects.exclude(country="CN").exists()
    assert Customer.objects.filter(collector__username="wangfang").exists()
    currencies = set(Invoice.objects.values_list("currency", flat=True))
    assert {"CNY", "USD", "EUR"} <= currencies
    statuses = set(Invoice.objects.values_list("status", flat=True))
    assert {InvoiceStatus.PAID, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.OPEN} <= statuses
    assert Invoice.objects.filter(open_minor__gt=0, due_date__lt=AS_OF).exists()  # overdue
    assert Invoice.objects.filter(open_minor__gt=0, due_date__gte=AS_OF).exists()  # not yet due
    assert ShortPayment.objects.exists()
    assert InvoiceAdjustment.objects.filter(kind=AdjustmentKind.CREDIT_NOTE).exists()
    assert Invoice.objects.filter(issue_date__gt=AS_OF).count() == 0
    first_issue = Invoice.objects.order_by("issue_date").values_list("issue_date", flat=True).first()
    assert date(2023, 12, 30) <= first_issue <= date(2024, 1, 31)  # 18 months of history
    assert "Demo login: username demo, password demo" in output


def test_the_full_demo_has_about_two_hundred_customers_and_thousands_of_invoices():
    plan = demo_portfolio_plan(as_of=AS_OF, seed=7)

    assert len(plan.customers) == 200
    assert 8_000 <= len(plan.invoices) <= 15_000
    assert {c.behaviour for c in plan.customers} == {"prompt", "slow", "partial", "disputing", "silent"}
    assert {c.country for c in plan.customers} == {"CN", "HK", "SG", "US", "DE", "GB"}
    assert {c.currency for c in plan.customers} >= {"CNY", "USD", "EUR", "HKD", "JPY"}
    assert {c.payment_terms_days for c in plan.customers} == {30, 45, 60, 90}


def test_every_open_amount_is_the_amount_less_allocations_and_adjustments():
    demo("--seed", "1", "--customers", "20")

    allocated = dict(
        Allocation.objects.values("invoice")
        .annotate(total=Sum("amount_minor"))
        .values_list("invoice", "total")
    )
    adjusted = dict(
        InvoiceAdjustment.objects.values("invoice")
        .annotate(total=Sum("amount_minor"))
        .values_list("invoice", "total")
    )
    invoices = list(Invoice.objects.values_list("pk", "amount_minor", "open_minor"))
    for pk, amount, open_minor in invoices:
        assert open_minor == amount - allocated.get(pk, 0) - adjusted.get(pk, 0)
        assert 0 <= open_minor <= amount
    by_payment = dict(
        Allocation.objects.values("payment")
        .annotate(total=Sum("amount_minor"))
        .values_list("payment", "total")
    )
    for pk, amount, unapplied in Payment.objects.values_list("pk", "amount_minor", "unapplied_minor"):
        assert unapplied == amount - by_payment.get(pk, 0)
        assert unapplied >= 0
    # Money is conserved per currency: invoiced = open + allocated + adjusted.
    for currency in set(Invoice.objects.values_list("currency", flat=True)):
        invoiced = Invoice.objects.filter(currency=currency).aggregate(
            a=Sum("amount_minor"), o=Sum("open_minor")
        )
        paid = (
            Allocation.objects.filter(invoice__currency=currency).aggregate(s=Sum("amount_minor"))["s"] or 0
        )
        credited = (
            InvoiceAdjustment.objects.filter(invoice__currency=currency).aggregate(s=Sum("amount_minor"))["s"]
            or 0
        )
        assert invoiced["a"] == invoiced["o"] + paid + credited


def test_short_payments_point_at_invoices_the_payment_left_partly_unpaid():
    demo("--seed", "1", "--customers", "20")

    shorts = ShortPayment.objects.select_related("invoice", "payment")
    assert shorts.exists()
    for short in shorts:
        assert short.short_minor > 0
        assert short.currency == short.invoice.currency == short.payment.currency
        assert Allocation.objects.filter(payment=short.payment, invoice=short.invoice).exists()
        assert short.event_date == short.payment.received_date


def test_the_same_seed_gives_the_same_books_and_another_seed_other_books():
    demo("--seed", "3", "--customers", "12")
    first = books()

    demo("--seed", "3", "--customers", "12", "--reset")
    assert books() == first

    demo("--seed", "4", "--customers", "12", "--reset")
    assert books() != first


def test_running_the_demo_again_reuses_the_portfolio():
    demo("--seed", "1", "--customers", "10")
    before = (Customer.objects.count(), Invoice.objects.count(), Payment.objects.count())

    output = demo("--seed", "1", "--customers", "10")

    assert "already there" in output
    assert (Customer.objects.count(), Invoice.objects.count(), Payment.objects.count()) == before


def test_the_demo_user_can_log_in_and_use_the_admin(client):
    demo("--seed", "1", "--customers", "5")

    assert client.login(username="demo", password="demo")
    user = get_user_model().objects.get(username="demo")
    assert user.is_staff and user.is_superuser
    assert client.get("/admin/").status_code == 200


def test_the_demo_refuses_to_mix_with_customers_that_are_not_demo_data():
    make_customer(code="REAL-1")

    with pytest.raises(CommandError, match="not demo data"):
        demo("--seed", "1", "--customers", "5")
    assert Customer.objects.count() == 1


def test_reset_removes_only_demo_data_and_rebuilds_it():
    demo("--seed", "1", "--customers", "8")
    invoices = Invoice.objects.count()

    demo("--seed", "1", "--customers", "8", "--reset")

    assert Customer.objects.count() == 8
    assert Invoice.objects.count() == invoices


def test_reset_after_the_demo_was_used_rebuilds_it_with_its_bank_month_and_dunning_days():
    from huikuan.banking.models import BankStatementLine
    from huikuan.collections.incentives import incentive_offer
    from huikuan.collections.legal import handover_create
    from huikuan.core.demo import demo_customers
    from huikuan.customers.models import Order
    from huikuan.customers.orders import order_create
    from huikuan.dunning.models import DunningRun

    demo("--seed", "1", "--customers", "8")
    lines = BankStatementLine.objects.count()
    runs = DunningRun.objects.count()
    assert lines and runs and BankStatementLine.objects.filter(customer__in=demo_customers()).exists()
    # What someone trying the demo does: an order, a discount offer, a hand-over to a lawyer.
    owing = [invoice for invoice in Invoice.objects.filter(open_minor__gt=0).select_related("customer")]
    first, second = owing[0], next(i for i in owing if i.customer_id != owing[0].customer_id)
    order_create(
        customer=first.customer, number="SO-TRY", order_date=AS_OF, amount=Money.of("10", first.currency)
    )
    incentive_offer(customer=first.customer, user=None, kind="DISCOUNT", invoices=[first], pay_by_date=AS_OF,
                    offered_date=AS_OF, discount_percent="2")  # fmt: skip
    handover_create(customer=second.customer, user=None, kind="LAWYER", agent_name="律所",
                    commission_percent=10, handed_over_date=AS_OF)  # fmt: skip

    output = demo("--seed", "1", "--customers", "8", "--reset")

    assert "Deleted the previous demo portfolio." in output
    assert BankStatementLine.objects.count() == lines  # the month imported again, once
    assert DunningRun.objects.count() == runs and "has already run" not in output
    assert not Order.objects.exists()
    assert Customer.objects.count() == 8


def test_the_shortcut_agrees_with_the_ledger_services_replayed_one_write_at_a_time():
    """The bulk demo and the services follow one allocation rule: replaying the plan through
    invoice_issue, payment_record, credit notes, write-offs and cancellations gives the same books."""
    plan = demo_portfolio_plan(as_of=AS_OF, seed=11, customers=5)
    customers = {c.code: make_customer(code=c.code, name=c.name, currency=c.currency) for c in plan.customers}
    for planned in plan.invoices:
        invoice_issue(
            customer=customers[planned.customer_code],
            number=planned.number,
            issue_date=planned.issue_date,
            due_date=planned.due_date,
            amount=Money(planned.amount_minor, planned.currency),
        )
    events = [(a.adjustment_date, 0, a.invoice_number, a) for a in plan.adjustments]
    events += [(p.received_date, 1, p.external_id, p) for p in plan.payments]
    for _date, _order, _key, event in sorted(events, key=lambda e: e[:3]):
        if _order == 0:
            invoice = Invoice.objects.get(number=event.invoice_number)
            if event.kind == AdjustmentKind.CREDIT_NOTE:
                amount = Money(event.amount_minor, invoice.currency)
                credit_note_issue(
                    invoice=invoice, amount=amount, on_date=event.adjustment_date, reason=event.reason
                )
            elif event.kind == AdjustmentKind.WRITE_OFF:
                invoice_write_off(invoice=invoice, on_date=event.adjustment_date, reason=event.reason)
            else:
                invoice_cancel(invoice=invoice, on_date=event.adjustment_date, reason=event.reason)
        else:
            payment_record(
                customer=customers[event.customer_code],
                received_date=event.received_date,
                amount=Money(event.amount_minor, event.currency),
                invoice_numbers=event.invoice_numbers,
                external_id=event.external_id,
            )

    assert dict(Invoice.objects.values_list("number", "open_minor")) == {
        i.number: i.open_minor for i in plan.invoices
    }
    planned_shorts = {(p.external_id, number, short) for p in plan.payments for number, short in p.shorts}
    recorded = set(ShortPayment.objects.values_list("payment__external_id", "invoice__number", "short_minor"))
    assert recorded == planned_shorts
    statuses = Invoice.objects.aggregate(
        written_off=Count("pk", filter=Q(status=InvoiceStatus.WRITTEN_OFF)),
        cancelled=Count("pk", filter=Q(status=InvoiceStatus.CANCELLED)),
    )
    kinds = [a.kind for a in plan.adjustments]
    assert statuses == {
        "written_off": kinds.count(AdjustmentKind.WRITE_OFF),
        "cancelled": kinds.count(AdjustmentKind.CANCELLATION),
    }


def test_the_demo_runs_the_days_dunning_and_delivers_its_email():
    from django.core import mail

    from huikuan.dunning.models import DunningRun
    from huikuan.messaging.models import OutboxMessage, OutboxStatus

    output = demo("--seed", "3", "--customers", "30")

    assert DunningRun.objects.filter(as_of=AS_OF).exists()
    sent = OutboxMessage.objects.filter(status=OutboxStatus.SENT, channel="EMAIL").count()
    assert sent > 0 and len(mail.outbox) == sent
    assert f"Delivered {sent} e-mails" in output
