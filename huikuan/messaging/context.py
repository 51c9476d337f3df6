"""The plain-data context a message template is rendered with.

A template reaches only what is built here: strings, integers, lists and dictionaries. Amounts are
decimal strings grouped for reading ("12,345.60"), never floats; dates are ISO in tables and
written out in prose ("2025年3月8日", "8 March 2025").

Contexts for a batch of messages or actions are built in a fixed number of queries (customers,
actions, invoice lines, charges, contacts, templates), however many messages the batch holds;
:func:`context_build` itself is pure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from huikuan.core.money import format_minor
from huikuan.messaging.rendering import TemplateCatalog, language_candidates, normalise_language

# A formal notice gives the customer a week to pay (PLAYBOOK §3: amount, deadline, consequences).
DEADLINE_DAYS = 7

# How Chinese business letters name a currency after the amount ("12,345.60 元").
_ZH_CURRENCY = {
    "CNY": "元", "USD": "美元", "EUR": "欧元", "GBP": "英镑", "HKD": "港元", "JPY": "日元",
    "TWD": "新台币", "MOP": "澳门元", "SGD": "新加坡元", "AUD": "澳元", "CAD": "加元", "CHF": "瑞士法郎",
    "KRW": "韩元",
}  # fmt: skip
_EN_MONTHS = "January February March April May June July August September October November December".split()


def amount_text(minor: int, currency: str) -> str:
    """Return the amount as a grouped decimal string: 1234567 CNY -> "12,345.67"."""
    plain = format_minor(minor, currency)
    sign = "-" if plain.startswith("-") else ""
    whole, _dot, fraction = plain.lstrip("-").partition(".")
    grouped = f"{int(whole):,}"
    return f"{sign}{grouped}.{fraction}" if fraction else f"{sign}{grouped}"


def money_text(minor: int, currency: str, language: str) -> str:
    """Return the amount with its currency as the language writes it ("12,345.60 元", "CNY 12,345.60")."""
    amount = amount_text(minor, currency)
    if language == "zh-hans":
        return f"{amount} {_ZH_CURRENCY.get(currency, currency)}"
    return f"{currency} {amount}"


def date_text(day: date, language: str) -> str:
    """Return a date written out for prose ("2025年3月8日", "8 March 2025")."""
    if language == "zh-hans":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {_EN_MONTHS[day.month - 1]} {day.year}"


def _join(parts: list[str], language: str) -> str:
    return ("、" if language == "zh-hans" else ", ").join(parts)


@dataclass(frozen=True)
class InvoiceLine:
    number: str
    issue_date: date
    due_date: date
    currency: str
    open_minor: int
    days_overdue: int


@dataclass(frozen=True)
class ChargeLine:
    kind: str
    currency: str
    amount_minor: int
    invoice_number: str = ""


@dataclass(frozen=True)
class Party:
    """The customer, contact and sender as the context shows them: plain strings only."""

    customer: dict[str, str]
    contact_name: str
    sender_name: str
    sender_title: str


@dataclass(frozen=True)
class ContextInput:
    language: str
    as_of: date
    party: Party
    stage_name: str = ""
    stage_position: int = 0
    lines: Sequence[InvoiceLine] = field(default_factory=tuple)
    charges: Sequence[ChargeLine] = field(default_factory=tuple)


def company_context() -> dict[str, str]:
    """Return the company block of every context, from the HUIKUAN_COMPANY_* settings."""
    return {
        "name": getattr(settings, "HUIKUAN_COMPANY_NAME", ""),
        "address": getattr(settings, "HUIKUAN_COMPANY_ADDRESS", ""),
        "payment_instructions": getattr(settings, "HUIKUAN_PAYMENT_INSTRUCTIONS", ""),
    }


def _charge_label(kind: str) -> str:
    labels = {
        "FEE": _("dunning fee"),
        "INTEREST": _("late-payment interest"),
        "COMPENSATION": _("fixed compensation"),
    }
    return labels.get(kind, kind)


def _totals(amounts: Iterable[tuple[str, int]], language: str) -> list[dict[str, Any]]:
    sums: dict[str, int] = defaultdict(int)
    for currency, minor in amounts:
        sums[currency] += minor
    return [
        {
            "currency": currency,
            "amount": amount_text(minor, currency),
            "text": money_text(minor, currency, language),
        }
        for currency, minor in sorted(sums.items())
    ]


def context_build(data: ContextInput, *, company: dict[str, str] | None = None) -> dict[str, Any]:
    """Return the template context for one communication; pure, no database."""
    language = data.language
    with translation.override(language):
        lines = sorted(data.lines, key=lambda line: (line.due_date, line.number))
        invoices = [
            {
                "number": line.number,
                "issue_date": line.issue_date.isoformat(),
                "due_date": line.due_date.isoformat(),
                "days_overdue": line.days_overdue,
                "currency": line.currency,
                "open_amount": amount_text(line.open_minor, line.currency),
                "open_amount_text": money_text(line.open_minor, line.currency, language),
            }
            for line in lines
        ]
        charges = [
            {
                "kind": charge.kind,
                "label": _charge_label(charge.kind),
                "invoice": charge.invoice_number,
                "currency": charge.currency,
                "amount": amount_text(charge.amount_minor, charge.currency),
                "text": money_text(charge.amount_minor, charge.currency, language),
            }
            for charge in data.charges
        ]
    invoice_amounts = [(line.currency, line.open_minor) for line in lines]
    charge_amounts = [(charge.currency, charge.amount_minor) for charge in data.charges]
    totals = _totals(invoice_amounts, language)
    charges_totals = _totals(charge_amounts, language)
    grand_totals = _totals(invoice_amounts + charge_amounts, language)
    currencies = sorted({line.currency for line in lines})
    deadline = data.as_of + timedelta(days=DEADLINE_DAYS)
    earliest_due = min((line.due_date for line in lines), default=None)
    return {
        "language": language,
        "as_of": date_text(data.as_of, language),
        "as_of_iso": data.as_of.isoformat(),
        "deadline": date_text(deadline, language),
        "deadline_iso": deadline.isoformat(),
        "earliest_due_date": date_text(earliest_due, language) if earliest_due else "",
        "reference": f"{data.party.customer['code']}-{data.as_of:%Y%m%d}",
        "company": company if company is not None else company_context(),
        "customer": data.party.customer,
        "contact": {"name": data.party.contact_name},
        "sender": {"name": data.party.sender_name, "title": data.party.sender_title},
        "stage": {"name": data.stage_name, "position": data.stage_position},
        "invoices": invoices,
        "invoice_count": len(invoices),
        "currency": currencies[0] if len(currencies) == 1 else "",
        "totals": totals,
        "amount_due": _join([total["text"] for total in totals], language),
        "max_days_overdue": max((line.days_overdue for line in lines), default=0),
        "charges": charges,
        "charges_total": _join([total["text"] for total in charges_totals], language),
        "grand_totals": grand_totals,
        "amount_due_with_charges": _join([total["text"] for total in grand_totals], language),
    }


# --- reading what the builder needs, in a fixed number of queries ---------------------------------


def _user_name(user: Any) -> str:
    if user is None:
        return ""
    return (user.get_full_name() or user.get_username()).strip()


def _sender(role: str, customer: Any, language: str) -> tuple[str, str]:
    """Return (name, title) of who speaks for the stage (PLAYBOOK §4), in the language."""
    company = getattr(settings, "HUIKUAN_COMPANY_NAME", "")
    with translation.override(language):
        if role == "SALES_REP":
            return _user_name(customer.sales_rep) or company, _("Sales representative")
        if role == "COLLECTOR":
            return _user_name(customer.collector) or company, _("Credit controller")
        if role == "LEGAL":
            return company, _("Legal department")
        return company, _("Accounts receivable")


def _customer_block(customer: Any) -> dict[str, str]:
    return {
        "code": customer.code,
        "name": customer.name,
        "legal_name": customer.legal_name or customer.name,
        "postal_address": customer.postal_address,
        "country": customer.country,
    }


def _choose_language(preferred: str, *, key: str, channel: str, catalog: TemplateCatalog | None) -> str:
    """Return the language whose template will be used, so that amounts and dates match the text."""
    candidates = language_candidates(preferred or settings.LANGUAGE_CODE)
    if catalog is not None:
        for candidate in candidates:
            if catalog.has(key=key, channel=channel, language=candidate):
                return candidate
    return candidates[0]


@dataclass
class _Loaded:
    customers: dict[int, Any]
    actions: dict[int, Any]
    lines: dict[int, list[InvoiceLine]]
    charges: dict[int, list[ChargeLine]]
    contacts: dict[int, dict[str, Any]]
    primary_contact: dict[int, dict[str, Any]]
    catalog: TemplateCatalog


def _load(*, customer_ids: set[int], action_ids: set[int], template_keys: set[str] | None) -> _Loaded:
    """Read everything for a batch: six queries, whatever the batch size.

    Without ``template_keys`` the templates of the actions' stages are loaded.
    """
    from huikuan.customers.models import Contact, Customer
    from huikuan.dunning.charges import charges_for_actions
    from huikuan.dunning.models import DunningAction, DunningActionInvoice
    from huikuan.messaging.rendering import template_catalog_load

    actions = {
        action.id: action
        for action in DunningAction.objects.filter(id__in=sorted(action_ids)).select_related("stage")
    }
    customer_ids = customer_ids | {action.customer_id for action in actions.values()}
    customers = {
        customer.id: customer
        for customer in Customer.objects.filter(id__in=sorted(customer_ids)).select_related(
            "collector", "sales_rep"
        )
    }
    lines: dict[int, list[InvoiceLine]] = defaultdict(list)
    for row in DunningActionInvoice.objects.filter(action_id__in=sorted(actions)).values(
        "action_id",
        "invoice__number",
        "invoice__issue_date",
        "invoice__due_date",
        "invoice__currency",
        "open_minor",
        "days_overdue",
    ):
        lines[row["action_id"]].append(
            InvoiceLine(
                number=row["invoice__number"],
                issue_date=row["invoice__issue_date"],
                due_date=row["invoice__due_date"],
                currency=row["invoice__currency"],
                open_minor=row["open_minor"],
                days_overdue=row["days_overdue"],
            )
        )
    # What is claimed to the action's date: interest to date per invoice (every run's increments
    # together), compensation and fees, without waived charges; one query.
    charges: dict[int, list[ChargeLine]] = {
        action_id: [
            ChargeLine(
                kind=line["kind"],
                currency=line["currency"],
                amount_minor=line["amount_minor"],
                invoice_number=line["invoice"],
            )
            for line in claimed
        ]
        for action_id, claimed in charges_for_actions(actions).items()
    }
    contacts: dict[int, dict[str, Any]] = {}
    primary: dict[int, dict[str, Any]] = {}
    # Ordered primary first, so the first row seen for a customer is the one to address.
    for contact in (
        Contact.objects.filter(customer_id__in=sorted(customers))
        .order_by("customer_id", "-is_primary", "name", "id")
        .values("id", "customer_id", "name", "language")
    ):
        contacts[contact["id"]] = dict(contact)
        primary.setdefault(contact["customer_id"], contacts[contact["id"]])
    return _Loaded(
        customers=customers,
        actions=actions,
        lines=lines,
        charges=charges,
        contacts=contacts,
        primary_contact=primary,
        catalog=template_catalog_load(
            keys=template_keys
            if template_keys is not None
            else {action.stage.template_key for action in actions.values()}
        ),
    )


def _action_input(
    *,
    loaded: _Loaded,
    customer: Any,
    action: Any,
    contact: dict[str, Any] | None,
    language: str,
    role: str,
    as_of: date | None = None,
) -> ContextInput:
    sender_name, sender_title = _sender(role, customer, language)
    party = Party(
        customer=_customer_block(customer),
        contact_name=(contact or {}).get("name", ""),
        sender_name=sender_name,
        sender_title=sender_title,
    )
    if action is None:
        return ContextInput(language=language, as_of=as_of or timezone.localdate(), party=party)
    return ContextInput(
        language=language,
        as_of=action.as_of,
        party=party,
        stage_name=action.stage.name,
        stage_position=action.stage_position,
        lines=loaded.lines.get(action.id, []),
        charges=loaded.charges.get(action.id, []),
    )


def message_context_for_messages(messages: Sequence[Any]) -> dict[int, dict[str, Any]]:
    """Return the context of each outbox message by its id, in a fixed number of queries.

    The context's ``language`` is the language whose template will be used: the message's, else
    the contact's, else the customer's, falling back to the other shipped language when only
    that template exists.
    """
    if not messages:
        return {}
    loaded = _load(
        customer_ids={message.customer_id for message in messages},
        action_ids={message.action_id for message in messages if message.action_id},
        template_keys={message.template_key for message in messages},
    )
    company = company_context()
    contexts: dict[int, dict[str, Any]] = {}
    for message in messages:
        customer = loaded.customers[message.customer_id]
        action = loaded.actions.get(message.action_id) if message.action_id else None
        contact = loaded.contacts.get(message.contact_id) if message.contact_id else None
        contact = contact or loaded.primary_contact.get(customer.id)
        preferred = message.language or (contact or {}).get("language") or customer.language
        language = _choose_language(
            preferred, key=message.template_key, channel=message.channel, catalog=loaded.catalog
        )
        role = message.sender_role or (action.stage.sender if action is not None else "COMPANY")
        # A message without an action speaks as of the day it was queued.
        queued = timezone.localdate(message.created_at) if message.created_at else None
        data = _action_input(
            loaded=loaded,
            customer=customer,
            action=action,
            contact=contact,
            language=language,
            role=role,
            as_of=queued,
        )
        contexts[message.id] = context_build(data, company=company)
    return contexts


def message_context_for_actions(
    action_ids: Iterable[int], *, channel: str = "SCRIPT", language: str | None = None
) -> dict[int, dict[str, Any]]:
    """Return the context of each dunning action by its id (for scripts and letters), in fixed queries.

    The language is the given one, else the customer's primary contact's, else the customer's,
    moved to the other shipped language when the stage's template for ``channel`` exists only there.
    """
    ids = set(action_ids)
    if not ids:
        return {}
    loaded = _load(customer_ids=set(), action_ids=ids, template_keys=None)
    company = company_context()
    contexts: dict[int, dict[str, Any]] = {}
    for action_id, action in loaded.actions.items():
        customer = loaded.customers[action.customer_id]
        contact = loaded.primary_contact.get(customer.id)
        preferred = language or (contact or {}).get("language") or customer.language
        chosen = _choose_language(
            preferred, key=action.stage.template_key, channel=channel, catalog=loaded.catalog
        )
        data = _action_input(
            loaded=loaded,
            customer=customer,
            action=action,
            contact=contact,
            language=chosen,
            role=action.stage.sender,
        )
        contexts[action_id] = context_build(data, company=company)
    return contexts


def message_context_for_action(
    action: Any, *, channel: str = "SCRIPT", language: str | None = None
) -> dict[str, Any]:
    """Return the context of one dunning action (see :func:`message_context_for_actions`)."""
    return message_context_for_actions([action.id], channel=channel, language=language)[action.id]


def message_context_preview(
    *, customer: Any, invoices: Iterable[Any], stage: Any, as_of: date, language: str = ""
) -> dict[str, Any]:
    """Return the context a customer would get for these invoices at this stage, without an action.

    Days overdue are counted to ``as_of``; no charges are shown, since none are booked yet.
    """
    from huikuan.customers.models import Contact

    first = (
        Contact.objects.filter(customer=customer)
        .order_by("-is_primary", "name", "id")
        .values("name", "language")
    ).first()
    contact: dict[str, Any] | None = dict(first) if first else None
    preferred = language or (contact or {}).get("language") or customer.language
    chosen = normalise_language(preferred or settings.LANGUAGE_CODE)
    role = stage.sender if stage is not None else "COMPANY"
    sender_name, sender_title = _sender(role, customer, chosen)
    lines = [
        InvoiceLine(
            number=invoice.number,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            currency=invoice.currency,
            open_minor=invoice.open_minor,
            days_overdue=(as_of - invoice.due_date).days,
        )
        for invoice in invoices
    ]
    data = ContextInput(
        language=chosen,
        as_of=as_of,
        party=Party(
            customer=_customer_block(customer),
            contact_name=(contact or {}).get("name", ""),
            sender_name=sender_name,
            sender_title=sender_title,
        ),
        stage_name=stage.name if stage is not None else "",
        stage_position=stage.position if stage is not None else 0,
        lines=lines,
    )
    return context_build(data)
