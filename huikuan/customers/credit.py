"""Credit rating of every customer at once (月评、季检、年审), and the manager's override.

The run reads each customer's record in one pass per table: a handful of GROUP BY queries over
the whole invoice, promise, dispute, short-payment, interaction, order and statement tables, the
same SQL on SQLite and PostgreSQL. It scores every customer with the pure rule in
``customers/rating.py``, writes the ratings in batches, moves the grade of customers whose grade
changed (so that dunning picks the policy of the new grade) and raises early warnings.

A manager's override outranks the computed grade until its date; the customer's ``grade`` is the
grade in force, ``rated_grade`` and ``credit_score`` the latest computed ones.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from huikuan.core.audit import audit_record, audit_snapshot
from huikuan.core.bulk import table_rows_insert
from huikuan.core.errors import HuikuanError
from huikuan.core.models import AuditAction
from huikuan.customers.models import (
    CreditOverride,
    CreditRating,
    CreditRun,
    Customer,
    Grade,
    RatingKind,
)
from huikuan.customers.rating import (
    DEFAULT_GRADE_BOUNDS,
    CreditInputs,
    credit_score,
    suggested_limit,
)

WRITE_BATCH = 5000
COMPACT = (",", ":")
UNANSWERED = ("NO_ANSWER", "WRONG_NUMBER")
ANSWERED = ("REACHED", "PROMISED", "DISPUTED", "REFUSED", "ASKED_FOR_DOCUMENTS", "SAYS_PAID")
CADENCES = ("monthly", "quarterly", "yearly")
# Who may set a grade against the rating: the people who answer for credit risk.
OVERRIDE_ROLES = ("MANAGER", "ADMIN")


class CreditError(HuikuanError):
    code = "credit_invalid"


# --- settings ------------------------------------------------------------------------------------


def window_days() -> int:
    return int(getattr(settings, "HUIKUAN_CREDIT_WINDOW_DAYS", 365))


def recent_days() -> int:
    return int(getattr(settings, "HUIKUAN_CREDIT_RECENT_DAYS", 90))


def grade_bounds() -> tuple[int, ...]:
    raw = getattr(settings, "HUIKUAN_CREDIT_GRADE_BOUNDS", DEFAULT_GRADE_BOUNDS)
    if isinstance(raw, str):
        raw = [part for part in raw.split(",") if part.strip()]
    return tuple(int(part) for part in raw)


def rating_cadence() -> str:
    cadence = str(getattr(settings, "HUIKUAN_CREDIT_RATING_CADENCE", "monthly")).strip().lower()
    if cadence not in CADENCES:
        raise CreditError(
            f"HUIKUAN_CREDIT_RATING_CADENCE must be one of {', '.join(CADENCES)} (got {cadence!r})"
        )
    return cadence


# --- reading every customer's record ----------------------------------------------------------


def _day(value: date) -> Any:
    return connection.ops.adapt_datefield_value(value)


def _moment(value: date) -> Any:
    """The end of the day ``value`` in the company's zone, as the database compares datetimes."""
    end = timezone.make_aware(datetime.combine(value + timedelta(days=1), time.min))
    return connection.ops.adapt_datetimefield_value(end)


def _days_between(later: str, earlier: str) -> str:
    """SQL for whole days from ``earlier`` to ``later`` (two date expressions)."""
    if connection.vendor == "sqlite":
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"
    return f"({later} - {earlier})"


def _rows(sql: str, params: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        while True:
            chunk = cursor.fetchmany(WRITE_BATCH)
            if not chunk:
                return
            yield from chunk


@dataclass
class Figures:
    """The aggregates of one customer as read from the tables (mutable while they are summed)."""

    invoices_due: int = 0
    invoices_on_time: int = 0
    recent_due: int = 0
    recent_days_late: int = 0
    earlier_due: int = 0
    earlier_days_late: int = 0
    first_issue: Any = None
    open_minor: int = 0
    orders_open_minor: int = 0
    sales_minor: int = 0
    sales_recent_minor: int = 0
    sales_before_minor: int = 0
    promises_broken: int = 0
    promises_partly_kept: int = 0
    promises_broken_recent: int = 0
    disputes: int = 0
    short_payments: int = 0
    short_payments_recent: int = 0
    unanswered: int = 0
    unanswered_streak: int = 0
    statements_unanswered: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def credit_figures(*, as_of: date, customer_ids: list[int] | None = None) -> dict[int, Figures]:
    """Read every customer's record in one pass per table (or only ``customer_ids``, for tests
    and one customer's page). Amounts count only in the customer's own currency."""
    start = as_of - timedelta(days=window_days())
    recent = as_of - timedelta(days=recent_days())
    before_recent = recent - timedelta(days=recent_days())
    currency = {
        pk: cur
        for pk, cur in (
            Customer.objects.filter(pk__in=customer_ids) if customer_ids is not None else Customer.objects
        ).values_list("pk", "currency")
    }
    only = ""
    only_params: list[Any] = []
    if customer_ids is not None:
        only = (
            " AND {col} IN (" + ",".join(["%s"] * len(customer_ids)) + ")" if customer_ids else " AND 1 = 0"
        )
        only_params = list(customer_ids)
    figures: dict[int, Figures] = defaultdict(Figures)

    # Invoices: on time, days late (recent and earlier), open, sales, first invoice.
    settled_by = "(i.settled_date IS NOT NULL AND i.settled_date <= %s AND i.status = 'PAID')"
    end = f"CASE WHEN {settled_by} THEN i.settled_date ELSE %s END"
    late = _days_between(end, "i.due_date")
    late_days = f"MAX({late}, 0)" if connection.vendor == "sqlite" else f"GREATEST({late}, 0)"
    in_window = "(i.due_date > %s AND i.due_date <= %s)"
    sql = f"""
        SELECT i.customer_id, i.currency,
          SUM(CASE WHEN {in_window} THEN 1 ELSE 0 END),
          SUM(CASE WHEN {in_window} AND {settled_by} AND i.settled_date <= i.due_date THEN 1 ELSE 0 END),
          SUM(CASE WHEN i.due_date > %s AND i.due_date <= %s THEN 1 ELSE 0 END),
          SUM(CASE WHEN i.due_date > %s AND i.due_date <= %s THEN {late_days} ELSE 0 END),
          SUM(CASE WHEN i.due_date > %s AND i.due_date <= %s THEN 1 ELSE 0 END),
          SUM(CASE WHEN i.due_date > %s AND i.due_date <= %s THEN {late_days} ELSE 0 END),
          MIN(i.issue_date),
          SUM(CASE WHEN i.settled_date IS NULL THEN i.open_minor ELSE 0 END),
          SUM(CASE WHEN i.issue_date > %s AND i.issue_date <= %s THEN i.amount_minor ELSE 0 END),
          SUM(CASE WHEN i.issue_date > %s AND i.issue_date <= %s THEN i.amount_minor ELSE 0 END),
          SUM(CASE WHEN i.issue_date > %s AND i.issue_date <= %s THEN i.amount_minor ELSE 0 END)
        FROM ledger_invoice i
        WHERE i.status <> 'CANCELLED' AND i.issue_date <= %s{only.format(col="i.customer_id")}
        GROUP BY i.customer_id, i.currency
    """
    a, s, r, b = _day(as_of), _day(start), _day(recent), _day(before_recent)
    late_params = [a, a]  # settled_by's date and the end's default
    params = [
        s, a,
        s, a, a,
        r, a,
        r, a, *late_params,
        s, r,
        s, r, *late_params,
        s, a,
        r, a,
        b, r,
        a, *only_params,
    ]  # fmt: skip
    for row in _rows(sql, params):
        customer_id, row_currency = row[0], row[1]
        f = figures[customer_id]
        f.invoices_due += int(row[2] or 0)
        f.invoices_on_time += int(row[3] or 0)
        f.recent_due += int(row[4] or 0)
        f.recent_days_late += int(row[5] or 0)
        f.earlier_due += int(row[6] or 0)
        f.earlier_days_late += int(row[7] or 0)
        first = _as_date(row[8])
        if first is not None and (f.first_issue is None or first < f.first_issue):
            f.first_issue = first
        if row_currency == currency.get(customer_id):
            f.open_minor += int(row[9] or 0)
            f.sales_minor += int(row[10] or 0)
            f.sales_recent_minor += int(row[11] or 0)
            f.sales_before_minor += int(row[12] or 0)

    # Orders not yet invoiced add to exposure; all orders count as volume.
    sql = f"""
        SELECT o.customer_id, o.currency,
          SUM(CASE WHEN o.status = 'OPEN' THEN o.amount_minor ELSE 0 END),
          SUM(CASE WHEN o.status = 'OPEN' AND o.order_date > %s AND o.order_date <= %s
              THEN o.amount_minor ELSE 0 END),
          SUM(CASE WHEN o.status = 'OPEN' AND o.order_date > %s AND o.order_date <= %s
              THEN o.amount_minor ELSE 0 END)
        FROM customers_order o
        WHERE o.status <> 'CANCELLED' AND o.order_date <= %s{only.format(col="o.customer_id")}
        GROUP BY o.customer_id, o.currency
    """
    for customer_id, row_currency, open_minor, recent_minor, before_minor in _rows(
        sql, [r, a, b, r, a, *only_params]
    ):
        if row_currency == currency.get(customer_id):
            f = figures[customer_id]
            f.orders_open_minor += int(open_minor or 0)
            # An open order is volume not yet invoiced: it counts with the sales of its period.
            f.sales_recent_minor += int(recent_minor or 0)
            f.sales_before_minor += int(before_minor or 0)

    sql = f"""
        SELECT p.customer_id,
          SUM(CASE WHEN p.status = 'BROKEN' THEN 1 ELSE 0 END),
          SUM(CASE WHEN p.status = 'PARTLY_KEPT' THEN 1 ELSE 0 END),
          SUM(CASE WHEN p.status = 'BROKEN' AND p.promised_date > %s THEN 1 ELSE 0 END)
        FROM collections_promisetopay p
        WHERE p.promised_date > %s AND p.promised_date <= %s{only.format(col="p.customer_id")}
        GROUP BY p.customer_id
    """
    for customer_id, broken, partly, broken_recent in _rows(sql, [r, s, a, *only_params]):
        f = figures[customer_id]
        f.promises_broken, f.promises_partly_kept = int(broken or 0), int(partly or 0)
        f.promises_broken_recent = int(broken_recent or 0)

    sql = f"""
        SELECT d.customer_id, COUNT(*) FROM collections_dispute d
        WHERE d.customer_id IS NOT NULL AND d.opened_date > %s AND d.opened_date <= %s
        {only.format(col="d.customer_id")}
        GROUP BY d.customer_id
    """
    for customer_id, count in _rows(sql, [s, a, *only_params]):
        figures[customer_id].disputes = int(count)

    sql = f"""
        SELECT i.customer_id, COUNT(*), SUM(CASE WHEN sp.event_date > %s THEN 1 ELSE 0 END)
        FROM ledger_shortpayment sp JOIN ledger_invoice i ON i.id = sp.invoice_id
        WHERE sp.event_date > %s AND sp.event_date <= %s{only.format(col="i.customer_id")}
        GROUP BY i.customer_id
    """
    for customer_id, count, recent_count in _rows(sql, [r, s, a, *only_params]):
        f = figures[customer_id]
        f.short_payments, f.short_payments_recent = int(count), int(recent_count or 0)

    # Calls and visits nobody answered: in the recent window, and in a row since the last answer.
    unanswered = ", ".join(["%s"] * len(UNANSWERED))
    answered = ", ".join(["%s"] * len(ANSWERED))
    moment_end, moment_recent = _moment(as_of), _moment(recent)
    sql = f"""
        SELECT x.customer_id,
          SUM(CASE WHEN x.occurred_at > %s THEN 1 ELSE 0 END),
          SUM(CASE WHEN la.last_at IS NULL OR x.occurred_at > la.last_at THEN 1 ELSE 0 END)
        FROM collections_interaction x
        LEFT JOIN (
          SELECT y.customer_id, MAX(y.occurred_at) AS last_at FROM collections_interaction y
          WHERE y.outcome IN ({answered}) AND y.occurred_at < %s GROUP BY y.customer_id
        ) la ON la.customer_id = x.customer_id
        WHERE x.outcome IN ({unanswered}) AND x.kind IN ('CALL', 'VISIT') AND x.occurred_at < %s
        {only.format(col="x.customer_id")}
        GROUP BY x.customer_id
    """
    for customer_id, recent_count, streak in _rows(
        sql, [moment_recent, *ANSWERED, moment_end, *UNANSWERED, moment_end, *only_params]
    ):
        f = figures[customer_id]
        f.unanswered, f.unanswered_streak = int(recent_count or 0), int(streak or 0)

    sql = f"""
        SELECT st.customer_id, COUNT(*) FROM ledger_statement st
        WHERE st.status = 'NO_REPLY' AND st.period_end_date > %s AND st.period_end_date <= %s
        {only.format(col="st.customer_id")}
        GROUP BY st.customer_id
    """
    for customer_id, count in _rows(sql, [b, a, *only_params]):
        figures[customer_id].statements_unanswered = int(count)
    return figures


def credit_inputs(figures: Figures, *, as_of: date, limit_minor: int | None) -> CreditInputs:
    """The scoring rule's inputs from one customer's figures."""
    first = figures.first_issue
    return CreditInputs(
        invoices_due=figures.invoices_due,
        invoices_on_time=figures.invoices_on_time,
        recent_due=figures.recent_due,
        recent_days_late=figures.recent_days_late,
        earlier_due=figures.earlier_due,
        earlier_days_late=figures.earlier_days_late,
        promises_broken=figures.promises_broken,
        promises_partly_kept=figures.promises_partly_kept,
        disputes=figures.disputes,
        short_payments=figures.short_payments,
        unanswered_contacts=figures.unanswered,
        exposure_minor=figures.open_minor + figures.orders_open_minor,
        limit_minor=limit_minor,
        relationship_days=(as_of - first).days if first is not None else None,
        sales_minor=figures.sales_minor,
    )


def inputs_record(figures: Figures, inputs: CreditInputs) -> dict[str, Any]:
    """What is kept with a rating: the figures it was computed from."""
    return {
        "invoices_due": inputs.invoices_due,
        "invoices_on_time": inputs.invoices_on_time,
        "recent_due": inputs.recent_due,
        "recent_days_late": inputs.recent_days_late,
        "earlier_due": inputs.earlier_due,
        "earlier_days_late": inputs.earlier_days_late,
        "promises_broken": inputs.promises_broken,
        "promises_partly_kept": inputs.promises_partly_kept,
        "disputes": inputs.disputes,
        "short_payments": inputs.short_payments,
        "unanswered_contacts": inputs.unanswered_contacts,
        "open_minor": figures.open_minor,
        "orders_open_minor": figures.orders_open_minor,
        "limit_minor": inputs.limit_minor,
        "first_invoice": figures.first_issue.isoformat() if figures.first_issue else None,
        "sales_minor": inputs.sales_minor,
        "sales_recent_minor": figures.sales_recent_minor,
        "sales_before_minor": figures.sales_before_minor,
        "unanswered_in_a_row": figures.unanswered_streak,
        "statements_unanswered": figures.statements_unanswered,
        "promises_broken_recent": figures.promises_broken_recent,
        "short_payments_recent": figures.short_payments_recent,
    }


# --- the override -------------------------------------------------------------------------------


def override_active(*, customer: Customer, as_of: date) -> CreditOverride | None:
    return (
        CreditOverride.objects.filter(customer=customer, ended_at__isnull=True, until__gte=as_of)
        .select_related("created_by")
        .order_by("-created_at", "-id")
        .first()
    )


def _active_override_grades(*, as_of: date) -> dict[int, str]:
    return dict(
        CreditOverride.objects.filter(ended_at__isnull=True, until__gte=as_of)
        .order_by("customer_id", "created_at", "id")
        .values_list("customer_id", "grade")
    )


@transaction.atomic
def credit_override_set(
    *, customer: Customer, grade: str, reason: str, until: date, actor: Any = None, today: date | None = None
) -> CreditOverride:
    """Put a manager's grade in force until ``until`` (inclusive); an earlier override ends."""
    today = today or timezone.localdate()
    grade = (grade or "").strip().upper()
    if grade not in Grade.values:
        raise CreditError(
            f"grade must be one of {', '.join(Grade.values)} (got {grade!r})", code="grade_invalid"
        )
    reason = (reason or "").strip()
    if not reason:
        raise CreditError("an override needs a reason", code="reason_missing")
    if until < today:
        raise CreditError(
            f"the override must last until today or later (got {until.isoformat()})", code="until_past"
        )
    now = timezone.now()
    for previous in CreditOverride.objects.select_for_update().filter(
        customer=customer, ended_at__isnull=True
    ):
        before = audit_snapshot(previous, ["ended_at"])
        previous.ended_at = now
        previous.save(update_fields=["ended_at"])
        audit_record(instance=previous, action=AuditAction.UPDATE, actor=actor, before=before,
                     after=audit_snapshot(previous, ["ended_at"]))  # fmt: skip
    override = CreditOverride.objects.create(
        customer=customer,
        grade=grade,
        reason=reason,
        until=until,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    audit_record(instance=override, action=AuditAction.CREATE, actor=actor, after=audit_snapshot(override))
    _grade_put(customer=customer, grade=grade, actor=actor)
    return override


@transaction.atomic
def credit_override_end(*, customer: Customer, actor: Any = None) -> int:
    """End the customer's override now; the rated grade is in force again."""
    now = timezone.now()
    ended = 0
    for override in CreditOverride.objects.select_for_update().filter(
        customer=customer, ended_at__isnull=True
    ):
        override.ended_at = now
        override.save(update_fields=["ended_at"])
        audit_record(
            instance=override, action=AuditAction.UPDATE, actor=actor, after={"ended_at": now.isoformat()}
        )
        ended += 1
    _grade_put(customer=customer, grade=None, actor=actor)
    return ended


def _grade_put(*, customer: Customer, grade: str | None, actor: Any) -> None:
    """Put ``grade`` in force (None: the rated grade), as the database holds the customer now."""
    customer.grade, customer.rated_grade = Customer.objects.values_list("grade", "rated_grade").get(
        pk=customer.pk
    )
    grade = grade or customer.rated_grade or customer.grade
    if customer.grade == grade:
        return
    before = audit_snapshot(customer, ["grade"])
    customer.grade = grade
    customer.save(update_fields=["grade", "updated_at"])
    audit_record(instance=customer, action=AuditAction.UPDATE, actor=actor, before=before,
                 after=audit_snapshot(customer, ["grade"]))  # fmt: skip


def credit_overrides_expire(*, as_of: date) -> int:
    """Give customers whose override ran out before ``as_of`` their rated grade back. Daily."""
    expired = list(
        CreditOverride.objects.filter(ended_at__isnull=True, until__lt=as_of).select_related("customer")
    )
    with transaction.atomic():
        for override in expired:
            override.ended_at = timezone.now()
            override.save(update_fields=["ended_at"])
            customer = override.customer
            if not CreditOverride.objects.filter(
                customer=customer, ended_at__isnull=True, until__gte=as_of
            ).exists():
                _grade_put(customer=customer, grade=None, actor=None)
    return len(expired)


# --- the run ------------------------------------------------------------------------------------


@dataclass
class RatingOutcome:
    customer_id: int
    score: int
    grade: str
    previous_grade: str
    in_force: str  # the grade the customer has after the run (the override's while it lasts)


def _ids_param(ids: list[int]) -> tuple[str, list[Any]]:
    if connection.vendor == "postgresql":
        return "= ANY(%s)", [ids]
    return "IN (SELECT value FROM json_each(%s))", [json.dumps(ids)]


def credit_rate(
    *,
    as_of: date,
    kind: str = RatingKind.MANUAL,
    triggered_by: str = "",
    warnings: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> CreditRun:
    """Rate every customer as of ``as_of``; keep each rating, move changed grades, raise warnings."""
    from huikuan.customers.warnings import warnings_raise

    started = timezone.now()
    bounds = grade_bounds()
    window = window_days()
    figures = credit_figures(as_of=as_of)
    overrides = _active_override_grades(as_of=as_of)
    customers = list(
        Customer.objects.order_by("pk").values_list(
            "pk", "currency", "credit_limit_minor", "grade", "rated_grade", "credit_score"
        )
    )
    total = len(customers)
    with transaction.atomic():
        run = CreditRun.objects.create(
            as_of=as_of, kind=kind, started_at=started, triggered_by=triggered_by[:60]
        )
        outcomes: list[RatingOutcome] = []
        rows: list[tuple[Any, ...]] = []
        now_value = connection.ops.adapt_datetimefield_value(started)
        as_of_value = _day(as_of)
        empty = Figures()
        done = 0
        for pk, currency, limit_minor, grade_now, rated, _score in customers:
            customer_figures = figures.get(pk, empty)
            inputs = credit_inputs(customer_figures, as_of=as_of, limit_minor=limit_minor)
            result = credit_score(inputs, bounds=bounds)
            previous = rated or grade_now
            in_force = overrides.get(pk, result.grade)
            outcomes.append(RatingOutcome(pk, result.score, result.grade, previous, in_force))
            limit = suggested_limit(grade=result.grade, sales_minor=inputs.sales_minor, window_days=window)
            rows.append(
                (pk, run.pk, as_of_value, kind, result.score, result.grade, previous,
                 json.dumps([factor.as_dict() for factor in result.factors], separators=COMPACT),
                 json.dumps(inputs_record(customer_figures, inputs), separators=COMPACT), limit, currency, now_value)
            )  # fmt: skip
            if len(rows) >= WRITE_BATCH:
                _ratings_write(rows)
                done += len(rows)
                rows = []
                if progress:
                    progress(done, total)
        _ratings_write(rows)
        done += len(rows)
        if progress:
            progress(done, total)
        changed = _customers_update(
            outcomes, current={pk: (grade, rated, score) for pk, _c, _l, grade, rated, score in customers}
        )
        raised = warnings_raise(as_of=as_of, figures=figures, outcomes=outcomes) if warnings else 0
        run.finished_at = timezone.now()
        run.customers_rated = total
        run.grades_changed = changed
        run.warnings_raised = raised
        run.save(update_fields=["finished_at", "customers_rated", "grades_changed", "warnings_raised"])
    return run


RATING_COLUMNS = (
    "customer_id", "run_id", "as_of", "kind", "score", "grade", "previous_grade", "factors", "inputs",
    "suggested_limit_minor", "currency", "created_at",
)  # fmt: skip


def _ratings_write(rows: list[tuple[Any, ...]]) -> None:
    table_rows_insert("customers_creditrating", RATING_COLUMNS, rows)


def _customers_update(
    outcomes: list[RatingOutcome], *, current: dict[int, tuple[str, str, int | None]]
) -> int:
    """Write each customer's score, rated grade and grade in force: one UPDATE per distinct change.

    Scores change for most customers on every run, so they go in one statement per score value
    (at most 101) rather than one per customer; grades the same way. Audit entries record the
    grades the run moved.
    """
    by_score: dict[int, list[int]] = defaultdict(list)
    by_grades: dict[tuple[str, str], list[int]] = defaultdict(list)
    audits: list[tuple[Any, ...]] = []
    at = connection.ops.adapt_datetimefield_value(timezone.now())
    changed = 0
    for outcome in outcomes:
        grade_now, rated_now, score_now = current[outcome.customer_id]
        if score_now != outcome.score:
            by_score[outcome.score].append(outcome.customer_id)
        if (grade_now, rated_now) != (outcome.in_force, outcome.grade):
            by_grades[(outcome.in_force, outcome.grade)].append(outcome.customer_id)
        if grade_now != outcome.in_force:
            changed += 1
            audits.append(
                (at, "credit rating", outcome.customer_id, "customers.customer", str(outcome.customer_id),
                 AuditAction.UPDATE, json.dumps({"grade": grade_now}), json.dumps({"grade": outcome.in_force}))
            )  # fmt: skip
    if connection.vendor == "postgresql":
        _customers_update_copied(outcomes, current=current)
    else:
        with connection.cursor() as cursor:
            for score, ids in by_score.items():
                for start in range(0, len(ids), 50_000):
                    condition, params = _ids_param(ids[start : start + 50_000])
                    cursor.execute(
                        f"UPDATE customers_customer SET credit_score = %s WHERE id {condition}",
                        [score, *params],
                    )
            for (grade, rated), ids in by_grades.items():
                for start in range(0, len(ids), 50_000):
                    condition, params = _ids_param(ids[start : start + 50_000])
                    cursor.execute(
                        f"UPDATE customers_customer SET grade = %s, rated_grade = %s WHERE id {condition}",
                        [grade, rated, *params],
                    )
    # The audit trail is append-only; these rows are what audit_record would write, in bulk.
    table_rows_insert(
        "core_auditentry",
        ("at", "actor_label", "customer_id", "entity", "entity_id", "action", "before", "after"),
        audits,
    )
    return changed


def _customers_update_copied(
    outcomes: list[RatingOutcome], *, current: dict[int, tuple[str, str, int | None]]
) -> None:
    """PostgreSQL: copy the changed customers into a temporary table and update from it at once."""
    changed = [
        (outcome.customer_id, outcome.score, outcome.in_force, outcome.grade)
        for outcome in outcomes
        if current[outcome.customer_id] != (outcome.in_force, outcome.grade, outcome.score)
    ]
    if not changed:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS credit_customer_change "
            "(id bigint PRIMARY KEY, score smallint, grade varchar(1), rated varchar(1)) ON COMMIT DROP"
        )
        cursor.execute("TRUNCATE credit_customer_change")
    table_rows_insert("credit_customer_change", ("id", "score", "grade", "rated"), changed)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE customers_customer c SET credit_score = u.score, grade = u.grade, rated_grade = u.rated "
            "FROM credit_customer_change u WHERE c.id = u.id"
        )


# --- the schedule ----------------------------------------------------------------------------------


def period_start(*, as_of: date, cadence: str) -> date:
    """The first day of the month, quarter or year ``as_of`` falls in."""
    if cadence == "yearly":
        return as_of.replace(month=1, day=1)
    if cadence == "quarterly":
        return as_of.replace(month=(as_of.month - 1) // 3 * 3 + 1, day=1)
    return as_of.replace(day=1)


def credit_rating_due(*, as_of: date) -> bool:
    """True when no scheduled run has rated the current month, quarter or year yet."""
    start = period_start(as_of=as_of, cadence=rating_cadence())
    return not CreditRun.objects.filter(
        kind=RatingKind.SCHEDULED, as_of__gte=start, as_of__lte=as_of, finished_at__isnull=False
    ).exists()


def credit_rate_if_due(*, as_of: date, triggered_by: str = "schedule") -> dict[str, Any]:
    """The daily step: end overrides that ran out, and rate everyone when the period's rating is due."""
    expired = credit_overrides_expire(as_of=as_of)
    if not credit_rating_due(as_of=as_of):
        return {"as_of": as_of.isoformat(), "rated": False, "overrides_expired": expired}
    run = credit_rate(as_of=as_of, kind=RatingKind.SCHEDULED, triggered_by=triggered_by)
    return {"as_of": as_of.isoformat(), "rated": True, "overrides_expired": expired, **run_summary(run)}


def run_summary(run: CreditRun) -> dict[str, Any]:
    seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
    return {
        "run_id": run.pk,
        "as_of": run.as_of.isoformat(),
        "kind": run.kind,
        "customers_rated": run.customers_rated,
        "grades_changed": run.grades_changed,
        "warnings_raised": run.warnings_raised,
        "seconds": round(seconds, 2) if seconds is not None else None,
    }


def latest_ratings(*, customer: Customer, limit: int = 5) -> list[CreditRating]:
    return list(CreditRating.objects.filter(customer=customer).order_by("-as_of", "-id")[:limit])


# --- "why this grade", for people ----------------------------------------------------------------

FACTOR_LABELS = {
    "on_time_share": _lazy("invoices paid on time"),
    "days_late": _lazy("average days late (recent counted twice)"),
    "days_late_trend": _lazy("days late, recent against earlier"),
    "promises_broken": _lazy("promises broken or partly kept"),
    "disputes": _lazy("disputes raised"),
    "short_payments": _lazy("short payments"),
    "exposure_ratio": _lazy("exposure against the limit"),
    "relationship_years": _lazy("years as a customer"),
    "unanswered_contacts": _lazy("calls and visits unanswered"),
}


def _factor_display(key: str, value: Any) -> str:
    if value is None:
        return "—"
    if key in ("on_time_share", "exposure_ratio"):
        return f"{value * 100:.0f} %"
    if key in ("days_late", "days_late_trend"):
        return _("%(days)s days") % {"days": f"{value:+.1f}" if key == "days_late_trend" else f"{value:.1f}"}
    if key == "relationship_years":
        return _("%(years)s years") % {"years": f"{value:.1f}"}
    return str(value)


def factor_rows(factors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stored factors with a translated label and a readable value, strongest effect first."""
    rows = [
        {
            "key": factor["key"],
            "label": str(FACTOR_LABELS.get(factor["key"], factor["key"])),
            "value": factor.get("value"),
            "display": _factor_display(factor["key"], factor.get("value")),
            "effect": factor.get("effect", 0.0),
        }
        for factor in factors
    ]
    return sorted(rows, key=lambda row: -abs(row["effect"]))
