"""The script a collector is offered: for the customer's debtor type and the contact's personality.

``scripts_for_customers`` fills scripts for many customers in a fixed number of queries (for tasks
made in bulk); ``script_for`` is the same for one customer and a chosen contact.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Q
from django.utils import timezone

from huikuan.collections.models import PromiseStatus, PromiseToPay
from huikuan.core.calendars import company_date
from huikuan.customers.models import Contact, Customer
from huikuan.insights.models import DebtorClassification, DebtorType, Script
from huikuan.insights.scripts import LANGUAGES, script_render
from huikuan.ledger.models import Invoice

INVOICES_NAMED = 10  # a script names at most this many invoices, oldest first


@dataclass(frozen=True)
class SuggestedScript:
    customer_id: int
    debtor_type: str
    personality: str
    language: str
    title: str
    text: str
    script_id: int


def _language(language: str) -> str:
    code = (language or "").lower()
    return "zh-hans" if code.startswith("zh") else "en" if code.startswith("en") else code


def _languages(language: str) -> list[str]:
    first = _language(language)
    return (
        [first, *[code for code in LANGUAGES if code != first]] if first in LANGUAGES else ["en", "zh-hans"]
    )


def _name(user: Any) -> str:
    if user is None:
        return ""
    return (user.get_full_name() or user.get_username()).strip()


def _choose(
    scripts: dict[tuple[str, str, str], Script], debtor_type: str, personality: str, language: str
) -> Script | None:
    """The wanted language first; within it the personality's own script, then the type's general one."""
    for candidate in _languages(language):
        for wanted in [personality, ""] if personality else [""]:
            found = scripts.get((debtor_type, wanted, candidate))
            if found is not None:
                return found
    return None


def scripts_for_customers(
    customers: list[Customer],
    *,
    language: str,
    contacts: dict[int, Contact | None] | None = None,
    as_of: date | None = None,
    types: dict[int, str] | None = None,
) -> dict[int, SuggestedScript]:
    """Return the rendered script for each customer (those with a script), in five queries.

    ``customers`` should carry their collector (``select_related("collector")``). ``contacts``
    names the contact spoken to per customer; otherwise the primary contact is used. ``types``
    gives debtor types already known (else the current classifications are read).
    """
    from huikuan.messaging.context import date_text, money_text

    if not customers:
        return {}
    as_of = as_of or company_date(timezone.now())
    ids = [customer.pk for customer in customers]
    if types is None:
        types = dict(
            DebtorClassification.objects.filter(customer_id__in=ids, is_current=True).values_list(
                "customer_id", "debtor_type"
            )
        )
    chosen_contacts: dict[int, Contact | None] = dict(contacts or {})
    missing = [cid for cid in ids if chosen_contacts.get(cid) is None]
    if missing:
        for contact in Contact.objects.filter(customer_id__in=missing).order_by(
            "customer_id", "-is_primary", "name"
        ):
            if chosen_contacts.get(contact.customer_id) is None:
                chosen_contacts[contact.customer_id] = contact
    overdue: dict[int, list[tuple[str, str, int, date]]] = defaultdict(list)
    for row in (
        Invoice.objects.filter(customer_id__in=ids, open_minor__gt=0, due_date__lt=as_of)
        .order_by("customer_id", "due_date", "number")
        .values_list("customer_id", "number", "currency", "open_minor", "due_date")
    ):
        overdue[row[0]].append(row[1:])
    promises = {
        row["customer_id"]: row
        for row in PromiseToPay.objects.filter(customer_id__in=ids)
        .values("customer_id")
        .annotate(
            broken=Count("id", filter=Q(status=PromiseStatus.BROKEN)),
            last=Max("promised_date"),
        )
        .order_by()
    }
    wanted_types = {types.get(cid, DebtorType.UNDETERMINED) for cid in ids}
    scripts = {
        (s.debtor_type, s.personality, s.language): s
        for s in Script.objects.filter(debtor_type__in=wanted_types)
    }
    company = getattr(settings, "HUIKUAN_COMPANY_NAME", "")
    found: dict[int, SuggestedScript] = {}
    for customer in customers:
        debtor_type = types.get(customer.pk, DebtorType.UNDETERMINED)
        spoken_to = chosen_contacts.get(customer.pk)
        personality = spoken_to.personality if spoken_to is not None else ""
        script = _choose(scripts, debtor_type, personality, language)
        if script is None:
            continue
        lines = overdue.get(customer.pk, [])
        totals: dict[str, int] = defaultdict(int)
        for _number, currency, open_minor, _due in lines:
            totals[currency] += open_minor
        sep = "、" if script.language == "zh-hans" else ", "
        promise: dict[str, Any] = dict(promises.get(customer.pk) or {})
        oldest = lines[0][3] if lines else None
        values = {
            "customer_name": customer.name,
            "customer_code": customer.code,
            "contact_name": spoken_to.name if spoken_to is not None else "",
            "collector_name": _name(customer.collector) if customer.collector_id else "",
            "company_name": company,
            "amount_overdue": sep.join(
                money_text(minor, currency, script.language) for currency, minor in sorted(totals.items())
            ),
            "invoice_numbers": sep.join(number for number, *_rest in lines[:INVOICES_NAMED])
            + ("…" if len(lines) > INVOICES_NAMED else ""),
            "invoice_count": len(lines),
            "days_overdue": (as_of - oldest).days if oldest else 0,
            "oldest_due_date": date_text(oldest, script.language) if oldest else "",
            "broken_promises": promise.get("broken", 0),
            "last_promise_date": date_text(promise["last"], script.language) if promise.get("last") else "",
            "today": date_text(as_of, script.language),
        }
        found[customer.pk] = SuggestedScript(
            customer_id=customer.pk,
            debtor_type=debtor_type,
            personality=script.personality,
            language=script.language,
            title=script.title,
            text=script_render(script.body, values),
            script_id=script.pk,
        )
    return found


def script_for(
    customer: Customer, contact: Contact | None, language: str, *, as_of: date | None = None
) -> SuggestedScript | None:
    """The script for this customer's debtor type and this contact's personality, in the language.

    Falls back to the type's general script, then to the other language; None when the library
    has no script for the type at all.
    """
    contacts: dict[int, Contact | None] | None = {customer.pk: contact} if contact is not None else None
    return scripts_for_customers([customer], language=language, contacts=contacts, as_of=as_of).get(
        customer.pk
    )
