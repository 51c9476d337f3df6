"""Booking fees, interest and compensation for a dunning run; waivers; the charges templates read.

Runs and actions are written directly here (the run itself is tested in test_dunning_run.py), so
each test states exactly which stage reached which invoices on which day.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from huikuan.core.money import Money, from_minor, to_minor
from huikuan.dunning.charges import (
    ChargeAlreadyWaived,
    WaiverNotAllowed,
    WaiverReasonRequired,
    charge_list,
    charge_waive,
    charges_book_for_run,
    charges_for_actions,
    interest_for_terms,
)
from huikuan.dunning.engine import dunning_run
from huikuan.dunning.fees import FeeInvalid, fee_minor
from huikuan.dunning.models import (
    Charge,
    ChargeKind,
    ContractTerms,
    DunningAction,
    DunningActionInvoice,
    DunningRun,
    FeeKind,
    InterestRule,
    InvoiceDunningLevel,
    Policy,
    Stage,
)
from huikuan.dunning.rates import rate_table_load
from huikuan.ledger.services import credit_note_issue, payment_record
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db

_codes = itertools.count(1)
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def stage(
    *, position: int = 1, trigger_days: int = 20, fee_kind=FeeKind.NONE, fee_value="", starts_interest=False
):
    policy = Policy.objects.create(code=f"charges-{next(_codes)}", name="test ladder")
    return Stage.objects.create(
        policy=policy,
        position=position,
        name=f"stage {position}",
        trigger_days=trigger_days,
        channels=["EMAIL"],
        template_key="formal-notice",
        fee_kind=fee_kind,
        fee_value=fee_value,
        starts_interest=starts_interest,
    )


def act(as_of: date, customer, invoices, on_stage: Stage, currency: str = "CNY") -> DunningAction:
    """Write what the engine writes for one action: the run (once per date), the action, its lines."""
    run, _ = DunningRun.objects.get_or_create(as_of=as_of, defaults={"started_at": NOW, "finished_at": NOW})
    for invoice in invoices:
        invoice.refresh_from_db()
    action = DunningAction.objects.create(
        run=run,
        as_of=as_of,
        customer=customer,
        currency=currency,
        policy=on_stage.policy,
        policy_version=on_stage.policy.version,
        stage=on_stage,
        stage_position=on_stage.position,
        amount_minor=sum(invoice.open_minor for invoice in invoices),
        invoice_count=len(invoices),
        max_days_overdue=max((as_of - invoice.due_date).days for invoice in invoices),
    )
    DunningActionInvoice.objects.bulk_create(
        DunningActionInvoice(
            action=action,
            invoice=invoice,
            open_minor=invoice.open_minor,
            days_overdue=(as_of - invoice.due_date).days,
            level=on_stage.position,
        )
        for invoice in invoices
    )
    return action


def terms(customer, **fields) -> ContractTerms:
    return ContractTerms.objects.create(customer=customer, **fields)


def due_31_january(customer, amount: str = "10000.00", currency: str = "CNY"):
    return make_invoice(customer, amount, currency=currency, issue_date=date(2024, 1, 1), due_days=30)


def booked(kind: str, **filters) -> list[int]:
    return list(
        Charge.objects.filter(kind=kind, **filters).order_by("id").values_list("amount_minor", flat=True)
    )


def manager():
    user = get_user_model().objects.create_user(username=f"manager{next(_codes)}", password="x")
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="dunning", codename="change_charge")
    )
    return get_user_model().objects.get(pk=user.pk)  # fresh, so permissions are not cached empty


# --- fees --------------------------------------------------------------------------------


def test_a_stage_with_a_fixed_fee_books_it_once_per_action():
    customer = make_customer()
    invoice = due_31_january(customer)
    action = act(date(2024, 3, 1), customer, [invoice], stage(fee_kind=FeeKind.FIXED, fee_value="50"))

    created = charges_book_for_run(run=action.run)

    fee = Charge.objects.get(kind=ChargeKind.FEE)
    assert created == 1
    assert (fee.action_id, fee.invoice_id, fee.currency, fee.amount_minor, fee.charge_date) == (
        action.id,
        None,
        "CNY",
        5_000,
        date(2024, 3, 1),
    )


def test_the_contracts_percentage_fee_replaces_the_stages_fixed_fee():
    customer = make_customer()
    terms(customer, fee_kind=FeeKind.PERCENTAGE, fee_value="1.5")
    invoices = [due_31_january(customer, "1234.50"), due_31_january(customer, "765.50")]
    action = act(date(2024, 3, 1), customer, invoices, stage(fee_kind=FeeKind.FIXED, fee_value="50"))

    charges_book_for_run(run=action.run)

    # 1.5 % of 2,000.00 = 30.00
    assert booked(ChargeKind.FEE) == [3_000]


def test_a_percentage_fee_is_rounded_half_up_once():
    on_stage = stage(fee_kind=FeeKind.PERCENTAGE, fee_value="1")

    # 1 % of 0.50 = 0.005 -> 0.01; of 0.49 = 0.0049 -> 0.00
    assert fee_minor(stage=on_stage, terms=None, amount_minor=50, currency="CNY") == 1
    assert fee_minor(stage=on_stage, terms=None, amount_minor=49, currency="CNY") == 0


def test_a_fixed_fee_is_in_whole_units_of_the_invoice_currency():
    on_stage = stage(fee_kind=FeeKind.FIXED, fee_value="40.00")

    assert fee_minor(stage=on_stage, terms=None, amount_minor=1, currency="EUR") == 4_000
    assert fee_minor(stage=on_stage, terms=None, amount_minor=1, currency="JPY") == 40


def test_reminders_before_the_due_date_never_carry_a_fee():
    customer = make_customer()
    contract = terms(customer, fee_kind=FeeKind.FIXED, fee_value="10")

    assert fee_minor(stage=stage(trigger_days=-7), terms=contract, amount_minor=100, currency="CNY") == 0
    assert fee_minor(stage=stage(trigger_days=3), terms=contract, amount_minor=100, currency="CNY") == 1_000


@given(
    amount=st.integers(min_value=-1_000, max_value=10**13),
    percent=st.decimals(min_value=0, max_value=100, places=4),
    currency=st.sampled_from(["CNY", "JPY", "KWD"]),
)
def test_a_percentage_fee_is_the_exact_share_of_the_amount_rounded_half_up(amount, percent, currency):
    on_stage = Stage(trigger_days=20, fee_kind=FeeKind.PERCENTAGE, fee_value=str(percent))

    fee = fee_minor(stage=on_stage, terms=None, amount_minor=amount, currency=currency)

    assert fee == to_minor(from_minor(max(amount, 0), currency) * percent / 100, currency)


def test_a_fee_keeps_its_evidence_and_the_stage_name_as_written():
    customer = make_customer()
    on_stage = stage(fee_kind=FeeKind.FIXED, fee_value="50")
    Stage.objects.filter(pk=on_stage.pk).update(name='催款函 "formal"')
    on_stage.refresh_from_db()
    action = act(date(2024, 3, 1), customer, [due_31_january(customer, "1234.50")], on_stage)

    charges_book_for_run(run=action.run)

    fee = Charge.objects.get()
    assert (fee.kind, fee.rule, fee.waive_reason, fee.waived_at) == (ChargeKind.FEE, FeeKind.FIXED, "", None)
    assert fee.detail == {
        "stage": '催款函 "formal"',
        "fee_kind": "FIXED",
        "fee_value": "50",
        "from_contract": False,
        "amount_due": "1234.50",
    }


def test_a_mistyped_fee_value_is_refused_by_the_calculation_and_skipped_by_the_run():
    customer = make_customer()
    bad = stage(fee_kind=FeeKind.FIXED, fee_value="40,00")
    action = act(date(2024, 3, 1), customer, [due_31_january(customer)], bad)

    with pytest.raises(FeeInvalid):
        fee_minor(stage=bad, terms=None, amount_minor=100, currency="CNY")
    assert charges_book_for_run(run=action.run) == 0


# --- interest ----------------------------------------------------------------------------


def test_interest_is_booked_incrementally_so_that_the_total_is_the_exact_amount_to_date():
    customer = make_customer()
    terms(customer, interest_rule=InterestRule.CONTRACT, annual_rate="12")
    invoice = due_31_january(customer)
    formal = stage(position=2, starts_interest=True)
    later = Stage.objects.create(
        policy=formal.policy, position=3, name="final", trigger_days=60, channels=["LETTER"], template_key="x"
    )

    first = act(date(2024, 3, 1), customer, [invoice], formal)
    charges_book_for_run(run=first.run)
    second = act(date(2024, 4, 1), customer, [invoice], later)  # this stage does not start interest itself
    charges_book_for_run(run=second.run)

    # To 1 Mar: 30 days, 10,000 x 12 % x 30 / 365 = 98.63.
    # To 1 Apr: 61 days, 10,000 x 12 % x 61 / 365 = 200.5479 -> 200.55; booked now 200.55 - 98.63 = 101.92.
    assert booked(ChargeKind.INTEREST) == [9_863, 10_192]
    latest = Charge.objects.filter(kind=ChargeKind.INTEREST).latest("id")
    assert (latest.action_id, latest.invoice_id, latest.rule) == (second.id, invoice.id, "CONTRACT")
    assert latest.detail["interest"] == "200.55" and latest.detail["booked_before"] == "98.63"
    assert latest.detail["periods"] == [
        {
            "from": "2024-02-01",
            "to": "2024-04-01",
            "days": 61,
            "annual_rate": "12",
            "interest": "200.55",
            "base": "10000.000000",
        }
    ]


def test_no_interest_before_a_stage_that_starts_it():
    customer = make_customer()
    terms(customer, interest_rule=InterestRule.CONTRACT, annual_rate="12")
    action = act(date(2024, 3, 1), customer, [due_31_january(customer)], stage(starts_interest=False))

    charges_book_for_run(run=action.run)

    assert not Charge.objects.exists()


def test_no_interest_without_an_interest_rule_in_the_contract():
    customer = make_customer()
    terms(customer, fee_kind=FeeKind.FIXED, fee_value="5")
    action = act(date(2024, 3, 1), customer, [due_31_january(customer)], stage(starts_interest=True))

    charges_book_for_run(run=action.run)

    assert not Charge.objects.filter(kind=ChargeKind.INTEREST).exists()


def test_booking_the_same_run_twice_adds_nothing():
    customer = make_customer()
    terms(customer, interest_rule=InterestRule.UK_LATE_PAYMENT)
    invoice = due_31_january(customer, currency="GBP")
    on_stage = stage(fee_kind=FeeKind.FIXED, fee_value="25", starts_interest=True)
    action = act(date(2024, 4, 30), customer, [invoice], on_stage, currency="GBP")

    first = charges_book_for_run(run=action.run)
    second = charges_book_for_run(run=action.run)

    # The worked UK example: 326.71 interest, £100 compensation, plus the £25 fee.
    assert (first, second) == (3, 0)
    assert {c.kind: c.amount_minor for c in Charge.objects.all()} == {
        ChargeKind.FEE: 2_500,
        ChargeKind.INTEREST: 32_671,
        ChargeKind.COMPENSATION: 10_000,
    }


def test_compensation_is_claimed_once_per_invoice_over_many_runs():
    customer = make_customer()
    terms(customer, interest_rule=InterestRule.EU_LATE_PAYMENT, eu_country="DE")
    invoice = due_31_january(customer, "500.00", currency="EUR")
    on_stage = stage(starts_interest=True)

    for as_of in (date(2024, 3, 1), date(2024, 4, 1), date(2024, 5, 2)):
        charges_book_for_run(run=act(as_of, customer, [invoice], on_stage, currency="EUR").run)

    assert booked(ChargeKind.COMPENSATION) == [4_000]
    # 500 x 13.5 % (ECB 4.50 on 1 Jan 2024 + 9) x 92 / 365 = 17.0137 -> 17.01 in total
    assert sum(booked(ChargeKind.INTEREST)) == 1_701


def test_partial_payments_from_the_ledger_lower_the_base_from_their_date():
    customer = make_customer()
    terms(customer, interest_rule=InterestRule.CONTRACT, annual_rate="10")
    invoice = due_31_january(customer)
    payment_record(customer=customer, received_date=date(2024, 2, 10), amount=Money.of("4000", "CNY"))
    action = act(date(2024, 3, 1), customer, [invoice], stage(starts_interest=True))

    charges_book_for_run(run=action.run)

    # 27.3973 on 10,000 for 10 days + 32.8767 on 6,000 for 20 days = 60.274 -> 60.27
    assert booked(ChargeKind.INTEREST) == [6_027]


def test_a_payment_recorded_late_with_an_earlier_date_is_corrected_downwards():
    customer = make_customer()
    terms(customer, interest_rule=InterestRule.CONTRACT, annual_rate="12")
    invoice = due_31_january(customer)
    on_stage = stage(starts_interest=True)
    charges_book_for_run(run=act(date(2024, 3, 1), customer, [invoice], on_stage).run)  # 98.63 on 10,000

    # Half was in fact paid on 1 Feb, and booked only now.
    payment_record(customer=customer, received_date=date(2024, 2, 1), amount=Money.of("5000", "CNY"))
    charges_book_for_run(run=act(date(2024, 3, 2), customer, [invoice], on_stage).run)

    # 1 Feb on 10,000: 3.2877; 2 Feb .. 2 Mar (30 days) on 5,000: 49.3151; 52.6027 -> 52.60
    assert booked(ChargeKind.INTEREST) == [9_863, 5_260 - 9_863]
    assert sum(booked(ChargeKind.INTEREST)) == 5_260


def test_a_credit_note_lowers_the_base_like_a_payment():
    customer = make_customer()
    terms(customer, interest_rule=InterestRule.CN_SME_DAILY)
    invoice = due_31_january(customer)
    credit_note_issue(
        invoice=invoice, amount=Money.of("6000", "CNY"), on_date=date(2024, 2, 10), reason="returned goods"
    )
    action = act(date(2024, 3, 1), customer, [invoice], stage(starts_interest=True))

    charges_book_for_run(run=action.run)

    # 0.05 % a day: 10 days on 10,000 (50.00) + 20 days on 4,000 (40.00) = 90.00
    assert booked(ChargeKind.INTEREST) == [9_000]


def test_a_rate_missing_from_the_table_skips_that_invoice_without_stopping_the_run():
    customer = make_customer()
    terms(customer, interest_rule=InterestRule.CN_LPR)
    old = make_invoice(customer, "1000.00", issue_date=date(2019, 1, 1), due_days=30)  # before the first LPR
    new = due_31_january(customer)
    action = act(
        date(2024, 3, 1),
        customer,
        [old, new],
        stage(starts_interest=True, fee_kind=FeeKind.FIXED, fee_value="1"),
    )

    charges_book_for_run(run=action.run)

    assert list(Charge.objects.filter(kind=ChargeKind.INTEREST).values_list("invoice_id", flat=True)) == [
        new.id
    ]
    assert booked(ChargeKind.FEE) == [100]


def test_a_run_books_on_every_invoice_what_the_general_computation_gives():
    """Invoices with no payment take the integer fast path; the others the general one: same result."""
    on_stage = stage(starts_interest=True)
    as_of = date(2024, 9, 30)
    cases = []
    for rule, currency, extra in [
        (InterestRule.CONTRACT, "CNY", {"annual_rate": "12", "day_count": "ACT/360", "grace_days": 3}),
        (InterestRule.CONTRACT, "CNY", {"annual_rate": "9.5", "compound_monthly": True}),
        (InterestRule.CN_LPR, "CNY", {"lpr_markup": "0.3"}),
        (InterestRule.CN_SME_DAILY, "CNY", {}),
        (InterestRule.UK_LATE_PAYMENT, "GBP", {}),
        (InterestRule.EU_LATE_PAYMENT, "EUR", {"eu_country": "FR"}),  # across 1 July: two rates
    ]:
        customer = make_customer()
        contract = terms(customer, interest_rule=rule, **extra)
        invoices = [
            make_invoice(customer, amount, currency=currency, issue_date=issued, due_days=30)
            for amount, issued in [("999.99", date(2024, 1, 1)), ("12345.67", date(2024, 4, 1))]
        ]
        payment_record(customer=customer, received_date=date(2024, 7, 15), amount=Money.of("300", currency))
        act(as_of, customer, invoices, on_stage, currency=currency)
        cases += [(contract, invoice) for invoice in invoices]

    charges_book_for_run(run=DunningRun.objects.get(as_of=as_of))

    rates = rate_table_load()
    for contract, invoice in cases:
        payments = list(invoice.allocations.values_list("allocation_date", "amount_minor"))
        expected = interest_for_terms(
            terms=contract,
            principal_minor=invoice.amount_minor,
            currency=invoice.currency,
            due_date=invoice.due_date,
            until_date=as_of,
            payments=payments,
            rates=rates,
        )
        charge = Charge.objects.get(invoice=invoice, kind=ChargeKind.INTEREST)
        assert charge.amount_minor == expected.interest_minor
        assert charge.detail == {**expected.detail(), "booked_before": "0.00"}
        compensation = booked(ChargeKind.COMPENSATION, invoice=invoice)
        assert compensation == ([expected.compensation_minor] if expected.compensation_minor else [])
    # The payment went to the older invoice only, so each rule had one invoice on each path.
    assert sum(1 for _contract, invoice in cases if invoice.allocations.exists()) == len(cases) // 2


def test_booking_a_run_costs_the_same_queries_for_one_action_or_many():
    def book(count: int, as_of: date) -> int:
        on_stage = stage(fee_kind=FeeKind.FIXED, fee_value="10", starts_interest=True)
        for rule in itertools.islice(
            itertools.cycle([InterestRule.CONTRACT, InterestRule.UK_LATE_PAYMENT]), count
        ):
            customer = make_customer()
            terms(customer, interest_rule=rule, annual_rate="8")
            currency = "GBP" if rule == InterestRule.UK_LATE_PAYMENT else "CNY"
            invoices = [due_31_january(customer, currency=currency) for _ in range(3)]
            payment_record(
                customer=customer, received_date=date(2024, 2, 15), amount=Money.of("100", currency)
            )
            run = act(as_of, customer, invoices, on_stage, currency=currency).run
        with CaptureQueriesContext(connection) as queries:
            created = charges_book_for_run(run=run)
        assert created == count * (1 + 3) + (count // 2) * 3  # fee + interest per invoice + UK compensation
        return len(queries)

    assert book(1, date(2024, 3, 1)) == book(12, date(2024, 3, 2))


# --- waivers -----------------------------------------------------------------------------


def test_a_manager_waives_a_charge_with_a_reason_and_it_stays_on_record():
    customer = make_customer()
    action = act(
        date(2024, 3, 1), customer, [due_31_january(customer)], stage(fee_kind=FeeKind.FIXED, fee_value="50")
    )
    charges_book_for_run(run=action.run)
    fee = Charge.objects.get()
    boss = manager()

    waived = charge_waive(charge=fee, user=boss, reason="  goodwill after the late delivery ", now=NOW)

    fee.refresh_from_db()
    assert (fee.waived_at, fee.waived_by_id, fee.waive_reason) == (
        NOW,
        boss.id,
        "goodwill after the late delivery",
    )
    assert waived.pk == fee.pk and Charge.objects.count() == 1
    assert list(charge_list(customer=customer, include_waived=False)) == []
    assert list(charge_list(customer=customer)) == [fee]


def test_a_waiver_needs_a_reason_a_manager_and_a_charge_not_yet_waived():
    customer = make_customer()
    action = act(
        date(2024, 3, 1), customer, [due_31_january(customer)], stage(fee_kind=FeeKind.FIXED, fee_value="50")
    )
    charges_book_for_run(run=action.run)
    fee = Charge.objects.get()
    clerk = get_user_model().objects.create_user(username="clerk", password="x")

    with pytest.raises(WaiverReasonRequired):
        charge_waive(charge=fee, user=manager(), reason="   ")
    with pytest.raises(WaiverNotAllowed):
        charge_waive(charge=fee, user=clerk, reason="asked nicely")
    charge_waive(charge=fee, user=manager(), reason="goodwill")
    with pytest.raises(ChargeAlreadyWaived):
        charge_waive(charge=fee, user=manager(), reason="again")


def test_waived_interest_is_not_claimed_again_by_the_next_run():
    customer = make_customer()
    terms(customer, interest_rule=InterestRule.CONTRACT, annual_rate="12")
    invoice = due_31_january(customer)
    on_stage = stage(starts_interest=True)
    charges_book_for_run(run=act(date(2024, 3, 1), customer, [invoice], on_stage).run)
    charge_waive(charge=Charge.objects.get(), user=manager(), reason="settled the dispute")

    charges_book_for_run(run=act(date(2024, 4, 1), customer, [invoice], on_stage).run)

    # Only the days after the waiver's run are claimed: 200.55 - 98.63 = 101.92.
    assert booked(ChargeKind.INTEREST, waived_at__isnull=True) == [10_192]


# --- what the messages show --------------------------------------------------------------


def test_charges_for_actions_shows_interest_to_date_per_invoice_and_leaves_out_waived_fees():
    customer = make_customer()
    terms(customer, interest_rule=InterestRule.CONTRACT, annual_rate="12")
    invoice = due_31_january(customer)
    on_stage = stage(starts_interest=True, fee_kind=FeeKind.FIXED, fee_value="20")
    first = act(date(2024, 3, 1), customer, [invoice], on_stage)
    charges_book_for_run(run=first.run)
    charge_waive(charge=Charge.objects.get(kind=ChargeKind.FEE), user=manager(), reason="first reminder free")
    second = act(date(2024, 4, 1), customer, [invoice], on_stage)
    charges_book_for_run(run=second.run)
    other = make_customer()
    quiet = act(date(2024, 4, 1), other, [due_31_january(other)], stage())

    shown = charges_for_actions([first.id, second.id, quiet.id])

    assert shown[first.id] == [
        {"kind": "INTEREST", "invoice": invoice.number, "currency": "CNY", "amount_minor": 9_863, "amount": "98.63",
         "rule": "CONTRACT", "charge_date": "2024-03-01", "this_action": True},
    ]  # fmt: skip
    assert [(line["kind"], line["amount"], line["this_action"]) for line in shown[second.id]] == [
        ("INTEREST", "200.55", True),
        ("FEE", "20.00", True),
    ]
    assert shown[quiet.id] == []


def test_charges_for_actions_takes_one_query_for_any_number_of_actions(django_assert_num_queries):
    on_stage = stage(starts_interest=True, fee_kind=FeeKind.FIXED, fee_value="20")
    actions = []
    for _ in range(5):
        customer = make_customer()
        terms(customer, interest_rule=InterestRule.CONTRACT, annual_rate="12")
        invoices = [due_31_january(customer), due_31_january(customer, "500.00")]
        actions.append(act(date(2024, 3, 1), customer, invoices, on_stage))
    charges_book_for_run(run=actions[0].run)

    with django_assert_num_queries(1):
        shown = charges_for_actions([action.id for action in actions])

    assert all(
        [(line["kind"], line["amount"]) for line in shown[action.id]]
        == [("FEE", "20.00"), ("INTEREST", "98.63"), ("INTEREST", "4.93")]
        or [(line["kind"], line["amount"]) for line in shown[action.id]]
        == [("FEE", "20.00"), ("INTEREST", "4.93"), ("INTEREST", "98.63")]
        for action in actions
    )
    with django_assert_num_queries(0):
        assert charges_for_actions([]) == {}


def test_charges_for_actions_leaves_out_another_currency_and_a_later_date():
    customer = make_customer()
    terms(customer, fee_kind=FeeKind.FIXED, fee_value="5")
    on_stage = stage()
    cny = act(date(2024, 3, 1), customer, [due_31_january(customer)], on_stage)
    usd = act(
        date(2024, 3, 1), customer, [due_31_january(customer, currency="USD")], on_stage, currency="USD"
    )
    later = act(date(2024, 3, 9), customer, [due_31_january(customer)], on_stage)
    for action in (cny, later):
        charges_book_for_run(run=action.run)

    shown = charges_for_actions([cny.id, usd.id, later.id])

    assert [(line["amount"], line["this_action"]) for line in shown[cny.id]] == [("5.00", True)]
    assert [(line["currency"], line["amount"]) for line in shown[usd.id]] == [("USD", "5.00")]
    assert [(line["amount"], line["this_action"]) for line in shown[later.id]] == [
        ("5.00", False),
        ("5.00", True),
    ]


# --- inside the daily run ----------------------------------------------------------------


def test_the_daily_run_books_interest_when_its_formal_notice_starts_it():
    today = date(2026, 11, 23)  # a Monday, a working day in China
    customer = make_customer(country="CN", grade="B")
    terms(customer, interest_rule=InterestRule.CONTRACT, annual_rate="18.25")
    invoice = make_invoice(
        customer, "2000.00", issue_date=today - timedelta(days=55), due_days=30
    )  # 25 days late
    InvoiceDunningLevel.objects.create(invoice=invoice, level=4, level_date=today - timedelta(days=20))

    result = dunning_run(as_of=today, now=NOW)

    action = DunningAction.objects.get(run_id=result.run_id)
    assert action.stage.name == "Formal notice"
    # 2,000 x 18.25 % x 25 / 365 = 25.00 (0.05 % a day)
    assert list(Charge.objects.values_list("kind", "action_id", "amount_minor")) == [
        (ChargeKind.INTEREST, action.id, 2_500)
    ]
