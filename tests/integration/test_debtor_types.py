"""Each debtor type's story from the playbook (§5), built through the real services and classified."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from huikuan.collections.models import InteractionOutcome
from huikuan.collections.services import dispute_open, interaction_log, promise_create, promises_review
from huikuan.core.money import Money
from huikuan.customers.models import Customer
from huikuan.insights.facts import debtor_facts_gather
from huikuan.insights.models import ClassificationSource, DebtorClassification, DebtorType
from huikuan.insights.selectors import classification_current, debtor_types_current
from huikuan.insights.services import ClassificationInvalid, classification_decide, debtors_classify
from huikuan.ledger.services import payment_record
from tests.factories import make_action, make_customer, make_invoice

pytestmark = pytest.mark.django_db

AS_OF = date(2024, 6, 30)


@pytest.fixture
def collector():
    return get_user_model().objects.create_user("zhao.lei", password="x")


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def pay(customer: Customer, amount: str, on: date, *invoices) -> None:
    payment_record(
        customer=customer,
        received_date=on,
        amount=Money.of(amount, "CNY"),
        invoice_numbers=[invoice.number for invoice in invoices],
    )


def talk(customer: Customer, user, on: date, outcome: str, kind: str = "CALL") -> None:
    interaction_log(customer=customer, user=user, kind=kind, occurred_at=at(on), outcome=outcome)


def classify(customer: Customer) -> DebtorClassification:
    debtors_classify(as_of=AS_OF)
    current = classification_current(customer=customer)
    assert current is not None
    return current


def codes(classification: DebtorClassification) -> dict[str, dict]:
    return {item["code"]: item for item in classification.evidence}


def malicious_story(collector) -> Customer:
    """Warm at first, a promise, then delay, then silence (貌似真诚→承诺→拖延→沉默)."""
    customer = make_customer(collector=collector)
    invoice = make_invoice(customer, amount="5000.00", issue_date=date(2024, 3, 1), due_days=30)
    talk(customer, collector, date(2024, 4, 8), InteractionOutcome.PROMISED)
    promise_create(
        customer=customer,
        user=collector,
        amount=Money.of("5000.00", "CNY"),
        promised_date=date(2024, 4, 20),
        invoices=[invoice],
        made_date=date(2024, 4, 8),
    )
    promises_review(as_of=date(2024, 4, 30))  # nothing paid: broken from 24 April
    for day in (date(2024, 5, 2), date(2024, 5, 9), date(2024, 5, 16)):
        talk(customer, collector, day, InteractionOutcome.NO_ANSWER)
    return customer


def test_promises_made_then_broken_then_silence_is_malicious(collector):
    customer = malicious_story(collector)

    found = classify(customer)

    assert found.debtor_type == DebtorType.MALICIOUS and found.source == ClassificationSource.AUTOMATIC
    evidence = codes(found)
    assert evidence["promises_made"]["count"] == 1
    assert evidence["promises_broken"] == {"code": "promises_broken", "count": 1, "last": "2024-04-24"}
    assert evidence["silence"]["count"] == 3 and evidence["silence"]["since"] == "2024-04-08"
    assert 60 <= found.confidence <= 95


def test_reaching_them_after_the_broken_promise_ends_the_silence(collector):
    customer = malicious_story(collector)
    talk(customer, collector, date(2024, 5, 20), InteractionOutcome.REACHED)

    assert classify(customer).debtor_type != DebtorType.MALICIOUS


def test_a_dispute_raised_only_after_the_promise_broke_does_not_hide_a_malicious_debtor(collector):
    customer = malicious_story(collector)
    dispute_open(invoice=customer.invoices.get(), reason="QUALITY", opened_date=date(2024, 5, 20))

    found = classify(customer)

    assert found.debtor_type == DebtorType.MALICIOUS
    assert "dispute_after_broken_promise" in codes(found)


def test_good_history_sudden_lateness_reachable_and_asking_for_time_is_technical(collector):
    customer = make_customer(collector=collector)
    for month in range(1, 6):  # five invoices, each paid before it was due
        invoice = make_invoice(customer, amount="1000.00", issue_date=date(2023, 7 + month, 1), due_days=30)
        pay(customer, "1000.00", date(2023, 7 + month, 25), invoice)
    late = make_invoice(customer, amount="3000.00", issue_date=date(2024, 5, 1), due_days=30)
    talk(customer, collector, date(2024, 6, 10), InteractionOutcome.PROMISED)
    promise_create(
        customer=customer,
        user=collector,
        amount=Money.of("3000.00", "CNY"),
        promised_date=date(2024, 7, 15),
        invoices=[late],
        made_date=date(2024, 6, 10),
    )

    found = classify(customer)

    assert found.debtor_type == DebtorType.TECHNICAL
    evidence = codes(found)
    assert evidence["good_history"] == {"code": "good_history", "on_time_percent": 100, "settled": 5}
    assert evidence["late_since"]["date"] == "2024-05-31"
    assert evidence["responsive"]["reached"] == 1
    assert evidence["asked_for_time"]["promises"] == 1


def test_paying_only_after_escalation_and_in_part_without_disputes_is_competitive(collector):
    customer = make_customer(collector=collector)
    first = make_invoice(customer, amount="2000.00", issue_date=date(2024, 1, 1), due_days=30)
    make_action(customer, [first], as_of=date(2024, 3, 1))  # formal notice, 30 days late
    pay(customer, "2000.00", date(2024, 3, 6), first)
    second = make_invoice(customer, amount="2000.00", issue_date=date(2024, 3, 1), due_days=30)
    make_action(customer, [second], as_of=date(2024, 5, 1))
    pay(customer, "1500.00", date(2024, 5, 8), second)  # in part, and only once pressed
    make_invoice(customer, amount="2000.00", issue_date=date(2024, 5, 1), due_days=30)

    found = classify(customer)

    assert found.debtor_type == DebtorType.COMPETITIVE
    evidence = codes(found)
    assert evidence["payments_after_escalation"] == {"code": "payments_after_escalation", "count": 2, "of": 2}
    assert evidence["short_payments"]["count"] == 1
    assert "no_disputes" in evidence


def test_payments_long_after_the_notice_are_not_counted_as_following_it(collector):
    customer = make_customer(collector=collector)
    first = make_invoice(customer, amount="2000.00", issue_date=date(2024, 1, 1), due_days=30)
    make_action(customer, [first], as_of=date(2024, 3, 1))
    pay(customer, "2000.00", date(2024, 3, 12), first)  # eleven days later: past the ten-day window
    make_invoice(customer, amount="2000.00", issue_date=date(2024, 5, 1), due_days=30)

    (facts,) = debtor_facts_gather(as_of=AS_OF, customer_ids=[customer.pk])

    assert facts.payments == 1 and facts.payments_after_escalation == 0


def test_an_open_dispute_makes_the_debt_reason_based(collector):
    customer = make_customer(collector=collector)
    invoice = make_invoice(customer, amount="800.00", issue_date=date(2024, 4, 1), due_days=30)
    dispute_open(invoice=invoice, reason="QUALITY", opened_date=date(2024, 5, 10))
    talk(customer, collector, date(2024, 5, 12), InteractionOutcome.DISPUTED)

    found = classify(customer)

    assert found.debtor_type == DebtorType.REASON_BASED
    evidence = codes(found)
    assert evidence["disputes_open"] == {"code": "disputes_open", "count": 1, "since": "2024-05-10"}
    assert evidence["complaints"]["count"] == 1
    assert found.confidence >= 80


def test_an_overdue_customer_with_nothing_else_on_record_is_undetermined(collector):
    customer = make_customer(collector=collector)
    make_invoice(customer, amount="800.00", issue_date=date(2024, 4, 1), due_days=30)

    found = classify(customer)

    assert found.debtor_type == DebtorType.UNDETERMINED and found.confidence == 0
    evidence = codes(found)
    assert evidence["overdue"] == {"code": "overdue", "invoices": 1, "since": "2024-05-01"}
    assert {"not_reached_yet", "little_history"} <= set(evidence)


def test_customers_not_overdue_are_not_classified(collector):
    customer = make_customer(collector=collector)
    make_invoice(customer, amount="800.00", issue_date=date(2024, 6, 20), due_days=30)

    result = debtors_classify(as_of=AS_OF)

    assert result.customers == 0 and classification_current(customer=customer) is None


def test_a_run_on_an_unchanged_record_writes_nothing(collector):
    malicious_story(collector)
    assert debtors_classify(as_of=AS_OF).written == 1

    again = debtors_classify(as_of=AS_OF + timedelta(days=3))

    assert again.written == 0 and DebtorClassification.objects.count() == 1


def test_a_correction_is_kept_until_the_record_changes_materially(collector):
    customer = malicious_story(collector)
    assert classify(customer).debtor_type == DebtorType.MALICIOUS

    corrected = classification_decide(
        customer=customer, user=collector, as_of=AS_OF, debtor_type=DebtorType.TECHNICAL, note="cash squeeze"
    )
    debtors_classify(as_of=AS_OF + timedelta(days=1))

    current = classification_current(customer=customer)
    assert current.pk == corrected.pk and current.debtor_type == DebtorType.TECHNICAL
    assert current.source == ClassificationSource.COLLECTOR and current.decided_by == collector
    assert current.automatic_type == DebtorType.MALICIOUS and current.note == "cash squeeze"

    # A dispute raised before anything else would be: the rules now say something new.
    other = make_invoice(customer, amount="100.00", issue_date=date(2024, 1, 1), due_days=30)
    dispute_open(invoice=other, reason="PRICE", opened_date=date(2024, 3, 1))
    debtors_classify(as_of=AS_OF + timedelta(days=2))

    current = classification_current(customer=customer)
    assert current.debtor_type == DebtorType.REASON_BASED and current.source == ClassificationSource.AUTOMATIC
    history = list(DebtorClassification.objects.filter(customer=customer).order_by("id"))
    assert [row.debtor_type for row in history] == ["MALICIOUS", "TECHNICAL", "REASON_BASED"]
    assert [row.is_current for row in history] == [False, False, True]


def test_a_confirmation_keeps_the_type_and_names_who_confirmed(collector):
    customer = malicious_story(collector)
    classify(customer)

    confirmed = classification_decide(customer=customer, user=collector, as_of=AS_OF)

    assert confirmed.debtor_type == DebtorType.MALICIOUS and confirmed.confidence == 100
    assert codes(confirmed)["promises_broken"]["count"] == 1


def test_there_is_nothing_to_confirm_before_a_classification_and_unknown_types_are_refused(collector):
    customer = malicious_story(collector)
    with pytest.raises(ClassificationInvalid):
        classification_decide(customer=customer, user=collector, as_of=AS_OF)
    with pytest.raises(ClassificationInvalid):
        classification_decide(customer=customer, user=collector, as_of=AS_OF, debtor_type="GREEDY")


def test_customers_no_longer_overdue_lose_their_automatic_classification(collector):
    customer = malicious_story(collector)
    classify(customer)
    pay(customer, "5000.00", AS_OF, customer.invoices.get())

    result = debtors_classify(as_of=AS_OF + timedelta(days=1))

    assert result.retired == 1 and classification_current(customer=customer) is None


def test_the_current_types_for_the_dunning_policy_are_one_set(collector):
    malicious = malicious_story(collector)
    plain = make_customer(collector=collector)
    make_invoice(plain, amount="10.00", issue_date=date(2024, 4, 1))
    debtors_classify(as_of=AS_OF)

    types = dict(debtor_types_current().values_list("customer_id", "debtor_type"))

    assert types == {malicious.pk: "MALICIOUS", plain.pk: "UNDETERMINED"}


def test_facts_are_gathered_in_the_same_number_of_queries_for_one_customer_or_many(collector):
    malicious_story(collector)
    with CaptureQueriesContext(connection) as one:
        debtor_facts_gather(as_of=AS_OF)
    for _ in range(4):
        malicious_story(collector)
    with CaptureQueriesContext(connection) as five:
        facts = debtor_facts_gather(as_of=AS_OF)

    assert len(facts) == 5
    assert len(five.captured_queries) == len(one.captured_queries) <= 15
