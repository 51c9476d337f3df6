"""The review of credits matching left for a person: accept, change, split, on account, exclude."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model

from huikuan.banking.matching_service import (
    BankMatchError,
    LineAlreadyApplied,
    LineExcluded,
    LineNotCredit,
    NoProposal,
    SplitMismatch,
    bank_match,
    line_apply,
    line_exclude,
    line_leave_on_account,
    line_payments,
    line_split,
    proposal_accept,
)
from huikuan.banking.models import LineStatus, PayerAlias
from huikuan.collections.models import Task, TaskKind
from huikuan.core.models import AuditEntry
from huikuan.core.money import Money
from huikuan.ledger.models import Allocation, Invoice, Payment
from huikuan.ledger.services import WrongCustomer, payment_record
from tests.bank_factories import make_line
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db

AS_OF = date(2024, 3, 20)


@pytest.fixture
def clerk():
    return get_user_model().objects.create_user(username="clerk")


@pytest.fixture
def waiting():
    """A credit short of the invoice it names, from a payer nobody knows: it waits for review."""
    customer = make_customer(name="Acme Trading")
    make_invoice(customer, "1000.00", number="INV-0042", issue_date=date(2024, 1, 1))
    make_invoice(customer, "500.00", number="INV-0043", issue_date=date(2024, 1, 2))
    line = make_line("600.00", payer="Holding Finance Dept", account="CN55 0000 1234", remittance="INV-0042")
    bank_match(as_of=AS_OF)
    line.refresh_from_db()
    assert line.status == LineStatus.REVIEW
    return line


def _open(number: str) -> int:
    return Invoice.objects.get(number=number).open_minor


def test_accepting_a_proposal_applies_it_and_learns_the_payer(waiting, clerk):
    payment = proposal_accept(line=waiting, actor=clerk, as_of=AS_OF)

    assert waiting.status == LineStatus.APPLIED and waiting.payment == payment
    assert waiting.matched_by == clerk and waiting.matched_at is not None
    assert payment.external_id == f"bank-line:{waiting.pk}"
    assert _open("INV-0042") == 40_000 and _open("INV-0043") == 50_000
    learned = set(PayerAlias.objects.values_list("kind", "value", "customer__name"))
    assert learned == {
        ("ACCOUNT", "CN5500001234", "Acme Trading"),
        ("NAME", "HOLDING FINANCE DEPT", "Acme Trading"),
    }
    assert Task.objects.filter(kind=TaskKind.SHORT_PAYMENT, customer=waiting.customer).count() == 1
    entry = AuditEntry.objects.get(entity="banking.bankstatementline", entity_id=str(waiting.pk))
    assert entry.actor == clerk and entry.after["status"] == "APPLIED"


def test_a_learned_payer_is_applied_at_once_next_time(waiting, clerk):
    proposal_accept(line=waiting, actor=clerk, as_of=AS_OF)
    next_line = make_line(
        "500.00", payer="Holding Finance Dept", account="CN5500001234", remittance="INV-0043"
    )

    bank_match(as_of=AS_OF)

    next_line.refresh_from_db()
    assert next_line.status == LineStatus.APPLIED


def test_an_applied_line_cannot_be_applied_again(waiting, clerk):
    proposal_accept(line=waiting, actor=clerk, as_of=AS_OF)

    for attempt in (
        lambda: proposal_accept(line=waiting, actor=clerk),
        lambda: line_apply(line=waiting, customer=waiting.customer, actor=clerk),
        lambda: line_leave_on_account(line=waiting, customer=waiting.customer, actor=clerk),
        lambda: line_exclude(line=waiting, reason="oops", actor=clerk),
    ):
        with pytest.raises(LineAlreadyApplied) as raised:
            attempt()
        assert raised.value.status == 409 and "already applied" in raised.value.message
    assert Payment.objects.count() == 1


def test_a_line_without_proposal_cannot_be_accepted(clerk):
    line = make_line("12.00", payer="Nobody")
    bank_match(as_of=AS_OF)

    with pytest.raises(NoProposal):
        proposal_accept(line=line, actor=clerk)


def test_changing_the_match_applies_the_invoices_chosen(waiting, clerk):
    payment = line_apply(
        line=waiting, customer=waiting.proposal.customer, invoice_numbers=["INV-0043"], actor=clerk
    )

    assert _open("INV-0043") == 0 and _open("INV-0042") == 90_000
    assert payment.amount_minor == 60_000 and waiting.status == LineStatus.APPLIED


def test_an_invoice_of_another_customer_is_refused_and_the_line_keeps_waiting(waiting, clerk):
    other = make_customer(name="Other")
    make_invoice(other, "100.00", number="OTHER-1")

    with pytest.raises(WrongCustomer):
        line_apply(line=waiting, customer=waiting.proposal.customer, invoice_numbers=["OTHER-1"], actor=clerk)

    waiting.refresh_from_db()
    assert waiting.status == LineStatus.REVIEW and not Payment.objects.exists()


def test_a_line_split_between_two_customers_records_two_payments(waiting, clerk):
    acme = waiting.proposal.customer
    sister = make_customer(name="Acme Sister")
    make_invoice(sister, "200.00", number="SIS-1")

    payments = line_split(
        line=waiting,
        parts=[(acme, ["INV-0043"], Money.of("400", "CNY")), (sister, ["SIS-1"], Money.of("200", "CNY"))],
        actor=clerk,
        as_of=AS_OF,
    )

    assert [p.external_id for p in payments] == [f"bank-line:{waiting.pk}", f"bank-line:{waiting.pk}#2"]
    assert [p.external_id for p in line_payments(waiting)] == [p.external_id for p in payments]
    assert waiting.payment == payments[0] and waiting.customer is None
    assert (_open("INV-0043"), _open("SIS-1")) == (10_000, 0)
    assert set(PayerAlias.objects.filter(kind="NAME").values_list("customer__name", flat=True)) == {
        "Acme Trading",
        "Acme Sister",
    }


@pytest.mark.parametrize(
    ("amounts", "message"),
    [
        (["400", "100"], "add up to 500.00 CNY but the line is 600.00 CNY"),
        (["600", "0"], "more than zero"),
    ],
)
def test_split_amounts_must_add_up_to_the_line(waiting, clerk, amounts, message):
    acme = waiting.proposal.customer

    with pytest.raises(SplitMismatch) as raised:
        line_split(line=waiting, parts=[(acme, [], Money.of(a, "CNY")) for a in amounts], actor=clerk)

    assert message in raised.value.message
    assert not Payment.objects.exists()


def test_a_split_part_in_another_currency_is_refused(waiting, clerk):
    with pytest.raises(SplitMismatch):
        line_split(line=waiting, parts=[(waiting.proposal.customer, [], Money.of("600", "USD"))], actor=clerk)


def test_money_left_on_account_is_applied_to_no_invoice(waiting, clerk):
    payment = line_leave_on_account(line=waiting, customer=waiting.proposal.customer, actor=clerk)

    assert (payment.amount_minor, payment.unapplied_minor) == (60_000, 60_000)
    assert not Allocation.objects.exists()
    assert _open("INV-0042") == 100_000
    assert waiting.status == LineStatus.APPLIED and waiting.customer == waiting.proposal.customer
    assert AuditEntry.objects.filter(entity="ledger.payment", entity_id=str(payment.pk)).exists()


def test_an_excluded_line_leaves_matching_for_good(waiting, clerk):
    line_exclude(line=waiting, reason="tax refund", actor=clerk)

    assert waiting.status == LineStatus.EXCLUDED
    with pytest.raises(LineExcluded):
        proposal_accept(line=waiting, actor=clerk)
    assert bank_match(as_of=AS_OF, line_ids=[waiting.pk])["lines"] == 0
    entry = AuditEntry.objects.get(entity="banking.bankstatementline", entity_id=str(waiting.pk))
    assert entry.after["reason"] == "tax refund"


def test_excluding_needs_a_reason(waiting, clerk):
    with pytest.raises(BankMatchError):
        line_exclude(line=waiting, reason="  ", actor=clerk)


def test_money_paid_out_is_not_a_customer_payment(clerk):
    debit = make_line("-100.00")

    with pytest.raises(LineNotCredit):
        line_apply(line=debit, customer=make_customer(), actor=clerk)


def test_accepting_after_a_proposed_invoice_was_paid_elsewhere_still_applies_the_money(waiting, clerk):
    customer = waiting.proposal.customer
    payment_record(
        customer=customer,
        received_date=date(2024, 3, 16),
        amount=Money.of("1000", "CNY"),
        invoice_numbers=["INV-0042"],
    )

    proposal_accept(line=waiting, actor=clerk, as_of=AS_OF)

    assert _open("INV-0043") == 0
    waiting.payment.refresh_from_db()
    assert waiting.payment.unapplied_minor == 10_000


def test_review_lines_can_be_weighed_again_on_request(waiting):
    PayerAlias.objects.create(kind="NAME", value="HOLDING FINANCE DEPT", customer=waiting.proposal.customer)
    PayerAlias.objects.create(kind="ACCOUNT", value="CN5500001234", customer=waiting.proposal.customer)

    summary = bank_match(as_of=AS_OF, line_ids=[waiting.pk])

    waiting.refresh_from_db()
    assert summary["applied"] == 1 and waiting.status == LineStatus.APPLIED
    assert waiting.proposal.confidence >= 90
