"""The debtor-type rules as plain Python: the order they are tried in, and their bounds."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from huikuan.insights.classify import (
    COMPETITIVE,
    MALICIOUS,
    REASON_BASED,
    TECHNICAL,
    TYPES,
    UNDETERMINED,
    DebtorFacts,
    debtor_classify,
)

AS_OF = date(2024, 6, 30)


def facts(**values) -> DebtorFacts:
    values.setdefault("overdue_invoices", 1)
    values.setdefault("oldest_due_date", AS_OF - timedelta(days=20))
    return DebtorFacts(customer_id=1, as_of=AS_OF, **values)


def test_a_dispute_raised_before_anything_broke_wins_over_every_other_sign():
    found = debtor_classify(
        facts(
            disputes_open=1,
            first_open_dispute_date=date(2024, 3, 1),
            promises_broken=2,
            first_broken_date=date(2024, 4, 1),
            last_broken_date=date(2024, 5, 1),
            unanswered_since_reached=4,
        )
    )
    assert found.debtor_type == REASON_BASED


def test_a_broken_promise_without_silence_is_not_malicious():
    found = debtor_classify(facts(promises_made=1, promises_broken=1, last_broken_date=date(2024, 5, 1)))
    assert found.debtor_type != MALICIOUS


def test_a_bad_history_is_not_technical_however_responsive():
    found = debtor_classify(
        facts(settled_invoices=10, settled_on_time=5, contacts_reached=3, last_reached_date=date(2024, 6, 1))
    )
    assert found.debtor_type == UNDETERMINED


def test_lateness_older_than_the_limit_is_not_sudden():
    good = {"settled_invoices": 10, "settled_on_time": 10, "contacts_reached": 2, "last_reached_date": AS_OF}
    assert debtor_classify(facts(**good)).debtor_type == TECHNICAL
    old = facts(**good, oldest_due_date=AS_OF - timedelta(days=61))
    assert debtor_classify(old).debtor_type == UNDETERMINED


def test_short_payments_with_a_dispute_in_the_period_are_not_competitive():
    assert debtor_classify(facts(short_payments=3)).debtor_type == COMPETITIVE
    assert debtor_classify(facts(short_payments=3, disputes_in_period=1)).debtor_type != COMPETITIVE


counts = st.integers(min_value=0, max_value=20)
days = st.one_of(st.none(), st.dates(min_value=date(2023, 7, 1), max_value=AS_OF))


@given(
    st.builds(
        facts,
        settled_invoices=counts,
        settled_on_time=counts,
        promises_made=counts,
        promises_kept=counts,
        promises_broken=counts,
        first_broken_date=days,
        last_broken_date=days,
        contacts_reached=counts,
        last_reached_date=days,
        unanswered_since_reached=counts,
        statements_unanswered=counts,
        complaints=counts,
        disputes_open=counts,
        first_open_dispute_date=days,
        disputes_in_period=counts,
        payments=counts,
        payments_after_escalation=counts,
        short_payments=counts,
        plans_agreed=counts,
        oldest_due_date=st.dates(min_value=date(2023, 1, 1), max_value=AS_OF - timedelta(days=1)),
    )
)
def test_every_record_gets_one_type_a_bounded_confidence_and_evidence(record):
    found = debtor_classify(record)

    assert found.debtor_type in TYPES
    assert 0 <= found.confidence <= 100
    assert found.evidence and all(isinstance(item["code"], str) for item in found.evidence)
    assert (found.confidence == 0) == (found.debtor_type == UNDETERMINED)


silent_breaker = st.builds(
    facts,
    promises_made=st.integers(1, 10),
    promises_broken=st.integers(1, 10),
    last_broken_date=st.dates(min_value=date(2024, 1, 1), max_value=date(2024, 5, 1)),
    last_reached_date=st.one_of(st.none(), st.dates(min_value=date(2023, 7, 1), max_value=date(2024, 1, 1))),
    unanswered_since_reached=st.integers(2, 10),
)


@given(silent_breaker, st.integers(1, 5))
def test_another_broken_promise_never_makes_a_silent_debtor_look_less_malicious(record, more):
    before = debtor_classify(record)
    after = debtor_classify(replace(record, promises_broken=record.promises_broken + more))

    assert before.debtor_type == after.debtor_type == MALICIOUS
    assert after.confidence >= before.confidence


@given(silent_breaker, st.dates(min_value=date(2023, 7, 1), max_value=date(2023, 12, 31)))
def test_a_dispute_raised_before_the_promises_broke_always_puts_the_complaint_first(record, opened):
    disputed = replace(
        record, disputes_open=1, first_open_dispute_date=opened, first_broken_date=date(2024, 1, 1)
    )

    assert debtor_classify(disputed).debtor_type == REASON_BASED
