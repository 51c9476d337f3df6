"""Gathering every overdue customer's facts at once, for the debtor classification.

A fixed number of aggregate queries over whole tables, grouped by customer (none per customer),
each running on SQLite and PostgreSQL; the results are joined in Python into one ``DebtorFacts``
per overdue customer. Events count over the look-back period (``HUIKUAN_DEBTOR_LOOKBACK_DAYS``)
up to ``as_of``; what is overdue is read from the ledger as it stands.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Exists, F, Func, Max, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields import DateField

from huikuan.collections.models import (
    Dispute,
    DisputeStatus,
    InstalmentPlan,
    Interaction,
    InteractionKind,
    InteractionOutcome,
    PlanStatus,
    PromiseMethod,
    PromiseStatus,
    PromiseToPay,
)
from huikuan.insights.classify import DebtorFacts, Thresholds
from huikuan.ledger.models import Invoice, InvoiceStatus, Payment, ShortPayment, Statement, StatementStatus

REACHED = (
    InteractionOutcome.REACHED,
    InteractionOutcome.PROMISED,
    InteractionOutcome.DISPUTED,
    InteractionOutcome.REFUSED,
    InteractionOutcome.ASKED_FOR_DOCUMENTS,
    InteractionOutcome.SAYS_PAID,
)
UNANSWERED = (InteractionOutcome.NO_ANSWER, InteractionOutcome.WRONG_NUMBER)
OPEN_DISPUTE = (DisputeStatus.OPEN, DisputeStatus.INVESTIGATING)
CONVERSATIONS = (InteractionKind.CALL, InteractionKind.VISIT)


def lookback_days() -> int:
    return int(getattr(settings, "HUIKUAN_DEBTOR_LOOKBACK_DAYS", 365))


def escalation_window_days() -> int:
    return int(getattr(settings, "HUIKUAN_DEBTOR_ESCALATION_WINDOW_DAYS", 10))


def thresholds() -> Thresholds:
    """The rules' figures, each overridable by a setting (docs/debtors.md lists them)."""
    defaults = Thresholds()
    return Thresholds(
        silence_contacts=int(getattr(settings, "HUIKUAN_DEBTOR_SILENCE_CONTACTS", defaults.silence_contacts)),
        good_history_invoices=int(
            getattr(settings, "HUIKUAN_DEBTOR_HISTORY_INVOICES", defaults.good_history_invoices)
        ),
        good_history_on_time_percent=int(
            getattr(settings, "HUIKUAN_DEBTOR_ON_TIME_PERCENT", defaults.good_history_on_time_percent)
        ),
        recent_lateness_days=int(
            getattr(settings, "HUIKUAN_DEBTOR_RECENT_LATENESS_DAYS", defaults.recent_lateness_days)
        ),
        escalated_payments=int(
            getattr(settings, "HUIKUAN_DEBTOR_ESCALATED_PAYMENTS", defaults.escalated_payments)
        ),
        escalated_share_percent=int(
            getattr(settings, "HUIKUAN_DEBTOR_ESCALATED_SHARE_PERCENT", defaults.escalated_share_percent)
        ),
        short_payments=int(getattr(settings, "HUIKUAN_DEBTOR_SHORT_PAYMENTS", defaults.short_payments)),
    )


class DaysBefore(Func):
    """``date - n days`` as a date on both databases (Django's own arithmetic gives SQLite a timestamp)."""

    output_field = DateField()

    def __init__(self, expression: Any, days: int) -> None:
        self.days = int(days)
        super().__init__(expression)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"date({sql}, '-{self.days} days')", params

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        sql, params = compiler.compile(self.source_expressions[0])
        return f"({sql} - {self.days})", params


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def _local_date(moment: datetime | None) -> date | None:
    return moment.astimezone(ZoneInfo(settings.TIME_ZONE)).date() if moment is not None else None


@dataclass
class _Builder:
    """Each overdue customer's facts so far; rows of customers not overdue are dropped."""

    values: dict[int, dict[str, Any]] = field(default_factory=dict)

    def merge(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            customer_id = row.pop("customer_id")
            if customer_id in self.values:
                self.values[customer_id].update({k: v for k, v in row.items() if v is not None})


def _limit(
    queryset: QuerySet[Any], customer_ids: list[int] | None, via: str = "customer_id"
) -> QuerySet[Any]:
    return queryset if customer_ids is None else queryset.filter(**{f"{via}__in": customer_ids})


def debtor_facts_gather(*, as_of: date, customer_ids: list[int] | None = None) -> list[DebtorFacts]:
    """Return the facts of every customer overdue on ``as_of`` (or of these customers, if overdue)."""
    start = as_of - timedelta(days=lookback_days())
    start_at, end_at = _start_of(start), _start_of(as_of + timedelta(days=1))
    builder = _Builder()
    for row in (
        _limit(
            Invoice.objects.filter(open_minor__gt=0, due_date__lt=as_of, issue_date__lte=as_of), customer_ids
        )
        .values("customer_id")
        .annotate(overdue_invoices=Count("id"), oldest_due_date=Min("due_date"))
        .order_by()
    ):
        builder.values[row.pop("customer_id")] = row
    if not builder.values:
        return []
    ids = customer_ids

    builder.merge(
        _limit(
            Invoice.objects.filter(
                status=InvoiceStatus.PAID, settled_date__gte=start, settled_date__lte=as_of
            ),
            ids,
        )
        .values("customer_id")
        .annotate(
            settled_invoices=Count("id"),
            settled_on_time=Count("id", filter=Q(settled_date__lte=F("due_date"))),
        )
        .order_by()
    )

    broken = Q(status=PromiseStatus.BROKEN, resolved_date__lte=as_of)
    builder.merge(
        _limit(PromiseToPay.objects.filter(promised_date__gte=start), ids)
        .filter(Q(made_date__lte=as_of) | Q(made_date__isnull=True, created_at__lt=end_at))
        .values("customer_id")
        .annotate(
            promises_made=Count("id"),
            promises_kept=Count("id", filter=Q(status=PromiseStatus.KEPT)),
            promises_partly_kept=Count("id", filter=Q(status=PromiseStatus.PARTLY_KEPT)),
            promises_broken=Count("id", filter=broken),
            promises_written=Count(
                "id", filter=Q(method__in=(PromiseMethod.WRITTEN, PromiseMethod.RECORDED))
            ),
            first_broken_date=Min("resolved_date", filter=broken),
            last_broken_date=Max("resolved_date", filter=broken),
        )
        .order_by()
    )

    talks = _limit(
        Interaction.objects.filter(kind__in=CONVERSATIONS, occurred_at__gte=start_at, occurred_at__lt=end_at),
        ids,
    )
    reached = Q(outcome__in=REACHED)
    for row in (
        talks.values("customer_id")
        .annotate(
            contacts_reached=Count("id", filter=reached),
            last_reached_at=Max("occurred_at", filter=reached),
            complaints=Count("id", filter=Q(outcome=InteractionOutcome.DISPUTED)),
        )
        .order_by()
    ):
        row["last_reached_date"] = _local_date(row.pop("last_reached_at"))
        builder.merge([row])

    # Silence: contacts unanswered since anyone was last reached (one correlated read each).
    last_reached = Subquery(
        Interaction.objects.filter(
            customer_id=OuterRef("customer_id"),
            kind__in=CONVERSATIONS,
            outcome__in=REACHED,
            occurred_at__lt=end_at,
        )
        .order_by()
        .values("customer_id")
        .annotate(last=Max("occurred_at"))
        .values("last")[:1]
    )
    builder.merge(
        talks.filter(outcome__in=UNANSWERED)
        .annotate(last_reached=last_reached)
        .filter(Q(last_reached__isnull=True) | Q(occurred_at__gt=F("last_reached")))
        .values("customer_id")
        .annotate(unanswered_since_reached=Count("id"))
        .order_by()
    )
    statements = _limit(Statement.objects.filter(sent_at__gte=start_at, sent_at__lt=end_at), ids)
    builder.merge(
        statements.filter(status=StatementStatus.NO_REPLY)
        .annotate(last_reached=last_reached)
        .filter(Q(last_reached__isnull=True) | Q(sent_at__gt=F("last_reached")))
        .values("customer_id")
        .annotate(statements_unanswered=Count("id"))
        .order_by()
    )
    for row in (
        statements.filter(status=StatementStatus.DISPUTED)
        .values("customer_id")
        .annotate(n=Count("id"))
        .order_by()
    ):
        values = builder.values.get(row["customer_id"])
        if values is not None:
            values["complaints"] = values.get("complaints", 0) + row["n"]

    open_dispute = Q(status__in=OPEN_DISPUTE, opened_date__lte=as_of)
    builder.merge(
        _limit(Dispute.objects.filter(open_dispute | Q(opened_date__gte=start, opened_date__lte=as_of)), ids)
        .values("customer_id")
        .annotate(
            disputes_open=Count("id", filter=open_dispute),
            first_open_dispute_date=Min("opened_date", filter=open_dispute),
            disputes_in_period=Count("id", filter=Q(opened_date__gte=start)),
        )
        .order_by()
    )

    payments = _limit(Payment.objects.filter(received_date__gte=start, received_date__lte=as_of), ids)
    builder.merge(payments.values("customer_id").annotate(payments=Count("id")).order_by())
    window = escalation_window_days()
    from huikuan.dunning.models import DunningAction, SenderRole

    # Escalation: a stage past the sales rep's friendly ones, or a call or visit that reached them.
    escalated_by_dunning = (
        DunningAction.objects.filter(
            customer_id=OuterRef("customer_id"),
            as_of__lte=OuterRef("received_date"),
            as_of__gte=DaysBefore(OuterRef("received_date"), window),
            max_days_overdue__gt=0,
        )
        .exclude(stage__sender=SenderRole.SALES_REP)
        .order_by()
    )
    escalated_by_call = Interaction.objects.filter(
        customer_id=OuterRef("customer_id"),
        kind__in=CONVERSATIONS,
        outcome__in=REACHED,
        user__isnull=False,
        occurred_at__date__lte=OuterRef("received_date"),
        occurred_at__date__gte=DaysBefore(OuterRef("received_date"), window),
    ).order_by()
    builder.merge(
        payments.filter(Exists(escalated_by_dunning) | Exists(escalated_by_call))
        .values("customer_id")
        .annotate(payments_after_escalation=Count("id"))
        .order_by()
    )
    builder.merge(
        _limit(
            ShortPayment.objects.filter(event_date__gte=start, event_date__lte=as_of),
            ids,
            "payment__customer_id",
        )
        .filter(short_minor__gt=0)
        .values(customer_id=F("payment__customer_id"))
        .annotate(short_payments=Count("payment_id", distinct=True))
        .order_by()
    )

    builder.merge(
        _limit(InstalmentPlan.objects.filter(Q(start_date__gte=start) | Q(status=PlanStatus.ACTIVE)), ids)
        .filter(start_date__lte=as_of)
        .values("customer_id")
        .annotate(
            plans_agreed=Count("id", filter=Q(start_date__gte=start)),
            plans_active=Count("id", filter=Q(status=PlanStatus.ACTIVE)),
            plans_broken=Count("id", filter=Q(status=PlanStatus.BROKEN, broken_date__gte=start)),
        )
        .order_by()
    )
    from huikuan.dunning.models import CreditHold

    for customer_id in (
        _limit(
            CreditHold.objects.filter(placed_date__lte=as_of).filter(
                Q(released_date__isnull=True) | Q(released_date__gt=as_of)
            ),
            ids,
        )
        .values_list("customer_id", flat=True)
        .distinct()
        .order_by()
    ):
        if customer_id in builder.values:
            builder.values[customer_id]["credit_hold"] = True

    return [
        DebtorFacts(customer_id=cid, as_of=as_of, **values) for cid, values in sorted(builder.values.items())
    ]
