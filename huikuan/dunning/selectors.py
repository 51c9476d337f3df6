"""Reads of dunning: the ladders, runs, a customer's actions and credit status."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Sum

from huikuan.core.money import from_minor
from huikuan.customers.models import Customer, CustomerStatus
from huikuan.dunning.models import CreditHold, DunningAction, HoldKind, Policy
from huikuan.ledger.models import Invoice


def policy_list() -> list[dict[str, Any]]:
    """Return every policy with its stages in ladder order, as plain data."""
    policies = Policy.objects.prefetch_related("stages").order_by("code")
    return [
        {
            "code": policy.code,
            "name": policy.name,
            "grades": list(policy.grades),
            "debtor_types": list(policy.debtor_types),
            "version": policy.version,
            "active": policy.is_active,
            "minimum_open_amount": policy.minimum_open_amount,
            "stages": [
                {
                    "position": stage.position,
                    "name": stage.name,
                    "trigger_days": stage.trigger_days,
                    "min_days_since_previous": stage.min_days_since_previous,
                    "channels": list(stage.channels),
                    "sender": stage.sender,
                    "template": stage.template_key,
                    "fee_kind": stage.fee_kind,
                    "fee_value": stage.fee_value,
                    "interest": stage.starts_interest,
                    "approval": stage.requires_approval,
                    "letter": stage.attach_letter,
                    "window": [str(stage.window_start)[:5], str(stage.window_end)[:5]],
                }
                for stage in sorted(policy.stages.all(), key=lambda s: s.position)
            ],
        }
        for policy in policies
    ]


def invoice_dunning_level(*, invoice: Invoice) -> int:
    """Return the stage position the invoice stands at (0 before the first)."""
    from huikuan.dunning.models import InvoiceDunningLevel

    return InvoiceDunningLevel.objects.filter(invoice=invoice).values_list("level", flat=True).first() or 0


def customer_actions(*, customer: Customer, limit: int = 50) -> list[DunningAction]:
    """Return the customer's latest dunning actions, newest first, with stage and policy."""
    return list(
        DunningAction.objects.filter(customer=customer)
        .select_related("stage", "policy")
        .order_by("-as_of", "-id")[:limit]
    )


def customer_credit_status(*, customer: Customer, as_of: date) -> dict[str, Any]:
    """Return what an order system needs in one answer: may this customer be supplied, and how much.

    An automatic hold counts only while the customer still has overdue invoices in its currency,
    so a hold whose debt was paid since the last run is already lifted here.
    """
    overdue = {
        row["currency"]: row["total"]
        for row in Invoice.objects.filter(
            customer=customer, settled_date__isnull=True, open_minor__gt=0, due_date__lt=as_of
        )
        .values("currency")
        .annotate(total=Sum("open_minor"))
    }
    holds = [
        hold
        for hold in CreditHold.objects.filter(customer=customer, released_date__isnull=True)
        if hold.action_id is None or overdue.get(hold.currency)
    ]
    status = "ok"
    reasons: list[str] = []
    if customer.status in (CustomerStatus.HOLD, CustomerStatus.LEGAL, CustomerStatus.CLOSED):
        status = "hold"
        reasons.append(f"customer status is {customer.status.lower()}")
    for hold in holds:
        if hold.kind == HoldKind.HOLD:
            status = "hold"
        elif status != "hold":
            status = "limited"
        reasons.append(hold.reason or hold.kind.lower())
    limited = [hold for hold in holds if hold.kind == HoldKind.LIMITED and hold.cap_minor is not None]
    caps = [hold.cap_minor for hold in limited if hold.cap_minor is not None]
    return {
        "customer": customer.code,
        "status": status,
        "as_of": as_of.isoformat(),
        "holds": [
            {
                "kind": hold.kind.lower(),
                "currency": hold.currency,
                "cap": str(from_minor(hold.cap_minor, hold.currency)) if hold.cap_minor is not None else None,
                "since": hold.placed_date.isoformat(),
                "reason": hold.reason,
            }
            for hold in holds
        ],
        "limit": (
            {
                "amount": str(from_minor(min(caps), limited[0].currency)),
                "currency": limited[0].currency,
            }
            if limited and status == "limited"
            else None
        ),
        "overdue": {
            currency: str(from_minor(total, currency)) for currency, total in sorted(overdue.items())
        },
        "reasons": reasons,
    }
