"""Instalment plans: agreeing one, tracking it against payments, breaking it, and its agreement PDF."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.translation import gettext as _
from pypdf import PdfReader

from huikuan.collections.models import Instalment, InstalmentPlan, PlanStatus, Task, TaskKind
from huikuan.collections.services import (
    PlanInvalid,
    WrongCustomer,
    dispute_open,
    plan_agreement_pdf,
    plan_create,
    plans_review,
)
from huikuan.core.models import AuditEntry
from huikuan.core.money import Money
from huikuan.dunning.engine import dunning_run
from huikuan.dunning.models import DunningAction
from huikuan.ledger.models import Invoice
from huikuan.ledger.services import payment_record
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db

START = date(2024, 3, 4)


@pytest.fixture
def collector():
    return get_user_model().objects.create_user("sun.li", password="x")


@pytest.fixture
def customer(collector):
    return make_customer(collector=collector, name="上海青松贸易有限公司", legal_name="上海青松贸易有限公司")


def cny(amount: str) -> Money:
    return Money.of(amount, "CNY")


def pay(customer, amount: str, on: date) -> None:
    payment_record(customer=customer, received_date=on, amount=cny(amount))


def schedule_of(plan: InstalmentPlan) -> list[tuple[date, int, int]]:
    return list(plan.instalments.order_by("sequence").values_list("due_date", "amount_minor", "paid_minor"))


def test_a_plan_spreads_what_the_invoices_have_open_over_equal_monthly_instalments(customer, collector):
    first = make_invoice(customer, amount="6000.00")
    second = make_invoice(customer, amount="4000.00")
    pay(customer, "1000.00", date(2024, 2, 1))  # leaves 5,000 open on the first

    plan = plan_create(customer=customer, invoices=[first, second], start_date=START, count=3, user=collector)

    assert (plan.status, plan.currency, plan.principal_minor, plan.interest_minor) == (
        "ACTIVE",
        "CNY",
        900000,
        0,
    )
    assert schedule_of(plan) == [
        (date(2024, 4, 4), 300000, 0),
        (date(2024, 5, 4), 300000, 0),
        (date(2024, 6, 4), 300000, 0),
    ]
    assert set(plan.invoices.all()) == {first, second}
    entry = AuditEntry.objects.get(entity="collections.instalmentplan", entity_id=str(plan.pk))
    assert entry.actor == collector and entry.after["instalments"][2] == ["2024-06-04", 300000]


def test_a_fee_and_interest_are_invoiced_with_the_last_instalment_and_tracked_with_the_plan(
    customer, collector
):
    invoice = make_invoice(customer, amount="12000.00")

    plan = plan_create(
        customer=customer,
        invoices=[invoice],
        start_date=date(2024, 1, 1),
        dates=[date(2024, 2, 1), date(2024, 3, 1), date(2024, 4, 1)],
        fee=cny("50.00"),
        interest_rate="0.0365",
        user=collector,
    )

    charges = Invoice.objects.get(number=f"PLAN-{plan.pk}")
    assert plan.interest_minor == 3720 + 2320 + 1240 and plan.fee_minor == 5000
    assert charges.amount_minor == 5000 + 7280 and charges.due_date == date(2024, 4, 1)
    assert set(plan.invoices.all()) == {invoice, charges}
    assert sum(amount for _due, amount, _paid in schedule_of(plan)) == 1200000 + 12280


def test_custom_amounts_that_do_not_add_up_are_refused_with_the_total_they_must_reach(customer, collector):
    invoice = make_invoice(customer, amount="1000.00")

    with pytest.raises(PlanInvalid) as error:
        plan_create(
            customer=customer,
            invoices=[invoice],
            start_date=START,
            amounts=[cny("400.00"), cny("500.00")],
            user=collector,
        )

    assert error.value.code == "amounts_total" and "100000" in error.value.message
    assert not InstalmentPlan.objects.exists()


def test_invoices_of_another_customer_in_a_current_plan_or_under_dispute_cannot_join_a_plan(
    customer, collector
):
    planned = make_invoice(customer, amount="1000.00")
    plan_create(customer=customer, invoices=[planned], start_date=START, count=2, user=collector)
    disputed = make_invoice(customer, amount="1000.00")
    dispute_open(invoice=disputed, reason="QUALITY", opened_date=START)
    usd = make_invoice(customer, amount="1000.00", currency="USD")
    cny_open = make_invoice(customer, amount="1000.00")

    def refused(invoices) -> str:
        with pytest.raises((PlanInvalid, WrongCustomer)) as error:
            plan_create(customer=customer, invoices=invoices, start_date=START, count=2, user=collector)
        return error.value.code

    assert refused([planned]) == "invoice_in_plan"
    assert refused([disputed]) == "invoice_disputed"
    assert refused([usd, cny_open]) == "currency_mismatch"
    assert refused([make_invoice(make_customer())]) == "of_another_customer"
    assert refused([]) == "no_invoices"


def test_payments_cover_the_instalments_oldest_first_and_the_plan_completes_when_all_are_paid(customer):
    invoice = make_invoice(customer, amount="3000.00")
    plan = plan_create(customer=customer, invoices=[invoice], start_date=START, count=3, user=None)
    pay(customer, "1500.00", date(2024, 4, 1))

    partway = plans_review(as_of=date(2024, 4, 20))
    after_first = schedule_of(plan)
    pay(customer, "1500.00", date(2024, 5, 30))
    done = plans_review(as_of=date(2024, 6, 1))

    plan.refresh_from_db()
    assert [paid for _d, _a, paid in after_first] == [100000, 50000, 0]
    assert (partway["completed"], done["completed"]) == (0, 1)
    assert plan.status == PlanStatus.COMPLETED and plan.completed_date == date(2024, 6, 1)
    assert [paid for _d, _a, paid in schedule_of(plan)] == [100000, 100000, 100000]


def test_a_missed_instalment_breaks_the_plan_after_the_grace_and_makes_one_task(customer, collector):
    invoice = make_invoice(customer, amount="3000.00")
    plan = plan_create(
        customer=customer, invoices=[invoice], start_date=START, count=3, grace_days=5, user=None
    )
    pay(customer, "999.99", date(2024, 4, 4))

    last_day_of_grace = plans_review(as_of=date(2024, 4, 9))
    broken = plans_review(as_of=date(2024, 4, 10))
    again = plans_review(as_of=date(2024, 4, 10))

    plan.refresh_from_db()
    assert (last_day_of_grace["broken"], broken["broken"], again["broken"]) == (0, 1, 0)
    assert plan.status == PlanStatus.BROKEN and plan.broken_date == date(2024, 4, 10)
    task = Task.objects.get(kind=TaskKind.PLAN_BROKEN)
    assert task.plan == plan and task.assignee == collector and "2024-04-04" in task.title
    entry = AuditEntry.objects.get(entity="collections.instalmentplan", action="UPDATE")
    assert entry.after["status"] == "BROKEN" and entry.actor_label == "collections review"


def test_a_plan_whose_invoices_were_credited_in_full_completes(customer, collector):
    from huikuan.ledger.services import credit_note_issue

    invoice = make_invoice(customer, amount="3000.00")
    plan = plan_create(customer=customer, invoices=[invoice], start_date=START, count=3, user=None)
    credit_note_issue(
        invoice=invoice, amount=cny("3000.00"), on_date=date(2024, 3, 20), reason="returned goods"
    )

    plans_review(as_of=date(2024, 3, 21))

    plan.refresh_from_db()
    assert plan.status == PlanStatus.COMPLETED


def test_the_review_needs_the_same_queries_for_two_plans_or_twenty(django_assert_max_num_queries):
    def plans(n: int) -> None:
        for i in range(n):
            someone = make_customer()
            invoice = make_invoice(someone, amount="200.00")
            plan_create(customer=someone, invoices=[invoice], start_date=START, count=2, user=None)
            if i % 2 == 0:
                pay(someone, "200.00", date(2024, 4, 1))

    plans(2)  # one completed, one broken
    with CaptureQueriesContext(connection) as few:
        plans_review(as_of=date(2024, 4, 20))
    plans(18)

    with django_assert_max_num_queries(len(few.captured_queries)):
        counts = plans_review(as_of=date(2024, 4, 20))

    assert (counts["completed"], counts["broken"], counts["tasks"]) == (9, 9, 9)
    assert Instalment.objects.filter(paid_minor=10000).count() == 2 * 10


# --- with the dunning run ---------------------------------------------------------------------

RUN_AT = datetime(2026, 11, 1, 20, 0, tzinfo=UTC)


def dunned(customer, as_of: date) -> list[int]:
    result = dunning_run(as_of=as_of, now=RUN_AT, list_actions=False)
    return list(
        DunningAction.objects.filter(run_id=result.run_id, customer=customer).values_list(
            "stage_position", flat=True
        )
    )


def test_a_current_plan_holds_its_invoices_out_of_dunning_and_a_broken_one_returns_them_at_their_stage(
    customer, collector
):
    customer.country = "CN"
    customer.save(update_fields=["country"])
    invoice = make_invoice(customer, amount="2000.00", issue_date=date(2026, 9, 1), due_days=30)
    assert dunned(customer, date(2026, 11, 2)) == [1]
    plan = plan_create(
        customer=customer,
        invoices=[invoice],
        start_date=date(2026, 11, 3),
        count=2,
        grace_days=5,
        user=collector,
    )

    current = dunned(customer, date(2026, 11, 10))
    plans_review(as_of=date(2026, 12, 8))  # the first instalment (3 December) is in its grace
    still_current = dunned(customer, date(2026, 12, 8))
    plans_review(as_of=date(2026, 12, 9))
    broken = dunned(customer, date(2026, 12, 9))

    plan.refresh_from_db()
    assert (current, still_current, broken) == ([], [], [2])
    assert plan.status == PlanStatus.BROKEN


# --- the agreement ----------------------------------------------------------------------------


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def agreed(customer, collector, settings):
    settings.HUIKUAN_COMPANY_NAME = "Huikuan Demo Ltd"
    settings.HUIKUAN_PAYMENT_INSTRUCTIONS = "ICBC Shanghai 6222 0000 1111 2222"
    first = make_invoice(customer, amount="6000.00", number="INV-2024-0101")
    second = make_invoice(customer, amount="4000.00", number="INV-2024-0102")
    return plan_create(
        customer=customer,
        invoices=[first, second],
        start_date=START,
        count=3,
        fee=cny("30.00"),
        interest_rate="0.0435",
        user=collector,
    )


def test_the_agreement_in_english_lists_the_invoices_the_totals_and_every_instalment(agreed):
    text = pdf_text(plan_agreement_pdf(plan=agreed, language="en"))

    assert "Instalment plan agreement" in text
    assert "INV-2024-0101" in text and "INV-2024-0102" in text
    assert "CNY 10,000.00" in text and "CNY 30.00" in text and "4.35 %" in text
    for row in agreed.instalments.all():
        assert f"CNY {row.amount_minor / 100:,.2f}" in text
    assert "June 4, 2024" in text
    assert f"PLAN-{agreed.pk}" in text and "ICBC Shanghai" in text
    assert "5 days after its due date" in text


def test_the_agreement_in_chinese_is_laid_out_in_chinese_with_chinese_dates(agreed):
    text = pdf_text(plan_agreement_pdf(plan=agreed, language="zh-hans"))

    with translation.override("zh-hans"):
        title = _("Instalment plan agreement")
    assert title.replace(" ", "") in text.replace(" ", "")
    assert "上海青松贸易有限公司" in text
    assert "2024年6月4日" in text
    assert "CNY 10,000.00" in text


def test_the_agreement_follows_the_customers_language_by_default(agreed):
    agreed.customer.language = "en"
    agreed.customer.save(update_fields=["language"])

    assert "June 4, 2024" in pdf_text(plan_agreement_pdf(plan=agreed))


def test_an_invoice_of_a_broken_plan_can_be_planned_again_and_only_the_new_plans_payments_count(customer):
    invoice = make_invoice(customer, amount="1000.00")
    old = plan_create(customer=customer, invoices=[invoice], start_date=START, count=2, user=None)
    pay(customer, "100.00", date(2024, 3, 20))
    plans_review(as_of=date(2024, 4, 10))
    new = plan_create(customer=customer, invoices=[invoice], start_date=date(2024, 4, 15), count=3, user=None)
    pay(customer, "300.00", date(2024, 5, 1))

    plans_review(as_of=date(2024, 5, 2))

    old.refresh_from_db()
    assert old.status == PlanStatus.BROKEN
    assert new.principal_minor == 90000
    assert [paid for _d, _a, paid in schedule_of(new)] == [30000, 0, 0]
