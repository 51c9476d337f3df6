"""Early-payment discounts and settlements: approval limits per role, the offer, booking when paid."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth import get_user_model

from huikuan.accounts.models import Profile, Role
from huikuan.collections.incentive_models import IncentiveStatus
from huikuan.collections.incentives import (
    ApprovalLimitExceeded,
    IncentiveConflict,
    IncentiveError,
    incentive_approve,
    incentive_close,
    incentive_offer,
    incentive_send,
    incentive_text,
    incentives_review,
)
from huikuan.core.models import AuditEntry
from huikuan.core.money import Money
from huikuan.customers.services import contact_create
from huikuan.ledger.models import AdjustmentKind, InvoiceAdjustment, InvoiceStatus
from huikuan.ledger.services import payment_record
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db

OFFERED = date(2026, 3, 1)
PAY_BY = date(2026, 3, 10)


def user_with(username: str, role: Role):
    user = get_user_model().objects.create_user(username=username)
    Profile.objects.create(user=user, role=role)
    return user


@pytest.fixture
def customer():
    customer = make_customer("INC1", language="en")
    make_invoice(customer, "10000.00", issue_date=date(2026, 2, 20), number="INC1-A")
    make_invoice(customer, "5000.00", issue_date=date(2026, 2, 25), number="INC1-B")
    return customer


def invoices(customer, *numbers):
    return list(customer.invoices.filter(number__in=numbers))


def discount(customer, user, percent="2", numbers=("INC1-A",)):
    return incentive_offer(
        customer=customer, user=user, kind="discount", invoices=invoices(customer, *numbers),
        discount_percent=percent, offered_date=OFFERED, pay_by_date=PAY_BY, terms="2/10 net 30",
    )  # fmt: skip


def settlement(customer, user, amount="12000.00"):
    return incentive_offer(
        customer=customer, user=user, kind="settlement", invoices=invoices(customer, "INC1-A", "INC1-B"),
        settle_amount=Money.of(amount, "CNY"), offered_date=OFFERED, pay_by_date=PAY_BY,
    )  # fmt: skip


def test_a_discount_within_the_collectors_limit_is_offered_at_once(customer):
    collector = user_with("c", Role.COLLECTOR)

    incentive = discount(customer, collector)

    assert incentive.status == IncentiveStatus.OFFERED and incentive.approved_by == collector
    assert (incentive.open_minor, incentive.concession_minor, incentive.pay_minor) == (
        1_000_000,
        20_000,
        980_000,
    )
    assert AuditEntry.objects.filter(entity="collections.incentive", action="CREATE").exists()


def test_beyond_the_limit_it_waits_for_a_role_whose_limit_covers_it(customer):
    collector = user_with("c", Role.COLLECTOR)
    controller = user_with("cc", Role.CREDIT_CONTROLLER)
    manager = user_with("m", Role.MANAGER)

    incentive = settlement(customer, collector)  # 3000 of 15000: 20 %

    assert incentive.status == IncentiveStatus.AWAITING_APPROVAL
    with pytest.raises(ApprovalLimitExceeded):
        incentive_approve(incentive=incentive, user=controller)  # 10 %
    assert incentive_approve(incentive=incentive, user=manager).status == IncentiveStatus.OFFERED


def test_limits_are_a_setting(customer, settings):
    settings.HUIKUAN_INCENTIVE_APPROVAL_LIMITS = {"COLLECTOR": "25"}

    assert settlement(customer, user_with("c", Role.COLLECTOR)).status == IncentiveStatus.OFFERED


def test_a_discount_paid_in_time_is_booked_as_a_credit_note_and_closes_the_invoice(customer):
    incentive = discount(customer, None)
    payment_record(customer=customer, received_date=date(2026, 3, 8), amount=Money.of("9800.00", "CNY"),
                   invoice_numbers=["INC1-A"])  # fmt: skip

    assert incentives_review(as_of=date(2026, 3, 9)) == {"booked": 1, "expired": 0}

    incentive.refresh_from_db()
    assert (incentive.status, incentive.booked_date) == (IncentiveStatus.BOOKED, date(2026, 3, 8))
    note = InvoiceAdjustment.objects.get()
    assert (note.kind, note.amount_minor, note.adjustment_date, note.reference) == (
        AdjustmentKind.CREDIT_NOTE, 20_000, date(2026, 3, 8), f"INC-{incentive.pk}",
    )  # fmt: skip
    first = customer.invoices.get(number="INC1-A")
    assert (first.open_minor, first.status) == (0, InvoiceStatus.PAID)
    assert incentives_review(as_of=date(2026, 3, 9)) == {"booked": 0, "expired": 0}


def test_paid_late_or_short_the_discount_expires_and_nothing_is_credited(customer):
    discount(customer, None)
    payment_record(customer=customer, received_date=date(2026, 3, 9), amount=Money.of("9000.00", "CNY"),
                   invoice_numbers=["INC1-A"])  # fmt: skip
    payment_record(customer=customer, received_date=date(2026, 3, 11), amount=Money.of("800.00", "CNY"),
                   invoice_numbers=["INC1-A"])  # fmt: skip

    assert incentives_review(as_of=date(2026, 3, 11)) == {"booked": 0, "expired": 1}
    assert not InvoiceAdjustment.objects.exists()
    assert customer.invoices.get(number="INC1-A").open_minor == 20_000


def test_a_settlement_paid_in_time_credits_what_is_left_on_every_invoice(customer):
    incentive = settlement(customer, None)
    payment_record(customer=customer, received_date=date(2026, 3, 5), amount=Money.of("12000.00", "CNY"))

    incentives_review(as_of=date(2026, 3, 6))

    incentive.refresh_from_db()
    assert incentive.status == IncentiveStatus.BOOKED
    assert sum(InvoiceAdjustment.objects.values_list("amount_minor", flat=True)) == 300_000
    assert [invoice.open_minor for invoice in customer.invoices.all()] == [0, 0]


def test_an_invoice_with_a_live_offer_cannot_get_another(customer):
    discount(customer, None)

    with pytest.raises(IncentiveConflict):
        discount(customer, None, percent="3")


@pytest.mark.parametrize("percent", ["0", "100", "1.234", "x"])
def test_a_wrong_discount_is_refused(customer, percent):
    with pytest.raises(IncentiveError):
        discount(customer, None, percent=percent)


def test_a_settlement_of_the_whole_debt_or_more_is_refused(customer):
    with pytest.raises(IncentiveError):
        settlement(customer, None, amount="15000.00")


def test_withdrawn_or_refused_offers_end(customer):
    collector = user_with("c", Role.COLLECTOR)
    waiting = settlement(customer, collector)
    assert incentive_close(incentive=waiting, user=None, status="rejected").status == IncentiveStatus.REJECTED
    offered = discount(customer, collector)
    assert (
        incentive_close(incentive=offered, user=None, status="withdrawn").status == IncentiveStatus.WITHDRAWN
    )
    assert incentives_review(as_of=date(2026, 4, 1)) == {"booked": 0, "expired": 0}


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", ("2 % off", "9,800.00", "INC1-A")), ("zh-hans", ("提前付款", "9,800.00", "INC1-A"))],
)
def test_the_offer_text_comes_from_the_template_in_the_customers_language(customer, language, words):
    incentive = discount(customer, None)

    subject, text = incentive_text(incentive=incentive, language=language)

    for word in words:
        assert word in subject + text


def test_the_offer_is_a_message_template_the_user_can_edit(customer):
    from huikuan.messaging.defaults import template_edit
    from huikuan.messaging.models import Template

    incentive = discount(customer, None)
    template_edit(
        template=Template.objects.get(key="incentive-offer", channel="EMAIL", language="en"),
        subject="{{ percent }} % for {{ customer_name }}",
        body_text="Pay {{ pay }} by {{ pay_by }} for {{ invoices|join:' + ' }}.",
    )

    subject, text = incentive_text(incentive=incentive, language="en")

    assert subject == f"2 % for {customer.legal_name or customer.name}"
    assert text.startswith("Pay CNY 9,800.00 by ") and "INC1-A" in text


def test_sending_queues_an_email_to_the_contact(customer):
    contact_create(customer=customer, name="Chen", email="chen@example.com", is_primary=True)
    incentive = discount(customer, None)

    message = incentive_send(incentive=incentive, user=None)

    assert (message.recipient or message.contact.email) == "chen@example.com"
    assert message.template_key == "incentive-offer" and "9,800.00" in message.body_text
