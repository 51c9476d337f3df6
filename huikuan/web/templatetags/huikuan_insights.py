"""Panels of the insights area on the customer page: the debtor type and what to do about it."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import get_language

from huikuan.accounts.access import user_can_write
from huikuan.core.calendars import company_date
from huikuan.customers.models import Contact, Personality
from huikuan.insights.models import DebtorType
from huikuan.insights.playbook import classification_out, personality_tactics
from huikuan.insights.selectors import classification_current
from huikuan.insights.suggest import scripts_for_customers

register = template.Library()


@register.simple_tag(takes_context=True)
def insights_panel(context: template.Context, customer: Any) -> str:
    """The debtor type with its evidence, the confirm/correct form, the strategy, the next best
    action and the script for the primary contact's personality, in the reader's language.

    Reuses the page's contacts when it has them; four small queries otherwise.
    """
    request = context.get("request")
    contacts: list[Contact] = list(context.get("contacts") or Contact.objects.filter(customer=customer))
    primary = next((c for c in contacts if c.is_primary), contacts[0] if contacts else None)
    row = classification_current(customer=customer)
    classification = classification_out(row, customer) if row is not None else None
    debtor_type = row.debtor_type if row is not None else DebtorType.UNDETERMINED
    script = scripts_for_customers(
        [customer],
        language=get_language() or "en",
        contacts={customer.pk: primary},
        as_of=company_date(timezone.now()),
        types={customer.pk: debtor_type},
    ).get(customer.pk)
    return render_to_string(
        "web/_insights_panel.html",
        {
            "customer": customer,
            "classification": classification,
            "types": DebtorType.choices,
            "personalities": Personality.choices,
            "contacts": contacts,
            "primary": primary,
            "tactics": personality_tactics(primary.personality) if primary is not None else "",
            "script": script,
            "can_write": user_can_write(request.user) if request is not None else False,
        },
        request=request,
    )
