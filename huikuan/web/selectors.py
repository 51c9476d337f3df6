"""Reads the pages need, built on the customers and ledger selectors (bounded, set-based)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.apps import apps
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from huikuan.accounts.access import customer_scope, scope_filter, user_sees_all
from huikuan.collections.models import PromiseStatus, PromiseToPay, Task, TaskKind, TaskStatus
from huikuan.core.models import AuditAction, AuditEntry
from huikuan.core.money import CURRENCY_EXPONENTS, from_minor
from huikuan.customers.models import Contact, Customer, Grade
from huikuan.customers.warnings import task_warning_text
from huikuan.ledger.aging import DEFAULT_BUCKETS, bucket_labels
from huikuan.ledger.models import Invoice, Payment
from huikuan.messaging.models import OutboxMessage, OutboxStatus
from huikuan.web.priority import Priority, priority_compute, priority_weights_scaled, weighted_days
from huikuan.web.templatetags.huikuan_web import amount as amount_format


def customer_search(*, user: Any, search: str = "", grade: str = "") -> QuerySet[Customer]:
    """Return the customers the user reaches whose code or name contains ``search``, by code."""
    queryset = customer_scope(user).select_related("collector", "sales_rep")
    if search:
        queryset = queryset.filter(Q(code__icontains=search) | Q(name__icontains=search))
    if grade:
        queryset = queryset.filter(grade=grade)
    return queryset.order_by("code")


def customer_contacts(*, customer: Customer) -> QuerySet[Contact]:
    """Return the customer's contacts, the primary one first."""
    return Contact.objects.filter(customer=customer).order_by("-is_primary", "name", "id")


# --- the worklist ---------------------------------------------------------------------------

# Kinds of work beside the task kinds: a message a person must approve, a promise due.
APPROVAL = "APPROVAL"
PROMISE_DUE = "PROMISE_DUE"
# The database orders at most this many of each source (tasks, messages, promises), the oldest
# first; a collector's day is far below it, a manager's list of everyone's messages may not be.
# The page says when the cap was reached.
WORKLIST_SOURCE_CAP = 5000


@dataclass(frozen=True)
class WorklistFilters:
    kind: str = ""  # a TaskKind value, APPROVAL or PROMISE_DUE; empty: everything
    search: str = ""  # customer code or name
    everyone: bool = False  # also work assigned to others (within the user's customers)


@dataclass(frozen=True)
class WorkCustomer:
    """What a worklist row shows of its customer."""

    code: str
    name: str
    grade: str

    def get_grade_display(self) -> str:
        return str(dict(Grade.choices).get(self.grade, self.grade))


@dataclass
class WorkItem:
    """One piece of work, as the database ordered it; :func:`worklist_fill` gives the items to be
    shown their records."""

    key: str  # unique on the page: "task-12", "message-7", "promise-3"
    kind: str
    record_id: int
    customer_id: int
    customer_code: str
    due_date: date | None
    priority: Priority
    grade: str = ""  # the customer's
    # Filled for the items shown:
    kind_label: str = ""
    title: str = ""
    detail: str = ""
    customer: WorkCustomer | None = None
    links: dict[str, str] = field(default_factory=dict)  # the page's links for the row

    @property
    def currency(self) -> str:
        return self.priority.currency

    @property
    def source(self) -> str:
        """Where the item comes from: "task", "message" or "promise"."""
        return self.key.split("-", 1)[0]


@dataclass
class Worklist:
    items: list[WorkItem]  # the slice asked for, highest priority first
    counts: dict[str, int] = field(default_factory=dict)  # per kind, before the kind filter
    capped: bool = False  # a source had more than WORKLIST_SOURCE_CAP items
    offset: int = 0  # how many items come before ``items``
    more: bool = False  # items follow the slice
    matching: int = 0  # items of the kind asked for (all kinds when none was)
    cap: int = WORKLIST_SOURCE_CAP

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _customer_search(search: str, via: str = "customer") -> Q:
    return Q(**{f"{via}__code__icontains": search}) | Q(**{f"{via}__name__icontains": search})


@dataclass(frozen=True)
class _Part:
    """One source of work as the database reads it (at most WORKLIST_SOURCE_CAP of it)."""

    source: str  # "task", "message" or "promise": how an item's key begins
    name: str  # counted apart from the other parts, to know whether the cap was reached
    queryset: QuerySet[Any]
    kind: str  # the kind of every item; empty for tasks, whose rows say


def _worklist_parts(*, user: Any, as_of: date, filters: WorklistFilters) -> list[_Part]:
    """Return where the user's work comes from, within the customers they reach.

    Open tasks due by ``as_of`` (theirs, or unassigned on their customers; with ``everyone``
    also their colleagues'), messages awaiting approval, and open promises whose date has come.
    """
    tasks = scope_filter(Task.objects.filter(status=TaskStatus.OPEN, due_date__lte=as_of), user=user)
    messages = scope_filter(OutboxMessage.objects.filter(status=OutboxStatus.AWAITING_APPROVAL), user=user)
    promises = scope_filter(
        PromiseToPay.objects.filter(status=PromiseStatus.OPEN, promised_date__lte=as_of), user=user
    )
    if not filters.everyone and user_sees_all(user):
        promises = promises.filter(Q(customer__collector=user) | Q(created_by=user))
    if filters.search:
        found = _customer_search(filters.search)
        tasks, messages, promises = tasks.filter(found), messages.filter(found), promises.filter(found)
    if filters.everyone:
        task_parts = [_Part("task", "tasks", tasks, "")]
    else:
        # Theirs, and unassigned ones on their customers: apart, each is read from an index.
        unassigned = tasks.filter(assignee__isnull=True)
        if not user_sees_all(user):
            unassigned = unassigned.filter(Q(customer__collector=user) | Q(customer__sales_rep=user))
        task_parts = [
            _Part("task", "own tasks", tasks.filter(assignee=user), ""),
            _Part("task", "unassigned tasks", unassigned, ""),
        ]
    return [
        *task_parts,
        _Part("message", "messages", messages, APPROVAL),
        _Part("promise", "promises", promises, PROMISE_DUE),
    ]


def _sql(queryset: QuerySet[Any]) -> tuple[str, list[Any]]:
    sql, params = queryset.query.sql_with_params()
    return sql, list(params)


# Each part is cut at the cap after ordering it oldest first.
_PART_ORDER = {
    "task": ("due_date", "id"),
    "message": ("not_before_at", "id"),
    "promise": ("promised_date", "id"),
}


def _part_sql(part: _Part) -> tuple[str, list[Any]]:
    """The part's items with the columns ``items`` has (part, source, kind, id, the customer's id,
    code, grade and currency, due date, the item's own currency)."""
    due: Any = {"task": F("due_date"), "message": TruncDate("not_before_at"), "promise": F("promised_date")}
    currency = F("currency") if part.source == "promise" else F("action__currency")
    columns: dict[str, Any] = {
        "w_id": F("id"),
        "w_customer": F("customer_id"),
        "w_code": F("customer__code"),
        "w_grade": F("customer__grade"),
        "w_own": F("customer__currency"),
        "w_due": due[part.source],
        "w_currency": currency,
    }
    if not part.kind:
        columns["w_kind"] = F("kind")
    sql, params = _sql(
        part.queryset.order_by(*_PART_ORDER[part.source]).values(**columns)[:WORKLIST_SOURCE_CAP]
    )
    kind = "w_kind" if not part.kind else "%s"
    return (
        f"SELECT %s AS part, '{part.source}' AS source, {kind} AS kind, w_id AS id, "
        "w_customer AS customer_id, w_code AS code, w_grade AS grade, w_own AS own, w_due AS due, "
        f"w_currency AS currency FROM ({sql}) {part.source}s",
        [part.name, *([part.kind] if part.kind else []), *params],
    )


def _worklist_counts_exact(parts: list[_Part]) -> dict[tuple[str, str], int]:
    """Return how many items each part has of each kind, without the cap (one query)."""
    selects, params = [], []
    for part in parts:
        if part.kind:
            sql, part_params = _sql(part.queryset.order_by().values("id"))
            selects.append(f"SELECT %s, %s, COUNT(*) FROM ({sql}) counted")
            params += [part.name, part.kind, *part_params]
        else:
            sql, part_params = _sql(
                part.queryset.order_by().values("kind").annotate(n=Count("id")).values_list("kind", "n")
            )
            selects.append(f"SELECT %s, kind, n FROM ({sql}) counted")
            params += [part.name, *part_params]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(selects), params)
        return {(name, kind): int(count) for name, kind, count in cursor.fetchall() if count}


def _days_past_due_sql(column: str) -> str:
    """Whole days from ``column`` (a date) to the date given as the parameter."""
    if connection.vendor == "postgresql":
        return f"(%s::date - {column})"
    return f"CAST(julianday(%s) - julianday({column}) AS INTEGER)"


def _quotient_sql(dividend: str, divisor: str) -> str:
    """The integer quotient of two non-negative whole numbers (exact: numeric in PostgreSQL)."""
    if connection.vendor == "postgresql":
        return f"DIV(({dividend})::numeric, ({divisor})::numeric)"
    return f"(({dividend}) / ({divisor}))"


def _case_sql(column: str, cases: dict[int, list[str]], default: int) -> tuple[str, list[Any]]:
    """``CASE WHEN column IN (...) THEN n ... ELSE default END`` with the values as parameters."""
    sql, params = [], []
    for result, values in cases.items():
        if values:
            sql.append(f"WHEN {column} IN ({', '.join(['%s'] * len(values))}) THEN {int(result)}")
            params += values
    return f"CASE {' '.join(sql)} ELSE {int(default)} END", params


def _score_sql() -> tuple[str, list[Any]]:
    """The priority score of a row of ``scored`` (columns total, weighted, grade, broken, currency),
    in integers: total × days × grade weight × broken weight / 10^exponent, rounded half up, exactly
    as :func:`huikuan.web.priority.priority_compute` computes it."""
    weights = priority_weights_scaled()
    grade, grade_params = _case_sql(
        "grade", {weight: [name] for name, weight in weights.grades.items()}, weights.other_grade
    )
    by_exponent: dict[int, list[str]] = {}
    for code, places in sorted(CURRENCY_EXPONENTS.items()):
        if places != 2:
            by_exponent.setdefault(10**places, []).append(code)
    minor, minor_params = _case_sql("currency", by_exponent, 100)
    days = _quotient_sql("2 * weighted + total", "2 * total")
    product = f"total * {days} * {grade} * ({weights.broken_base} + {weights.broken_step} * broken)"
    divisor = f"{weights.scale * weights.scale} * {minor}"
    score = _quotient_sql(f"2 * {product} + {divisor}", f"2 * {divisor}")
    return (
        f"CASE WHEN total > 0 THEN {score} ELSE 0 END",
        [*grade_params, *minor_params, *minor_params],
    )


def _worklist_sql(
    *, parts: list[_Part], as_of: date, kind: str, offset: int, limit: int
) -> tuple[str, list[Any]]:
    """The one query that scores every item, hands over one slice of them, highest priority
    first, and counts the items of each part and kind.

    The score is computed once per customer and currency that has something overdue (the
    amounts summed, the broken promises counted); an item takes the score of its customer in its
    currency. An item without a currency of its own is priced in the customer's currency, or,
    when nothing is overdue in it, in the currency with the most amount-days.
    Rows: ("count", part, kind, count, None…) first, then ("item", source, kind, count None, id,
    customer id, code, grade, currency, due, total, weighted, broken, score) in order.
    """
    day = connection.ops.adapt_datefield_value(as_of)
    selects, params = [], []
    for part in parts:
        sql, part_params = _part_sql(part)
        selects.append(sql)
        params += part_params
    score, score_params = _score_sql()
    days = _days_past_due_sql("invoice.due_date")
    sql = f"""
WITH items AS ({" UNION ALL ".join(selects)}),
customers AS (SELECT DISTINCT customer_id, grade, own FROM items),
risk AS (
    SELECT invoice.customer_id, invoice.currency, SUM(invoice.open_minor) AS total,
           SUM(invoice.open_minor * {days}) AS weighted
    FROM {Invoice._meta.db_table} invoice
    WHERE invoice.customer_id IN (SELECT customer_id FROM customers)
      AND invoice.settled_date IS NULL AND invoice.open_minor > 0 AND invoice.due_date < %s
    GROUP BY invoice.customer_id, invoice.currency
),
broken AS (
    SELECT promise.customer_id, COUNT(*) AS n FROM {PromiseToPay._meta.db_table} promise
    WHERE promise.customer_id IN (SELECT customer_id FROM customers) AND promise.status = %s
    GROUP BY promise.customer_id
),
scores AS (
    SELECT risk.customer_id, risk.currency, risk.total, risk.weighted,
           COALESCE(broken.n, 0) AS broken, customers.grade, customers.own
    FROM risk JOIN customers ON customers.customer_id = risk.customer_id
    LEFT JOIN broken ON broken.customer_id = risk.customer_id
),
scored AS (SELECT scores.*, {score} AS score FROM scores),
main_currency AS (
    SELECT customer_id, currency FROM (
        SELECT customer_id, currency, ROW_NUMBER() OVER (
            PARTITION BY customer_id
            ORDER BY CASE WHEN currency = own THEN 0 ELSE 1 END, weighted DESC, currency
        ) AS place
        FROM scores
        WHERE customer_id IN (SELECT customer_id FROM items WHERE COALESCE(currency, '') = '')
    ) ranked WHERE place = 1
),
priced AS (
    SELECT items.source, items.kind, items.id, items.customer_id, items.code, items.grade,
           COALESCE(NULLIF(items.currency, ''), main_currency.currency, items.own) AS currency,
           COALESCE(items.due, %s) AS due
    FROM items LEFT JOIN main_currency ON main_currency.customer_id = items.customer_id
    WHERE %s = '' OR items.kind = %s
)
SELECT 'count' AS row_kind, part AS source, kind, COUNT(*) AS n, NULL AS id, NULL AS customer_id,
       NULL AS code, NULL AS grade, NULL AS currency, NULL AS due, NULL AS total,
       NULL AS weighted, NULL AS broken, NULL AS score
FROM items GROUP BY part, kind
UNION ALL
SELECT * FROM (
    SELECT 'item', priced.source, priced.kind, 0, priced.id, priced.customer_id, priced.code,
           priced.grade, priced.currency, priced.due, COALESCE(scored.total, 0),
           COALESCE(scored.weighted, 0), COALESCE(broken.n, 0), COALESCE(scored.score, 0)
    FROM priced LEFT JOIN scored
      ON scored.customer_id = priced.customer_id AND scored.currency = priced.currency
    LEFT JOIN broken ON broken.customer_id = priced.customer_id
    ORDER BY COALESCE(scored.score, 0) DESC, priced.due, priced.code, priced.source, priced.id
    LIMIT %s OFFSET %s
) page
ORDER BY 1, 14 DESC, 10, 7, 2, 5"""
    return sql, [
        *params,
        day,
        day,
        PromiseStatus.BROKEN,
        *score_params,
        day,
        kind,
        kind,
        limit,
        offset,
    ]


def worklist_kind_choices() -> list[tuple[str, str]]:
    """Return the kinds of work the filter offers, in the reader's language."""
    return [
        (APPROVAL, _("messages to approve")),
        (PROMISE_DUE, _("promises due")),
        *[(value, str(label)) for value, label in TaskKind.choices],
    ]


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])  # SQLite hands dates over as text


def worklist_build(
    *, user: Any, as_of: date, filters: WorklistFilters | None = None, offset: int = 0, limit: int = 50
) -> Worklist:
    """Return ``limit`` items of the user's work from ``offset``, highest priority first, and how
    many there are of each kind.

    The database scores every item and hands over the slice: one query whatever the number of
    items (two when a part reaches WORKLIST_SOURCE_CAP, to count it all). :func:`worklist_fill`
    completes the items to be shown.
    """
    filters = filters or WorklistFilters()
    offset = max(0, offset)
    parts = _worklist_parts(user=user, as_of=as_of, filters=filters)
    try:
        sql, params = _worklist_sql(
            parts=parts, as_of=as_of, kind=filters.kind, offset=offset, limit=limit + 1
        )
    except EmptyResultSet:  # the user reaches no customer at all
        return Worklist(items=[], offset=offset, cap=WORKLIST_SOURCE_CAP)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    counted: dict[tuple[str, str], int] = {}
    found = []
    for row in rows:
        if row[0] == "count":
            counted[(row[1], row[2])] = int(row[3])
        else:
            found.append((row[1], row[2], *row[4:13]))
    capped = False
    if any(
        sum(n for (name, _kind), n in counted.items() if name == part.name) >= WORKLIST_SOURCE_CAP
        for part in parts
    ):
        counted = _worklist_counts_exact(parts)
        capped = any(
            sum(n for (name, _kind), n in counted.items() if name == part.name) > WORKLIST_SOURCE_CAP
            for part in parts
        )
    counts: dict[str, int] = {}
    for (_name, kind), n in counted.items():
        counts[kind] = counts.get(kind, 0) + n
    items = [
        WorkItem(
            key=f"{source}-{pk}",
            kind=kind,
            record_id=pk,
            customer_id=customer_id,
            customer_code=code,
            grade=grade,
            due_date=_as_date(due),
            priority=priority_compute(
                overdue=from_minor(int(total), currency),
                currency=currency,
                days=weighted_days(overdue_minor=int(total), day_weighted_minor=int(weighted)),
                grade=grade,
                broken_promises=int(broken),
            ),
        )
        for source, kind, pk, customer_id, code, grade, currency, due, total, weighted, broken in found[
            :limit
        ]
    ]
    return Worklist(
        items=items,
        counts=counts,
        capped=capped,
        offset=offset,
        more=len(found) > limit,
        matching=counts.get(filters.kind, 0) if filters.kind else sum(counts.values()),
        cap=WORKLIST_SOURCE_CAP,
    )


def _worklist_display_sql(ids: dict[str, list[int]]) -> tuple[str, list[Any]]:
    """One query for what the shown rows display: (source, id, customer name, four texts, an
    amount, a date; typed where empty, for PostgreSQL to unite the parts) — a task's title and kind (an early warning's evidence too); a message's subject, channel, template and stage;
    a promise's currency, who promised, amount and date."""
    from huikuan.dunning.models import DunningAction, Stage

    customers = Customer._meta.db_table
    selects, params = [], []

    def within(column: str, values: list[int]) -> str:
        params.extend(values)
        return f"{column} IN ({', '.join(['%s'] * len(values))})"

    if ids["task"]:
        selects.append(
            "SELECT 'task', t.id, c.name, t.title, t.kind, "
            f"CASE WHEN t.kind = '{TaskKind.EARLY_WARNING.value}' THEN CAST(t.evidence AS varchar) END, NULL, "
            "CAST(NULL AS bigint), CAST(NULL AS date) "
            f"FROM {Task._meta.db_table} t JOIN {customers} c ON c.id = t.customer_id "
            f"WHERE {within('t.id', ids['task'])}"
        )
    if ids["message"]:
        selects.append(
            "SELECT 'message', m.id, c.name, m.subject, m.channel, m.template_key, s.name, "
            "CAST(NULL AS bigint), CAST(NULL AS date) "
            f"FROM {OutboxMessage._meta.db_table} m JOIN {customers} c ON c.id = m.customer_id "
            f"LEFT JOIN {DunningAction._meta.db_table} a ON a.id = m.action_id "
            f"LEFT JOIN {Stage._meta.db_table} s ON s.id = a.stage_id "
            f"WHERE {within('m.id', ids['message'])}"
        )
    if ids["promise"]:
        selects.append(
            "SELECT 'promise', p.id, c.name, p.currency, p.promised_by, CAST(NULL AS varchar), "
            "CAST(NULL AS varchar), p.amount_minor, "
            f"p.promised_date FROM {PromiseToPay._meta.db_table} p "
            f"JOIN {customers} c ON c.id = p.customer_id WHERE {within('p.id', ids['promise'])}"
        )
    return " UNION ALL ".join(selects), params


def worklist_fill(*, items: Sequence[WorkItem], as_of: date) -> None:
    """Give the items to be shown their customers, titles and details (one query, values only:
    building model objects for a page of rows cost more than reading them)."""
    if not items:
        return
    from huikuan.messaging.models import MessageChannel

    labels = dict(worklist_kind_choices())
    channels = {value: str(label) for value, label in MessageChannel.choices}
    ids: dict[str, list[int]] = {"task": [], "message": [], "promise": []}
    for item in items:
        ids[item.source].append(item.record_id)
    sql, params = _worklist_display_sql(ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        shown = {(row[0], row[1]): row[2:] for row in cursor.fetchall()}
    for item in items:
        name, first, second, third, stage, amount_minor, day = shown[(item.source, item.record_id)]
        item.kind_label = labels.get(item.kind, item.kind)
        item.customer = WorkCustomer(code=item.customer_code, name=name, grade=item.grade)
        if item.source == "task":
            item.title = first
            if third:  # an early warning's evidence, worded
                item.detail = task_warning_text(json.loads(third))
        elif item.source == "message":
            item.detail = first
            item.title = _("%(stage)s by %(channel)s awaits approval") % {
                "stage": stage or third,
                "channel": channels.get(second, second),
            }
        else:
            currency, promised_date = first, _as_date(day)
            assert promised_date is not None
            item.detail = second
            item.title = (
                _("Promised %(amount)s %(currency)s for today")
                if promised_date == as_of
                else _("Promised %(amount)s %(currency)s for %(date)s: check the payment")
            ) % {
                "amount": amount_format(from_minor(int(amount_minor), currency), currency),
                "currency": currency,
                "date": date_format(promised_date, "SHORT_DATE_FORMAT"),
            }


# --- customer 360 ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CurrencyPosition:
    """What a customer owes in one currency on a date, split into aging buckets."""

    currency: str
    open_minor: int
    overdue_minor: int
    invoices: int
    oldest_due_date: date | None
    buckets: dict[str, int]  # label -> minor units, in bucket order


def customer_position(
    *, customer: Customer, as_of: date, bounds: Sequence[int] = DEFAULT_BUCKETS
) -> list[CurrencyPosition]:
    """Return the customer's open and overdue amounts per currency with an aging split, in one query."""
    labels = bucket_labels(bounds)
    sums: dict[str, Any] = {
        "open_total": Sum("open_minor"),
        "overdue_total": Sum("open_minor", filter=Q(due_date__lt=as_of)),
        "count": Count("id"),
        "oldest": Min("due_date"),
        "b0": Sum("open_minor", filter=Q(due_date__gte=as_of)),
    }
    lower = 1
    for index, bound in enumerate(bounds, start=1):
        # Days past due between lower and bound: due between as_of - bound and as_of - lower.
        sums[f"b{index}"] = Sum(
            "open_minor",
            filter=Q(
                due_date__gte=as_of - timedelta(days=bound), due_date__lte=as_of - timedelta(days=lower)
            ),
        )
        lower = bound + 1
    sums[f"b{len(bounds) + 1}"] = Sum("open_minor", filter=Q(due_date__lt=as_of - timedelta(days=bounds[-1])))
    rows: Any = (
        Invoice.objects.filter(customer=customer, settled_date__isnull=True, open_minor__gt=0)
        .order_by()
        .values("currency")
        .annotate(**sums)
        .order_by("currency")
    )
    return [
        CurrencyPosition(
            currency=row["currency"],
            open_minor=row["open_total"] or 0,
            overdue_minor=row["overdue_total"] or 0,
            invoices=row["count"],
            oldest_due_date=row["oldest"],
            buckets={label: row[f"b{index}"] or 0 for index, label in enumerate(labels)},
        )
        for row in rows
    ]


def customer_open_invoices_flagged(*, customer: Customer, limit: int = 200) -> QuerySet[Invoice]:
    """Return the customer's open invoices, oldest due first, each marked when it is in an open
    dispute, under an open promise or in a current instalment plan (one query)."""
    from huikuan.collections.models import Dispute, DisputeStatus, InstalmentPlan, PlanStatus

    return (
        Invoice.objects.filter(customer=customer, open_minor__gt=0)
        .annotate(
            in_dispute=Exists(
                Dispute.objects.filter(
                    invoice=OuterRef("pk"), status__in=[DisputeStatus.OPEN, DisputeStatus.INVESTIGATING]
                )
            ),
            under_promise=Exists(
                PromiseToPay.invoices.through.objects.filter(
                    invoice_id=OuterRef("pk"), promisetopay__status=PromiseStatus.OPEN
                )
            ),
            in_plan=Exists(
                InstalmentPlan.invoices.through.objects.filter(
                    invoice_id=OuterRef("pk"), instalmentplan__status=PlanStatus.ACTIVE
                )
            ),
        )
        .order_by("due_date", "number")[:limit]
    )


def customer_open_tasks(*, customer: Customer) -> list[Task]:
    """Return the customer's open tasks, the earliest due first."""
    return list(
        Task.objects.filter(customer=customer, status=TaskStatus.OPEN)
        .select_related("assignee")
        .order_by("due_date", "id")[:50]
    )


# --- the timeline ---------------------------------------------------------------------------

# Records whose creation already shows as their own event; their audit entries for it would
# only repeat it. Changes to them (status moves) still show.
_SHOWN_ON_THEIR_OWN = (
    "collections.interaction",
    "collections.promisetopay",
    "collections.dispute",
    "collections.instalmentplan",
    "collections.task",
    "ledger.statement",
    "ledger.payment",
    "ledger.invoice",
)
TIMELINE_MAX = 500


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime  # when it happened, for ordering (a day's events without a time sort at its start)
    kind: str  # message, call, visit, note, promise, dispute, payment, plan, statement, change
    label: str  # the kind in the reader's language
    title: str
    detail: str = ""
    status: str = ""  # in the reader's language
    status_code: str = ""  # for styling: the record's status value
    who: str = ""
    dated_only: bool = False  # ``at`` is a business date, not a moment
    record_id: int | None = None  # the message's, call's, promise's … id


def _person(user: Any) -> str:
    if user is None:
        return ""
    return (user.get_full_name() or user.get_username()).strip()


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _money_text(minor: int, currency: str) -> str:
    return f"{amount_format(from_minor(minor, currency), currency)} {currency}"


def _audit_model(entity: str) -> Any:
    try:
        return apps.get_model(entity)
    except (LookupError, ValueError):
        return None


def _field_label(model: Any, name: str) -> str:
    """Return a field's name in the reader's language (``collector_id`` → "collector")."""
    if model is not None:
        for field in model._meta.concrete_fields:
            if name in (field.name, field.attname):
                return str(field.verbose_name)
    return name.replace("_", " ")


def _value_text(model: Any, name: str, value: Any) -> str:
    """Return a stored value as people read it: a choice's label, "—" for nothing."""
    if value in (None, ""):
        return "—"
    if model is not None:
        for field in model._meta.concrete_fields:
            if name in (field.name, field.attname) and field.choices:
                return str(dict(field.flatchoices).get(value, value))
    return str(value)


def _audit_change_text(entry: AuditEntry) -> str:
    """Return "field: before → after; …" for the first few fields an entry records."""
    model = _audit_model(entry.entity)
    after = entry.after or {}
    before = entry.before or {}
    changes = []
    for key in list(after)[:6]:
        label = _field_label(model, key)
        if key in before:
            changes.append(
                f"{label}: {_value_text(model, key, before.get(key))} → {_value_text(model, key, after.get(key))}"
            )
        else:
            changes.append(f"{label}: {_value_text(model, key, after.get(key))}")
    return "; ".join(changes)


def _person_fields(via: str) -> tuple[str, ...]:
    """The fields :func:`_person` reads of a user reached through ``via``."""
    return (f"{via}__first_name", f"{via}__last_name", f"{via}__username")


# The columns every part of the timeline's query has, in order: what happened (a tag), the
# record's id, three moments, two dates, ten texts, four whole numbers, and a person's names.
_TIMELINE_COLUMNS = (
    ("at", 3, "timestamp with time zone"),
    ("day", 2, "date"),
    ("text", 10, "varchar"),
    ("number", 4, "bigint"),
    ("person", 3, "varchar"),
)


def _timeline_part(tag: str, table: str, values: dict[str, str], joins: str, where: str, order: str) -> str:
    """One part of the timeline's query: ``values`` names the columns it fills (``at1``, ``text3``
    …), every other column is an empty one of its type (PostgreSQL unites parts by type)."""
    columns = [f"'{tag}'", "r.id"]
    for name, count, sql_type in _TIMELINE_COLUMNS:
        for n in range(1, count + 1):
            columns.append(values.get(f"{name}{n}", f"CAST(NULL AS {sql_type})"))
    return (
        f"SELECT * FROM (SELECT {', '.join(columns)} FROM {table} r {joins} "
        f"WHERE r.customer_id = %s{where} ORDER BY {order} LIMIT %s) {tag}s"
    )


def _timeline_sql(*, customer_id: int, limit: int) -> tuple[str, list[Any]]:
    """The latest ``limit`` records of each kind the timeline shows, in one query."""
    from django.contrib.auth import get_user_model

    from huikuan.collections.models import Dispute, Instalment, InstalmentPlan, Interaction
    from huikuan.dunning.models import DunningAction, Stage
    from huikuan.ledger.models import Statement

    users = get_user_model()._meta.db_table
    contacts = Contact._meta.db_table

    def person(column: str) -> tuple[dict[str, str], str]:
        return (
            {"person1": "u.first_name", "person2": "u.last_name", "person3": "u.username"},
            f"LEFT JOIN {users} u ON u.id = r.{column}",
        )

    parts: list[tuple[str, str, dict[str, str], str, str, str]] = []
    who, join = person("approved_by_id")
    parts.append((
        "message", OutboxMessage._meta.db_table,
        {"at1": "r.sent_at", "at2": "r.created_at", "text1": "r.channel", "text2": "r.status",
         "text3": "r.subject", "text4": "r.template_key", "text5": "r.recipient",
         "text6": "r.tracking_number", "text7": "r.last_error", "text8": "c.name", "text9": "s.name", **who},
        f"{join} LEFT JOIN {contacts} c ON c.id = r.contact_id "
        f"LEFT JOIN {DunningAction._meta.db_table} a ON a.id = r.action_id "
        f"LEFT JOIN {Stage._meta.db_table} s ON s.id = a.stage_id",
        "", "r.created_at DESC, r.id DESC",
    ))  # fmt: skip
    who, join = person("user_id")
    parts.append((
        "interaction", Interaction._meta.db_table,
        {"at1": "r.occurred_at", "day1": "r.next_action_date", "text1": "r.kind", "text2": "r.outcome",
         "text3": "r.notes", "text4": "c.name", **who},
        f"{join} LEFT JOIN {contacts} c ON c.id = r.contact_id", "", "r.occurred_at DESC, r.id DESC",
    ))  # fmt: skip
    who, join = person("created_by_id")
    parts.append((
        "promise", PromiseToPay._meta.db_table,
        {"at1": "r.created_at", "day1": "r.promised_date", "text1": "r.currency", "text2": "r.promised_by",
         "text3": "r.method", "text4": "r.if_broken", "text5": "r.status", "number1": "r.amount_minor",
         "number2": "r.paid_minor", **who},
        join, "", "r.created_at DESC, r.id DESC",
    ))  # fmt: skip
    who, join = person("raised_by_id")
    parts.append((
        "dispute", Dispute._meta.db_table,
        {"at1": "r.created_at", "text1": "r.reason", "text2": "r.notes", "text3": "r.status",
         "text4": "r.source", "text5": "i.number", **who},
        f"{join} JOIN {Invoice._meta.db_table} i ON i.id = r.invoice_id", "", "r.created_at DESC, r.id DESC",
    ))  # fmt: skip
    parts.append((
        "payment", Payment._meta.db_table,
        {"day1": "r.received_date", "text1": "r.currency", "text2": "r.method", "text3": "r.reference",
         "number1": "r.amount_minor", "number2": "r.unapplied_minor"},
        "", "", "r.received_date DESC, r.id DESC",
    ))  # fmt: skip
    who, join = person("created_by_id")
    parts.append((
        "plan", InstalmentPlan._meta.db_table,
        {"at1": "r.created_at", "day1": "r.start_date", "text1": "r.currency", "text2": "r.notes",
         "text3": "r.status", "number1": "r.principal_minor", "number2": "r.fee_minor",
         "number3": "r.interest_minor",
         "number4": f"(SELECT COUNT(*) FROM {Instalment._meta.db_table} n WHERE n.plan_id = r.id)", **who},
        join, "", "r.created_at DESC, r.id DESC",
    ))  # fmt: skip
    parts.append((
        "statement", Statement._meta.db_table,
        {"at1": "r.responded_at", "at2": "r.sent_at", "at3": "r.created_at", "day1": "r.period_end_date",
         "text1": "r.currency", "text2": "r.responder_name", "text3": "r.response_note", "text4": "r.status",
         "number1": "r.closing_minor"},
        "", "", "r.created_at DESC, r.id DESC",
    ))  # fmt: skip
    who, join = person("actor_id")
    shown = ", ".join(["%s"] * len(_SHOWN_ON_THEIR_OWN))
    parts.append((
        "change", AuditEntry._meta.db_table,
        {"at1": "r.at", "text1": "r.entity", "text2": "r.entity_id", "text3": "r.action",
         "text4": "CAST(r.before AS text)", "text5": "CAST(r.after AS text)", "text6": "r.actor_label", **who},
        join, f" AND NOT (r.action = %s AND r.entity IN ({shown}))", "r.at DESC, r.id DESC",
    ))  # fmt: skip
    selects: list[str] = []
    params: list[Any] = []
    for tag, table, values, joins, where, order in parts:
        selects.append(_timeline_part(tag, table, values, joins, where, order))
        params.append(customer_id)
        if tag == "change":
            params += [AuditAction.CREATE, *_SHOWN_ON_THEIR_OWN]
        params.append(limit)
    return " UNION ALL ".join(selects), params


def _moment(value: Any) -> datetime:
    """A moment as the database handed it over (SQLite: text in UTC), aware."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value


def _person_named(first: str | None, last: str | None, username: str | None) -> str:
    """What :func:`_person` says of a user, from the user's names."""
    if username is None:
        return ""
    return (f"{first or ''} {last or ''}".strip() or username).strip()


def _choices(model: Any, name: str) -> dict[str, str]:
    return {value: str(label) for value, label in model._meta.get_field(name).flatchoices}


def customer_timeline(*, customer: Customer, limit: int = 50) -> list[TimelineEvent]:
    """Return the customer's latest ``limit`` events of every kind, newest first.

    One query for every kind of record (messages, calls/visits/notes, promises, disputes,
    payments, plans, statements, other changes), each kind bounded by ``limit`` whatever the
    number of events, reading only the columns an event shows.
    """
    from huikuan.collections.models import Dispute, InstalmentPlan, Interaction
    from huikuan.ledger.models import Statement

    limit = max(1, min(limit, TIMELINE_MAX))
    sql, params = _timeline_sql(customer_id=customer.pk, limit=limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    shown: dict[tuple[Any, str], dict[str, str]] = {}

    def label(model: Any, name: str, value: str) -> str:
        labels = shown.get((model, name))
        if labels is None:
            labels = shown[(model, name)] = _choices(model, name)
        return labels.get(value, value)

    events: list[TimelineEvent] = []
    for row in rows:
        tag, pk = row[0], row[1]
        day: Any = _as_date(row[5])
        # The first moment a part gives (a message: sent, else made); a payment has a date only.
        at = _day_start(day) if tag == "payment" else _moment(row[2] or row[3] or row[4])
        text = row[7:17]
        number = row[17:21]
        who = _person_named(*row[21:24])
        if tag == "message":
            channel, status, subject, template_key, recipient, tracking, error, contact, stage = text[:9]
            events.append(
                TimelineEvent(
                    at=at,
                    kind="message",
                    label=label(OutboxMessage, "channel", channel),
                    title=subject or stage or template_key,
                    detail=" · ".join(
                        part
                        for part in (
                            recipient or contact or "",
                            tracking,
                            error if status == OutboxStatus.FAILED else "",
                        )
                        if part
                    ),
                    status=label(OutboxMessage, "status", status),
                    status_code=status,
                    who=who,
                    record_id=pk,
                )
            )
        elif tag == "interaction":
            kind, outcome, notes, contact = text[:4]
            events.append(
                TimelineEvent(
                    at=at,
                    kind=kind.lower(),
                    label=label(Interaction, "kind", kind),
                    title=" · ".join(
                        part
                        for part in (label(Interaction, "outcome", outcome) if outcome else "", contact or "")
                        if part
                    ),
                    detail=notes,
                    status=(
                        _("next action %(date)s") % {"date": date_format(day, "SHORT_DATE_FORMAT")}
                        if day
                        else ""
                    ),
                    who=who,
                    record_id=pk,
                )
            )
        elif tag == "promise":
            currency, promised_by, method, if_broken, status = text[:5]
            amount_minor, paid_minor = number[0], number[1]
            events.append(
                TimelineEvent(
                    at=at,
                    kind="promise",
                    label=_("promise to pay"),
                    title=_("%(amount)s by %(date)s")
                    % {
                        "amount": _money_text(amount_minor, currency),
                        "date": date_format(day, "SHORT_DATE_FORMAT"),
                    },
                    detail=" · ".join(
                        part
                        for part in (
                            promised_by,
                            label(PromiseToPay, "method", method),
                            _("paid %(amount)s") % {"amount": _money_text(paid_minor, currency)}
                            if paid_minor
                            else "",
                            if_broken,
                        )
                        if part
                    ),
                    status=label(PromiseToPay, "status", status),
                    status_code=status,
                    who=who,
                    record_id=pk,
                )
            )
        elif tag == "dispute":
            reason, notes, status, source, invoice_number = text[:5]
            events.append(
                TimelineEvent(
                    at=at,
                    kind="dispute",
                    label=_("dispute"),
                    title=_("%(invoice)s: %(reason)s")
                    % {"invoice": invoice_number, "reason": label(Dispute, "reason", reason)},
                    detail=notes,
                    status=label(Dispute, "status", status),
                    status_code=status,
                    who=_("the customer, through the portal") if source == "PORTAL" else who,
                    record_id=pk,
                )
            )
        elif tag == "payment":
            currency, method, reference = text[:3]
            amount_minor, unapplied_minor = number[0], number[1]
            events.append(
                TimelineEvent(
                    at=at,
                    kind="payment",
                    label=_("payment"),
                    title=_money_text(amount_minor, currency),
                    detail=" · ".join(part for part in (label(Payment, "method", method), reference) if part),
                    status=_("%(amount)s unapplied") % {"amount": _money_text(unapplied_minor, currency)}
                    if unapplied_minor
                    else "",
                    dated_only=True,
                    record_id=pk,
                )
            )
        elif tag == "plan":
            currency, notes, status = text[:3]
            principal, fee, interest, count = (int(value or 0) for value in number)
            events.append(
                TimelineEvent(
                    at=at,
                    kind="plan",
                    label=_("instalment plan"),
                    title=ngettext(
                        "%(amount)s in %(count)s instalment from %(date)s",
                        "%(amount)s in %(count)s instalments from %(date)s",
                        count,
                    )
                    % {
                        "amount": _money_text(principal + fee + interest, currency) if currency else "",
                        "count": count,
                        "date": date_format(day, "SHORT_DATE_FORMAT"),
                    },
                    detail=notes,
                    status=label(InstalmentPlan, "status", status),
                    status_code=status,
                    who=who,
                    record_id=pk,
                )
            )
        elif tag == "statement":
            currency, responder, note, status = text[:4]
            events.append(
                TimelineEvent(
                    at=at,
                    kind="statement",
                    label=_("statement"),
                    title=_("%(month)s, closing balance %(amount)s")
                    % {
                        "month": date_format(day, "YEAR_MONTH_FORMAT"),
                        "amount": _money_text(number[0], currency),
                    },
                    detail=" · ".join(part for part in (responder, note) if part),
                    status=label(Statement, "status", status),
                    status_code=status,
                    record_id=pk,
                )
            )
        else:
            entity, entity_id, action, before, after, actor_label = text[:6]
            entry = AuditEntry(
                entity=entity,
                entity_id=entity_id,
                action=action,
                before=json.loads(before) if before is not None else None,
                after=json.loads(after) if after is not None else None,
            )
            events.append(
                TimelineEvent(
                    at=at,
                    kind="change",
                    label=_("change"),
                    title=_("%(record)s %(id)s %(action)s")
                    % {
                        "record": _record_name(entity),
                        "id": entity_id,
                        "action": label(AuditEntry, "action", action),
                    },
                    detail=_audit_change_text(entry),
                    who=who or actor_label,
                    record_id=pk,
                )
            )
    events.sort(key=lambda event: event.at, reverse=True)
    return events[:limit]


def _record_name(entity: str) -> str:
    """Return the record type of an audit entry ("collections.promisetopay") in the reader's language."""
    model = _audit_model(entity)
    return str(model._meta.verbose_name) if model is not None else entity
