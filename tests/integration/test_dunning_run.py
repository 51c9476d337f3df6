"""The daily dunning run: the ladder, one communication per customer, exactly once, exclusions, calendars."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from huikuan.collections.models import (
    Dispute,
    DisputeReason,
    DisputeStatus,
    InstalmentPlan,
    PlanStatus,
    PromiseToPay,
    Task,
)
from huikuan.core.money import Money
from huikuan.customers.models import CustomerStatus
from huikuan.dunning.engine import RunRefused, dunning_run
from huikuan.dunning.models import (
    CreditHold,
    CustomerPolicy,
    DunningAction,
    DunningActionInvoice,
    DunningRun,
    InvoiceDunningLevel,
    Policy,
    Stage,
)
from huikuan.dunning.selectors import invoice_dunning_level
from huikuan.ledger.services import payment_record
from huikuan.messaging.models import OutboxMessage, OutboxStatus
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 23)  # a Monday and a working day in China
NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)  # 04:00 on the 23rd in Shanghai


def due_on(customer, due: date, amount: str = "1000.00", currency: str = "CNY", number: str | None = None):
    return make_invoice(
        customer,
        amount=amount,
        currency=currency,
        issue_date=due - timedelta(days=30),
        due_days=30,
        number=number,
    )


def run(as_of: date = TODAY, **kwargs):
    return dunning_run(as_of=as_of, now=NOW, **kwargs)


def stage_named(policy_code: str, name: str) -> Stage:
    return Stage.objects.get(policy__code=policy_code, name=name)


def test_an_invoice_due_a_year_ago_climbs_one_stage_per_run():
    customer = make_customer(country="CN", grade="B")
    invoice = due_on(customer, TODAY - timedelta(days=365))

    positions = []
    for as_of in (date(2026, 5, 25), date(2026, 9, 23), TODAY):
        result = run(as_of)
        assert result.actions_created == 1
        positions.append(DunningAction.objects.get(run_id=result.run_id).stage_position)

    assert positions == [1, 2, 3]
    assert invoice_dunning_level(invoice=invoice) == 3


def test_all_due_invoices_of_a_customer_in_one_currency_make_one_communication_at_the_highest_stage():
    customer = make_customer(country="CN", grade="B")
    old = due_on(customer, TODAY - timedelta(days=100), amount="700.00")
    InvoiceDunningLevel.objects.create(invoice=old, level=2, level_date=TODAY - timedelta(days=30))
    new = due_on(customer, TODAY - timedelta(days=1), amount="300.00")
    dollars = due_on(customer, TODAY - timedelta(days=5), amount="50.00", currency="USD")

    result = run()

    cny = DunningAction.objects.get(run_id=result.run_id, currency="CNY")
    assert cny.stage_position == 3  # the old invoice's next stage: friendly reminder
    assert cny.amount_minor == 100000 and cny.invoice_count == 2
    assert set(cny.invoice_lines.values_list("invoice_id", flat=True)) == {old.id, new.id}
    assert DunningAction.objects.get(run_id=result.run_id, currency="USD").invoice_count == 1
    assert OutboxMessage.objects.filter(action=cny).count() == 1
    entry = next(e for e in result.actions if e["currency"] == "CNY")
    assert entry["stage"] == "Friendly reminder" and entry["channel"] == "email"
    assert entry["invoices"] == [old.number, new.number] and entry["amount"] == "1000.00"
    assert {e["invoices"][0] for e in result.actions if e["currency"] == "USD"} == {dollars.number}


def test_a_second_run_for_the_same_date_creates_nothing():
    customer = make_customer(country="CN", grade="B")
    due_on(customer, TODAY - timedelta(days=4))
    first = run()

    second = run()

    assert first.created == 1
    assert second.already_ran and second.created == 0 and second.run_id == first.run_id
    assert DunningRun.objects.count() == 1
    assert OutboxMessage.objects.count() == 1


def test_a_run_dated_before_the_latest_run_is_refused():
    run()

    with pytest.raises(RunRefused, match="2026-11-23"):
        run(TODAY - timedelta(days=1))


def test_a_dry_run_reports_the_same_actions_and_writes_nothing():
    customer = make_customer(country="CN", grade="C")
    due_on(customer, TODAY - timedelta(days=40))

    dry = run(dry_run=True)

    assert dry.run_id is None and dry.created == 2  # the firm pre-due reminder: e-mail and SMS
    assert not DunningRun.objects.exists() and not DunningAction.objects.exists()
    assert not OutboxMessage.objects.exists() and not DunningActionInvoice.objects.exists()
    real = run()
    strip = [{k: v for k, v in e.items() if k != "action_id"} for e in dry.actions]
    assert strip == [{k: v for k, v in e.items() if k != "action_id"} for e in real.actions]


def test_a_run_after_skipped_days_catches_up_instead_of_missing_the_stage():
    customer = make_customer(country="CN", grade="B")
    invoice = due_on(customer, date(2026, 11, 10))
    InvoiceDunningLevel.objects.create(invoice=invoice, level=3, level_date=date(2026, 11, 13))
    # The call stage is due at +10 days (2026-11-20); no run happened between the 14th and today.

    result = run()

    assert [e["stage"] for e in result.actions] == ["Call"]
    task = Task.objects.get()
    assert task.kind == "CALL" and task.customer == customer and task.due_date == TODAY


def test_the_gap_since_the_previous_communication_holds_the_next_stage_back():
    customer = make_customer(country="CN", grade="B")
    invoice = due_on(customer, TODAY - timedelta(days=25))
    InvoiceDunningLevel.objects.create(invoice=invoice, level=3, level_date=TODAY - timedelta(days=20))
    friday = TODAY - timedelta(days=3)
    assert [e["stage"] for e in run(friday).actions] == ["Call"]

    held_back = run()  # the formal notice is due (+20) but wants 7 days after the call
    a_week_later = run(friday + timedelta(days=7))

    assert held_back.created == 0
    assert [e["stage"] for e in a_week_later.actions] == ["Formal notice"]


@pytest.mark.parametrize(
    ("as_of", "acts"),
    [
        (date(2026, 10, 10), True),  # 调休: a Saturday worked in place of a Golden Week day
        (date(2026, 10, 5), False),  # a Monday inside Golden Week
        (date(2026, 10, 17), False),  # an ordinary Saturday
    ],
)
def test_stages_fire_on_business_days_of_the_customers_country(as_of, acts):
    customer = make_customer(country="CN", grade="B")
    due_on(customer, as_of - timedelta(days=4))

    result = dunning_run(as_of=as_of, now=NOW)

    assert (result.created > 0) is acts


def test_invoices_under_dispute_promise_or_plan_and_customers_not_to_contact_are_left_alone():
    disputed = due_on(make_customer(code="DISPUTED", country="CN"), TODAY - timedelta(days=4))
    Dispute.objects.create(invoice=disputed, reason=DisputeReason.QUALITY, opened_date=TODAY)
    promised_customer = make_customer(code="PROMISED", country="CN")
    promised = due_on(promised_customer, TODAY - timedelta(days=4))
    promise = PromiseToPay.objects.create(
        customer=promised_customer,
        currency="CNY",
        amount_minor=100000,
        promised_date=TODAY - timedelta(days=1),
        grace_days=3,
    )
    promise.invoices.add(promised)
    planned_customer = make_customer(code="PLANNED", country="CN")
    plan = InstalmentPlan.objects.create(customer=planned_customer, start_date=TODAY)
    plan.invoices.add(due_on(planned_customer, TODAY - timedelta(days=4)))
    due_on(make_customer(code="QUIET", country="CN", do_not_contact=True), TODAY - timedelta(days=4))
    due_on(
        make_customer(code="LAWYERS", country="CN", status=CustomerStatus.LEGAL), TODAY - timedelta(days=4)
    )
    due_on(make_customer(code="SMALL", country="CN"), TODAY - timedelta(days=4), amount="0.50")
    Policy.objects.filter(code="standard").update(minimum_open_amount=1)
    due_on(make_customer(code="DUNNED", country="CN"), TODAY - timedelta(days=4))

    result = run()

    assert {e["customer"] for e in result.actions} == {"DUNNED"}


def test_a_rejected_dispute_and_an_expired_promise_return_invoices_to_dunning():
    customer = make_customer(code="BACK", country="CN")
    invoice = due_on(customer, TODAY - timedelta(days=4))
    Dispute.objects.create(
        invoice=invoice, reason=DisputeReason.PRICE, status=DisputeStatus.REJECTED, opened_date=TODAY
    )
    promise = PromiseToPay.objects.create(
        customer=customer,
        currency="CNY",
        amount_minor=100000,
        promised_date=TODAY - timedelta(days=5),
        grace_days=3,
    )
    promise.invoices.add(invoice)
    InstalmentPlan.objects.create(customer=customer, start_date=TODAY, status=PlanStatus.BROKEN).invoices.add(
        invoice
    )

    assert [e["customer"] for e in run().actions] == ["BACK"]


def test_a_customer_policy_overrides_the_policy_of_its_grade():
    customer = make_customer(country="CN", grade="A")
    CustomerPolicy.objects.create(customer=customer, policy=Policy.objects.get(code="firm"))
    due_on(customer, TODAY + timedelta(days=9))  # firm warns ten days ahead, gentle only seven

    result = run()

    assert [(e["policy"], e["channel"]) for e in result.actions] == [("firm", "email"), ("firm", "sms")]


def test_a_malicious_debtor_gets_the_firm_ladder_whatever_its_grade_and_a_customer_policy_still_wins():
    from huikuan.insights.models import ClassificationSource, DebtorClassification, DebtorType

    def classified(customer, debtor_type, *, is_current=True):
        DebtorClassification.objects.create(
            customer=customer,
            as_of=TODAY - timedelta(days=1),
            debtor_type=debtor_type,
            source=ClassificationSource.choices[0][0],
            is_current=is_current,
        )
        return customer

    malicious = classified(make_customer(country="CN", grade="A"), DebtorType.MALICIOUS)
    formerly = classified(make_customer(country="CN", grade="A"), DebtorType.MALICIOUS, is_current=False)
    technical = classified(make_customer(country="CN", grade="A"), DebtorType.TECHNICAL)
    overridden = classified(make_customer(country="CN", grade="A"), DebtorType.MALICIOUS)
    CustomerPolicy.objects.create(customer=overridden, policy=Policy.objects.get(code="gentle"))
    for customer in (malicious, formerly, technical, overridden):
        due_on(customer, TODAY + timedelta(days=9))  # firm warns ten days ahead, gentle only seven

    result = run()

    assert {(e["customer"], e["policy"]) for e in result.actions} == {(malicious.code, "firm")}
    assert Policy.objects.get(code="firm").debtor_types == [DebtorType.MALICIOUS]


def test_stages_that_need_approval_queue_their_messages_for_a_person():
    customer = make_customer(country="CN", grade="B")
    invoice = due_on(customer, TODAY - timedelta(days=70))
    InvoiceDunningLevel.objects.create(invoice=invoice, level=7, level_date=TODAY - timedelta(days=20))

    result = run()

    assert {e["channel"] for e in result.actions} == {"letter", "email"}
    statuses = set(OutboxMessage.objects.values_list("status", flat=True))
    assert statuses == {OutboxStatus.AWAITING_APPROVAL}


def test_the_formal_notice_email_carries_the_letter_and_waits_for_the_send_window():
    customer = make_customer(country="CN", grade="B")
    invoice = due_on(customer, TODAY - timedelta(days=21))
    InvoiceDunningLevel.objects.create(invoice=invoice, level=4, level_date=TODAY - timedelta(days=11))

    run()

    message = OutboxMessage.objects.get()
    assert message.attach_letter and message.channel == "EMAIL"
    assert message.idempotency_key == f"dunning:{message.action_id}:EMAIL"
    # 09:00 in Shanghai on the 23rd: the run was at 04:00 local time.
    assert message.not_before_at == datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def test_the_hold_stage_stops_supply_until_the_overdue_balance_is_paid():
    customer = make_customer(code="HOLDME", country="CN", grade="B")
    invoice = due_on(customer, TODAY - timedelta(days=31))
    InvoiceDunningLevel.objects.create(invoice=invoice, level=5, level_date=TODAY - timedelta(days=10))

    run()

    hold = CreditHold.objects.get()
    assert hold.kind == "HOLD" and hold.released_date is None and hold.currency == "CNY"
    assert Task.objects.filter(kind="CALL", customer=customer).exists()
    payment_record(
        customer=customer, received_date=TODAY + timedelta(days=1), amount=Money.of("1000.00", "CNY")
    )
    run(TODAY + timedelta(days=1))
    hold.refresh_from_db()
    assert hold.released_date == TODAY + timedelta(days=1)


def test_the_legal_referral_hands_the_customer_to_legal_and_stops_the_ladder():
    customer = make_customer(country="CN", grade="B")
    invoice = due_on(customer, TODAY - timedelta(days=95))
    InvoiceDunningLevel.objects.create(invoice=invoice, level=8, level_date=TODAY - timedelta(days=20))

    run()

    customer.refresh_from_db()
    assert customer.status == CustomerStatus.LEGAL
    assert Task.objects.get().kind == "LEGAL_REFERRAL"
    assert run(TODAY + timedelta(days=1)).created == 0


def test_the_run_needs_the_same_number_of_queries_for_one_customer_or_many(django_assert_max_num_queries):
    def portfolio(n: int, start: int) -> None:
        for i in range(n):
            customer = make_customer(code=f"Q{start + i:04d}", country="CN", grade="BC"[i % 2])
            due_on(customer, TODAY - timedelta(days=4 + i))

    portfolio(1, 0)
    with CaptureQueries() as small:
        run(TODAY - timedelta(days=3))
    portfolio(30, 100)
    with CaptureQueries() as large:
        run()

    assert large.count <= small.count + 2  # + the steps that had nothing to do for the single customer


class CaptureQueries:
    def __enter__(self):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        self._context = CaptureQueriesContext(connection)
        self._context.__enter__()
        return self

    def __exit__(self, *exc):
        self._context.__exit__(*exc)
        self.count = len(self._context.captured_queries)


def test_the_run_command_prints_the_json_contract():
    customer = make_customer(code="JSON1", country="CN", grade="B")
    due_on(customer, TODAY - timedelta(days=4), number="INV-J-1")
    out = StringIO()

    call_command("dunning", "run", "--as-of", TODAY.isoformat(), "--format", "json", stdout=out)

    report = json.loads(out.getvalue())
    assert report["as_of"] == "2026-11-23" and report["created"] == 1 and isinstance(report["run_id"], int)
    action = report["actions"][0]
    assert {k: action[k] for k in ("customer", "stage", "channel", "invoices", "amount", "currency")} == {
        "customer": "JSON1",
        "stage": "Pre-due reminder",
        "channel": "email",
        "invoices": ["INV-J-1"],
        "amount": "1000.00",
        "currency": "CNY",
    }


def test_the_run_command_refuses_an_earlier_date_in_one_line():
    call_command("dunning", "run", "--as-of", TODAY.isoformat(), stdout=StringIO())

    with pytest.raises(CommandError, match="cannot be dated before") as raised:
        call_command("dunning", "run", "--as-of", "2026-11-01", stdout=StringIO())
    assert raised.value.returncode == 2


def test_call_tasks_get_the_stage_script_in_the_customers_language_after_the_run():
    from huikuan.collections.services import task_scripts_render
    from huikuan.customers.services import contact_create

    customer = make_customer(code="CALLME", name="上海某某贸易有限公司", country="CN", grade="B")
    contact_create(customer=customer, name="王经理", phone="13800000000", language="zh-hans", is_primary=True)
    invoice = due_on(customer, TODAY - timedelta(days=12), number="INV-CALL-1")
    InvoiceDunningLevel.objects.create(invoice=invoice, level=3, level_date=TODAY - timedelta(days=9))
    result = run()
    assert Task.objects.get().script == ""

    filled = task_scripts_render(run_id=result.run_id)

    script = Task.objects.get().script
    assert filled == 1 and "INV-CALL-1" in script and "王经理" in script
    assert task_scripts_render(run_id=result.run_id) == 0  # only empty scripts are filled


def test_call_tasks_also_get_the_script_for_the_debtor_type_and_the_contacts_personality():
    from huikuan.collections.services import task_scripts_render
    from huikuan.customers.models import Personality
    from huikuan.customers.services import contact_create
    from huikuan.insights.models import ClassificationSource, DebtorClassification, DebtorType

    customer = make_customer(code="SQUEEZED", name="上海某某贸易有限公司", country="CN", grade="B")
    contact = contact_create(
        customer=customer, name="王经理", phone="13800000000", language="zh-hans", is_primary=True
    )
    contact.personality = Personality.COOPERATIVE
    contact.save(update_fields=["personality"])
    DebtorClassification.objects.create(
        customer=customer,
        as_of=TODAY,
        debtor_type=DebtorType.TECHNICAL,
        source=ClassificationSource.choices[0][0],
    )
    invoice = due_on(customer, TODAY - timedelta(days=12), number="INV-SQUEEZE-1")
    InvoiceDunningLevel.objects.create(invoice=invoice, level=3, level_date=TODAY - timedelta(days=9))
    result = run()

    assert task_scripts_render(run_id=result.run_id) == 1

    script = Task.objects.get().script
    assert "技术性欠款 · 合作型" in script and script.count("王经理") >= 2
