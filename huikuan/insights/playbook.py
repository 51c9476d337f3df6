"""What to do about each kind of debtor (PLAYBOOK §5, §6): the strategy, the next best action for
where the account stands, how to handle the contact's personality, and the evidence in words.

Plain Python over a classification's type and facts; the words go through gettext, so the same
classification reads in each user's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from huikuan.insights.classify import COMPETITIVE, MALICIOUS, REASON_BASED, TECHNICAL


@dataclass(frozen=True)
class NextAction:
    code: str
    text: str


def strategy(debtor_type: str) -> list[str]:
    """The recommended strategy for the type, as short points."""
    if debtor_type == MALICIOUS:
        return [
            _("Act fast while they still seem cooperative: the first phase is the best time to collect."),
            _("Shorten the ladder: skip the gentle reminders, go to the formal notice and the visit."),
            _(
                "Get personal, written or recorded commitments as evidence (a signed acknowledgement of the debt)."
            ),
            _("Press continuously; visit in the morning; bring in the lawyer early."),
        ]
    if debtor_type == TECHNICAL:
        return [
            _("Keep the relationship: they paid well before and the difficulty is temporary."),
            _("Offer an instalment plan with dates in writing rather than pressing for everything at once."),
            _("Follow up tightly but reasonably on each agreed date."),
        ]
    if debtor_type == COMPETITIVE:
        return [
            _("Be the creditor they pay first: firm, but keep the relationship."),
            _(
                "No new supply until the old bill is settled (前帐未清,不谈下回交易): put the account on credit hold."
            ),
            _("Offer an incentive for paying us first, such as keeping terms or priority on the next order."),
            _("Ask for the full amount; challenge a part payment at once."),
        ]
    if debtor_type == REASON_BASED:
        return [
            _("Resolve the complaint first, then collect."),
            _("A manager calls the customer; keep the sales rep as the friendly voice."),
            _("Collect the undisputed invoices as usual."),
        ]
    return [
        _("Find the cause first: an oversight, dissatisfaction, a cash shortage or intent."),
        _("Be direct, polite and factual: the amount, the due date and how to pay."),
        _("Record every contact and every promise, and follow up on the promised day."),
    ]


def next_action(debtor_type: str, facts: dict[str, Any]) -> NextAction:
    """The next best action for the type, given where the account stands."""
    if debtor_type == MALICIOUS:
        if not facts.get("promises_written"):
            return NextAction(
                "WRITTEN_ACKNOWLEDGEMENT",
                _("Get a written, signed acknowledgement of the debt and a payment date, today."),
            )
        if not facts.get("credit_hold"):
            return NextAction("STOP_SUPPLY", _("Stop supply and send the formal notice now."))
        return NextAction("REFER_TO_LAWYER", _("Refer the debt to the lawyer with the written evidence."))
    if debtor_type == TECHNICAL:
        if facts.get("plans_active"):
            return NextAction("FOLLOW_THE_PLAN", _("Follow up on the next instalment date of the plan."))
        return NextAction("OFFER_INSTALMENT_PLAN", _("Offer an instalment plan."))
    if debtor_type == COMPETITIVE:
        if not facts.get("credit_hold"):
            return NextAction("CREDIT_HOLD", _("Put the account on credit hold until it is paid."))
        return NextAction(
            "PRIORITY_INCENTIVE",
            _("Offer an incentive for paying us first (terms or priority on the next order)."),
        )
    if debtor_type == REASON_BASED:
        if facts.get("disputes_open"):
            return NextAction(
                "RESOLVE_DISPUTE", _("Resolve the open dispute first; a manager calls the customer.")
            )
        return NextAction("MANAGER_CALL", _("A manager calls to hear the complaint and settle it."))
    if not facts.get("contacts_reached"):
        return NextAction("CALL_TO_FIND_CAUSE", _("Call the contact to find out why it is unpaid."))
    return NextAction(
        "ASK_FOR_PAYMENT_DATE", _("Ask for the date of full payment and record it as a promise.")
    )


def personality_tactics(personality: str) -> str:
    """How to handle a contact of this personality (PLAYBOOK §5); empty when not judged yet."""
    if personality == "hard_line":
        return _(
            "Hard-line: stay calm and factual, use silence, and pair a firm voice with a friendly one; "
            "keep to the facts of the unpaid debt."
        )
    if personality == "scheming":
        return _(
            "Scheming: do not be passed from person to person; stay with the original contact and the "
            "decision maker, and name the stalling when you see it."
        )
    if personality == "cooperative":
        return _(
            "Cooperative: make hypothetical offers (if you pay by …, then …) and keep in informal contact."
        )
    return ""


def _day(value: Any) -> str:
    if not value:
        return ""
    try:
        return formats.date_format(date.fromisoformat(str(value)), "SHORT_DATE_FORMAT")
    except ValueError:
        return str(value)


def evidence_text(item: dict[str, Any]) -> str:
    """One piece of evidence in the user's language."""
    code = item.get("code", "")
    count = int(item.get("count") or 0)
    if code == "promises_made":
        return ngettext("%(count)d promise to pay made", "%(count)d promises to pay made", count) % {
            "count": count
        }
    if code == "promises_broken":
        return ngettext(
            "%(count)d promise broken, the last on %(date)s",
            "%(count)d promises broken, the last on %(date)s",
            count,
        ) % {"count": count, "date": _day(item.get("last"))}
    if code == "promises_kept":
        return ngettext("%(count)d promise kept", "%(count)d promises kept", count) % {"count": count}
    if code == "silence":
        if item.get("since"):
            return ngettext(
                "%(count)d contact unanswered since they were last reached on %(date)s",
                "%(count)d contacts unanswered since they were last reached on %(date)s",
                count,
            ) % {"count": count, "date": _day(item.get("since"))}
        return ngettext(
            "%(count)d contact unanswered and nobody reached",
            "%(count)d contacts unanswered and nobody reached",
            count,
        ) % {"count": count}
    if code == "dispute_after_broken_promise":
        return _("A dispute was raised only after promises were broken")
    if code == "disputes_open":
        return ngettext(
            "%(count)d open dispute, since %(date)s",
            "%(count)d open disputes, the first since %(date)s",
            count,
        ) % {"count": count, "date": _day(item.get("since"))}
    if code == "complaints":
        return ngettext(
            "%(count)d complaint on a call or statement", "%(count)d complaints on calls or statements", count
        ) % {"count": count}
    if code == "payments_after_escalation":
        return _("%(count)d of %(of)d payments came within days of a firm reminder, call or visit") % {
            "count": count,
            "of": int(item.get("of") or 0),
        }
    if code == "short_payments":
        return ngettext(
            "%(count)d payment left an invoice short", "%(count)d payments left invoices short", count
        ) % {"count": count}
    if code == "no_disputes":
        return _("No dispute raised in the period")
    if code == "good_history":
        return _("Good history: %(percent)d%% of %(settled)d invoices paid on time") % {
            "percent": int(item.get("on_time_percent") or 0),
            "settled": int(item.get("settled") or 0),
        }
    if code == "on_time_share":
        return _("%(percent)d%% of %(settled)d invoices paid on time") % {
            "percent": int(item.get("on_time_percent") or 0),
            "settled": int(item.get("settled") or 0),
        }
    if code == "late_since":
        return _("Late only since %(date)s") % {"date": _day(item.get("date"))}
    if code == "responsive":
        return _("Reachable: %(count)d conversations, the last on %(date)s") % {
            "count": int(item.get("reached") or 0),
            "date": _day(item.get("last")),
        }
    if code == "asked_for_time":
        return _("Asked for time: %(promises)d promises, %(plans)d instalment plans") % {
            "promises": int(item.get("promises") or 0),
            "plans": int(item.get("plans") or 0),
        }
    if code == "overdue":
        return ngettext(
            "%(count)d invoice overdue since %(date)s",
            "%(count)d invoices overdue, the oldest since %(date)s",
            int(item.get("invoices") or 0),
        ) % {"count": int(item.get("invoices") or 0), "date": _day(item.get("since"))}
    if code == "not_reached_yet":
        return _("Nobody reached yet in the period")
    if code == "little_history":
        return _("Too little history to judge: %(settled)d invoices settled") % {
            "settled": int(item.get("settled") or 0)
        }
    if code == "not_overdue":
        return _("Nothing overdue")
    return str(code)


def classification_out(row: Any, customer: Any) -> dict[str, Any]:
    """A classification as the API and the customer page show it, in the current language."""
    action = next_action(row.debtor_type, row.facts or {})
    decided_by = row.decided_by
    return {
        "id": row.pk,
        "customer": customer.code,
        "debtor_type": row.debtor_type,
        "label": str(row.get_debtor_type_display()),
        "confidence": row.confidence,
        "source": row.source,
        "automatic_type": row.automatic_type,
        "as_of": row.as_of,
        "is_current": row.is_current,
        "evidence": [
            {
                "code": str(item.get("code", "")),
                "text": evidence_text(item),
                "figures": {k: v for k, v in item.items() if k != "code"},
            }
            for item in row.evidence or []
        ],
        "decided_by": (decided_by.get_full_name() or decided_by.get_username()) if decided_by else None,
        "decided_at": row.created_at,
        "note": row.note,
        "strategy": strategy(row.debtor_type),
        "next_action": {"code": action.code, "text": action.text},
    }
