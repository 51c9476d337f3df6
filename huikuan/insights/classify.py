"""Why a customer does not pay (PLAYBOOK §5), decided from its record as plain Python.

``debtor_classify`` takes one customer's facts (gathered set-based in ``insights/facts.py``) and
returns the type, a confidence 0-100 and the evidence: the facts that decided it, as codes with
figures, so that they can be shown in any language. The rules are tried in this order and the
first that holds decides:

1. reason-based — an open dispute raised before any promise was broken: fix the complaint first;
2. malicious — promises made, then broken, then silence (contacts unanswered since the break and
   nobody reached since): 貌似真诚→承诺→拖延→沉默;
3. reason-based, weaker — an open dispute raised only after promises broke (the playbook warns
   that a stalling debtor turns a debt into a complaint), or complaints on calls and statements;
4. competitive — pays after escalation or in part, with no dispute in the period;
5. technical — a good payment history, lateness that is recent, reachable, nothing broken;
6. undetermined — none of these, with what is known.

Dates, not day counts, describe time in the evidence, so a customer's evidence stays the same
from one day to the next until something happens on the account.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

MALICIOUS, TECHNICAL, COMPETITIVE = "MALICIOUS", "TECHNICAL", "COMPETITIVE"
REASON_BASED, UNDETERMINED = "REASON_BASED", "UNDETERMINED"
TYPES = (MALICIOUS, TECHNICAL, COMPETITIVE, REASON_BASED, UNDETERMINED)


@dataclass(frozen=True)
class Thresholds:
    """The figures the rules compare against (settings ``HUIKUAN_DEBTOR_*``, see docs/debtors.md)."""

    silence_contacts: int = 2  # unanswered calls, visits or statements that make silence
    good_history_invoices: int = 3  # settled invoices needed to judge a history
    good_history_on_time_percent: int = 80
    recent_lateness_days: int = 60  # lateness younger than this is "sudden"
    escalated_payments: int = 2  # payments that came only after escalation
    escalated_share_percent: int = 60  # of all payments in the period
    short_payments: int = 2


@dataclass(frozen=True)
class DebtorFacts:
    """What the record shows about one overdue customer, over the look-back period up to ``as_of``."""

    customer_id: int
    as_of: date
    overdue_invoices: int = 0
    oldest_due_date: date | None = None
    settled_invoices: int = 0
    settled_on_time: int = 0
    promises_made: int = 0
    promises_kept: int = 0
    promises_partly_kept: int = 0
    promises_broken: int = 0
    promises_written: int = 0  # in writing or recorded: evidence a court accepts
    first_broken_date: date | None = None
    last_broken_date: date | None = None
    contacts_reached: int = 0
    last_reached_date: date | None = None
    # Calls and visits unanswered since the last time anyone was reached (all, if never).
    unanswered_since_reached: int = 0
    statements_unanswered: int = 0
    complaints: int = 0  # calls with the outcome "disputed", statements disputed
    disputes_open: int = 0
    first_open_dispute_date: date | None = None
    disputes_in_period: int = 0
    payments: int = 0
    payments_after_escalation: int = 0
    short_payments: int = 0
    plans_agreed: int = 0
    plans_active: int = 0
    plans_broken: int = 0
    credit_hold: bool = False

    @property
    def silence(self) -> int:
        return self.unanswered_since_reached + self.statements_unanswered

    @property
    def on_time_percent(self) -> int | None:
        if not self.settled_invoices:
            return None
        return self.settled_on_time * 100 // self.settled_invoices

    def as_json(self) -> dict[str, Any]:
        return {
            key: (value.isoformat() if isinstance(value, date) else value)
            for key, value in asdict(self).items()
            if key != "customer_id"
        }


@dataclass(frozen=True)
class Classification:
    debtor_type: str
    confidence: int
    evidence: list[dict[str, Any]] = field(default_factory=list)


def _fact(code: str, **figures: Any) -> dict[str, Any]:
    return {"code": code, **{k: (v.isoformat() if isinstance(v, date) else v) for k, v in figures.items()}}


def _cap(value: int, top: int = 95) -> int:
    """A found type is never less than 30 sure (0 is kept for undetermined) nor more than ``top``."""
    return max(30, min(top, value))


def _genuine_dispute(f: DebtorFacts) -> bool:
    """An open dispute raised before any promise broke (or with no broken promise at all)."""
    if not f.disputes_open:
        return False
    if f.first_broken_date is None or f.first_open_dispute_date is None:
        return True
    return f.first_open_dispute_date <= f.first_broken_date


def _malicious(f: DebtorFacts, t: Thresholds) -> Classification | None:
    if f.promises_broken < 1 or f.silence < t.silence_contacts or f.promises_kept > f.promises_broken:
        return None
    # Silence after the break: nobody reached since the last broken promise fell due.
    reached_after = f.last_reached_date and f.last_broken_date and f.last_reached_date > f.last_broken_date
    if reached_after:
        return None
    evidence = [
        _fact("promises_made", count=f.promises_made),
        _fact("promises_broken", count=f.promises_broken, last=f.last_broken_date),
        _fact("silence", count=f.silence, since=f.last_reached_date),
    ]
    if f.disputes_open:
        evidence.append(_fact("dispute_after_broken_promise", count=f.disputes_open))
    if f.promises_kept:
        evidence.append(_fact("promises_kept", count=f.promises_kept))
    confidence = 60 + 10 * (f.promises_broken - 1) + 5 * (f.silence - t.silence_contacts)
    confidence -= 10 * f.promises_kept
    return Classification(MALICIOUS, _cap(confidence, 95), evidence)


def _reason_based(f: DebtorFacts, *, genuine: bool) -> Classification | None:
    if genuine:
        evidence = [_fact("disputes_open", count=f.disputes_open, since=f.first_open_dispute_date)]
        if f.complaints:
            evidence.append(_fact("complaints", count=f.complaints))
        return Classification(REASON_BASED, _cap(80 + 5 * (f.disputes_open - 1) + 5 * f.complaints), evidence)
    if f.disputes_open:
        evidence = [
            _fact("disputes_open", count=f.disputes_open, since=f.first_open_dispute_date),
            _fact("dispute_after_broken_promise", count=f.promises_broken, last=f.last_broken_date),
        ]
        return Classification(REASON_BASED, _cap(55), evidence)
    if f.complaints:
        return Classification(
            REASON_BASED, _cap(50 + 10 * (f.complaints - 1), 75), [_fact("complaints", count=f.complaints)]
        )
    return None


def _competitive(f: DebtorFacts, t: Thresholds) -> Classification | None:
    if f.disputes_in_period or f.complaints:
        return None
    escalated = (
        f.payments_after_escalation >= t.escalated_payments
        and f.payments_after_escalation * 100 >= t.escalated_share_percent * f.payments
    )
    short = f.short_payments >= t.short_payments
    if not (escalated or short):
        return None
    evidence = []
    confidence = 50
    if escalated:
        evidence.append(_fact("payments_after_escalation", count=f.payments_after_escalation, of=f.payments))
        confidence += 10 + 5 * (f.payments_after_escalation - t.escalated_payments)
    if f.short_payments:
        evidence.append(_fact("short_payments", count=f.short_payments))
        if short:
            confidence += 10 + 5 * (f.short_payments - t.short_payments)
    evidence.append(_fact("no_disputes"))
    return Classification(COMPETITIVE, _cap(confidence, 90), evidence)


def _technical(f: DebtorFacts, t: Thresholds) -> Classification | None:
    on_time = f.on_time_percent
    if on_time is None or f.settled_invoices < t.good_history_invoices:
        return None
    if on_time < t.good_history_on_time_percent or f.promises_broken or f.plans_broken:
        return None
    if f.oldest_due_date is None or (f.as_of - f.oldest_due_date).days > t.recent_lateness_days:
        return None
    if not f.contacts_reached or f.silence >= t.silence_contacts:
        return None
    evidence = [
        _fact("good_history", on_time_percent=on_time, settled=f.settled_invoices),
        _fact("late_since", date=f.oldest_due_date),
        _fact("responsive", reached=f.contacts_reached, last=f.last_reached_date),
    ]
    confidence = 55 + (10 if on_time >= 95 else 0)
    if f.promises_made or f.plans_agreed:
        evidence.append(_fact("asked_for_time", promises=f.promises_made, plans=f.plans_agreed))
        confidence += 15
    if f.promises_kept:
        confidence += 5
    return Classification(TECHNICAL, _cap(confidence, 90), evidence)


def _undetermined(f: DebtorFacts, t: Thresholds) -> Classification:
    evidence = [_fact("overdue", invoices=f.overdue_invoices, since=f.oldest_due_date)]
    if not f.contacts_reached:
        evidence.append(_fact("not_reached_yet"))
    if f.settled_invoices < t.good_history_invoices:
        evidence.append(_fact("little_history", settled=f.settled_invoices))
    elif f.on_time_percent is not None:
        evidence.append(_fact("on_time_share", on_time_percent=f.on_time_percent, settled=f.settled_invoices))
    if f.promises_broken:
        evidence.append(_fact("promises_broken", count=f.promises_broken, last=f.last_broken_date))
    return Classification(UNDETERMINED, 0, evidence)


def debtor_classify(facts: DebtorFacts, thresholds: Thresholds | None = None) -> Classification:
    """Return the debtor type the record shows, with a confidence and the facts that decided it."""
    t = thresholds or Thresholds()
    genuine = _genuine_dispute(facts)
    if genuine:
        found = _reason_based(facts, genuine=True)
        assert found is not None
        return found
    for rule in (
        lambda: _malicious(facts, t),
        lambda: _reason_based(facts, genuine=False),
        lambda: _competitive(facts, t),
        lambda: _technical(facts, t),
    ):
        result = rule()
        if result is not None:
            return result
    return _undetermined(facts, t)
