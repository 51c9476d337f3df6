"""The customer portal: links without a password, and what a customer may do through one.

A link is a random key of 256 bits shown once (``portal_link_create``); only its SHA-256 digest is
stored. ``portal_link_resolve`` answers an unknown, expired and revoked key with the same
PortalLinkNotFound, so that the answer tells someone trying keys nothing.

Everything the customer does goes through the services the staff use (promises and disputes from
``huikuan.collections``, statement answers from ``huikuan.ledger.statements``), labelled "portal"
in the audit trail, so it lands in the customer's timeline; disputes, statement disputes and
promises make a task for the customer's collector, so it lands in the worklist. Every object is
looked up within the link's customer: an id or number of another customer's is simply not found.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from huikuan.collections.models import Dispute, PromiseMethod, PromiseToPay, Task, TaskKind
from huikuan.core.audit import audit_record, audit_snapshot
from huikuan.core.errors import HuikuanError, NotFound
from huikuan.core.models import AuditAction
from huikuan.core.money import Money
from huikuan.customers.models import Customer
from huikuan.ledger.models import Invoice, InvoiceStatus, Statement, StatementStatus
from huikuan.portal.models import PortalLink

PORTAL_ACTOR = "portal"
KEY_BYTES = 32  # 256 bits: token_urlsafe gives 43 characters
PREFIX_LENGTH = 8
MAX_LINK_DAYS = 366
# A promise further out than this is not a promise to pay but a request for new terms.
MAX_PROMISE_DAYS = 180
# last_used_at is written at most this often per link, not on every page.
TOUCH_SECONDS = 60


class PortalError(HuikuanError):
    code = "portal_invalid"


class PortalLinkNotFound(NotFound):
    code = "portal_link_not_found"


class PortalNotFound(NotFound):
    """Something asked for through a link that its customer does not have."""

    code = "portal_not_found"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _actor(user: Any) -> Any:
    return user if user is not None and getattr(user, "pk", None) else None


# --- links -------------------------------------------------------------------------------


def portal_key_new() -> str:
    """Return a new link key: never one starting with "-", whose prefix the command line
    (``huikuan portal revoke PREFIX``) would take for an option."""
    while True:
        key = secrets.token_urlsafe(KEY_BYTES)
        if not key.startswith("-"):
            return key


@transaction.atomic
def portal_link_create(
    *, customer: Customer, user: Any = None, days: int | None = None, now: datetime | None = None
) -> tuple[PortalLink, str]:
    """Make a new link for the customer, valid for ``days`` (default HUIKUAN_PORTAL_LINK_DAYS).

    Returns the link and its key; the key is not stored and cannot be shown again.
    """
    now = now or timezone.now()
    days = settings.HUIKUAN_PORTAL_LINK_DAYS if days is None else int(days)
    if not 1 <= days <= MAX_LINK_DAYS:
        raise PortalError(
            _("A portal link is valid for 1 to %(max)s days.") % {"max": MAX_LINK_DAYS}, code="days_invalid"
        )
    key = portal_key_new()
    link = PortalLink.objects.create(
        customer=customer,
        key_digest=_digest(key),
        prefix=key[:PREFIX_LENGTH],
        created_by=_actor(user),
        expires_at=now + timedelta(days=days),
    )
    audit_record(
        instance=link,
        action=AuditAction.CREATE,
        actor=user,
        after=audit_snapshot(link, ["customer", "prefix", "expires_at", "created_by"]),
    )
    return link, key


@transaction.atomic
def portal_link_revoke(*, link: PortalLink, user: Any = None, now: datetime | None = None) -> PortalLink:
    """Make the link stop working at once; revoking it again changes nothing."""
    link = PortalLink.objects.select_for_update().get(pk=link.pk)
    if link.revoked_at is not None:
        return link
    before = audit_snapshot(link, ["revoked_at"])
    link.revoked_at = now or timezone.now()
    link.save(update_fields=["revoked_at"])
    audit_record(
        instance=link,
        action=AuditAction.UPDATE,
        actor=user,
        before=before,
        after=audit_snapshot(link, ["revoked_at"]),
    )
    return link


def portal_link_resolve(*, key: str, now: datetime) -> PortalLink:
    """Return the live link for a key, with its customer; the same PortalLinkNotFound for a key
    that is unknown, expired or revoked."""
    link = None
    if key and len(key) <= 100:
        link = PortalLink.objects.select_related("customer").filter(key_digest=_digest(key)).first()
    if link is None or link.revoked_at is not None or link.expires_at <= now:
        raise PortalLinkNotFound(_("This link does not work. Ask us for a new one."))
    if link.last_used_at is None or now - link.last_used_at >= timedelta(seconds=TOUCH_SECONDS):
        PortalLink.objects.filter(pk=link.pk).update(last_used_at=now)
        link.last_used_at = now
    return link


def portal_link_get(*, prefix: str) -> PortalLink:
    """Return the link whose key starts with ``prefix`` (as ``huikuan portal link`` shows it)."""
    text = (prefix or "").strip().rstrip("…").strip()
    if len(text) < 4:
        raise PortalError(
            _("Give at least the first 4 characters of the link's key."), code="prefix_too_short"
        )
    links = PortalLink.objects.select_related("customer")
    if len(text) > PREFIX_LENGTH:  # longer than a prefix: the whole key, as in the link
        links = links.filter(key_digest=_digest(text))
    else:
        links = links.filter(prefix__startswith=text)
    candidates = list(links[:2])
    if not candidates:
        raise PortalLinkNotFound(_("There is no portal link starting with %(prefix)s.") % {"prefix": text})
    if len(candidates) > 1:
        raise PortalError(
            _("More than one link starts with %(prefix)s; give more of it.") % {"prefix": text},
            code="prefix_ambiguous",
        )
    return candidates[0]


def portal_link_list(*, customer: Customer | None = None) -> QuerySet[PortalLink]:
    """Return links, newest first, optionally one customer's."""
    links = PortalLink.objects.select_related("customer", "created_by")
    if customer is not None:
        links = links.filter(customer=customer)
    return links.order_by("-created_at", "-id")


def portal_url_for(*, key: str, base_url: str | None = None) -> str:
    """Return the portal's address for a key, on HUIKUAN_BASE_URL unless another base is given."""
    base = base_url or getattr(settings, "HUIKUAN_BASE_URL", "") or "http://127.0.0.1:8000"
    return f"{base.rstrip('/')}/portal/{key}/"


# --- what the customer may reach ---------------------------------------------------------


def portal_invoice_get(*, link: PortalLink, number: str) -> Invoice:
    """Return the link's customer's invoice by number, or PortalNotFound (another's is not found)."""
    invoice = Invoice.objects.filter(customer_id=link.customer_id, number=number).first()
    if invoice is None or invoice.status == InvoiceStatus.CANCELLED:
        raise PortalNotFound(_("There is no such invoice."))
    return invoice


def portal_statement_get(*, link: PortalLink, statement_id: int) -> Statement:
    """Return one of the link's customer's sent statements, or PortalNotFound."""
    statement = (
        Statement.objects.select_related("customer")
        .filter(customer_id=link.customer_id, pk=statement_id)
        .exclude(status=StatementStatus.DRAFT)
        .first()
    )
    if statement is None:
        raise PortalNotFound(_("There is no such statement."))
    return statement


# --- what the customer may do ------------------------------------------------------------


def _assignee_id(customer: Customer) -> int | None:
    return customer.collector_id or customer.sales_rep_id


@transaction.atomic
def portal_statement_confirm(
    *, link: PortalLink, statement_id: int, responder_name: str, note: str = "", now: datetime
) -> Statement:
    """The customer agrees to a statement."""
    from huikuan.ledger.statements import statement_confirm

    statement = portal_statement_get(link=link, statement_id=statement_id)
    return statement_confirm(
        statement=statement, responder_name=responder_name, note=note, now=now, actor_label=PORTAL_ACTOR
    )


@transaction.atomic
def portal_statement_dispute(
    *, link: PortalLink, statement_id: int, responder_name: str, note: str, now: datetime
) -> Statement:
    """The customer does not agree with a statement; the collector gets a task."""
    from huikuan.ledger.statements import statement_dispute

    statement = portal_statement_get(link=link, statement_id=statement_id)
    return statement_dispute(
        statement=statement, responder_name=responder_name, note=note, now=now, actor_label=PORTAL_ACTOR
    )


@transaction.atomic
def portal_dispute_open(
    *, link: PortalLink, invoice_number: str, reason: str, name: str, notes: str, today: date
) -> Dispute:
    """The customer disputes an invoice: it leaves dunning while the dispute is open."""
    from huikuan.collections.services import dispute_open

    invoice = portal_invoice_get(link=link, number=invoice_number)
    name, notes = (name or "").strip(), (notes or "").strip()
    if not name:
        raise PortalError(_("Give your name, so that we know whom to answer."), code="name_missing")
    text = _("Raised through the portal by %(name)s.") % {"name": name}
    return dispute_open(
        invoice=invoice,
        reason=reason,
        user=None,
        source="PORTAL",
        notes=f"{text}\n{notes}" if notes else text,
        opened_date=today,
    )


@transaction.atomic
def portal_promise_create(
    *,
    link: PortalLink,
    amount: Money,
    promised_date: date,
    invoice_numbers: Sequence[str],
    name: str,
    notes: str = "",
    today: date,
) -> PromiseToPay:
    """The customer says when it will pay: dunning of the invoices named pauses until then, and
    the collector gets a follow-up task to hold them to it."""
    from huikuan.collections.services import promise_create

    name = (name or "").strip()
    if not name:
        raise PortalError(_("Give your name, so that we know who promised."), code="name_missing")
    if promised_date > today + timedelta(days=MAX_PROMISE_DAYS):
        raise PortalError(
            _("Choose a date within %(days)s days; for longer terms, please contact us.")
            % {"days": MAX_PROMISE_DAYS},
            code="promised_date_too_far",
        )
    invoices = [portal_invoice_get(link=link, number=number) for number in dict.fromkeys(invoice_numbers)]
    customer = link.customer
    promise = promise_create(
        customer=customer,
        user=None,
        amount=amount,
        promised_date=promised_date,
        invoices=invoices,
        promised_by=name,
        method=PromiseMethod.PORTAL,
        notes=(notes or "").strip(),
        made_date=today,
    )
    Task.objects.bulk_create(
        [
            Task(
                kind=TaskKind.FOLLOW_UP,
                customer=customer,
                assignee_id=_assignee_id(customer),
                due_date=today,
                title=(
                    _("%(customer)s promised through the portal to pay %(amount)s by %(date)s")
                    % {"customer": customer.name, "amount": amount, "date": promised_date.isoformat()}
                )[:300],
                script=_("Promised by %(name)s. Thank them and confirm the date and amount.")
                % {"name": name},
                promise=promise,
            )
        ],
        ignore_conflicts=True,
    )
    return promise
