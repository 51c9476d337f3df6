"""The credit rating run: every customer scored from its own record, kept, overridden, warned."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from huikuan.collections.models import Interaction, PromiseToPay, Task, TaskKind
from huikuan.core.models import AuditEntry
from huikuan.core.money import Money
from huikuan.customers.credit import (
    CreditError,
    credit_figures,
    credit_override_set,
    credit_overrides_expire,
    credit_rate,
    credit_rate_if_due,
    credit_rating_due,
)
from huikuan.customers.models import CreditRating, CreditWarning, Order, RatingKind, WarningCause
from huikuan.ledger.services import payment_record
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 11, 30)


def _paid_invoice(customer, *, due: date, paid: date, amount: str = "100.00"):
    invoice = make_invoice(customer, amount=amount, issue_date=due - timedelta(days=30), due_days=30)
    payment_record(
        customer=customer,
        received_date=paid,
        amount=Money.of(amount, "CNY"),
        invoice_numbers=[invoice.number],
    )
    return invoice


def _good(customer, count: int = 8) -> None:
    for n in range(count):
        due = AS_OF - timedelta(days=20 + 40 * n)
        _paid_invoice(customer, due=due, paid=due - timedelta(days=2))


def _bad(customer) -> None:
    for n in range(6):
        due = AS_OF - timedelta(days=20 + 40 * n)
        if n % 2:
            _paid_invoice(customer, due=due, paid=due + timedelta(days=45))
        else:
            make_invoice(customer, issue_date=due - timedelta(days=30), due_days=30)
    for n in range(3):
        PromiseToPay.objects.create(
            customer=customer, currency="CNY", amount_minor=10000, promised_date=AS_OF - timedelta(days=10 + n),
            status="BROKEN",
        )  # fmt: skip


def test_figures_read_the_record_of_each_customer():
    good, bad = make_customer(), make_customer()
    _good(good)
    _bad(bad)
    figures = credit_figures(as_of=AS_OF)
    assert figures[good.pk].invoices_due == 8
    assert figures[good.pk].invoices_on_time == 8
    assert figures[good.pk].recent_days_late == 0
    assert figures[bad.pk].invoices_due == 6
    assert figures[bad.pk].invoices_on_time == 0
    # Three paid 45 days late, three still open: each late until the rating date.
    lates = [45, 45, 45] + [(AS_OF - (AS_OF - timedelta(days=20 + 40 * n))).days for n in (0, 2, 4)]
    assert figures[bad.pk].recent_days_late + figures[bad.pk].earlier_days_late == sum(lates)
    assert figures[bad.pk].promises_broken == 3
    assert figures[bad.pk].open_minor == 30000
    only = credit_figures(as_of=AS_OF, customer_ids=[bad.pk])
    assert set(only) == {bad.pk}


def test_the_run_keeps_each_rating_with_its_inputs_and_moves_grades():
    good, bad, new = make_customer(), make_customer(grade="A"), make_customer()
    _good(good)
    _bad(bad)
    run = credit_rate(as_of=AS_OF, triggered_by="test")
    assert run.customers_rated == 3
    ratings = {rating.customer_id: rating for rating in CreditRating.objects.filter(run=run)}
    assert ratings[good.pk].grade == "A"
    assert ratings[bad.pk].grade == "D"
    assert ratings[new.pk].grade == "B"  # no record yet: the middle of the scale
    assert ratings[bad.pk].inputs["promises_broken"] == 3
    assert {factor["key"] for factor in ratings[bad.pk].factors} >= {
        "on_time_share",
        "days_late",
        "promises_broken",
    }
    bad.refresh_from_db()
    good.refresh_from_db()
    assert (bad.grade, bad.rated_grade, bad.credit_score) == ("D", "D", ratings[bad.pk].score)
    assert good.grade == "A"
    assert ratings[bad.pk].previous_grade == "A"
    assert AuditEntry.objects.filter(customer=bad, entity="customers.customer", after={"grade": "D"}).exists()


def test_an_override_outranks_the_rating_until_it_expires(django_user_model):
    manager = django_user_model.objects.create_user(username="boss")
    bad = make_customer()
    _bad(bad)
    credit_rate(as_of=AS_OF)
    credit_override_set(customer=bad, grade="B", reason="new owner paid a deposit", until=AS_OF + timedelta(days=30),
                        actor=manager, today=AS_OF)  # fmt: skip
    bad.refresh_from_db()
    assert bad.grade == "B"
    credit_rate(as_of=AS_OF + timedelta(days=1))
    bad.refresh_from_db()
    assert (bad.grade, bad.rated_grade) == ("B", "D")
    assert AuditEntry.objects.filter(entity="customers.creditoverride", actor=manager).exists()
    assert credit_overrides_expire(as_of=AS_OF + timedelta(days=30)) == 0
    assert credit_overrides_expire(as_of=AS_OF + timedelta(days=31)) == 1
    bad.refresh_from_db()
    assert bad.grade == "D"
    with pytest.raises(CreditError):
        credit_override_set(customer=bad, grade="E", reason="x", until=AS_OF, today=AS_OF)
    with pytest.raises(CreditError):
        credit_override_set(customer=bad, grade="A", reason=" ", until=AS_OF, today=AS_OF)


def test_the_schedule_rates_once_per_period(settings):
    settings.HUIKUAN_CREDIT_RATING_CADENCE = "quarterly"
    make_customer()
    assert credit_rating_due(as_of=date(2026, 10, 2))
    assert credit_rate_if_due(as_of=date(2026, 10, 2))["rated"] is True
    assert credit_rate_if_due(as_of=date(2026, 11, 2))["rated"] is False
    assert credit_rate_if_due(as_of=date(2027, 1, 1))["rated"] is True
    assert CreditRating.objects.filter(kind=RatingKind.SCHEDULED).count() == 2


def test_orders_count_towards_exposure():
    customer = make_customer(credit_limit_minor=100000)
    make_invoice(customer, amount="300.00", issue_date=AS_OF - timedelta(days=5))
    Order.objects.create(
        customer=customer, number="SO-1", order_date=AS_OF, currency="CNY", amount_minor=50000
    )
    Order.objects.create(customer=customer, number="SO-2", order_date=AS_OF, currency="CNY", amount_minor=70000,
                         status="INVOICED")  # fmt: skip
    run = credit_rate(as_of=AS_OF)
    rating = CreditRating.objects.get(run=run, customer=customer)
    ratio = next(factor for factor in rating.factors if factor["key"] == "exposure_ratio")
    assert ratio["value"] == 0.8


def test_warnings_are_raised_once_while_they_stand_and_again_after_they_cleared():
    customer = make_customer()
    _good(customer, count=3)
    for n in range(3):
        Interaction.objects.create(
            customer=customer, kind="CALL", outcome="NO_ANSWER",
            occurred_at=datetime(2026, 11, 20 + n, 3, 0, tzinfo=UTC),
        )  # fmt: skip
    credit_rate(as_of=AS_OF)
    tasks = Task.objects.filter(
        customer=customer, kind=TaskKind.EARLY_WARNING, evidence__0__cause="unreachable"
    )
    assert tasks.count() == 1
    task = tasks.get()
    assert task.evidence[0] == {"cause": "unreachable"}
    assert {"fact": "unanswered_in_a_row", "value": 3} in task.evidence
    credit_rate(as_of=AS_OF + timedelta(days=1))
    assert tasks.count() == 1
    Interaction.objects.create(customer=customer, kind="CALL", outcome="REACHED",
                               occurred_at=datetime(2026, 12, 1, 3, 0, tzinfo=UTC))  # fmt: skip
    credit_rate(as_of=AS_OF + timedelta(days=2))
    assert CreditWarning.objects.get(customer=customer, cause="unreachable").cleared_on == AS_OF + timedelta(
        days=2
    )
    for n in range(3):
        Interaction.objects.create(customer=customer, kind="VISIT", outcome="WRONG_NUMBER",
                                   occurred_at=datetime(2026, 12, 2, 3, n, tzinfo=UTC))  # fmt: skip
    credit_rate(as_of=AS_OF + timedelta(days=3))
    assert tasks.count() == 2
    assert (
        CreditWarning.objects.filter(customer=customer, cause="unreachable", cleared_on__isnull=True).count()
        == 1
    )


def test_a_downgrade_raises_a_warning_for_the_collector(django_user_model):
    collector = django_user_model.objects.create_user(username="li")
    customer = make_customer(collector=collector, grade="A")
    _bad(customer)
    credit_rate(as_of=AS_OF)
    causes = set(CreditWarning.objects.filter(customer=customer).values_list("cause", flat=True))
    assert WarningCause.DOWNGRADE in causes
    assert WarningCause.PROMISES_BROKEN in causes
    assert set(Task.objects.filter(kind=TaskKind.EARLY_WARNING).values_list("assignee", flat=True)) == {
        collector.pk
    }


def _policy_code_of_run(customer, as_of: date) -> str | None:
    from huikuan.dunning.engine import dunning_run
    from huikuan.dunning.models import DunningAction

    codes: list[str] = []

    def inspect(result) -> None:
        codes.extend(
            DunningAction.objects.filter(run_id=result.run_id, customer=customer).values_list(
                "policy__code", flat=True
            )
        )

    dunning_run(as_of=as_of, dry_run=True, customer_id=customer.id, list_actions=False, inspect=inspect)
    return codes[0] if codes else None


def test_a_downgrade_moves_the_customer_to_the_policy_of_its_new_grade():
    from huikuan.dunning.models import Policy

    customer = make_customer(grade="A")
    _bad(customer)
    gentle = next(policy.code for policy in Policy.objects.filter(is_active=True) if "A" in policy.grades)
    before = _policy_code_of_run(customer, AS_OF)
    credit_rate(as_of=AS_OF)
    customer.refresh_from_db()
    after = _policy_code_of_run(customer, AS_OF)
    assert customer.grade == "D"
    assert before == gentle
    assert after is not None and after != before
    assert "D" in Policy.objects.get(code=after).grades
