"""Incentives for paying now (PLAYBOOK §6 如果……那么, §7): early-payment discounts and settlements.

An offer names invoices of one currency, a pay-by day, and either a discount percent (2 % off if
paid within 10 days: "2/10 net 30") or a settlement sum (take 8,000 for 10,000 if paid by Friday).
What we give up is the *concession*. Each role may concede up to a percent of the open amount
(``HUIKUAN_INCENTIVE_APPROVAL_LIMITS``); an offer beyond the offerer's limit waits for someone
whose limit covers it.

The daily review books an offer that was taken: once payments dated no later than the pay-by day
have brought the invoices down to their concession, the rest is credited through the ledger's
``credit_note_issue`` (one credit note per invoice, dated the day the payment completed it), so
the invoices close at exactly the amount agreed. An offer not taken by its day expires.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from huikuan.accounts.access import UserLike, scope_filter, user_role
from huikuan.accounts.models import Role
from huikuan.collections.incentive_models import (
    INCENTIVE_LIVE_STATUSES,
    Incentive,
    IncentiveKind,
    IncentiveStatus,
)
from huikuan.collections.legal import CLOSED_INVOICE_STATUSES
from huikuan.collections.legal_letter import letter_language
from huikuan.core.audit import audit_record, audit_snapshot
from huikuan.core.errors import HuikuanError, NotFound
from huikuan.core.models import AuditAction
from huikuan.core.money import Money, format_minor
from huikuan.customers.models import Customer
from huikuan.ledger.models import Allocation, Invoice

# Percent of the open amount each role may give up without anyone else's approval.
APPROVAL_LIMITS_DEFAULT: dict[str, str] = {
    Role.COLLECTOR: "2",
    Role.SALES_REP: "0",
    Role.CREDIT_CONTROLLER: "10",
    Role.MANAGER: "30",
    Role.ADMIN: "100",
    Role.AUDITOR: "0",
}
TEMPLATE_KEY = "incentive-offer"


class IncentiveError(HuikuanError):
    code = "incentive_invalid"


class IncentiveNotFound(NotFound):
    code = "incentive_not_found"


class IncentiveConflict(IncentiveError):
    code = "invoice_has_offer"
    status = 409


class IncentiveNotLive(IncentiveError):
    code = "incentive_not_live"
    status = 409


class ApprovalLimitExceeded(IncentiveError):
    code = "approval_limit"
    status = 403


class IncentiveNoRecipient(IncentiveError):
    code = "no_recipient"


# --- arithmetic -------------------------------------------------------------------------------


def approval_limit(user: UserLike) -> Decimal:
    """Return the percent of the open amount this user may concede on their own (None user: all)."""
    if user is None:
        return Decimal(100)
    role = user_role(user)
    if role is None:
        return Decimal(0)
    limits = {**APPROVAL_LIMITS_DEFAULT, **getattr(settings, "HUIKUAN_INCENTIVE_APPROVAL_LIMITS", {})}
    return Decimal(str(limits.get(role, "0")))


def concession_percent(*, concession_minor: int, open_minor: int) -> Decimal:
    """Return what is given up as a percent of what was open (exact, not rounded)."""
    if open_minor <= 0:
        return Decimal(0)
    return Decimal(concession_minor) * 100 / Decimal(open_minor)


def discount_minor(open_minor: int, percent: Decimal) -> int:
    """Return ``percent`` of an open amount in minor units, rounded half-up."""
    return int((Decimal(open_minor) * percent / 100).to_integral_value(rounding=ROUND_HALF_UP))


def settlement_shares(opens: list[int], concession_minor: int) -> list[int]:
    """Split a settlement's concession over invoices in proportion to what each has open.

    Largest remainders, so the shares add up to the concession exactly and none exceeds its
    invoice's open amount.
    """
    total = sum(opens)
    if total <= 0:
        return [0] * len(opens)
    exact = [Decimal(concession_minor) * amount / total for amount in opens]
    shares = [int(value) for value in exact]
    short = concession_minor - sum(shares)
    order = sorted(range(len(opens)), key=lambda i: (exact[i] - shares[i], opens[i]), reverse=True)
    for i in order[:short]:
        shares[i] += 1
    return shares


# --- reads ------------------------------------------------------------------------------------


def incentive_scope(user: UserLike) -> QuerySet[Incentive]:
    return scope_filter(Incentive.objects.all(), user=user)


def access_incentive(*, user: UserLike, incentive_id: int) -> Incentive:
    try:
        return incentive_scope(user).select_related("customer").get(pk=incentive_id)
    except Incentive.DoesNotExist:
        raise IncentiveNotFound(f"incentive {incentive_id} does not exist")


def incentive_list(*, customer: Customer) -> QuerySet[Incentive]:
    return Incentive.objects.filter(customer=customer).select_related("customer", "created_by", "approved_by")


def portal_offers(*, customer: Customer, as_of: date) -> QuerySet[Incentive]:
    """Return the offers a customer can still take (for the portal): offered, pay-by day not past."""
    return Incentive.objects.filter(customer=customer, status=IncentiveStatus.OFFERED, pay_by_date__gte=as_of)


# --- changes ----------------------------------------------------------------------------------


def _actor(user: Any) -> Any:
    return user if user is not None and getattr(user, "pk", None) else None


def _audit(incentive: Incentive, action: str, user: Any, before: dict[str, Any] | None = None) -> None:
    audit_record(
        instance=incentive, action=action, actor=user, before=before, after=audit_snapshot(incentive)
    )


def _open_chosen(customer: Customer, invoices: list[Invoice]) -> list[Invoice]:
    if not invoices:
        raise IncentiveError(_("Name the invoices the offer is for."))
    ids = list(dict.fromkeys(invoice.pk for invoice in invoices))
    fresh = {
        invoice.pk: invoice
        for invoice in Invoice.objects.filter(pk__in=ids, open_minor__gt=0).exclude(
            status__in=CLOSED_INVOICE_STATUSES
        )
    }
    for invoice in invoices:
        if invoice.customer_id != customer.pk:
            raise IncentiveError(
                _("Invoice %(number)s belongs to another customer.") % {"number": invoice.number}
            )
        if invoice.pk not in fresh:
            raise IncentiveError(_("Nothing is open on %(number)s.") % {"number": invoice.number})
    chosen = [fresh[pk] for pk in ids]
    if len({invoice.currency for invoice in chosen}) > 1:
        raise IncentiveError(_("An offer is for invoices of one currency."))
    taken = sorted(
        Invoice.objects.filter(pk__in=ids, incentives__status__in=INCENTIVE_LIVE_STATUSES).values_list(
            "number", flat=True
        )
    )
    if taken:
        raise IncentiveConflict(
            _("%(numbers)s already have an offer open; withdraw it first.") % {"numbers": ", ".join(taken)}
        )
    return sorted(chosen, key=lambda invoice: (invoice.due_date, invoice.number))


@transaction.atomic
def incentive_offer(
    *,
    customer: Customer,
    user: Any,
    kind: str,
    invoices: list[Invoice],
    pay_by_date: date,
    offered_date: date | None = None,
    discount_percent: Decimal | str | None = None,
    settle_amount: Money | None = None,
    terms: str = "",
    notes: str = "",
) -> Incentive:
    """Offer a discount or a settlement on the invoices; it waits for approval beyond the user's limit."""
    kind = (kind or "").strip().upper()
    if kind not in IncentiveKind.values:
        raise IncentiveError(
            _("An incentive is a discount or a settlement, not %(kind)s.") % {"kind": kind or "—"}
        )
    offered_date = offered_date or timezone.localdate()
    if pay_by_date < offered_date:
        raise IncentiveError(_("The pay-by day cannot be before the offer."))
    Customer.objects.select_for_update().filter(pk=customer.pk).first()
    chosen = _open_chosen(customer, invoices)
    currency = chosen[0].currency
    opens = [invoice.open_minor for invoice in chosen]
    open_total = sum(opens)
    percent: Decimal | None = None
    if kind == IncentiveKind.DISCOUNT:
        try:
            percent = Decimal(str(discount_percent).strip().rstrip("%"))
        except Exception:
            raise IncentiveError(_("The discount must be a percent, e.g. 2."))
        if (
            not percent.is_finite()
            or percent <= 0
            or percent >= 100
            or percent != percent.quantize(Decimal("0.01"))
        ):
            raise IncentiveError(
                _("The discount must be more than 0 and less than 100 percent, two decimals at most.")
            )
        shares = [discount_minor(amount, percent) for amount in opens]
    else:
        if settle_amount is None:
            raise IncentiveError(_("A settlement names the sum the customer pays."))
        if settle_amount.currency != currency:
            raise IncentiveError(_("The invoices are in %(currency)s.") % {"currency": currency})
        if not 0 < settle_amount.minor < open_total:
            raise IncentiveError(
                _("A settlement is more than zero and less than the %(open)s %(currency)s open.")
                % {"open": format_minor(open_total, currency), "currency": currency}
            )
        shares = settlement_shares(opens, open_total - settle_amount.minor)
    concession = sum(shares)
    if concession <= 0:
        raise IncentiveError(_("The offer gives nothing up; there is nothing to offer."))
    within = concession_percent(concession_minor=concession, open_minor=open_total) <= approval_limit(user)
    incentive = Incentive.objects.create(
        customer=customer,
        kind=kind,
        status=IncentiveStatus.OFFERED if within else IncentiveStatus.AWAITING_APPROVAL,
        currency=currency,
        offered_date=offered_date,
        pay_by_date=pay_by_date,
        discount_percent=percent,
        open_minor=open_total,
        pay_minor=open_total - concession,
        concession_minor=concession,
        lines=[
            {"invoice": invoice.pk, "number": invoice.number, "open": amount, "concession": share}
            for invoice, amount, share in zip(chosen, opens, shares, strict=True)
        ],
        terms=(terms or "").strip()[:100],
        notes=notes or "",
        created_by=_actor(user),
        approved_by=_actor(user) if within else None,
        approved_at=timezone.now() if within else None,
    )
    incentive.invoices.set(chosen)
    _audit(incentive, AuditAction.CREATE, user)
    return incentive


@transaction.atomic
def incentive_approve(*, incentive: Incentive, user: Any) -> Incentive:
    """Approve an offer waiting for it; the approver's own limit must cover the concession."""
    incentive = Incentive.objects.select_for_update().get(pk=incentive.pk)
    if incentive.status != IncentiveStatus.AWAITING_APPROVAL:
        raise IncentiveNotLive(
            _("The offer is %(status)s, not awaiting approval.") % {"status": incentive.get_status_display()}
        )
    needed = concession_percent(concession_minor=incentive.concession_minor, open_minor=incentive.open_minor)
    if needed > approval_limit(user):
        raise ApprovalLimitExceeded(
            _("The offer gives up %(needed)s %% of the debt; your role may approve up to %(limit)s %%.")
            % {"needed": f"{needed.quantize(Decimal('0.01'))}", "limit": f"{approval_limit(user)}"}
        )
    before = audit_snapshot(incentive)
    incentive.status = IncentiveStatus.OFFERED
    incentive.approved_by = _actor(user)
    incentive.approved_at = timezone.now()
    incentive.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
    _audit(incentive, AuditAction.UPDATE, user, before)
    return incentive


@transaction.atomic
def incentive_close(*, incentive: Incentive, user: Any, status: str, reason: str = "") -> Incentive:
    """Withdraw an offer, or refuse to approve one (status WITHDRAWN or REJECTED)."""
    status = (status or "").upper()
    if status not in (IncentiveStatus.WITHDRAWN, IncentiveStatus.REJECTED):
        raise IncentiveError(
            _("An offer is withdrawn or refused, not %(status)s.") % {"status": status.lower() or "—"}
        )
    incentive = Incentive.objects.select_for_update().get(pk=incentive.pk)
    if incentive.status not in INCENTIVE_LIVE_STATUSES:
        raise IncentiveNotLive(
            _("The offer has already ended (%(status)s).") % {"status": incentive.get_status_display()}
        )
    if status == IncentiveStatus.REJECTED and incentive.status != IncentiveStatus.AWAITING_APPROVAL:
        raise IncentiveNotLive(_("Only an offer awaiting approval can be refused."))
    before = audit_snapshot(incentive)
    incentive.status = status
    incentive.ended_reason = (reason or "").strip()[:500]
    incentive.save(update_fields=["status", "ended_reason", "updated_at"])
    _audit(incentive, AuditAction.UPDATE, user, before)
    return incentive


def incentive_text(*, incentive: Incentive, language: str | None = None) -> tuple[str, str]:
    """Return (subject, text) of the offer in the customer's language, from its editable template."""
    from huikuan.messaging.context import company_context, date_text, money_text
    from huikuan.messaging.models import TemplateChannel
    from huikuan.messaging.rendering import render_template

    chosen = letter_language(incentive.customer, language)
    currency = incentive.currency
    rendered = render_template(
        key=TEMPLATE_KEY,
        channel=TemplateChannel.EMAIL,
        language=chosen,
        context={
            "customer_name": incentive.customer.legal_name or incentive.customer.name,
            "customer_code": incentive.customer.code,
            "company": company_context(),
            "is_discount": incentive.kind == IncentiveKind.DISCOUNT,
            "percent": f"{incentive.discount_percent:f}" if incentive.discount_percent is not None else "",
            "currency": currency,
            "open": money_text(incentive.open_minor, currency, chosen),
            "pay": money_text(incentive.pay_minor, currency, chosen),
            "concession": money_text(incentive.concession_minor, currency, chosen),
            "pay_by": date_text(incentive.pay_by_date, chosen),
            "invoices": [line["number"] for line in incentive.lines],
            "terms": incentive.terms,
        },
    )
    return rendered.subject[:300], rendered.text.strip() + "\n"


@transaction.atomic
def incentive_send(*, incentive: Incentive, user: Any, now: datetime | None = None) -> Any:
    """Queue the offer as an e-mail to the customer's contact (delivered like every message)."""
    from huikuan.customers.models import Contact
    from huikuan.messaging.models import MessageChannel, OutboxMessage, OutboxStatus

    now = now or timezone.now()
    incentive = Incentive.objects.select_for_update().select_related("customer").get(pk=incentive.pk)
    if incentive.status != IncentiveStatus.OFFERED:
        raise IncentiveNotLive(
            _("Only an approved offer can be sent; this one is %(status)s.")
            % {"status": incentive.get_status_display()}
        )
    if incentive.customer.do_not_contact:
        raise IncentiveNoRecipient(_("The customer is marked do not contact."))
    contact = (
        Contact.objects.filter(customer=incentive.customer, email_failed_at__isnull=True)
        .exclude(email="")
        .order_by("-is_primary", "name", "id")
        .first()
    )
    if contact is None:
        raise IncentiveNoRecipient(
            _("The customer has no contact with an e-mail address that can still be used.")
        )
    subject, text = incentive_text(incentive=incentive, language=contact.language or None)
    sequence = (
        OutboxMessage.objects.filter(
            customer_id=incentive.customer_id, idempotency_key__startswith=f"incentive:{incentive.pk}:"
        ).count()
        + 1
    )
    message = OutboxMessage.objects.create(
        idempotency_key=f"incentive:{incentive.pk}:{sequence}",
        message_id=f"<incentive.{incentive.pk}.{sequence}@{settings.HUIKUAN_MAIL_DOMAIN}>",
        channel=MessageChannel.EMAIL,
        status=OutboxStatus.QUEUED,
        customer_id=incentive.customer_id,
        contact=contact,
        template_key=TEMPLATE_KEY,
        sender_role="COLLECTOR",
        not_before_at=now,
        language=letter_language(incentive.customer, contact.language or None),
        subject=subject,
        body_text=text,
    )
    incentive.message = message
    incentive.save(update_fields=["message", "updated_at"])
    return message


def _payments_by_invoice(incentives: list[Incentive]) -> dict[int, list[tuple[date, int]]]:
    """Allocations on the offers' invoices since the earliest offer, in one query."""
    ids = {line["invoice"] for incentive in incentives for line in incentive.lines}
    if not ids:
        return {}
    since = min(incentive.offered_date for incentive in incentives)
    paid: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for invoice_id, day, amount in (
        Allocation.objects.filter(invoice_id__in=ids, allocation_date__gte=since)
        .order_by("allocation_date", "id")
        .values_list("invoice_id", "allocation_date", "amount_minor")
    ):
        paid[invoice_id].append((day, amount))
    return paid


def _taken_on(line: dict[str, Any], payments: list[tuple[date, int]], incentive: Incentive) -> date | None:
    """Return the day payments in the offer's window covered what the line asks, else None."""
    needed = line["open"] - line["concession"]
    if needed <= 0:
        return incentive.offered_date
    running = 0
    for day, amount in payments:
        if day < incentive.offered_date or day > incentive.pay_by_date:
            continue
        running += amount
        if running >= needed:
            return day
    return None


def incentives_review(*, as_of: date, user: Any = None) -> dict[str, int]:
    """Book the offers taken (credit notes for the concession) and expire those past their day.

    Reads every live offer and the allocations on their invoices in a fixed number of queries; only
    the offers that change are written, each in its own transaction.
    """
    from huikuan.ledger.services import credit_note_issue

    offered = list(Incentive.objects.filter(status=IncentiveStatus.OFFERED).select_related("customer"))
    payments = _payments_by_invoice(offered)
    invoices = {
        invoice.pk: invoice
        for invoice in Invoice.objects.filter(pk__in={line["invoice"] for i in offered for line in i.lines})
    }
    booked = expired = 0
    for incentive in offered:
        if incentive.kind == IncentiveKind.SETTLEMENT:
            # The settlement is one sum: what was paid on all its invoices together counts.
            whole = {"open": incentive.open_minor, "concession": incentive.concession_minor}
            merged = sorted(
                (entry for line in incentive.lines for entry in payments.get(line["invoice"], [])),
                key=lambda entry: entry[0],
            )
            day = _taken_on(whole, merged, incentive)
            days = [day] if day is not None else []
        else:
            taken = [
                _taken_on(line, payments.get(line["invoice"], []), incentive) for line in incentive.lines
            ]
            days = [day for day in taken if day is not None] if all(day is not None for day in taken) else []
        if days:
            on_date = max(days)
            with transaction.atomic():
                locked = Incentive.objects.select_for_update().get(pk=incentive.pk)
                if locked.status != IncentiveStatus.OFFERED:
                    continue
                before = audit_snapshot(locked)
                label = (
                    _("Early-payment discount %(percent)s %%") % {"percent": f"{locked.discount_percent:f}"}
                    if locked.kind == IncentiveKind.DISCOUNT
                    else _("Settlement")
                )
                # A settlement's sum may have been applied to its invoices in any proportion: what is
                # left open on them, up to the concession, is credited; a discount credits each
                # invoice at most its own share.
                remaining = locked.concession_minor
                for line in locked.lines:
                    invoice = invoices[line["invoice"]]
                    invoice.refresh_from_db()
                    cap = remaining if locked.kind == IncentiveKind.SETTLEMENT else line["concession"]
                    credit = max(min(cap, invoice.open_minor), 0)
                    remaining -= credit
                    if credit > 0:
                        credit_note_issue(
                            invoice=invoice,
                            amount=Money(credit, invoice.currency),
                            on_date=on_date,
                            reason=f"{label} (INC-{locked.pk})",
                            reference=f"INC-{locked.pk}",
                            user=_actor(user),
                            actor=user,
                        )
                locked.status = IncentiveStatus.BOOKED
                locked.booked_date = on_date
                locked.save(update_fields=["status", "booked_date", "updated_at"])
                _audit(locked, AuditAction.UPDATE, user, before)
            booked += 1
        elif incentive.pay_by_date < as_of:
            with transaction.atomic():
                locked = Incentive.objects.select_for_update().get(pk=incentive.pk)
                if locked.status != IncentiveStatus.OFFERED:
                    continue
                before = audit_snapshot(locked)
                locked.status = IncentiveStatus.EXPIRED
                locked.save(update_fields=["status", "updated_at"])
                _audit(locked, AuditAction.UPDATE, user, before)
            expired += 1
    return {"booked": booked, "expired": expired}
