"""May this customer have this order? The credit check (PLAYBOOK §1: 前帐未清,不谈下回交易).

The answer is ``{"decision": "approve" | "limited" | "hold", "allowed_amount": "…", "reasons": [...]}``:

- **hold** when the customer owes money overdue beyond the tolerance (days past due and an
  amount, both settings), is on hold or with legal, has a grade that buys only against payment
  in advance, or has no headroom left under its limit;
- **limited** when the order is larger than the headroom (limit less open receivables and
  orders not yet invoiced, or a dunning "limited supply" cap): the headroom is allowed;
- **approve** otherwise, for the whole amount.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db.models import Sum
from django.utils.translation import gettext as _

from huikuan.core.errors import HuikuanError
from huikuan.core.money import Money, TooManyDecimals, from_minor, to_minor
from huikuan.customers.models import Customer
from huikuan.customers.orders import orders_open_minor
from huikuan.ledger.models import Invoice
from huikuan.messaging.context import amount_text

APPROVE, LIMITED, HOLD = "approve", "limited", "hold"


class CreditCheckError(HuikuanError):
    code = "credit_check_invalid"


def tolerance_days() -> int:
    return int(getattr(settings, "HUIKUAN_CREDIT_OVERDUE_TOLERANCE_DAYS", 0))


def tolerance_amount() -> Decimal:
    return Decimal(str(getattr(settings, "HUIKUAN_CREDIT_OVERDUE_TOLERANCE_AMOUNT", "0")))


def hold_grades() -> set[str]:
    raw = getattr(settings, "HUIKUAN_CREDIT_HOLD_GRADES", "D")
    parts = raw.split(",") if isinstance(raw, str) else raw
    return {str(part).strip().upper() for part in parts if str(part).strip()}


def amount_parse(raw: Any, currency: str) -> Money:
    """The order amount as Money in the customer's currency; refuse anything but a positive amount."""
    try:
        amount = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise CreditCheckError(f"amount: {raw!r} is not an amount", code="amount_invalid")
    if not amount.is_finite() or amount <= 0:
        raise CreditCheckError("amount: must be more than zero", code="amount_not_positive")
    if amount.adjusted() > 14:
        raise CreditCheckError("amount: too large", code="amount_invalid")
    try:
        return Money(to_minor(amount, currency, exact=True), currency)
    except TooManyDecimals:
        raise CreditCheckError(f"amount: more decimal places than {currency} has", code="amount_invalid")


def exposure_minor(*, customer: Customer) -> int:
    """Open receivables and orders not yet invoiced, in the customer's currency."""
    invoices = Invoice.objects.filter(
        customer=customer, currency=customer.currency, settled_date__isnull=True
    ).aggregate(total=Sum("open_minor"))["total"]
    return int(invoices or 0) + orders_open_minor(customer=customer)


def _overdue_by_currency(*, customer: Customer, as_of: date) -> dict[str, tuple[int, date]]:
    """Per currency: what is open and due before the tolerance allows, and the oldest due date."""
    cutoff = as_of - timedelta(days=tolerance_days())
    rows = (
        Invoice.objects.filter(
            customer=customer, settled_date__isnull=True, open_minor__gt=0, due_date__lt=cutoff
        )
        .values("currency")
        .annotate(total=Sum("open_minor"))
        .order_by("currency")
    )
    oldest = dict(
        Invoice.objects.filter(
            customer=customer, settled_date__isnull=True, open_minor__gt=0, due_date__lt=cutoff
        )
        .order_by("currency", "-due_date")
        .values_list("currency", "due_date")
    )
    return {row["currency"]: (int(row["total"]), oldest[row["currency"]]) for row in rows}


def credit_check(*, customer: Customer, amount: Money, as_of: date) -> dict[str, Any]:
    """Decide on an order of ``amount`` for ``customer`` today; see the module for the rule."""
    from huikuan.customers.credit import override_active
    from huikuan.dunning.selectors import customer_credit_status

    currency = customer.currency
    reasons: list[str] = []
    decision = APPROVE
    allowed = amount.minor
    # Holds the dunning run placed, and the customer's own status.
    status = customer_credit_status(customer=customer, as_of=as_of)
    if status["status"] == "hold":
        decision = HOLD
        reasons.extend(_("Credit hold: %(reason)s") % {"reason": reason} for reason in status["reasons"])
    elif status["status"] == "limited" and status.get("limit") and status["limit"]["currency"] == currency:
        cap = to_minor(Decimal(status["limit"]["amount"]), currency)
        if cap < allowed:
            allowed = cap
            reasons.append(
                _("Limited supply up to %(cap)s %(currency)s")
                % {"cap": amount_text(cap, currency), "currency": currency}
            )
    # 前帐未清,不谈下回交易: overdue beyond the tolerance stops new business.
    limit_amount = tolerance_amount()
    for overdue_currency, (overdue_minor, oldest) in _overdue_by_currency(
        customer=customer, as_of=as_of
    ).items():
        if from_minor(overdue_minor, overdue_currency) > limit_amount:
            decision = HOLD
            reasons.append(
                _(
                    "Overdue %(amount)s %(currency)s, due since %(date)s (%(days)s days; tolerance %(tolerance)s days)"
                )
                % {
                    "amount": amount_text(overdue_minor, overdue_currency),
                    "currency": overdue_currency,
                    "date": oldest.isoformat(),
                    "days": (as_of - oldest).days,
                    "tolerance": tolerance_days(),
                }
            )
    override = override_active(customer=customer, as_of=as_of)
    grade = override.grade if override is not None else customer.grade
    if grade in hold_grades():
        decision = HOLD
        reasons.append(_("Grade %(grade)s: supply only against payment in advance") % {"grade": grade})
    if customer.credit_limit_minor is not None:
        exposure = exposure_minor(customer=customer)
        headroom = customer.credit_limit_minor - exposure
        figures = {
            "limit": amount_text(customer.credit_limit_minor, currency),
            "exposure": amount_text(exposure, currency),
            "currency": currency,
        }
        if headroom <= 0:
            decision = HOLD
            reasons.append(_("No headroom: exposure %(exposure)s of limit %(limit)s %(currency)s") % figures)
        elif headroom < allowed:
            allowed = headroom
            reasons.append(
                _("Over the limit: exposure %(exposure)s of limit %(limit)s %(currency)s leaves %(headroom)s")
                % {**figures, "headroom": amount_text(headroom, currency)}
            )
    if decision != HOLD and allowed <= 0:
        decision = HOLD
    elif decision != HOLD and allowed < amount.minor:
        decision = LIMITED
    if decision == HOLD:
        allowed = 0
    return {"decision": decision, "allowed_amount": str(from_minor(allowed, currency)), "reasons": reasons}
