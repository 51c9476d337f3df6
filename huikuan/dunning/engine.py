"""The daily dunning run: the ladder rule of ``dunning/policy.py`` carried out set-based.

Everything is decided and written by a handful of SQL statements over whole tables — no query
per invoice or per customer — inside one transaction:

1. eligible invoices due for their next stage go into a temporary table;
2. they are grouped per customer and currency into actions (one communication each), gated by
   the days since the customer's previous communication;
3. the actions' invoice lines, the invoices' new levels, outbox messages, work items, credit
   holds and charges are inserted from those rows.

A run is unique per date: a second run for the same date finds it and creates nothing, two runs
started together serialise on a lock (SQLite's IMMEDIATE transaction, PostgreSQL's advisory
lock) and the later one finds the first's run, and a date before the latest run is refused.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from huikuan.core.errors import HuikuanError
from huikuan.core.money import CURRENCY_EXPONENTS, from_minor
from huikuan.customers.models import CustomerStatus
from huikuan.dunning.models import DunningRun, Policy, Stage, StageChannel

log = logging.getLogger(__name__)

# Any constant will do, as long as nothing else in the database uses it for an advisory lock.
_PG_RUN_LOCK_KEY = 0x48554B_44554E  # "HUK" "DUN"

MESSAGE_CHANNELS = (StageChannel.EMAIL, StageChannel.SMS, StageChannel.LETTER)
TASK_KINDS = {
    StageChannel.PHONE_TASK: "CALL",
    StageChannel.VISIT_TASK: "VISIT",
    StageChannel.LEGAL_REFERRAL: "LEGAL_REFERRAL",
}


class RunRefused(HuikuanError):
    """The run cannot be made for this date (an earlier date than the latest run, or no policies)."""

    code = "run_refused"
    status = 409


@dataclass
class RunResult:
    run_id: int | None
    as_of: date
    dry_run: bool
    already_ran: bool = False
    invoices_considered: int = 0
    actions_created: int = 0
    messages_created: int = 0
    tasks_created: int = 0
    holds_placed: int = 0
    holds_released: int = 0
    charges_booked: int = 0
    # One entry per action and channel, as the JSON contract lists them.
    actions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def created(self) -> int:
        return len(self.actions)


class _DryRunRollback(Exception):
    """Raised inside the run's transaction to undo a dry run after its results are read."""


def _vendor() -> str:
    return connection.vendor


def _days_between_sql(later: str, earlier: str) -> str:
    """SQL for the whole days from ``earlier`` to ``later`` (two date expressions)."""
    if _vendor() == "postgresql":
        return f"({later} - {earlier})"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def _date_plus_days_sql(day: str, days: str) -> str:
    if _vendor() == "postgresql":
        return f"({day} + {days})"
    return f"date({day}, '+' || {days} || ' days')"


def _bytewise_sql() -> str:
    """A COLLATE clause that makes PostgreSQL compare codes byte by byte rather than by locale."""
    return ' COLLATE "C"' if _vendor() == "postgresql" else ""


def _date_param_sql() -> str:
    return "CAST(%s AS date)" if _vendor() == "postgresql" else "%s"


def _minor_factor_sql(column: str) -> str:
    """SQL for 10 ** exponent of the currency in ``column`` (2 unless the table says otherwise)."""
    other = sorted((code, exp) for code, exp in CURRENCY_EXPONENTS.items() if exp != 2)
    cases = " ".join(f"WHEN '{code}' THEN {10**exp}" for code, exp in other)
    return f"(CASE {column} {cases} ELSE 100 END)"


def _whole_units_to_minor(text: str, currency: str) -> int | None:
    try:
        amount = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return int(amount * (10 ** CURRENCY_EXPONENTS.get(currency, 2)))


def _values_sql(rows: list[tuple[Any, ...]], casts: tuple[str, ...]) -> tuple[str, list[Any]]:
    """A VALUES list with typed placeholders, and its flat parameters."""
    placeholders = []
    for cast in casts:
        if cast == "date":
            placeholders.append(_date_param_sql())
        elif cast == "int" and _vendor() == "postgresql":
            placeholders.append("CAST(%s AS bigint)")
        elif cast == "text" and _vendor() == "postgresql":
            placeholders.append("CAST(%s AS text)")
        elif cast == "timestamp" and _vendor() == "postgresql":
            placeholders.append("CAST(%s AS timestamptz)")
        else:
            placeholders.append("%s")
    row_sql = "(" + ", ".join(placeholders) + ")"
    return ", ".join([row_sql] * len(rows)), [value for row in rows for value in row]


@dataclass(frozen=True)
class _Ladder:
    """Active policies and their stages, read once per run."""

    policies: dict[int, Policy]
    stages: dict[int, Stage]
    grade_policy: dict[str, int]
    type_policy: dict[str, int]

    def stage_at(self, policy_id: int, position: int) -> Stage | None:
        return next(
            (s for s in self.stages.values() if s.policy_id == policy_id and s.position == position),
            None,
        )

    def stage_ids_with(self, channel: str) -> list[int]:
        return [stage.id for stage in self.stages.values() if channel in stage.channels]


def _ladder_load() -> _Ladder:
    policies = {policy.id: policy for policy in Policy.objects.filter(is_active=True)}
    stages = {stage.id: stage for stage in Stage.objects.filter(policy_id__in=list(policies))}
    grade_policy: dict[str, int] = {}
    type_policy: dict[str, int] = {}
    for policy in sorted(policies.values(), key=lambda p: p.code):
        for grade in policy.grades:
            grade_policy.setdefault(grade, policy.id)
        for debtor_type in policy.debtor_types:
            type_policy.setdefault(debtor_type, policy.id)
    return _Ladder(policies=policies, stages=stages, grade_policy=grade_policy, type_policy=type_policy)


def _business_countries(as_of: date) -> list[str]:
    """Countries of customers for whom ``as_of`` is a business day ('' is the company's country)."""
    from huikuan.core.calendars import is_business_day

    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT country FROM customers_customer")
        countries = [row[0] or "" for row in cursor.fetchall()]
    return [country for country in countries if is_business_day(as_of, country)]


def _lock_runs() -> None:
    """Serialise runs: PostgreSQL takes an advisory lock; SQLite's IMMEDIATE transaction already has."""
    if _vendor() == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_RUN_LOCK_KEY])


def _candidates_create(
    cursor: Any, *, ladder: _Ladder, as_of: date, countries: list[str], customer_id: int | None
) -> int:
    """Fill the temporary table ``dunning_candidate``: eligible invoices due for their next stage.

    Rows are kept in customer and currency order — the order actions are created in — so that
    the lines written from them append to the action index instead of scattering.
    """
    if not ladder.stages or not countries:
        cursor.execute(_temp_table_sql("SELECT 0 AS invoice_id, 0 AS customer_id, '' AS currency, "
                                       "0 AS open_minor, 0 AS days_overdue, 0 AS next_position, "
                                       "0 AS policy_id WHERE 1 = 0"))  # fmt: skip
        return 0
    date_sql = _date_param_sql()
    # Scalar CASE lookups rather than a join to a VALUES list: the planner then reads the open
    # invoices once, in index order, instead of once per stage.
    cutoff_cases = " ".join(f"WHEN {stage.policy_id * 1000 + stage.position} THEN {date_sql}"
                            for stage in ladder.stages.values())  # fmt: skip
    cutoff_params = [as_of - timedelta(days=stage.trigger_days) for stage in ladder.stages.values()]
    minimum_cases = " ".join(f"WHEN {policy.id} THEN {int(policy.minimum_open_amount)}"
                             for policy in ladder.policies.values())  # fmt: skip
    grade_cases = " ".join(f"WHEN %s THEN {int(pid)}" for pid in ladder.grade_policy.values())
    grade_params = list(ladder.grade_policy.keys())
    # Customer policies are joined only when there are any: most ledgers have none.
    overrides = _has_rows(cursor, "dunning_customerpolicy")
    policy_join = "LEFT JOIN dunning_customerpolicy cp ON cp.customer_id = c.id" if overrides else ""
    grade_expr = f"CASE c.grade {grade_cases} ELSE NULL END" if grade_cases else "NULL"
    # A policy serving the customer's debtor type (its current classification) comes before the
    # grade's; the classifications are joined only when some policy serves a type.
    type_params: list[Any] = []
    if ladder.type_policy:
        type_cases = " ".join(f"WHEN %s THEN {int(pid)}" for pid in ladder.type_policy.values())
        type_params = [True, *ladder.type_policy.keys()]
        policy_join += (
            " LEFT JOIN insights_debtorclassification dc ON dc.customer_id = c.id AND dc.is_current = %s"
        )
        grade_expr = f"COALESCE(CASE dc.debtor_type {type_cases} ELSE NULL END, {grade_expr})"
    policy_expr = f"COALESCE(cp.policy_id, {grade_expr})" if overrides else grade_expr
    country_marks = ", ".join(["%s"] * len(countries))
    promise_until = _date_plus_days_sql("p.promised_date", "p.grace_days")
    customer_filter = "AND i.customer_id = %s" if customer_id is not None else ""
    select = f"""
        SELECT x.invoice_id, x.customer_id, x.currency, x.open_minor,
               {_days_between_sql(date_sql, "x.due_date")} AS days_overdue, x.next_position, x.policy_id
        FROM (
            SELECT i.id AS invoice_id, i.customer_id AS customer_id, i.currency AS currency,
                   i.open_minor AS open_minor, i.due_date AS due_date,
                   COALESCE(lv.level, 0) + 1 AS next_position,
                   {policy_expr} AS policy_id
            FROM ledger_invoice i
            JOIN customers_customer c ON c.id = i.customer_id
            {policy_join}
            LEFT JOIN dunning_invoicedunninglevel lv ON lv.invoice_id = i.id
            WHERE i.settled_date IS NULL AND i.open_minor > 0
              AND c.do_not_contact = %s
              AND c.status NOT IN (%s, %s)
              AND c.country IN ({country_marks})
              {customer_filter}
        ) x
        WHERE x.due_date <= (CASE x.policy_id * 1000 + x.next_position {cutoff_cases} ELSE NULL END)
          AND x.open_minor >= (CASE x.policy_id {minimum_cases} ELSE 0 END) * {_minor_factor_sql("x.currency")}
          AND x.invoice_id NOT IN (SELECT d.invoice_id FROM collections_dispute d
                                   WHERE d.status IN ('OPEN', 'INVESTIGATING'))
          AND x.invoice_id NOT IN (SELECT pi.invoice_id FROM collections_promisetopay_invoices pi
                                   JOIN collections_promisetopay p ON p.id = pi.promisetopay_id
                                   WHERE p.status = 'OPEN' AND {promise_until} >= {date_sql})
          AND x.invoice_id NOT IN (SELECT ii.invoice_id FROM collections_instalmentplan_invoices ii
                                   JOIN collections_instalmentplan ip ON ip.id = ii.instalmentplan_id
                                   WHERE ip.status = 'ACTIVE')
        ORDER BY x.customer_id, x.currency{_bytewise_sql()}
    """
    all_params: list[Any] = [
        as_of, *type_params[1:], *grade_params, *type_params[:1],
        False, CustomerStatus.LEGAL, CustomerStatus.CLOSED, *countries,
    ]  # fmt: skip
    if customer_id is not None:
        all_params.append(customer_id)
    all_params += [*cutoff_params, as_of]
    cursor.execute(_temp_table_sql(select), all_params)
    if _vendor() == "postgresql":
        # A temporary table has no statistics until analysed; the joins below depend on them.
        cursor.execute("ANALYZE dunning_candidate")
    cursor.execute("SELECT COUNT(*) FROM dunning_candidate")
    return int(cursor.fetchone()[0])


def _has_rows(cursor: Any, table: str) -> bool:
    cursor.execute(f"SELECT 1 FROM {table} LIMIT 1")
    return cursor.fetchone() is not None


def _temp_table_sql(select: str) -> str:
    if _vendor() == "postgresql":
        return f"CREATE TEMPORARY TABLE dunning_candidate ON COMMIT DROP AS {select}"
    return f"CREATE TEMPORARY TABLE dunning_candidate AS {select}"


def _candidates_drop(cursor: Any) -> None:
    cursor.execute("DROP TABLE IF EXISTS dunning_candidate")


def _actions_insert(cursor: Any, *, ladder: _Ladder, run_id: int, as_of: date) -> int:
    """One action per customer and currency at the highest next stage, where the gap allows it."""
    rows = [
        (
            stage.policy_id,
            stage.position,
            stage.id,
            ladder.policies[stage.policy_id].version,
            as_of - timedelta(days=stage.min_days_since_previous),
            stage.min_days_since_previous,
        )
        for stage in ladder.stages.values()
    ]
    if not rows:
        return 0
    values, params = _values_sql(rows, ("int", "int", "int", "int", "date", "int"))
    as_of_sql = _date_param_sql()
    cursor.execute(
        f"""
        INSERT INTO dunning_dunningaction
            (run_id, as_of, customer_id, currency, policy_id, policy_version, stage_id, stage_position,
             amount_minor, invoice_count, max_days_overdue)
        WITH st(policy_id, position, stage_id, version, gate_date, min_days) AS (VALUES {values}),
        grouped AS (
            SELECT customer_id, currency, policy_id, MAX(next_position) AS position,
                   SUM(open_minor) AS amount, COUNT(*) AS n, MAX(days_overdue) AS days
            FROM dunning_candidate GROUP BY customer_id, currency, policy_id
        )
        SELECT %s, {as_of_sql}, g.customer_id, g.currency, g.policy_id, st.version, st.stage_id, g.position,
               g.amount, g.n, g.days
        FROM grouped g JOIN st ON st.policy_id = g.policy_id AND st.position = g.position
        WHERE st.min_days = 0 OR NOT EXISTS (
            SELECT 1 FROM dunning_dunningaction x
            WHERE x.customer_id = g.customer_id AND x.currency = g.currency AND x.as_of > st.gate_date)
        """,
        [*params, run_id, as_of],
    )
    return cursor.rowcount


def _lines_and_levels_insert(cursor: Any, *, run_id: int, as_of: date) -> None:
    """Record every invoice of every action and move each invoice to its new level."""
    if _vendor() == "postgresql":
        _lines_and_levels_write_postgresql(cursor, run_id=run_id, as_of=as_of)
        return
    cursor.execute(
        """
        INSERT INTO dunning_dunningactioninvoice (action_id, invoice_id, open_minor, days_overdue, level)
        SELECT a.id, c.invoice_id, c.open_minor, c.days_overdue, a.stage_position
        FROM dunning_candidate c
        CROSS JOIN dunning_dunningaction a
        WHERE a.run_id = %s AND a.customer_id = c.customer_id AND a.currency = c.currency
        """,
        [run_id],
    )
    # CROSS JOIN keeps SQLite reading the candidates in order and looking each action up by its
    # unique index; the levels are sorted by invoice so that they append to the level table (SQLite:
    # its rowid). The WHERE also tells SQLite's parser the upsert's ON CONFLICT from a join's ON.
    cursor.execute(
        f"""
        INSERT INTO dunning_invoicedunninglevel (invoice_id, level, level_date)
        SELECT c.invoice_id, a.stage_position, {_date_param_sql()}
        FROM dunning_candidate c
        CROSS JOIN dunning_dunningaction a
        WHERE a.run_id = %s AND a.customer_id = c.customer_id AND a.currency = c.currency
        ORDER BY c.invoice_id
        ON CONFLICT (invoice_id) DO UPDATE SET level = excluded.level, level_date = excluded.level_date
        """,
        [as_of, run_id],
    )


def _lines_and_levels_write_postgresql(cursor: Any, *, run_id: int, as_of: date) -> None:
    """Lines, moved levels and new levels from one join of the candidates to their actions.

    The join is made once and kept for the three writes. Levels are moved by an UPDATE and the rest
    inserted rather than upserted: an upsert pays for a speculative insertion per row, and on a first
    run nearly every invoice is new while on later runs nearly every one already has a level. The
    insert's NOT EXISTS sees the table as it was before the statement, so the two halves never meet.
    """
    cursor.execute(
        """
        WITH m AS MATERIALIZED (
            SELECT a.id AS action_id, c.invoice_id, c.open_minor, c.days_overdue, a.stage_position AS level
            FROM dunning_candidate c
            JOIN dunning_dunningaction a ON a.customer_id = c.customer_id AND a.currency = c.currency
            WHERE a.run_id = %s
        ),
        lines AS (
            INSERT INTO dunning_dunningactioninvoice (action_id, invoice_id, open_minor, days_overdue, level)
            SELECT action_id, invoice_id, open_minor, days_overdue, level FROM m
        ),
        moved AS (
            UPDATE dunning_invoicedunninglevel lv SET level = m.level, level_date = %s
            FROM m WHERE lv.invoice_id = m.invoice_id
        )
        INSERT INTO dunning_invoicedunninglevel (invoice_id, level, level_date)
        SELECT m.invoice_id, m.level, %s FROM m
        WHERE NOT EXISTS (SELECT 1 FROM dunning_invoicedunninglevel lv WHERE lv.invoice_id = m.invoice_id)
        ORDER BY m.invoice_id
        """,
        [run_id, as_of, as_of],
    )


def _send_windows(
    cursor: Any, *, ladder: _Ladder, run_id: int, now: datetime
) -> list[tuple[str, str, int, Any]]:
    """The first moment inside each stage's send window, per customer country and zone in this run."""
    from huikuan.core.calendars import customer_zone, send_window_start

    cursor.execute(
        """
        SELECT DISTINCT c.country, c.time_zone, a.stage_id
        FROM dunning_dunningaction a JOIN customers_customer c ON c.id = a.customer_id
        WHERE a.run_id = %s
        """,
        [run_id],
    )
    windows = []
    for country, zone_name, stage_id in cursor.fetchall():
        stage = ladder.stages[stage_id]
        zone = customer_zone(country=country or "", time_zone=zone_name or "")
        start = send_window_start(
            after=now,
            zone=zone,
            country=country or "",
            window_start=_as_time(stage.window_start),
            window_end=_as_time(stage.window_end),
        )
        windows.append((country, zone_name, stage_id, _timestamp(start)))
    return windows


def _timestamp(moment: datetime) -> Any:
    """A datetime as the backend stores it (SQLite: naive UTC text, compared as text by Django)."""
    return connection.ops.adapt_datetimefield_value(moment)


def _as_time(value: time | str) -> time:
    return value if isinstance(value, time) else time.fromisoformat(value)


def _messages_insert(cursor: Any, *, ladder: _Ladder, run_id: int, now: datetime) -> int:
    windows = _send_windows(cursor, ladder=ladder, run_id=run_id, now=now)
    if not windows:
        return 0
    values, window_params = _values_sql(windows, ("text", "text", "int", "timestamp"))
    domain = settings.HUIKUAN_MAIL_DOMAIN
    created = 0
    for channel in MESSAGE_CHANNELS:
        stage_ids = ladder.stage_ids_with(channel)
        if not stage_ids:
            continue
        approval_ids = [sid for sid in stage_ids if ladder.stages[sid].requires_approval] or [0]
        attach_ids = (
            [sid for sid in stage_ids if ladder.stages[sid].attach_letter]
            if channel == StageChannel.EMAIL
            else []
        ) or [0]
        stage_marks = ", ".join(["%s"] * len(stage_ids))
        approval_marks = ", ".join(["%s"] * len(approval_ids))
        attach_marks = ", ".join(["%s"] * len(attach_ids))
        lower = channel.lower()
        cursor.execute(
            f"""
            INSERT INTO messaging_outboxmessage
                (idempotency_key, message_id, channel, status, customer_id, contact_id, action_id,
                 template_key, sender_role, attach_letter, not_before_at, language, sender, recipient,
                 subject, body_text, body_html, attempts, last_error, provider_id, created_at,
                 tracking_number)
            WITH win(country, time_zone, stage_id, not_before) AS (VALUES {values})
            SELECT 'dunning:' || a.id || ':{channel}', '<dunning.' || a.id || '.{lower}@' || %s || '>', %s,
                   CASE WHEN a.stage_id IN ({approval_marks}) THEN 'AWAITING_APPROVAL' ELSE 'QUEUED' END,
                   a.customer_id, NULL, a.id, s.template_key, s.sender,
                   CASE WHEN a.stage_id IN ({attach_marks}) THEN %s ELSE %s END,
                   w.not_before, '', '', '', '', '', '', 0, '', '', %s, ''
            FROM dunning_dunningaction a
            JOIN dunning_stage s ON s.id = a.stage_id
            JOIN customers_customer c ON c.id = a.customer_id
            JOIN win w ON w.country = c.country AND w.time_zone = c.time_zone AND w.stage_id = a.stage_id
            WHERE a.run_id = %s AND a.stage_id IN ({stage_marks})
            """,
            [
                *window_params,
                domain,
                channel,
                *approval_ids,
                *attach_ids,
                True,
                False,
                _timestamp(now),
                run_id,
                *stage_ids,
            ],
        )
        created += cursor.rowcount
    return created


def _tasks_insert(cursor: Any, *, ladder: _Ladder, run_id: int, as_of: date, now: datetime) -> int:
    created = 0
    for channel, kind in TASK_KINDS.items():
        stage_ids = ladder.stage_ids_with(channel)
        if not stage_ids:
            continue
        marks = ", ".join(["%s"] * len(stage_ids))
        cursor.execute(
            f"""
            INSERT INTO collections_task
                (kind, status, customer_id, assignee_id, due_date, title, script, action_id,
                 created_at, updated_at, completed_at)
            SELECT %s, 'OPEN', a.customer_id, COALESCE(c.collector_id, c.sales_rep_id), {_date_param_sql()},
                   s.name || ': ' || c.code || ' ' || c.name, '', a.id, %s, %s, NULL
            FROM dunning_dunningaction a
            JOIN dunning_stage s ON s.id = a.stage_id
            JOIN customers_customer c ON c.id = a.customer_id
            WHERE a.run_id = %s AND a.stage_id IN ({marks})
            """,
            [kind, as_of, _timestamp(now), _timestamp(now), run_id, *stage_ids],
        )
        created += cursor.rowcount
    legal_ids = ladder.stage_ids_with(StageChannel.LEGAL_REFERRAL)
    if legal_ids:
        marks = ", ".join(["%s"] * len(legal_ids))
        # Handed to legal: automatic dunning stops for the customer (PLAYBOOK §3.6).
        cursor.execute(
            f"""
            UPDATE customers_customer SET status = %s, updated_at = %s
            WHERE id IN (SELECT customer_id FROM dunning_dunningaction WHERE run_id = %s AND stage_id IN ({marks}))
            """,
            [CustomerStatus.LEGAL, _timestamp(now), run_id, *legal_ids],
        )
    return created


def _holds_release(cursor: Any, *, as_of: date) -> int:
    """Release automatic holds of customers whose overdue balance in the hold's currency is cleared."""
    as_of_sql = _date_param_sql()
    cursor.execute(
        f"""
        UPDATE dunning_credithold SET released_date = {as_of_sql}
        WHERE released_date IS NULL AND action_id IS NOT NULL
          AND NOT EXISTS (
            SELECT 1 FROM ledger_invoice i
            WHERE i.customer_id = dunning_credithold.customer_id
              AND i.currency = dunning_credithold.currency
              AND i.settled_date IS NULL AND i.open_minor > 0 AND i.due_date < {as_of_sql})
        """,
        [as_of, as_of],
    )
    return cursor.rowcount


def _holds_place(cursor: Any, *, ladder: _Ladder, run_id: int, as_of: date) -> int:
    placed = 0
    for stage_id in ladder.stage_ids_with(StageChannel.CREDIT_HOLD):
        stage = ladder.stages[stage_id]
        cap_factor = None
        if stage.hold_kind == "LIMITED" and stage.hold_cap:
            try:
                cap_factor = Decimal(stage.hold_cap)
            except InvalidOperation:
                cap_factor = None
        cap_sql = (
            f"CAST({int(cap_factor)} AS bigint) * {_minor_factor_sql('a.currency')}"
            if cap_factor is not None
            else "NULL"
        )
        cursor.execute(
            f"""
            INSERT INTO dunning_credithold
                (customer_id, kind, currency, cap_minor, placed_date, released_date, action_id, reason, placed_by_id)
            SELECT a.customer_id, %s, a.currency, {cap_sql}, {_date_param_sql()}, NULL, a.id, %s, NULL
            FROM dunning_dunningaction a
            WHERE a.run_id = %s AND a.stage_id = %s
              AND NOT EXISTS (SELECT 1 FROM dunning_credithold h
                              WHERE h.customer_id = a.customer_id AND h.currency = a.currency
                                AND h.released_date IS NULL)
            """,
            [stage.hold_kind, as_of, f"{stage.policy.code} #{stage.position} {stage.name}", run_id, stage_id],
        )
        placed += cursor.rowcount
    return placed


def _charges_possible(*, ladder: _Ladder, run_id: int) -> bool:
    """Whether this run can owe any fee or interest: a fee stage among its actions, or contract terms."""
    from huikuan.dunning.models import ContractTerms, DunningAction, FeeKind, InterestRule

    if (
        ContractTerms.objects.exclude(interest_rule=InterestRule.NONE).exists()
        or ContractTerms.objects.exclude(fee_kind__in=["", FeeKind.NONE]).exists()
    ):
        return True
    fee_stages = [stage.id for stage in ladder.stages.values() if stage.fee_kind != FeeKind.NONE]
    return bool(fee_stages) and DunningAction.objects.filter(run_id=run_id, stage_id__in=fee_stages).exists()


def _charges_book(run: DunningRun) -> int:
    try:
        from huikuan.dunning.charges import charges_book_for_run
    except ImportError:  # pragma: no cover - fees and interest arrive with their own module
        return 0
    return int(charges_book_for_run(run=run))


def run_actions_listing(run_id: int, *, customer_id: int | None = None) -> Iterator[dict[str, Any]]:
    """Yield the run's actions as the JSON contract lists them: one entry per action and channel."""
    params: list[Any] = [run_id]
    customer_filter = ""
    if customer_id is not None:
        customer_filter = "AND a.customer_id = %s"
        params.append(customer_id)
    invoices: dict[int, list[str]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT l.action_id, i.number FROM dunning_dunningactioninvoice l
            JOIN dunning_dunningaction a ON a.id = l.action_id
            JOIN ledger_invoice i ON i.id = l.invoice_id
            WHERE a.run_id = %s {customer_filter}
            ORDER BY l.action_id, i.due_date, i.number
            """,
            params,
        )
        for action_id, number in cursor.fetchall():
            invoices[action_id].append(number)
        cursor.execute(
            f"""
            SELECT a.id, c.code, s.name, s.channels, a.amount_minor, a.currency, a.stage_position,
                   a.max_days_overdue, a.policy_version, p.code
            FROM dunning_dunningaction a
            JOIN customers_customer c ON c.id = a.customer_id
            JOIN dunning_stage s ON s.id = a.stage_id
            JOIN dunning_policy p ON p.id = a.policy_id
            WHERE a.run_id = %s {customer_filter}
            ORDER BY c.code, a.currency
            """,
            params,
        )
        rows = cursor.fetchall()
    for (
        action_id,
        code,
        stage_name,
        channels,
        amount_minor,
        currency,
        position,
        days,
        version,
        policy,
    ) in rows:
        if isinstance(channels, str):  # SQLite returns JSON columns as text to raw SQL
            channels = json.loads(channels)
        for channel in channels:
            yield {
                "customer": code,
                "stage": stage_name,
                "channel": channel.lower(),
                "invoices": invoices.get(action_id, []),
                "amount": str(from_minor(amount_minor, currency)),
                "currency": currency,
                "action_id": action_id,
                "stage_position": position,
                "policy": policy,
                "policy_version": version,
                "days_overdue": days,
            }


def dunning_run(
    *,
    as_of: date,
    now: datetime | None = None,
    dry_run: bool = False,
    triggered_by: str = "",
    customer_id: int | None = None,
    list_actions: bool = True,
    inspect: Callable[[RunResult], None] | None = None,
) -> RunResult:
    """Decide and record the day's dunning for every customer (or, for a preview, one).

    ``now`` is when messages may be sent from (the start of their send windows is at or after
    it); the outermost caller asks the clock. A dry run does everything, reads the result, and
    rolls back; ``inspect`` sees the result inside the transaction first (the preview renders
    the messages there).
    """
    now = now or timezone.now()
    result = RunResult(run_id=None, as_of=as_of, dry_run=dry_run)
    previous_cache = _sqlite_cache_grow()
    try:
        with transaction.atomic(durable=not dry_run and customer_id is None):
            _lock_runs()
            _run_in_transaction(
                result,
                as_of=as_of,
                now=now,
                triggered_by=triggered_by,
                customer_id=customer_id,
                list_actions=list_actions,
                dry_run=dry_run,
            )
            if inspect is not None:
                inspect(result)
            if dry_run:
                raise _DryRunRollback
    except _DryRunRollback:
        result.run_id = None if not result.already_ran else result.run_id
    finally:
        if _vendor() != "postgresql":
            with connection.cursor() as cursor:
                _candidates_drop(cursor)
                if previous_cache is not None:
                    cursor.execute(f"PRAGMA cache_size = {int(previous_cache)}")
    return result


# Above this many actions in one run, PostgreSQL's statistics are refreshed before charges are read.
_ANALYZE_AFTER_ACTIONS = 5_000

# PostgreSQL's memory for each sort and hash of the run, for this transaction only.
_PG_RUN_WORK_MEM = "128MB"

# SQLite's page cache for the run's connection, in KiB: the run writes a million index entries,
# and a cache that holds the indexes keeps that from turning into random I/O.
_RUN_CACHE_KIB = 262_144


def _sqlite_cache_grow() -> int | None:
    """Give this connection a larger page cache for the run; return the size to restore."""
    if _vendor() != "sqlite":
        return None
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = -{_RUN_CACHE_KIB}")
    return previous


def _run_in_transaction(
    result: RunResult,
    *,
    as_of: date,
    now: datetime,
    triggered_by: str,
    customer_id: int | None,
    list_actions: bool,
    dry_run: bool,
) -> None:
    existing = DunningRun.objects.filter(as_of=as_of).first()
    if existing is not None and customer_id is None:
        result.run_id = existing.id
        result.already_ran = True
        return
    latest = DunningRun.objects.order_by("-as_of").values_list("as_of", flat=True).first()
    if latest is not None and latest > as_of and customer_id is None:
        raise RunRefused(
            f"a run dated {latest.isoformat()} exists; a run cannot be dated before it ({as_of.isoformat()})"
        )
    ladder = _ladder_load()
    if not ladder.policies:
        raise RunRefused("there is no active dunning policy")
    if existing is not None:
        run = existing  # a preview of a customer on a date that already ran: rolled back below
    else:
        run = DunningRun.objects.create(
            as_of=as_of, started_at=now, finished_at=now, triggered_by=triggered_by
        )
    result.run_id = run.id
    with connection.cursor() as cursor:
        if _vendor() == "postgresql":
            # Sorting a million candidates and levels spills to disk with the default 4 MB.
            cursor.execute(f"SET LOCAL work_mem = '{_PG_RUN_WORK_MEM}'")
        _candidates_drop(cursor)
        result.holds_released = _holds_release(cursor, as_of=as_of)
        result.invoices_considered = _candidates_create(
            cursor, ladder=ladder, as_of=as_of, countries=_business_countries(as_of), customer_id=customer_id
        )
        result.actions_created = _actions_insert(cursor, ladder=ladder, run_id=run.id, as_of=as_of)
        if _vendor() == "postgresql" and result.actions_created >= _ANALYZE_AFTER_ACTIONS:
            # Without statistics for the actions just written, the planner joins them to customers
            # and stages row by row; with them, by hashing.
            cursor.execute("ANALYZE dunning_dunningaction")
        if result.actions_created:
            _lines_and_levels_insert(cursor, run_id=run.id, as_of=as_of)
            result.messages_created = _messages_insert(cursor, ladder=ladder, run_id=run.id, now=now)
            result.tasks_created = _tasks_insert(cursor, ladder=ladder, run_id=run.id, as_of=as_of, now=now)
            result.holds_placed = _holds_place(cursor, ladder=ladder, run_id=run.id, as_of=as_of)
        _candidates_drop(cursor)
    if result.actions_created and _charges_possible(ladder=ladder, run_id=run.id):
        if _vendor() == "postgresql" and result.actions_created >= _ANALYZE_AFTER_ACTIONS:
            # Rows written in this transaction are not in the statistics yet; without them the
            # planner can choose nested loops over a million lines for the charges' queries.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE dunning_dunningactioninvoice")
        result.charges_booked = _charges_book(run)
    if existing is None:
        DunningRun.objects.filter(pk=run.pk).update(
            finished_at=timezone.now() if not dry_run else now,
            invoices_considered=result.invoices_considered,
            actions_created=result.actions_created,
            messages_created=result.messages_created,
            tasks_created=result.tasks_created,
        )
    if list_actions:
        result.actions = list(run_actions_listing(run.id, customer_id=customer_id))
    log.info(
        "dunning run %s: %s invoices due, %s actions, %s messages, %s tasks",
        as_of,
        result.invoices_considered,
        result.actions_created,
        result.messages_created,
        result.tasks_created,
    )
