"""Dunning fees: what a stage (or the customer's contract) charges for a reminder.

The contract wins over the stage: a customer whose ContractTerms name a fee kind pays that fee at
every stage after the due date (and none when the contract says "no fee"); blank terms leave the
stage's fee. Reminders before or on the due date never carry a fee: nothing is late yet. Fixed
fees are whole units of the invoice currency written as decimal text ("40", "40.00"); percentage
fees are a percent of the amount due on the action. Rounded once, half-up, to the minor unit.

A run books fees for thousands of actions that share a handful of (kind, value, currency)
combinations, so the value is parsed once per combination (:func:`fee_compile`) and each fee is
then integer arithmetic: a fixed fee is a constant, a percentage fee is
``amount_minor x value / 100`` as an exact ratio rounded half-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from huikuan.core.errors import HuikuanError
from huikuan.core.money import to_minor
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


def fee_rule_values(
    *, trigger_days: int, stage_kind: str, stage_value: str, terms_kind: str | None, terms_value: str | None
) -> tuple[str, str]:
    """Return the (kind, value) that applies, from plain values (``terms_*`` None without contract terms)."""
    if trigger_days <= 0:
        return FeeKind.NONE, ""
    if terms_kind:
        return terms_kind, terms_value or ""
    return stage_kind or FeeKind.NONE, stage_value


def fee_rule(*, stage: Stage, terms: ContractTerms | None) -> tuple[str, str]:
    """Return the (kind, value) that applies: the contract's when it names a kind, else the stage's."""
    return fee_rule_values(
        trigger_days=stage.trigger_days,
        stage_kind=stage.fee_kind,
        stage_value=stage.fee_value,
        terms_kind=terms.fee_kind if terms is not None else None,
        terms_value=terms.fee_value if terms is not None else None,
    )


@dataclass(frozen=True, slots=True)
class CompiledFee:
    """A fee rule ready to apply to many amounts: a constant, or an exact ratio of the amount."""

    kind: str
    fixed_minor: int = 0
    numerator: int = 0  # PERCENTAGE: fee = amount_minor x numerator / denominator, rounded half-up
    denominator: int = 1

    def minor(self, amount_minor: int) -> int:
        if self.kind == FeeKind.FIXED:
            return self.fixed_minor
        if self.kind == FeeKind.PERCENTAGE:
            # Half-up on a non-negative ratio: floor(x + 1/2).
            return (2 * max(amount_minor, 0) * self.numerator + self.denominator) // (2 * self.denominator)
        return 0


def fee_compile(*, kind: str, text: str, currency: str) -> CompiledFee:
    """Return the fee rule (kind, value text) for amounts in ``currency``, or raise FeeInvalid."""
    if kind == FeeKind.NONE:
        return CompiledFee(FeeKind.NONE)
    if kind not in (FeeKind.FIXED, FeeKind.PERCENTAGE):
        raise FeeInvalid(f"unknown fee kind {kind!r}")
    value = fee_value_parse(text, kind=kind)
    if kind == FeeKind.FIXED:
        return CompiledFee(FeeKind.FIXED, fixed_minor=to_minor(value, currency))
    numerator, denominator = value.as_integer_ratio()
    return CompiledFee(FeeKind.PERCENTAGE, numerator=numerator, denominator=denominator * 100)


def fee_minor(*, stage: Stage, terms: ContractTerms | None, amount_minor: int, currency: str) -> int:
    """Return the fee for one action in minor units of ``currency`` (0 when none applies)."""
    kind, text = fee_rule(stage=stage, terms=terms)
    return fee_compile(kind=kind, text=text, currency=currency).minor(amount_minor)
