"""Handing a customer's debt to a collection agency or a lawyer, and what they recover (PLAYBOOK §5).

A hand-over takes all of the customer's open invoices in one currency, or the ones chosen, at
what they have open that day. While any hand-over of the customer is open (active or partly
recovered) the customer's status is "with legal": the dunning run leaves such customers alone, the
same single path the legal-referral stage uses. When the last open hand-over ends (recovered,
returned or closed) the customer gets back the status it had before.

Commission is computed on what is recovered, never on what was handed over. Each recovery's share
is the commission on everything recovered so far less the commission already booked, so the
shares always add up to the commission on the total, exactly, however the money arrives.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from huikuan.accounts.access import UserLike, require_role, scope_filter
from huikuan.accounts.models import Role
from huikuan.collections.legal_models import (
    HANDOVER_OPEN_STATUSES,
    HandoverKind,
    HandoverStatus,
    LegalHandover,
    LegalRecovery,
)
from huikuan.core.audit import audit_record, audit_snapshot
from huikuan.core.errors import HuikuanError, NotFound
from huikuan.core.models import AuditAction
from huikuan.core.money import Money, format_minor
from huikuan.customers.models import Customer, CustomerStatus
from huikuan.customers.services import customer_update
from huikuan.ledger.models import Invoice, InvoiceStatus

# Who may hand a debt over, record recoveries and close hand-overs: people who act for the whole
# company. Collectors and sales reps see their customers' hand-overs but do not make them.
LEGAL_ROLES = (Role.CREDIT_CONTROLLER, Role.MANAGER, Role.ADMIN)
CLOSED_INVOICE_STATUSES = (InvoiceStatus.PAID, InvoiceStatus.WRITTEN_OFF, InvoiceStatus.CANCELLED)
ENDING_STATUSES = (HandoverStatus.RETURNED, HandoverStatus.CLOSED)


class LegalError(HuikuanError):
    code = "legal_invalid"


class HandoverNotFound(NotFound):
    code = "handover_not_found"


class HandoverInvalid(LegalError):
    code = "handover_invalid"


class NothingToHandOver(LegalError):
    code = "nothing_to_hand_over"


class CurrencyAmbiguous(LegalError):
    code = "currency_ambiguous"


class InvoiceAlreadyHandedOver(LegalError):
    code = "already_handed_over"
    status = 409


class HandoverNotOpen(LegalError):
    code = "handover_not_open"
    status = 409


class RecoveryInvalid(LegalError):
    code = "recovery_invalid"


class RecoveryExceedsDebt(LegalError):
    code = "recovery_exceeds_debt"


# --- arithmetic -------------------------------------------------------------------------------


def commission_percent_parse(value: Decimal | str | int | float) -> Decimal:
    """Return a commission percent between 0 and 100 with at most two decimals, or raise."""
    try:
        percent = Decimal(str(value).strip().rstrip("%").strip())
    except (InvalidOperation, ValueError):
        raise HandoverInvalid(_("The commission %(value)s is not a number.") % {"value": value})
    if not percent.is_finite() or percent < 0 or percent > 100:
        raise HandoverInvalid(_("The commission must be between 0 and 100 percent."))
    if percent != percent.quantize(Decimal("0.01")):
        raise HandoverInvalid(_("The commission may have at most two decimal places."))
    return percent.quantize(Decimal("0.01"))


def commission_minor(amount_minor: int, percent: Decimal) -> int:
    """Return ``percent`` of an amount in minor units, rounded half-up to a whole minor unit."""
    exact = Decimal(amount_minor) * percent / Decimal(100)
    return int(exact.to_integral_value(rounding=ROUND_HALF_UP))


def recovery_commission_minor(*, recovered_before_minor: int, amount_minor: int, percent: Decimal) -> int:
    """Return one recovery's commission: on the new total, less what the earlier ones earned.

    Rounding once on the running total keeps the sum of the shares equal to the commission on the
    whole amount recovered, whatever the number and size of the recoveries.
    """
    after = commission_minor(recovered_before_minor + amount_minor, percent)
    return after - commission_minor(recovered_before_minor, percent)


# --- reads ------------------------------------------------------------------------------------


def handover_scope(user: UserLike) -> QuerySet[LegalHandover]:
    """Return the hand-overs of the customers the user reaches."""
    return scope_filter(LegalHandover.objects.all(), user=user)


def handover_list(*, customer: Customer) -> QuerySet[LegalHandover]:
    """Return the customer's hand-overs, newest first."""
    return LegalHandover.objects.filter(customer=customer).select_related("customer", "created_by")


def access_handover(*, user: UserLike, handover_id: int) -> LegalHandover:
    """Return the hand-over if the user reaches its customer, else raise HandoverNotFound."""
    try:
        return handover_scope(user).select_related("customer").get(pk=handover_id)
    except LegalHandover.DoesNotExist:
        raise HandoverNotFound(f"hand-over {handover_id} does not exist")


def require_legal_role(user: UserLike) -> None:
    """Raise RoleNotAllowed (403) unless the user may hand debts over and record recoveries."""
    require_role(user, *LEGAL_ROLES)


def handover_open_for(*, customer: Customer) -> bool:
    return LegalHandover.objects.filter(customer=customer, status__in=HANDOVER_OPEN_STATUSES).exists()


# --- changes ----------------------------------------------------------------------------------


def _actor(user: Any) -> Any:
    return user if user is not None and getattr(user, "pk", None) else None


def open_invoices_of(customer: Customer) -> QuerySet[Invoice]:
    """Return the customer's invoices with something still open: what can be handed over."""
    return Invoice.objects.filter(customer=customer, open_minor__gt=0).exclude(
        status__in=CLOSED_INVOICE_STATUSES
    )


def _chosen_invoices(
    *, customer: Customer, invoices: list[Invoice] | None, currency: str | None
) -> tuple[list[Invoice], str]:
    if invoices:
        chosen = list({invoice.pk: invoice for invoice in invoices}.values())
        for invoice in chosen:
            if invoice.customer_id != customer.pk:
                raise HandoverInvalid(
                    _("Invoice %(number)s belongs to another customer.") % {"number": invoice.number}
                )
        fresh = {
            invoice.pk: invoice
            for invoice in open_invoices_of(customer).filter(pk__in=[i.pk for i in chosen])
        }
        closed = [invoice.number for invoice in chosen if invoice.pk not in fresh]
        if closed:
            raise HandoverInvalid(
                _("Nothing is open on %(numbers)s; only open invoices can be handed over.")
                % {"numbers": ", ".join(sorted(closed))}
            )
        chosen = [fresh[invoice.pk] for invoice in chosen]
        currencies = {invoice.currency for invoice in chosen}
        if len(currencies) > 1:
            raise CurrencyAmbiguous(
                _("The invoices are in %(currencies)s; hand over one currency at a time.")
                % {"currencies": ", ".join(sorted(currencies))}
            )
        (only,) = currencies
        if currency and currency.upper() != only:
            raise HandoverInvalid(_("The invoices are in %(currency)s.") % {"currency": only})
        return sorted(chosen, key=lambda invoice: (invoice.due_date, invoice.number)), only
    queryset = open_invoices_of(customer)
    if currency:
        queryset = queryset.filter(currency=currency.upper())
    found = list(queryset.order_by("due_date", "number"))
    if not found:
        if currency:
            raise NothingToHandOver(
                _("Customer %(code)s has no open invoices in %(currency)s to hand over.")
                % {"code": customer.code, "currency": currency.upper()}
            )
        raise NothingToHandOver(
            _("Customer %(code)s has no open invoices to hand over.") % {"code": customer.code}
        )
    currencies = {invoice.currency for invoice in found}
    if len(currencies) > 1:
        raise CurrencyAmbiguous(
            _("Customer %(code)s has open invoices in %(currencies)s; say which currency to hand over.")
            % {"code": customer.code, "currencies": ", ".join(sorted(currencies))}
        )
    return found, found[0].currency


def _snapshot(handover: LegalHandover) -> dict[str, Any]:
    return audit_snapshot(handover)


@transaction.atomic
def handover_create(
    *,
    customer: Customer,
    user: Any,
    kind: str,
    agent_name: str,
    commission_percent: Decimal | str | int,
    handed_over_date: date,
    invoices: list[Invoice] | None = None,
    currency: str | None = None,
    agent_reference: str = "",
    notes: str = "",
) -> LegalHandover:
    """Hand the customer's open invoices (or the chosen ones) to an agency or a lawyer.

    The customer becomes "with legal" until the last open hand-over ends, so dunning stops.
    """
    kind = (kind or "").strip().upper()
    if kind not in HandoverKind.values:
        raise HandoverInvalid(_("Hand over to an agency or a lawyer, not %(kind)s.") % {"kind": kind or "—"})
    agent_name = (agent_name or "").strip()
    if not agent_name:
        raise HandoverInvalid(_("Name the agency or lawyer the debt is handed to."))
    percent = commission_percent_parse(commission_percent)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    chosen, chosen_currency = _chosen_invoices(customer=customer, invoices=invoices, currency=currency)
    taken = list(
        Invoice.objects.filter(
            pk__in=[invoice.pk for invoice in chosen],
            legal_handovers__status__in=HANDOVER_OPEN_STATUSES,
        ).values_list("number", flat=True)
    )
    if taken:
        raise InvoiceAlreadyHandedOver(
            _("%(numbers)s are already with an agency or lawyer.") % {"numbers": ", ".join(sorted(taken))}
        )
    previous = customer.status
    if previous == CustomerStatus.LEGAL:
        # Already with legal (an earlier hand-over, or the dunning ladder's referral): keep what it
        # was before that one, so that ending this hand-over does not leave the customer "legal".
        earlier = (
            LegalHandover.objects.filter(customer=customer, status__in=HANDOVER_OPEN_STATUSES)
            .order_by("handed_over_date", "id")
            .values_list("previous_customer_status", flat=True)
            .first()
        )
        previous = earlier or CustomerStatus.LEGAL
    handover = LegalHandover.objects.create(
        customer=customer,
        kind=kind,
        agent_name=agent_name,
        agent_reference=(agent_reference or "").strip(),
        handed_over_date=handed_over_date,
        commission_percent=percent,
        currency=chosen_currency,
        amount_minor=sum(invoice.open_minor for invoice in chosen),
        previous_customer_status=previous,
        notes=notes or "",
        created_by=_actor(user),
    )
    handover.invoices.set(chosen)
    after = _snapshot(handover)
    after["invoices"] = [invoice.number for invoice in chosen]
    audit_record(instance=handover, action=AuditAction.CREATE, actor=user, after=after)
    if customer.status != CustomerStatus.LEGAL:
        customer_update(customer=customer, actor=user, status=CustomerStatus.LEGAL)
    return handover


def _customer_release(*, handover: LegalHandover, user: Any) -> None:
    """Give the customer back its earlier status once no hand-over of theirs is open any more."""
    customer = Customer.objects.select_for_update().get(pk=handover.customer_id)
    if customer.status != CustomerStatus.LEGAL:
        return
    if LegalHandover.objects.filter(customer=customer, status__in=HANDOVER_OPEN_STATUSES).exists():
        return
    earlier = handover.previous_customer_status
    back = earlier if earlier and earlier != CustomerStatus.LEGAL else CustomerStatus.ACTIVE
    customer_update(customer=customer, actor=user, status=back)


@transaction.atomic
def recovery_record(
    *,
    handover: LegalHandover,
    user: Any,
    amount: Money,
    recovered_date: date,
    notes: str = "",
) -> LegalRecovery:
    """Record money the agency or lawyer recovered, with the commission it earns them.

    Recovering the whole amount handed over marks the hand-over recovered and ends it.
    """
    handover = LegalHandover.objects.select_for_update().get(pk=handover.pk)
    if handover.status not in HANDOVER_OPEN_STATUSES:
        raise HandoverNotOpen(
            _("The hand-over is %(status)s; recoveries are recorded while it is open.")
            % {"status": handover.get_status_display()}
        )
    if amount.currency != handover.currency:
        raise RecoveryInvalid(
            _("The hand-over is in %(currency)s, not %(other)s.")
            % {"currency": handover.currency, "other": amount.currency}
        )
    if amount.minor <= 0:
        raise RecoveryInvalid(_("A recovery must be more than zero."))
    if recovered_date < handover.handed_over_date:
        raise RecoveryInvalid(_("A recovery cannot be dated before the hand-over."))
    outstanding = handover.amount_minor - handover.recovered_minor
    if amount.minor > outstanding:
        raise RecoveryExceedsDebt(
            _("Only %(outstanding)s %(currency)s of the hand-over is still to recover.")
            % {"outstanding": format_minor(outstanding, handover.currency), "currency": handover.currency}
        )
    before = _snapshot(handover)
    share = recovery_commission_minor(
        recovered_before_minor=handover.recovered_minor,
        amount_minor=amount.minor,
        percent=handover.commission_percent,
    )
    recovery = LegalRecovery.objects.create(
        handover=handover,
        recovered_date=recovered_date,
        amount_minor=amount.minor,
        commission_minor=share,
        notes=notes or "",
        created_by=_actor(user),
    )
    handover.recovered_minor += amount.minor
    handover.commission_minor += share
    if handover.recovered_minor >= handover.amount_minor:
        handover.status = HandoverStatus.RECOVERED
        handover.ended_date = recovered_date
    else:
        handover.status = HandoverStatus.PARTLY_RECOVERED
    handover.save(update_fields=["recovered_minor", "commission_minor", "status", "ended_date", "updated_at"])
    audit_record(
        instance=handover,
        action=AuditAction.UPDATE,
        actor=user,
        before=before,
        after=_snapshot(handover),
        customer_id=handover.customer_id,
    )
    if handover.status == HandoverStatus.RECOVERED:
        _customer_release(handover=handover, user=user)
    return recovery


@transaction.atomic
def handover_end(
    *, handover: LegalHandover, user: Any, status: str, ended_date: date, reason: str = ""
) -> LegalHandover:
    """End an open hand-over: the agent returned the file unrecovered, or it is closed."""
    status = (status or "").strip().upper()
    if status not in ENDING_STATUSES:
        raise HandoverInvalid(
            _("A hand-over ends as returned or closed, not %(status)s.") % {"status": status.lower() or "—"}
        )
    handover = LegalHandover.objects.select_for_update().get(pk=handover.pk)
    if handover.status not in HANDOVER_OPEN_STATUSES:
        raise HandoverNotOpen(
            _("The hand-over has already ended (%(status)s).") % {"status": handover.get_status_display()}
        )
    if ended_date < handover.handed_over_date:
        raise HandoverInvalid(_("A hand-over cannot end before it began."))
    before = _snapshot(handover)
    handover.status = status
    handover.ended_date = ended_date
    if reason.strip():
        handover.notes = f"{handover.notes}\n{reason.strip()}".strip()
    handover.save(update_fields=["status", "ended_date", "notes", "updated_at"])
    audit_record(
        instance=handover,
        action=AuditAction.UPDATE,
        actor=user,
        before=before,
        after=_snapshot(handover),
        customer_id=handover.customer_id,
    )
    _customer_release(handover=handover, user=user)
    return handover
