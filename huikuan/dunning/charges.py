"""Charges: the fees, interest and compensation a dunning run claims, booked beside the invoices.

A charge never changes the invoice it is about. The run books, for each of its actions:

- a FEE when the stage (or the customer's contract) has one;
- for each invoice whose interest has started (this stage or an earlier one on the invoice starts
  interest) and whose customer's contract names an interest rule, an INTEREST charge for the
  interest accrued from the due date to the run's date *less the interest already booked on the
  invoice*, so that what is booked always adds up to the exact computation to date; a payment
  recorded late with an earlier date lowers it with a negative correction;
- a COMPENSATION charge once per invoice under the UK and EU rules.

Booking reads everything for the whole run in a fixed number of queries, computes in integers
(interest on the fast path of interest.py unless an invoice has payments, compounds or changes
rate) and writes plain tuples in one statement, so a run of any size costs the same handful of
round trips and no model instance per charge. Calling it again for the same run adds nothing. A waived charge stays on record with who waived it and why; it still counts
as booked, so a later run does not claim the same interest again.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, NamedTuple

from django.core.exceptions import EmptyResultSet
from django.db import connections, router, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from huikuan.core.errors import HuikuanError
from huikuan.core.money import exponent, format_minor
from huikuan.customers.models import Customer
from huikuan.dunning.fees import CompiledFee, FeeInvalid, fee_compile, fee_rule_values
from huikuan.dunning.interest import (
    InterestError,
    InterestResult,
    SimpleInterest,
    interest_compute,
    interest_simple,
    minor_text,
)
from huikuan.dunning.models import (
    Charge,
    ChargeKind,
    ContractTerms,
    DunningAction,
    DunningActionInvoice,
    DunningRun,
    FeeKind,
    InterestRule,
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
) -> InterestResult:
    """Return the interest computation a customer's contract terms give for one invoice."""
    return _rule_of(terms).compute(
        principal_minor=principal_minor,
        currency=currency,
        due_date=due_date,
        until_date=until_date,
        payments=list(payments),
        rates=rates,
    )


@dataclass(frozen=True, slots=True)
class _Rule:
    """A customer's interest terms parsed once, for all of their invoices."""

    rule: str
    contract_rate: Decimal | None
    lpr_markup: Decimal | None
    country: str
    day_count: str
    grace_days: int
    compound_monthly: bool

    def compute(
        self,
        *,
        principal_minor: int,
        currency: str,
        due_date: date,
        until_date: date,
        payments: Sequence[tuple[date, int]],
        rates: Any,
    ) -> InterestResult:
        """Return the general interest computation under these terms (any payments, compounding)."""
        return interest_compute(
            principal_minor=principal_minor,
            currency=currency,
            due_date=due_date,
            until_date=until_date,
            rule=self.rule,
            rates=rates,
            contract_rate=self.contract_rate,
            lpr_markup=self.lpr_markup,
            country=self.country,
            day_count=self.day_count,
            grace_days=self.grace_days,
            compound_monthly=self.compound_monthly,
            payments=payments,
        )


class _Terms(NamedTuple):
    """A customer's contract terms as booking reads them: plain values, cheaper than a model."""

    customer_id: int
    fee_kind: str
    fee_value: str
    interest_rule: str
    annual_rate: str
    lpr_markup: str
    eu_country: str
    day_count: str
    grace_days: int
    compound_monthly: bool


def _rule_of(terms: ContractTerms | _Terms) -> _Rule:
    return _Rule(
        rule=terms.interest_rule,
        contract_rate=_decimal(terms.annual_rate, what="annual rate", customer_id=terms.customer_id),
        lpr_markup=_decimal(terms.lpr_markup, what="LPR markup", customer_id=terms.customer_id),
        country=terms.eu_country,
        day_count=terms.day_count,
        grace_days=terms.grace_days,
        compound_monthly=terms.compound_monthly and terms.interest_rule == InterestRule.CONTRACT,
    )


# --- booking -------------------------------------------------------------------------------
#
# A run may have tens of thousands of actions and hundreds of thousands of invoices. Booking reads
# plain tuples in a fixed number of queries, computes in integers (fees once per distinct rule,
# interest on the fast path of interest.py unless an invoice has payments, compounds or changes
# rate), and writes the charges with one executemany of plain tuples: no model instance per charge.


@dataclass(frozen=True, slots=True)
class _Action:
    """What booking needs of an action and its customer's contract terms, read as plain values."""

    id: int
    customer_id: int
    currency: str
    amount_minor: int
    stage_name: str
    trigger_days: int
    stage_fee_kind: str
    stage_fee_value: str
    fee_booked: bool
    terms: _Terms | None


# kind, customer_id, invoice_id, action_id, currency, amount_minor, rule, detail as JSON text
_Row = tuple[str, int, int | None, int, str, int, str, str]

_ACTION_FIELDS = (
    "id",
    "customer_id",
    "currency",
    "amount_minor",
    "stage__name",
    "stage__trigger_days",
    "stage__fee_kind",
    "stage__fee_value",
    "fee_booked",
)
_TERMS_FIELDS = (
    "fee_kind",
    "fee_value",
    "interest_rule",
    "annual_rate",
    "lpr_markup",
    "eu_country",
    "day_count",
    "grace_days",
    "compound_monthly",
)


def _tuples(queryset: QuerySet[Any, Any]) -> list[tuple[Any, ...]]:
    """Return the rows of a ``values_list`` queryset as the database driver gives them.

    The ORM builds the SQL; reading 100,000 rows through its per-row machinery costs more than
    the booking itself. The values read are integers, booleans, text and dates, which both
    backends return as such (SQLite through the converters Django registers); sums are numeric on
    PostgreSQL, so callers pass them through int().
    """
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        return []
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _actions_read(run: DunningRun) -> dict[int, _Action]:
    """Return the run's actions with their stage and contract terms: one query."""
    rows = _tuples(
        DunningAction.objects.filter(run=run)
        .order_by()
        .annotate(
            fee_booked=Exists(Charge.objects.filter(action_id=OuterRef("pk"), kind=ChargeKind.FEE)),
            terms_id=F("customer__contract_terms__id"),
        )
        .values_list(
            *_ACTION_FIELDS, "terms_id", *(f"customer__contract_terms__{name}" for name in _TERMS_FIELDS)
        )
    )
    width = len(_ACTION_FIELDS)
    actions = {}
    for row in rows:
        terms = None
        if row[width] is not None:
            terms = _Terms(row[1], *row[width + 1 :])
        action_id, customer_id, currency, amount, name, trigger_days, fee_kind, fee_value, fee_booked = row[
            :width
        ]
        actions[action_id] = _Action(
            action_id,
            customer_id,
            currency,
            amount,
            name,
            trigger_days,
            fee_kind,
            fee_value,
            fee_booked,
            terms,
        )
    return actions


@cache
def _places(currency: str) -> int:
    return exponent(currency)


def _first_ids(ids: list[int], shown: int = 10) -> str:
    text = ", ".join(str(value) for value in ids[:shown])
    return text + (", ..." if len(ids) > shown else "")


def _fees(actions: Iterable[_Action]) -> list[_Row]:
    compiled: dict[tuple[str, str, str], CompiledFee | FeeInvalid] = {}
    skipped: dict[str, list[int]] = defaultdict(list)
    prefixes: dict[tuple[str, str, str, bool], str] = {}
    rows: list[_Row] = []
    for action in actions:
        if action.fee_booked:
            continue
        terms = action.terms
        kind, value = fee_rule_values(
            trigger_days=action.trigger_days,
            stage_kind=action.stage_fee_kind,
            stage_value=action.stage_fee_value,
            terms_kind=terms.fee_kind if terms is not None else None,
            terms_value=terms.fee_value if terms is not None else None,
        )
        if kind == FeeKind.NONE:
            continue
        key = (kind, value, action.currency)
        fee = compiled.get(key)
        if fee is None:
            try:
                fee = compiled[key] = fee_compile(kind=kind, text=value, currency=action.currency)
            except FeeInvalid as error:
                fee = compiled[key] = error
        if isinstance(fee, FeeInvalid):
            skipped[fee.message].append(action.id)
            continue
        amount = fee.minor(action.amount_minor)
        if amount <= 0:
            continue
        evidence = (action.stage_name, kind, value, bool(terms is not None and terms.fee_kind))
        prefix = prefixes.get(evidence)
        if prefix is None:
            # The evidence is json.dumps of {stage, fee_kind, fee_value, from_contract, amount_due};
            # all but the amount are shared by the actions of a stage, so their text is made once.
            shared = dict(zip(("stage", "fee_kind", "fee_value", "from_contract"), evidence, strict=True))
            prefix = prefixes[evidence] = json.dumps(shared)[:-1] + ', "amount_due": "'
        detail = f'{prefix}{minor_text(action.amount_minor, _places(action.currency))}"}}'
        rows.append(
            (ChargeKind.FEE, action.customer_id, None, action.id, action.currency, amount, kind, detail)
        )
    for message, ids in skipped.items():
        # One mistyped fee must not stop the day's reminders to every customer.
        log.warning("no fee booked for %s action(s) (%s): %s", len(ids), _first_ids(ids), message)
    return rows


def _interest(run: DunningRun, actions: dict[int, _Action]) -> list[_Row]:
    as_of = run.as_of
    lines = DunningActionInvoice.objects.filter(
        action__run=run, action__customer__contract_terms__interest_rule__in=INTEREST_RULES
    )
    invoices = lines.values("invoice_id")
    dues = _tuples(
        lines.order_by().values_list(
            "action_id", "invoice_id", "invoice__amount_minor", "invoice__due_date", "invoice__currency"
        )
    )
    if not dues:
        return []
    dues.sort()  # by action, then invoice: charges are written in a stable order
    started = {
        invoice_id
        for (invoice_id,) in _tuples(
            DunningActionInvoice.objects.filter(
                invoice_id__in=invoices, action__stage__starts_interest=True, action__as_of__lte=as_of
            )
            .order_by()
            .values_list("invoice_id")
            .distinct()
        )
    }
    payments: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for invoice_id, day, amount in _tuples(
        Allocation.objects.filter(invoice_id__in=invoices, allocation_date__lte=as_of)
        .order_by()
        .values_list("invoice_id", "allocation_date", "amount_minor")
    ):
        payments[invoice_id].append((day, amount))
    # Credit notes and write-offs lower what is owed from their date, as payments do.
    for invoice_id, day, amount in _tuples(
        InvoiceAdjustment.objects.filter(invoice_id__in=invoices, adjustment_date__lte=as_of)
        .order_by()
        .values_list("invoice_id", "adjustment_date", "amount_minor")
    ):
        payments[invoice_id].append((day, amount))
    booked: dict[int, tuple[int, int]] = {}
    compensated: set[int] = set()
    for invoice_id, kind, total, standing, count in _tuples(
        Charge.objects.filter(
            invoice_id__in=invoices, kind__in=[ChargeKind.INTEREST, ChargeKind.COMPENSATION]
        )
        .order_by()
        .values("invoice_id", "kind")
        .annotate(
            total=Sum("amount_minor"),
            standing=Sum("amount_minor", filter=Q(waived_at__isnull=True)),
            count=Count("id"),
        )
        .values_list("invoice_id", "kind", "total", "standing", "count")
    ):
        if kind == ChargeKind.INTEREST:
            booked[invoice_id] = (int(total or 0), int(standing or 0))
        elif count:
            compensated.add(invoice_id)
    rates = rate_table_load()

    rules: dict[int, _Rule | InterestError] = {}
    memo: dict[Any, Any] = {}  # rate lookups shared by invoices with the same terms and due date
    rows: list[_Row] = []
    for action_id, invoice_id, principal, due_date, currency in dues:
        if invoice_id not in started:
            continue
        action = actions[action_id]
        rule = rules.get(action.customer_id)
        if rule is None:
            try:
                rule = rules[action.customer_id] = _rule_of(action.terms)  # type: ignore[arg-type]
            except InterestError as error:
                rule = rules[action.customer_id] = error
        if isinstance(rule, InterestError):
            log.warning("no interest booked on invoice %s: %s", invoice_id, rule.message)
            continue
        paid = payments.get(invoice_id)
        try:
            result: SimpleInterest | InterestResult | None = None
            if not paid and not rule.compound_monthly:
                result = interest_simple(
                    principal_minor=principal,
                    currency=currency,
                    due_date=due_date,
                    until_date=as_of,
                    rule=rule.rule,
                    rates=rates,
                    contract_rate=rule.contract_rate,
                    lpr_markup=rule.lpr_markup,
                    country=rule.country,
                    day_count=rule.day_count,
                    grace_days=rule.grace_days,
                    memo=memo,
                )
            if result is None:
                result = rule.compute(
                    principal_minor=principal,
                    currency=currency,
                    due_date=due_date,
                    until_date=as_of,
                    payments=paid or (),
                    rates=rates,
                )
        except InterestError as error:
            log.warning("no interest booked on invoice %s: %s", invoice_id, error.message)
            continue
        total_booked, standing = booked.get(invoice_id, (0, 0))
        increment = result.interest_minor - total_booked
        # A correction downwards never takes back more than is still claimed (waived is gone).
        increment = max(increment, -max(standing, 0))
        compensation = (
            rule.rule in COMPENSATION_RULES
            and result.compensation_minor > 0
            and invoice_id not in compensated
        )
        if not increment and not compensation:
            continue
        places = _places(currency)
        if increment:
            before = minor_text(total_booked, places)
            if isinstance(result, SimpleInterest):
                detail = result.detail_json(booked_before=before)
            else:
                detail = json.dumps({**result.detail(), "booked_before": before})
            rows.append(
                (ChargeKind.INTEREST, action.customer_id, invoice_id, action_id, currency, increment, rule.rule,
                 detail)
            )  # fmt: skip
        if compensation:
            compensated.add(invoice_id)
            evidence = {"principal": minor_text(principal, places), "due_date": due_date.isoformat()}
            rows.append(
                (ChargeKind.COMPENSATION, action.customer_id, invoice_id, action_id, currency,
                 result.compensation_minor, rule.rule, json.dumps(evidence))
            )  # fmt: skip
    return rows


_INSERT_FIELDS = ("kind", "customer", "invoice", "action", "currency", "amount_minor", "rule", "detail")


def _charges_insert(rows: list[_Row], *, charge_date: date) -> None:
    """Write charges as plain tuples in one statement: COPY on PostgreSQL, executemany on SQLite.

    Values go in the backend's own formats: the date as Django adapts it (ISO text on SQLite), the
    evidence as the JSON text Django would write (PostgreSQL parses it into jsonb). PostgreSQL gets
    COPY because Django binds parameters on the client, so an executemany there sends and plans
    one INSERT per row.
    """
    if not rows:
        return
    connection = connections[router.db_for_write(Charge)]
    quote = connection.ops.quote_name
    fields = [*_INSERT_FIELDS, "charge_date", "waive_reason"]
    column_of = {field.name: str(field.column) for field in Charge._meta.concrete_fields}
    table = f"{quote(Charge._meta.db_table)} ({', '.join(quote(column_of[name]) for name in fields)})"
    day = connection.ops.adapt_datefield_value(charge_date)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((*row, day, ""))
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            cursor.executemany(
                f"INSERT INTO {table} VALUES ({placeholders})", [(*row, day, "") for row in rows]
            )


def charges_book_for_run(*, run: DunningRun) -> int:
    """Book the fees, interest and compensation of a run's actions; return how many charges were added.

    Meant to run inside the run's transaction, after its actions and invoice lines exist.
    """
    actions = _actions_read(run)
    if not actions:
        return 0
    rows = _fees(actions.values())
    if any(
        item.terms is not None and item.terms.interest_rule != InterestRule.NONE for item in actions.values()
    ):
        rows += _interest(run, actions)
    _charges_insert(rows, charge_date=run.as_of)
    return len(rows)


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

    Plain data for message templates, in one query for any number of actions: the interest
    booked to date on each of the action's invoices (one line per invoice, all runs together, not
    just this run's increment), their compensation, and the customer's fees in that currency up
    to the action's date. Waived charges are left out, and so is a line that adds up to nothing.
    Lines come in the order they were first booked; ``this_action`` marks what this action booked.
    """
    ids = sorted(set(action_ids))
    if not ids:
        return {}
    # One row per (action, charge) the action shows: its customer's charges in its currency up to
    # its date, fees always and the others only on the action's own invoices.
    action = "customer__dunning_actions"
    rows = (
        Charge.objects.filter(
            Q(kind=ChargeKind.FEE)
            | Exists(
                DunningActionInvoice.objects.filter(
                    action_id=OuterRef(f"{action}__id"), invoice_id=OuterRef("invoice_id")
                )
            ),
            **{
                f"{action}__id__in": ids,
                f"{action}__currency": F("currency"),
                f"{action}__as_of__gte": F("charge_date"),
            },
            waived_at__isnull=True,
        )
        .order_by(f"{action}__id", "charge_date", "id")
        .values_list(
            f"{action}__id",
            "id",
            "kind",
            "invoice_id",
            "invoice__number",
            "action_id",
            "currency",
            "amount_minor",
            "charge_date",
            "rule",
        )
    )
    # Every action asked about has an entry, an empty list when nothing is claimed.
    result: dict[int, list[dict[str, Any]]] = {action_id: [] for action_id in ids}
    lines: dict[tuple[int, str, int | None, int], dict[str, Any]] = {}
    for action_id, charge_id, kind, invoice_id, number, booked_by, currency, amount, day, rule in rows:
        # Interest sums per invoice; fees and compensation stay one line each.
        key = (action_id, kind, invoice_id, 0 if kind == ChargeKind.INTEREST else charge_id)
        line = lines.get(key)
        if line is None:
            line = lines[key] = {
                "kind": kind,
                "invoice": number or "",
                "currency": currency,
                "amount_minor": 0,
                "rule": rule,
                "charge_date": "",
                "this_action": False,
            }
            result[action_id].append(line)
        line["amount_minor"] += amount
        line["charge_date"] = day.isoformat()
        line["this_action"] = line["this_action"] or booked_by == action_id
    for items in result.values():
        items[:] = [line for line in items if line["amount_minor"]]
        for line in items:
            line["amount"] = format_minor(line["amount_minor"], line["currency"])
    return result
