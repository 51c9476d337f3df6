"""Dunning fees: what a stage (or the customer's contract) charges for a reminder.

The contract wins over the stage: a customer whose ContractTerms name a fee kind pays that fee at
every stage after the due date (and none when the contract says "no fee"); blank terms leave the
stage's fee. Reminders before or on the due date never carry a fee: nothing is late yet. Fixed
fees are whole units of the invoice currency written as decimal text ("40", "40.00"); percentage
fees are a percent of the amount due on the action. Rounded once, half-up, to the minor unit.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from huikuan.core.errors import HuikuanError
from huikuan.core.money import from_minor, to_minor
from huikuan.dunning.models import ContractTerms, FeeKind, Stage


class FeeInvalid(HuikuanError):
    code = "fee_invalid"


def fee_value_parse(text: str, *, kind: str) -> Decimal:
    """Return the fee value of a FIXED or PERCENTAGE fee, or raise FeeInvalid."""
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0:
        example = "40.00" if kind == FeeKind.FIXED else "1.5"
        raise FeeInvalid(f"fee value {text!r} is not a non-negative number; write it like {example}")
    return value


def fee_rule(*, stage: Stage, terms: ContractTerms | None) -> tuple[str, str]:
    """Return the (kind, value) that applies: the contract's when it names a kind, else the stage's."""
    if stage.trigger_days <= 0:
        return FeeKind.NONE, ""
    if terms is not None and terms.fee_kind:
        return terms.fee_kind, terms.fee_value
    return stage.fee_kind or FeeKind.NONE, stage.fee_value


def fee_minor(*, stage: Stage, terms: ContractTerms | None, amount_minor: int, currency: str) -> int:
    """Return the fee for one action in minor units of ``currency`` (0 when none applies)."""
    kind, text = fee_rule(stage=stage, terms=terms)
    if kind == FeeKind.NONE:
        return 0
    value = fee_value_parse(text, kind=kind)
    if kind == FeeKind.FIXED:
        return to_minor(value, currency)
    if kind == FeeKind.PERCENTAGE:
        return to_minor(from_minor(max(amount_minor, 0), currency) * value / 100, currency)
    raise FeeInvalid(f"unknown fee kind {kind!r}")
