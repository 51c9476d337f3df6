"""The set-based run decides exactly what the plain-Python ladder rule (dunning/policy.py) decides."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huikuan.dunning.engine import dunning_run
from huikuan.dunning.models import DunningAction, DunningRun, InvoiceDunningLevel, Policy, Stage
from huikuan.dunning.policy import InvoiceStanding, StageRule, customer_communication
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 11, 23)
NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)

invoice_strategy = st.tuples(
    st.integers(min_value=0, max_value=2),  # customer
    st.integers(min_value=-20, max_value=150),  # days overdue
    st.integers(min_value=0, max_value=9),  # level reached
    st.integers(min_value=1, max_value=5000),  # amount, whole yuan
)


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    invoices=st.lists(invoice_strategy, min_size=1, max_size=12),
    previous=st.lists(st.one_of(st.none(), st.integers(min_value=1, max_value=30)), min_size=3, max_size=3),
)
def test_the_run_agrees_with_the_ladder_rule(invoices, previous):
    policy = Policy.objects.get(code="standard")
    rules = [
        StageRule(s.position, s.trigger_days, s.min_days_since_previous)
        for s in Stage.objects.filter(policy=policy).order_by("position")
    ]
    with transaction.atomic():
        customers = [make_customer(code=f"P{i}", country="CN", grade="B") for i in range(3)]
        standings: dict[int, list[InvoiceStanding]] = {i: [] for i in range(3)}
        for n, (who, days, level, amount) in enumerate(invoices):
            due = AS_OF - timedelta(days=days)
            invoice = make_invoice(
                customers[who],
                amount=f"{amount}.00",
                issue_date=due - timedelta(days=30),
                due_days=30,
                number=f"PROP-{n}",
            )
            if level:
                InvoiceDunningLevel.objects.create(invoice=invoice, level=level, level_date=AS_OF)
            standings[who].append(InvoiceStanding(invoice.id, due, amount * 100, level))
        stage_one = Stage.objects.get(policy=policy, position=1)
        for who, days_ago in enumerate(previous):
            if days_ago is None:
                continue
            earlier = DunningRun.objects.get_or_create(
                as_of=AS_OF - timedelta(days=days_ago), defaults={"started_at": NOW, "finished_at": NOW}
            )[0]
            DunningAction.objects.create(
                run=earlier,
                as_of=earlier.as_of,
                customer=customers[who],
                currency="CNY",
                policy=policy,
                policy_version=1,
                stage=stage_one,
                stage_position=1,
                amount_minor=1,
                invoice_count=1,
                max_days_overdue=0,
            )

        result = dunning_run(as_of=AS_OF, now=NOW, dry_run=True)
        transaction.set_rollback(True)

    decided = {
        entry["customer"]: (entry["stage_position"], sorted(entry["invoices"]), entry["amount"])
        for entry in result.actions
    }
    expected = {}
    for who in range(3):
        previous_date = AS_OF - timedelta(days=previous[who]) if previous[who] is not None else None
        communication = customer_communication(
            standings=standings[who], stages=rules, as_of=AS_OF, previous_communication_date=previous_date
        )
        if communication is not None:
            ids = set(communication.invoice_ids)
            numbers = sorted(
                f"PROP-{n}"
                for n, standing in _numbered(invoices, standings, who)
                if standing.invoice_id in ids
            )
            expected[f"P{who}"] = (
                communication.stage_position,
                numbers,
                f"{communication.amount_minor // 100}.00",
            )
    assert decided == expected


def _numbered(invoices, standings, who):
    """Pair each of a customer's standings with the invoice number it was created under."""
    ordinals = [n for n, (w, *_rest) in enumerate(invoices) if w == who]
    return list(zip(ordinals, standings[who], strict=True))
