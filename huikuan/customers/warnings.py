"""Early warnings (预警, PLAYBOOK §2): signs that a customer is turning bad, found by the rating run.

Each cause that stands for a customer becomes one open task of kind EARLY_WARNING for its
collector, with the figures as evidence. A ``CreditWarning`` row remembers that the cause stands,
so later runs raise nothing new while it lasts; the first run that no longer finds it clears the
row, and a return later raises a new task. Thresholds are settings (``HUIKUAN_CREDIT_WARN_*``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext_lazy

from huikuan.core.bulk import rows_insert_returning, table_rows_insert
from huikuan.customers.models import CreditWarning, Customer, CustomerStatus, WarningCause
from huikuan.customers.rating import is_downgrade

if TYPE_CHECKING:
    from huikuan.customers.credit import Figures, RatingOutcome

BATCH = 20_000


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, f"HUIKUAN_CREDIT_WARN_{name}", default))


@dataclass(frozen=True)
class Thresholds:
    """The HUIKUAN_CREDIT_WARN_* settings, read once per run."""

    slowing_days: int
    volume_drop_percent: int
    broken_promises: int
    short_payments: int
    unreachable: int
    statements_unanswered: int

    @classmethod
    def from_settings(cls) -> Thresholds:
        return cls(
            slowing_days=_setting("SLOWING_DAYS", 10),
            volume_drop_percent=_setting("VOLUME_DROP_PERCENT", 50),
            broken_promises=_setting("BROKEN_PROMISES", 2),
            short_payments=_setting("SHORT_PAYMENTS", 2),
            unreachable=_setting("UNREACHABLE", 3),
            statements_unanswered=_setting("STATEMENTS_UNANSWERED", 1),
        )


def _fact(key: str, value: Any) -> dict[str, Any]:
    return {"fact": key, "value": value}


def warning_causes(
    figures: Figures, outcome: RatingOutcome | None, thresholds: Thresholds | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Return the causes that stand for one customer, each with the facts that show it."""
    limits = thresholds or Thresholds.from_settings()
    causes: dict[str, list[dict[str, Any]]] = {}
    slowing = limits.slowing_days
    if figures.recent_due >= 2 and figures.earlier_due >= 2:
        recent = figures.recent_days_late / figures.recent_due
        earlier = figures.earlier_days_late / figures.earlier_due
        if recent - earlier >= slowing:
            causes[WarningCause.PAYMENTS_SLOWING] = [
                _fact("recent_avg_days_late", round(recent, 1)),
                _fact("earlier_avg_days_late", round(earlier, 1)),
                _fact("threshold_days", slowing),
            ]
    drop = limits.volume_drop_percent
    before, recent_volume = figures.sales_before_minor, figures.sales_recent_minor
    if before > 0 and recent_volume * 100 <= before * (100 - drop):
        causes[WarningCause.ORDERS_FALLING] = [
            _fact("volume_recent_minor", recent_volume),
            _fact("volume_before_minor", before),
            _fact("drop_percent", round(100 - recent_volume * 100 / before)),
            _fact("threshold_percent", drop),
        ]
    broken = limits.broken_promises
    if figures.promises_broken_recent >= broken:
        causes[WarningCause.PROMISES_BROKEN] = [
            _fact("promises_broken", figures.promises_broken_recent),
            _fact("threshold", broken),
        ]
    shorts = limits.short_payments
    if figures.short_payments_recent >= shorts:
        causes[WarningCause.SHORT_PAYMENTS] = [
            _fact("short_payments", figures.short_payments_recent),
            _fact("threshold", shorts),
        ]
    unreachable = limits.unreachable
    if figures.unanswered_streak >= unreachable:
        causes[WarningCause.UNREACHABLE] = [
            _fact("unanswered_in_a_row", figures.unanswered_streak),
            _fact("threshold", unreachable),
        ]
    statements = limits.statements_unanswered
    if figures.statements_unanswered >= statements:
        causes[WarningCause.STATEMENTS_UNANSWERED] = [
            _fact("statements_unanswered", figures.statements_unanswered),
            _fact("threshold", statements),
        ]
    if outcome is not None and is_downgrade(outcome.previous_grade, outcome.grade):
        causes[WarningCause.DOWNGRADE] = [
            _fact("previous_grade", outcome.previous_grade),
            _fact("grade", outcome.grade),
            _fact("score", outcome.score),
        ]
    return causes


def warnings_raise(*, as_of: date, figures: Mapping[int, Figures], outcomes: Iterable[RatingOutcome]) -> int:
    """Raise a task for each cause that newly stands, clear the causes gone. Returns tasks raised."""
    from huikuan.collections.models import Task, TaskKind
    from huikuan.customers.credit import Figures as EmptyFigures

    by_customer = {outcome.customer_id: outcome for outcome in outcomes}
    closed = set(Customer.objects.filter(status=CustomerStatus.CLOSED).values_list("pk", flat=True))
    empty = EmptyFigures()
    thresholds = Thresholds.from_settings()
    standing: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for customer_id in set(figures) | set(by_customer):
        if customer_id in closed:
            continue
        for cause, evidence in warning_causes(
            figures.get(customer_id, empty), by_customer.get(customer_id), thresholds
        ).items():
            standing[(customer_id, str(cause))] = evidence
    existing = {
        (customer_id, cause): pk
        for pk, customer_id, cause in CreditWarning.objects.filter(cleared_on__isnull=True).values_list(
            "pk", "customer_id", "cause"
        )
    }
    gone = [pk for key, pk in existing.items() if key not in standing]
    for start in range(0, len(gone), BATCH):
        CreditWarning.objects.filter(pk__in=gone[start : start + BATCH]).update(cleared_on=as_of)
    new = sorted(key for key in standing if key not in existing)
    if not new:
        return 0
    people = {
        pk: (code, name, collector_id or sales_rep_id)
        for pk, code, name, collector_id, sales_rep_id in Customer.objects.values_list(
            "pk", "code", "name", "collector_id", "sales_rep_id"
        )
    }
    label = str(TaskKind.EARLY_WARNING.label)
    cause_labels = {str(cause): str(cause.label) for cause in WarningCause}
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    day = connection.ops.adapt_datefield_value(as_of)
    for start in range(0, len(new), BATCH):
        chunk = new[start : start + BATCH]
        rows = []
        for customer_id, cause in chunk:
            code, name, assignee_id = people[customer_id]
            rows.append(
                (now, now, TaskKind.EARLY_WARNING, "OPEN", customer_id, assignee_id, day,
                 f"{label}: {code} {name} — {cause_labels[cause]}"[:300], "",
                 json.dumps([{"cause": cause}, *standing[(customer_id, cause)]]))
            )  # fmt: skip
        task_ids = rows_insert_returning(
            Task,
            ("created_at", "updated_at", "kind", "status", "customer_id", "assignee_id", "due_date", "title",
             "script", "evidence"),
            rows,
        )  # fmt: skip
        table_rows_insert(
            "customers_creditwarning",
            ("customer_id", "cause", "raised_on", "evidence", "task_id"),
            [
                (customer_id, cause, day, json.dumps(standing[(customer_id, cause)]), task_id)
                for (customer_id, cause), task_id in zip(chunk, task_ids, strict=True)
            ],
        )
    return len(new)


def _number(value: Any) -> str:
    """A fact's number as the reader writes it: whole numbers plain, others to one decimal."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if float(value).is_integer():
        return number_format(int(value), force_grouping=True)
    return number_format(value, decimal_pos=1, force_grouping=True)


def warning_evidence_text(cause: str, facts: Iterable[Mapping[str, Any]]) -> str:
    """Word the facts behind a warning in the reader's language, so the collector sees why at once.

    The facts are stored as figures (``{"fact": key, "value": n}``), not as text, so the same
    warning reads in Chinese for one colleague and in English for another. Facts that do not fit
    the cause (an older shape) give an empty text rather than an error.
    """
    values: dict[Any, Any] = {
        fact.get("fact"): fact.get("value") for fact in facts if isinstance(fact, Mapping)
    }
    shown = {key: _number(value) for key, value in values.items()}
    try:
        if cause == WarningCause.PAYMENTS_SLOWING:
            more = float(values["recent_avg_days_late"]) - float(values["earlier_avg_days_late"])
            return _(
                "Paid %(recent)s days late on average lately against %(earlier)s before: "
                "%(more)s days slower (a warning from %(threshold)s)."
            ) % {
                "recent": shown["recent_avg_days_late"],
                "earlier": shown["earlier_avg_days_late"],
                "more": _number(round(more, 1)),
                "threshold": shown["threshold_days"],
            }
        if cause == WarningCause.ORDERS_FALLING:
            return _(
                "Sales and orders down %(drop)s%% on the period before (a warning from %(threshold)s%%)."
            ) % {"drop": shown["drop_percent"], "threshold": shown["threshold_percent"]}
        if cause == WarningCause.DOWNGRADE:
            return _("Grade lowered from %(previous)s to %(grade)s (score %(score)s).") % {
                "previous": shown["previous_grade"],
                "grade": shown["grade"],
                "score": shown["score"],
            }
        counted = {
            WarningCause.PROMISES_BROKEN: (
                "promises_broken",
                ngettext_lazy(
                    "%(count)s promise to pay broken lately (a warning from %(threshold)s).",
                    "%(count)s promises to pay broken lately (a warning from %(threshold)s).",
                    "count",
                ),
            ),
            WarningCause.SHORT_PAYMENTS: (
                "short_payments",
                ngettext_lazy(
                    "%(count)s short payment lately (a warning from %(threshold)s).",
                    "%(count)s short payments lately (a warning from %(threshold)s).",
                    "count",
                ),
            ),
            WarningCause.UNREACHABLE: (
                "unanswered_in_a_row",
                ngettext_lazy(
                    "%(count)s call or visit in a row without an answer (a warning from %(threshold)s).",
                    "%(count)s calls or visits in a row without an answer (a warning from %(threshold)s).",
                    "count",
                ),
            ),
            WarningCause.STATEMENTS_UNANSWERED: (
                "statements_unanswered",
                ngettext_lazy(
                    "%(count)s statement of account sent lately got no reply (a warning from %(threshold)s).",
                    "%(count)s statements of account sent lately got no reply (a warning from %(threshold)s).",
                    "count",
                ),
            ),
        }
        if cause in counted:
            key, text = counted[WarningCause(cause)]
            return str(text % {"count": int(values[key]), "threshold": shown["threshold"]})
    except (KeyError, TypeError, ValueError):
        return ""
    return ""


def task_warning_text(evidence: Any) -> str:
    """Word an early-warning task's evidence (``[{"cause": …}, fact, …]``); empty for other tasks."""
    if not isinstance(evidence, list) or not evidence or not isinstance(evidence[0], Mapping):
        return ""
    cause = evidence[0].get("cause")
    return warning_evidence_text(cause, evidence[1:]) if isinstance(cause, str) else ""
