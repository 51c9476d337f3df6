"""bank_match over stored lines: what is applied at once, what waits, what stays unapplied."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from huikuan.banking import matching_service
from huikuan.banking.matching_service import bank_match, proposal_accept
from huikuan.banking.models import BankStatementLine, LineStatus, MatchProposal, PayerAlias
from huikuan.collections.models import Task, TaskKind
from huikuan.core.models import AuditEntry
from huikuan.core.money import Money
from huikuan.ledger.aging_report import aging_build
from huikuan.ledger.models import Allocation, Invoice, InvoiceStatus, Payment, ShortPayment
from huikuan.ledger.services import payment_record
from tests.bank_factories import make_alias, make_line, make_statement
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db

AS_OF = date(2024, 3, 20)


def _open(number: str) -> int:
    return Invoice.objects.get(number=number).open_minor


def test_a_credit_naming_its_invoice_with_the_exact_amount_is_applied_and_the_invoice_paid():
    customer = make_customer(name="Acme Trading Co., Ltd.")
    make_invoice(customer, "1000.00", number="INV-2024-0012")
    line = make_line(
        "1000.00", payer="ACME TRADING CO LTD", account="6222 0000 1111", remittance="货款 INV-2024-0012"
    )

    summary = bank_match(as_of=AS_OF)

    line.refresh_from_db()
    assert (summary["applied"], summary["review"], summary["unmatched"]) == (1, 0, 0)
    assert summary["amounts"]["applied"] == {"CNY": "1000.00"}
    assert line.status == LineStatus.APPLIED and line.customer == customer
    assert line.payment.external_id == f"bank-line:{line.pk}"
    assert (line.payment.amount_minor, line.payment.unapplied_minor) == (100_000, 0)
    assert line.payment.received_date == line.booking_date
    invoice = Invoice.objects.get(number="INV-2024-0012")
    assert (invoice.open_minor, invoice.status) == (0, InvoiceStatus.PAID)
    assert line.proposal.confidence >= 90 and line.proposal.reasons
    assert summary["decisions"][0]["invoices"] == ["INV-2024-0012"]


def test_a_credit_applied_at_once_moves_the_aging():
    customer = make_customer("AGING", name="Aging Example Ltd")
    make_invoice(customer, "1000.00", number="INV-2024-0012", issue_date=date(2024, 1, 1))
    make_invoice(customer, "300.00", number="INV-2024-0013", issue_date=date(2024, 1, 2))
    make_line("1000.00", payer="Aging Example", remittance="2024-0012", booking_date=date(2024, 3, 15))
    before = aging_build(as_of=AS_OF)

    bank_match(as_of=AS_OF)

    after = aging_build(as_of=AS_OF)
    assert [row["total"] for row in before["customers"] if row["code"] == "AGING"] == ["1300.00"]
    assert [row["total"] for row in after["customers"] if row["code"] == "AGING"] == ["300.00"]


def test_applying_learns_the_payers_account_and_name():
    customer = make_customer(name="Acme Trading Co., Ltd.")
    make_invoice(customer, "1000.00", number="INV-2024-0012")
    make_line("1000.00", payer="Acme Trading Ltd", account="6222 0000 1111", remittance="INV-2024-0012")

    bank_match(as_of=AS_OF)

    learned = set(PayerAlias.objects.values_list("kind", "value", "customer_id", "confirmations"))
    assert learned == {("ACCOUNT", "622200001111", customer.pk, 1), ("NAME", "ACME TRADING", customer.pk, 1)}


def test_a_payer_learned_earlier_is_recognised_without_any_reference():
    customer = make_customer(name="Shanghai Example Ltd")
    make_alias(customer, account="6222000011112222", name="某某集团财务公司", confirmations=3)
    make_invoice(customer, "250.00", number="INV-1", issue_date=date(2024, 1, 1))
    make_invoice(customer, "400.00", number="INV-2", issue_date=date(2024, 1, 15))

    make_line("400.00", payer="某某集团财务公司", account="6222000011112222")

    summary = bank_match(as_of=AS_OF)

    assert summary["applied"] == 1
    assert _open("INV-2") == 0 and _open("INV-1") == 25_000
    assert PayerAlias.objects.get(kind="ACCOUNT", customer=customer).confirmations == 4


def test_several_invoices_paid_in_one_transfer_are_all_settled():
    customer = make_customer()
    for n in (1, 2, 3):
        make_invoice(customer, f"{n}00.00", number=f"INV-000{n}", issue_date=date(2024, 1, n))
    make_line("400.00", remittance="INV-0001 INV-0003")

    bank_match(as_of=AS_OF)

    assert (_open("INV-0001"), _open("INV-0002"), _open("INV-0003")) == (0, 20_000, 0)


def test_a_short_payment_is_applied_and_becomes_a_task_for_the_collector_at_once():
    collector = get_user_model().objects.create_user(username="wang")
    customer = make_customer(name="Acme", collector=collector)
    make_invoice(customer, "1000.00", number="INV-0042")
    make_line("600.00", payer="Acme", remittance="INV-0042")

    summary = bank_match(as_of=AS_OF)

    assert summary["applied"] == 1 and summary["short_payment_tasks"] == 1
    assert _open("INV-0042") == 40_000
    short = ShortPayment.objects.get()
    assert (short.invoice.number, short.short_minor) == ("INV-0042", 40_000)
    task = Task.objects.get(kind=TaskKind.SHORT_PAYMENT)
    assert (task.customer, task.assignee, task.due_date) == (customer, collector, AS_OF)
    assert "400.00" in task.title


def test_bank_charges_deducted_from_a_named_invoice_still_pay_it_leaving_the_charge_short():
    customer = make_customer(name="Acme")
    make_invoice(customer, "1000.00", number="INV-0042")
    make_line("985.00", payer="Acme", remittance="INV-0042")

    summary = bank_match(as_of=AS_OF)

    assert summary["applied"] == 1
    assert _open("INV-0042") == 1_500
    assert any("bank charges" in reason for reason in summary["decisions"][0]["reasons"])


def test_an_overpayment_stays_on_account():
    customer = make_customer(name="Acme")
    make_invoice(customer, "1000.00", number="INV-0042")
    line = make_line("1200.00", payer="Acme", remittance="INV-0042")

    bank_match(as_of=AS_OF)

    line.refresh_from_db()
    assert line.status == LineStatus.APPLIED
    assert (line.payment.amount_minor, line.payment.unapplied_minor) == (120_000, 20_000)
    assert _open("INV-0042") == 0


def test_a_credit_nobody_fits_is_unapplied_cash_owned_by_the_configured_user(settings):
    owner = get_user_model().objects.create_user(username="cashier")
    settings.HUIKUAN_BANK_UNMATCHED_OWNER = "cashier"
    make_invoice(make_customer(), "1000.00", number="INV-0042")
    line = make_line("777.00", payer="Unknown Payer", remittance="deposit interest")

    summary = bank_match(as_of=AS_OF)

    line.refresh_from_db()
    assert summary["unmatched"] == 1 and summary["amounts"]["unmatched"] == {"CNY": "777.00"}
    assert (line.status, line.owner, line.payment) == (LineStatus.UNMATCHED, owner, None)
    assert Payment.objects.count() == 0


def test_an_owner_who_does_not_exist_is_reported(settings):
    settings.HUIKUAN_BANK_UNMATCHED_OWNER = "nobody"
    line = make_line("777.00")

    summary = bank_match(as_of=AS_OF)

    line.refresh_from_db()
    assert line.status == LineStatus.UNMATCHED and line.owner is None
    assert "nobody" in summary["warnings"][0]


def test_an_uncertain_proposal_waits_for_review_with_its_reasons():
    customer = make_customer(name="Acme")
    make_invoice(customer, "1000.00", number="INV-0042")
    line = make_line("600.00", payer="Someone Else", remittance="INV-0042")

    summary = bank_match(as_of=AS_OF)

    line.refresh_from_db()
    assert summary["review"] == 1
    assert line.status == LineStatus.REVIEW and line.payment is None
    proposal = MatchProposal.objects.get(line=line)
    assert proposal.customer == customer
    assert proposal.invoices == [{"number": "INV-0042", "amount": "600.00"}]
    assert 30 <= proposal.confidence < 90
    assert any("short" in reason for reason in proposal.reasons)
    assert _open("INV-0042") == 100_000


def test_the_threshold_comes_from_the_setting(settings):
    settings.HUIKUAN_BANK_AUTO_APPLY_CONFIDENCE = 50
    customer = make_customer(name="Acme")
    make_invoice(customer, "1000.00", number="INV-0042")
    make_line("600.00", payer="Someone Else", remittance="INV-0042")

    assert bank_match(as_of=AS_OF)["applied"] == 1


def test_debits_and_excluded_lines_are_never_touched():
    customer = make_customer(name="Acme")
    make_invoice(customer, "1000.00", number="INV-0042")
    debit = make_line("-1000.00", payer="Acme", remittance="INV-0042")
    excluded = make_line("1000.00", payer="Acme", remittance="INV-0042", status=LineStatus.EXCLUDED)

    summary = bank_match(as_of=AS_OF)

    assert summary["lines"] == 0
    for line in (debit, excluded):
        status = line.status
        line.refresh_from_db()
        assert line.status == status and line.payment is None
    assert not MatchProposal.objects.exists()


def test_a_second_run_changes_nothing():
    customer = make_customer(name="Acme")
    make_invoice(customer, "1000.00", number="INV-0042")
    make_line("1000.00", payer="Acme", remittance="INV-0042")
    make_line("50.00", payer="Nobody")
    bank_match(as_of=AS_OF)
    before = (Payment.objects.count(), Allocation.objects.count(), MatchProposal.objects.count())

    summary = bank_match(as_of=AS_OF)

    assert summary["lines"] == 0
    assert (Payment.objects.count(), Allocation.objects.count(), MatchProposal.objects.count()) == before


def test_two_lines_paying_the_same_invoice_do_not_both_settle_it():
    customer = make_customer(name="Acme")
    make_invoice(customer, "1000.00", number="INV-0042")
    make_line("1000.00", payer="Acme", remittance="INV-0042", booking_date=date(2024, 3, 10))
    second = make_line("1000.00", payer="Acme", remittance="INV-0042", booking_date=date(2024, 3, 11))

    bank_match(as_of=AS_OF)

    second.refresh_from_db()
    assert _open("INV-0042") == 0
    assert Allocation.objects.filter(invoice__number="INV-0042").count() == 1
    assert second.status != LineStatus.APPLIED or second.payment.unapplied_minor == 100_000


@pytest.fixture
def paid_up():
    """A customer whose INV-2024-0012 (1,000.00) is paid and INV-2024-0013 (250.00) open."""
    customer = make_customer("PAID", name="Paid Up Ltd")
    make_invoice(customer, "1000.00", number="INV-2024-0012", issue_date=date(2024, 1, 1))
    make_invoice(customer, "250.00", number="INV-2024-0013", issue_date=date(2024, 1, 2))
    payment_record(
        customer=customer,
        received_date=date(2024, 3, 1),
        amount=Money.of("1000", "CNY"),
        invoice_numbers=["INV-2024-0012"],
    )
    return customer


def test_a_credit_quoting_an_invoice_already_paid_goes_to_review_on_account_of_its_customer(paid_up):
    customer = paid_up
    line = make_line("1000.00", payer="Somebody Else", remittance="货款 INV-2024-0012")

    summary = bank_match(as_of=AS_OF)

    line.refresh_from_db()
    assert (summary["applied"], summary["review"], summary["unmatched"]) == (0, 1, 0)
    assert line.status == LineStatus.REVIEW
    assert line.proposal.customer == customer and line.proposal.invoices == []
    assert any("INV-2024-0012 is no longer open" in reason for reason in line.proposal.reasons)
    assert _open("INV-2024-0013") == 25_000


def test_a_credit_quoting_a_paid_invoice_is_not_applied_to_another_at_once_even_when_its_amount_fits(paid_up):
    customer = paid_up
    make_alias(customer, account="6222 0000 1111", name="Paid Up Ltd", confirmations=5)
    line = make_line("250.00", payer="Paid Up Ltd", account="6222 0000 1111", remittance="INV-2024-0012")

    bank_match(as_of=AS_OF)

    line.refresh_from_db()
    assert line.status == LineStatus.REVIEW and line.proposal.customer == customer
    assert [item["number"] for item in line.proposal.invoices] == ["INV-2024-0013"]
    assert _open("INV-2024-0013") == 25_000


def test_accepting_a_proposal_that_names_no_invoice_leaves_the_money_on_account(paid_up):
    customer = paid_up
    line = make_line("1000.00", payer="Somebody Else", remittance="INV-2024-0012")
    bank_match(as_of=AS_OF)

    payment = proposal_accept(line=line, as_of=AS_OF)

    assert (payment.customer, payment.unapplied_minor) == (customer, 100_000)
    assert _open("INV-2024-0013") == 25_000
    assert not Allocation.objects.filter(payment=payment).exists()


def test_an_invoice_paid_earlier_in_the_same_run_names_its_customer_for_the_next_credit():
    customer = make_customer("TWICE", name="Twice Paid Ltd")
    make_invoice(customer, "1000.00", number="INV-2024-0012", issue_date=date(2024, 1, 1))
    make_invoice(customer, "400.00", number="INV-2024-0014", issue_date=date(2024, 1, 3))
    first = make_line(
        "1000.00", payer="Twice Paid Ltd", remittance="INV-2024-0012", booking_date=date(2024, 3, 4)
    )
    second = make_line("400.00", payer="Stranger", remittance="INV-2024-0012", booking_date=date(2024, 3, 5))

    bank_match(as_of=AS_OF)

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == LineStatus.APPLIED
    assert second.status == LineStatus.REVIEW and second.proposal.customer == customer
    assert _open("INV-2024-0014") == 40_000


def test_a_crash_mid_run_loses_and_duplicates_nothing(monkeypatch):
    customer = make_customer(name="Acme")
    statement = make_statement()
    for n in range(6):
        make_invoice(customer, "100.00", number=f"INV-10{n}")
        make_line("100.00", statement=statement, payer="Acme", remittance=f"INV-10{n}")
    real_write = matching_service._payments_write
    calls = []

    def crash_on_second_batch(applies, *args):
        calls.append(len(applies))
        if len(calls) == 2:
            real_write(applies, *args)  # the payments are written, then the process dies
            raise RuntimeError("power cut")
        real_write(applies, *args)

    monkeypatch.setattr(matching_service, "_payments_write", crash_on_second_batch)
    with pytest.raises(RuntimeError):
        bank_match(as_of=AS_OF, batch_size=2)
    assert BankStatementLine.objects.filter(status=LineStatus.APPLIED).count() == 2
    assert Payment.objects.count() == 2
    # the batch written teaches its payer; the one that failed teaches nothing
    assert PayerAlias.objects.get(kind="NAME", customer=customer).confirmations == 2

    monkeypatch.setattr(matching_service, "_payments_write", real_write)
    summary = bank_match(as_of=AS_OF, batch_size=2)

    assert summary["applied"] == 4
    assert BankStatementLine.objects.filter(status=LineStatus.APPLIED).count() == 6
    assert Payment.objects.count() == 6
    assert sorted(Payment.objects.values_list("external_id", flat=True)) == sorted(
        f"bank-line:{pk}" for pk in BankStatementLine.objects.values_list("pk", flat=True)
    )
    assert not Invoice.objects.filter(open_minor__gt=0).exists()
    assert PayerAlias.objects.get(kind="NAME", customer=customer).confirmations == 6


def test_a_batch_whose_invoices_changed_after_it_read_them_is_decided_again(monkeypatch):
    customer = make_customer(name="Acme")
    make_invoice(customer, "100.00", number="INV-0042")
    make_line("100.00", payer="Acme", remittance="INV-0042")
    real_fetch = matching_service._candidates_fetch
    loads = []

    def stale_first(customer_ids):
        fetched = real_fetch(customer_ids)
        loads.append(1)
        if len(loads) == 1:  # as if a payment of 30.00 was recorded right after this read
            Invoice.objects.filter(number="INV-0042").update(open_minor=7_000)
        return fetched

    monkeypatch.setattr(matching_service, "_candidates_fetch", stale_first)

    summary = bank_match(as_of=AS_OF)

    assert len(loads) == 2
    assert summary["lines"] == 1 and summary["applied"] + summary["review"] == 1
    assert Allocation.objects.filter(invoice__number="INV-0042").count() == summary["applied"]


def _six_lines_for_six_invoices():
    customer = make_customer(name="Acme")
    statement = make_statement()
    lines = []
    for n in range(6):
        make_invoice(customer, "100.00", number=f"INV-20{n}")
        lines.append(make_line("100.00", statement=statement, payer="Acme", remittance=f"INV-20{n}"))
    return customer, lines


def test_a_line_decided_by_someone_else_while_a_later_batch_was_weighed_is_left_to_them(monkeypatch):
    _customer, lines = _six_lines_for_six_invoices()
    real_read = matching_service._lines_read
    reads = []

    def excluded_after_second_read(batch):
        read = real_read(batch)
        reads.append([line.pk for line in batch])
        if len(reads) == 2:  # a reviewer excludes the batch's first line right after it was read
            BankStatementLine.objects.filter(pk=batch[0].pk).update(status=LineStatus.EXCLUDED)
        return read

    monkeypatch.setattr(matching_service, "_lines_read", excluded_after_second_read)

    summary = bank_match(as_of=AS_OF, batch_size=2)

    excluded = reads[1][0]
    assert BankStatementLine.objects.get(pk=excluded).status == LineStatus.EXCLUDED
    assert not Payment.objects.filter(external_id=f"bank-line:{excluded}").exists()
    assert summary["applied"] == 5 and summary["skipped"] == 1
    applied = BankStatementLine.objects.filter(status=LineStatus.APPLIED)
    assert applied.count() == 5 and Payment.objects.count() == 5 and Allocation.objects.count() == 5
    assert sorted(Payment.objects.values_list("external_id", flat=True)) == sorted(
        f"bank-line:{pk}" for pk in applied.values_list("pk", flat=True)
    )


def test_an_invoice_paid_by_someone_else_while_a_later_batch_was_weighed_is_weighed_again(monkeypatch):
    customer, lines = _six_lines_for_six_invoices()
    real_fetch = matching_service._candidates_fetch
    fetches = []

    def paid_after_second_fetch(customer_ids):
        fetched = real_fetch(customer_ids)
        fetches.append(1)
        if len(fetches) == 2:  # a collector records 30.00 against INV-203 right after this read
            payment_record(
                customer=customer,
                amount=Money.of("30.00", "CNY"),
                received_date=AS_OF,
                invoice_numbers=["INV-203"],
            )
        return fetched

    monkeypatch.setattr(matching_service, "_candidates_fetch", paid_after_second_fetch)

    summary = bank_match(as_of=AS_OF, batch_size=2)

    assert summary["lines"] == 6 and summary["applied"] + summary["review"] == 6
    for n in range(6):
        invoice = Invoice.objects.get(number=f"INV-20{n}")
        paid = sum(Allocation.objects.filter(invoice=invoice).values_list("amount_minor", flat=True))
        assert paid + invoice.open_minor == invoice.amount_minor and paid <= invoice.amount_minor
    assert Payment.objects.filter(external_id__startswith="bank-line:").count() == summary["applied"]


def test_a_payment_left_by_an_interrupted_run_is_linked_not_recorded_again():
    customer = make_customer(name="Acme")
    make_invoice(customer, "100.00", number="INV-0042")
    line = make_line("100.00", payer="Acme", remittance="INV-0042")
    payment = payment_record(
        customer=customer,
        received_date=line.booking_date,
        amount=Money(10_000, "CNY"),
        invoice_numbers=["INV-0042"],
        external_id=f"bank-line:{line.pk}",
    )

    summary = bank_match(as_of=AS_OF)

    line.refresh_from_db()
    assert summary["applied"] == 1
    assert (line.status, line.payment, line.customer) == (LineStatus.APPLIED, payment, customer)
    assert Payment.objects.count() == 1


def test_the_run_writes_what_payment_record_writes():
    """The batch path and the ledger's own service leave the same allocations, balances and shorts."""
    first, second = make_customer(name="First"), make_customer(name="Second")
    for customer, prefix in ((first, "A"), (second, "B")):
        make_invoice(customer, "300.00", number=f"{prefix}-0001", issue_date=date(2024, 1, 1))
        make_invoice(customer, "500.00", number=f"{prefix}-0002", issue_date=date(2024, 1, 5))
        make_invoice(
            customer, "200.00", number=f"{prefix}-0003", issue_date=date(2024, 4, 1)
        )  # after the credit
    line = make_line("1000.00", payer="First", remittance="A-0002 payment", booking_date=date(2024, 3, 15))
    # First's credit names A-0002 but pays more: the ledger's rule spends the rest oldest first.
    PayerAlias.objects.create(kind="NAME", value="FIRST", customer=first, confirmations=5)
    bank_match(as_of=AS_OF)
    line.refresh_from_db()
    assert line.status == LineStatus.APPLIED
    proposed = [item["number"] for item in line.proposal.invoices]
    assert proposed == ["A-0002"]
    payment_record(
        customer=second,
        received_date=date(2024, 3, 15),
        amount=Money(100_000, "CNY"),
        invoice_numbers=[number.replace("A", "B") for number in proposed],
        external_id="ledger",
    )

    def shape(customer, prefix):
        payment = Payment.objects.get(customer=customer)
        allocations = [
            (a.invoice.number.replace(prefix, "X"), a.amount_minor, a.allocation_date)
            for a in payment.allocations.order_by("pk")
        ]
        opened = sorted(
            (i.number.replace(prefix, "X"), i.open_minor, i.status, i.settled_date)
            for i in Invoice.objects.filter(customer=customer)
        )
        shorts = [
            (s.invoice.number.replace(prefix, "X"), s.short_minor) for s in payment.short_payments.all()
        ]
        entry = AuditEntry.objects.get(entity="ledger.payment", entity_id=str(payment.pk))
        return allocations, opened, shorts, payment.unapplied_minor, entry.after["allocations"]

    mine, ledgers = shape(first, "A"), shape(second, "B")
    assert mine[:4] == ledgers[:4]
    assert [[number.replace("A", "X"), minor] for number, minor in mine[4]] == [
        [number.replace("B", "X"), minor] for number, minor in ledgers[4]
    ]


def test_the_run_costs_the_same_queries_for_three_lines_as_for_thirty():
    def scenario(count: int) -> int:
        customer = make_customer(name=f"Payer {count}")
        for n in range(count):
            make_invoice(customer, "100.00", number=f"Q{count}-{n:05d}")
            make_line("100.00", payer=f"Payer {count}", remittance=f"Q{count}-{n:05d}")
            make_line("7.00", payer="Stranger")
        with CaptureQueriesContext(connection) as queries:
            summary = bank_match(as_of=AS_OF)
        assert summary["applied"] == count
        return len(queries)

    assert scenario(3) == scenario(30)
