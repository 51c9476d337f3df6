"""Charges: the fees, interest and compensation a dunning run claims, booked beside the invoices.

A charge never changes the invoice it is about. The run books, for each of its actions:

- a FEE when the stage (or the customer's contract) has one;
- for each invoice whose interest has started (this stage or an earlier one on the invoice starts
  interest) and whose customer's contract names an interest rule, an INTEREST charge for the
  interest accrued from the due date to the run's date *less the interest already booked on the
  invoice*, so that what is booked always adds up to the exact computation to date; a payment
  recorded late with an earlier date lowers it with a negative correction;
- a COMPENSATION charge once per invoice under the UK and EU rules.

Booking reads everything for the whole run in a fixed number of queries and writes with
bulk_create, so a run of any size costs the same handful of round trips. Calling it again for the
same run adds nothing. A waived charge stays on record with who waived it and why; it still counts
as booked, so a later run does not claim the same interest again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from huikuan.core.errors import HuikuanError
from huikuan.core.money import format_minor
from huikuan.customers.models import Customer
from huikuan.dunning.fees import FeeInvalid, fee_minor, fee_rule
from huikuan.dunning.interest import InterestError, interest_compute
from huikuan.dunning.models import (
    Charge,
    ChargeKind,
    ContractTerms,
    DunningAction,
    DunningActionInvoice,
    DunningRun,
    InterestRule,
    Stage,
)
from huikuan.dunning.rates import rate_table_load
from huikuan.ledger.models import Allocation, InvoiceAdjustment

log = logging.getLogger(__name__)

INTEREST_RULES = [rule for rule in InterestRule.values if rule != InterestRule.NONE]
COMPENSATION_RULES = {InterestRule.UK_LATE_PAYMENT, InterestRule.EU_LATE_PAYMENT}


class ChargeError(HuikuanError):
    code = "charge_invalid"


class WaiverReasonRequired(ChargeError):
    code = "waiver_reason_required"


class WaiverNotAllowed(ChargeError):
    code = "waiver_not_allowed"
    status = 403


class ChargeAlreadyWaived(ChargeError):
    code = "charge_already_waived"


@dataclass(frozen=True, slots=True)
class _Action:
    """What booking needs of an action: read as plain values, since model instances cost more."""

    id: int
    customer_id: int
    currency: str
    amount_minor: int
    stage: Stage


@dataclass(frozen=True, slots=True)
class _InvoiceDue:
    action: _Action
    invoice_id: int
    amount_minor: int
    due_date: date
    currency: str


def _decimal(text: str, *, what: str, customer_id: int) -> Decimal | None:
    if not (text or "").strip():
        return None
    try:
        return Decimal(text.strip().rstrip("%"))
    except InvalidOperation:
        raise InterestError(f"customer {customer_id}: the contract's {what} {text!r} is not a number")


def interest_for_terms(
    *,
    terms: ContractTerms,
    principal_minor: int,
    currency: str,
    due_date: date,
    until_date: date,
    payments: Iterable[tuple[date, int]],
    rates: Any,
):
    """Return the interest computation a customer's contract terms give for one invoice."""
    rule = terms.interest_rule
    return interest_compute(
        principal_minor=principal_minor,
        currency=currency,
        due_date=due_date,
        until_date=until_date,
        rule=rule,
        rates=rates,
        contract_rate=_decimal(terms.annual_rate, what="annual rate", customer_id=terms.customer_id),
        lpr_markup=_decimal(terms.lpr_markup, what="LPR markup", customer_id=terms.customer_id),
        country=terms.eu_country,
        day_count=terms.day_count,
        grace_days=terms.grace_days,
        compound_monthly=terms.compound_monthly and rule == InterestRule.CONTRACT,
        payments=list(payments),
    )


def _fees(
    actions: list[_Action], terms: dict[int, ContractTerms], done: set[int], as_of: date
) -> list[Charge]:
    charges = []
    for action in actions:
        if action.id in done:
            continue
        customer_terms = terms.get(action.customer_id)
        try:
            amount = fee_minor(
                stage=action.stage,
                terms=customer_terms,
                amount_minor=action.amount_minor,
                currency=action.currency,
            )
        except FeeInvalid as error:
            # One mistyped fee must not stop the day's reminders to every customer.
            log.warning("no fee booked for action %s: %s", action.id, error.message)
            continue
        if amount <= 0:
            continue
        kind, value = fee_rule(stage=action.stage, terms=customer_terms)
        charges.append(
            Charge(
                kind=ChargeKind.FEE,
                customer_id=action.customer_id,
                action_id=action.id,
                currency=action.currency,
                amount_minor=amount,
                charge_date=as_of,
                rule=kind,
                detail={
                    "stage": action.stage.name,
                    "fee_kind": kind,
                    "fee_value": value,
                    "from_contract": bool(customer_terms and customer_terms.fee_kind),
                    "amount_due": format_minor(action.amount_minor, action.currency),
                },
            )
        )
    return charges


def _interest(run: DunningRun, actions: dict[int, _Action], terms: dict[int, ContractTerms]) -> list[Charge]:
    as_of = run.as_of
    lines = DunningActionInvoice.objects.filter(
        action__run=run, action__customer__contract_terms__interest_rule__in=INTEREST_RULES
    )
    invoices = lines.values("invoice_id")
    dues = [
        _InvoiceDue(
            action=actions[row["action_id"]],
            invoice_id=row["invoice_id"],
            amount_minor=row["invoice__amount_minor"],
            due_date=row["invoice__due_date"],
            currency=row["invoice__currency"],
        )
        for row in lines.values(
            "action_id", "invoice_id", "invoice__amount_minor", "invoice__due_date", "invoice__currency"
        )
    ]
    if not dues:
        return []
    started = set(
        DunningActionInvoice.objects.filter(
            invoice_id__in=invoices, action__stage__starts_interest=True, action__as_of__lte=as_of
        )
        .values_list("invoice_id", flat=True)
        .distinct()
    )
    payments: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for invoice_id, day, amount in Allocation.objects.filter(
        invoice_id__in=invoices, allocation_date__lte=as_of
    ).values_list("invoice_id", "allocation_date", "amount_minor"):
        payments[invoice_id].append((day, amount))
    # Credit notes and write-offs lower what is owed from their date, as payments do.
    for invoice_id, day, amount in InvoiceAdjustment.objects.filter(
        invoice_id__in=invoices, adjustment_date__lte=as_of
    ).values_list("invoice_id", "adjustment_date", "amount_minor"):
        payments[invoice_id].append((day, amount))
    booked: dict[int, tuple[int, int]] = {}
    compensated: set[int] = set()
    for row in (
        Charge.objects.filter(
            invoice_id__in=invoices, kind__in=[ChargeKind.INTEREST, ChargeKind.COMPENSATION]
        )
        .values("invoice_id", "kind")
        .annotate(
            total=Sum("amount_minor"),
            standing=Sum("amount_minor", filter=Q(waived_at__isnull=True)),
            count=Count("id"),
        )
    ):
        if row["kind"] == ChargeKind.INTEREST:
            booked[row["invoice_id"]] = (row["total"] or 0, row["standing"] or 0)
        elif row["count"]:
            compensated.add(row["invoice_id"])
    rates = rate_table_load()

    charges = []
    for due in dues:
        if due.invoice_id not in started:
            continue
        action = due.action
        customer_terms = terms[action.customer_id]
        try:
            result = interest_for_terms(
                terms=customer_terms,
                principal_minor=due.amount_minor,
                currency=due.currency,
                due_date=due.due_date,
                until_date=as_of,
                payments=payments.get(due.invoice_id, ()),
                rates=rates,
            )
        except InterestError as error:
            log.warning("no interest booked on invoice %s: %s", due.invoice_id, error.message)
            continue
        total_booked, standing = booked.get(due.invoice_id, (0, 0))
        increment = result.interest_minor - total_booked
        # A correction downwards never takes back more than is still claimed (waived is gone).
        increment = max(increment, -max(standing, 0))
        detail = result.detail()
        detail["booked_before"] = format_minor(total_booked, due.currency)
        if increment:
            charges.append(
                Charge(
                    kind=ChargeKind.INTEREST,
                    customer_id=action.customer_id,
                    invoice_id=due.invoice_id,
                    action_id=action.id,
                    currency=due.currency,
                    amount_minor=increment,
                    charge_date=as_of,
                    rule=customer_terms.interest_rule,
                    detail=detail,
                )
            )
        if (
            customer_terms.interest_rule in COMPENSATION_RULES
            and result.compensation_minor > 0
            and due.invoice_id not in compensated
        ):
            compensated.add(due.invoice_id)
            charges.append(
                Charge(
                    kind=ChargeKind.COMPENSATION,
                    customer_id=action.customer_id,
                    invoice_id=due.invoice_id,
                    action_id=action.id,
                    currency=due.currency,
                    amount_minor=result.compensation_minor,
                    charge_date=as_of,
                    rule=customer_terms.interest_rule,
                    detail={"principal": detail["principal"], "due_date": detail["due_date"]},
                )
            )
    return charges


def charges_book_for_run(*, run: DunningRun) -> int:
    """Book the fees, interest and compensation of a run's actions; return how many charges were added.

    Meant to run inside the run's transaction, after its actions and invoice lines exist.
    """
    stages = {stage.id: stage for stage in Stage.objects.filter(actions__run=run).distinct()}
    actions = {
        action_id: _Action(action_id, customer_id, currency, amount_minor, stages[stage_id])
        for action_id, customer_id, currency, amount_minor, stage_id in DunningAction.objects.filter(
            run=run
        ).values_list("id", "customer_id", "currency", "amount_minor", "stage_id")
    }
    if not actions:
        return 0
    terms = {
        item.customer_id: item
        for item in ContractTerms.objects.filter(
            customer_id__in=DunningAction.objects.filter(run=run).values("customer_id")
        )
    }
    fees_done = set(
        Charge.objects.filter(action__run=run, kind=ChargeKind.FEE).values_list("action_id", flat=True)
    )
    charges = _fees(list(actions.values()), terms, fees_done, run.as_of)
    if any(item.interest_rule != InterestRule.NONE for item in terms.values()):
        charges += _interest(run, actions, terms)
    Charge.objects.bulk_create(charges, batch_size=1000)
    return len(charges)


@transaction.atomic
def charge_waive(*, charge: Charge, user: Any, reason: str, now: datetime | None = None) -> Charge:
    """Waive a charge: it stays on record, marked with who waived it, when and why.

    Only a user allowed to change charges (a manager; superusers always) may waive, and the
    reason is required because a waiver gives up money the contract or the law grants.
    """
    reason = (reason or "").strip()
    if not reason:
        raise WaiverReasonRequired("a reason is required to waive a charge")
    if user is None or not getattr(user, "is_active", False) or not user.has_perm("dunning.change_charge"):
        raise WaiverNotAllowed("only a manager may waive a charge")
    locked = Charge.objects.select_for_update().get(pk=charge.pk)
    if locked.waived_at is not None:
        raise ChargeAlreadyWaived(f"this charge was already waived on {locked.waived_at:%Y-%m-%d}")
    locked.waived_at = now or timezone.now()
    locked.waived_by = user
    locked.waive_reason = reason[:500]
    locked.save(update_fields=["waived_at", "waived_by", "waive_reason"])
    return locked


# --- selectors ---------------------------------------------------------------------------


def charge_list(*, customer: Customer, include_waived: bool = True) -> QuerySet[Charge]:
    """Return a customer's charges, newest first, with their invoice numbers at hand."""
    charges = Charge.objects.filter(customer=customer).select_related("invoice", "action")
    if not include_waived:
        charges = charges.filter(waived_at__isnull=True)
    return charges.order_by("-charge_date", "-id")


def charges_for_actions(action_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """Return, per action, what is claimed on top of its invoices as of the action's date.

    Plain data for message templates, in three queries for any number of actions: the interest
    booked to date on each of the action's invoices (one line per invoice, all runs together, not
    just this run's increment), their compensation, and the customer's fees in that currency up
    to the action's date. Waived charges are left out. ``this_action`` marks what this action booked.
    """
    ids = sorted(set(action_ids))
    actions = {
        row["id"]: row
        for row in DunningAction.objects.filter(id__in=ids).values("id", "customer_id", "currency", "as_of")
    }
    if not actions:
        return {}
    invoices_of: dict[int, set[int]] = defaultdict(set)
    for action_id, invoice_id in DunningActionInvoice.objects.filter(action_id__in=ids).values_list(
        "action_id", "invoice_id"
    ):
        invoices_of[action_id].add(invoice_id)
    by_customer: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in (
        Charge.objects.filter(
            customer_id__in=DunningAction.objects.filter(id__in=ids).values("customer_id"),
            waived_at__isnull=True,
        )
        .order_by("charge_date", "id")
        .values(
            "id",
            "kind",
            "customer_id",
            "invoice_id",
            "invoice__number",
            "action_id",
            "currency",
            "amount_minor",
            "charge_date",
            "rule",
        )
    ):
        by_customer[row["customer_id"]].append(dict(row))

    result: dict[int, list[dict[str, Any]]] = {}
    for action_id, action in actions.items():
        lines: dict[tuple[str, int | None, int], dict[str, Any]] = {}
        for charge in by_customer.get(action["customer_id"], ()):
            if charge["currency"] != action["currency"] or charge["charge_date"] > action["as_of"]:
                continue
            if charge["kind"] != ChargeKind.FEE and charge["invoice_id"] not in invoices_of[action_id]:
                continue
            # Interest sums per invoice; fees and compensation stay one line each.
            key = (
                charge["kind"],
                charge["invoice_id"],
                0 if charge["kind"] == ChargeKind.INTEREST else charge["id"],
            )
            line = lines.setdefault(
                key,
                {
                    "kind": charge["kind"],
                    "invoice": charge["invoice__number"] or "",
                    "currency": charge["currency"],
                    "amount_minor": 0,
                    "rule": charge["rule"],
                    "charge_date": charge["charge_date"].isoformat(),
                    "this_action": False,
                },
            )
            line["amount_minor"] += charge["amount_minor"]
            line["charge_date"] = charge["charge_date"].isoformat()
            line["this_action"] = line["this_action"] or charge["action_id"] == action_id
        items = [line for line in lines.values() if line["amount_minor"]]
        for line in items:
            line["amount"] = format_minor(line["amount_minor"], line["currency"])
        result[action_id] = items
    return result
