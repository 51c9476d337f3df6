"""Documents of collections work: the instalment plan agreement as a PDF, in Chinese or English."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import formats, translation

from huikuan.collections.models import InstalmentPlan
from huikuan.core.money import from_minor
from huikuan.messaging.letters import FONT_FAMILY

LANGUAGES = ("zh-hans", "en")


def _money_text(minor: int, currency: str) -> str:
    return f"{currency} {from_minor(minor, currency):,}"


def _day_text(day: date) -> str:
    return formats.date_format(day, "DATE_FORMAT")


def _rate_text(rate: str) -> str:
    percent = (Decimal(rate) * 100).normalize()
    return f"{percent:f} %"


def plan_agreement_context(*, plan: InstalmentPlan) -> dict[str, Any]:
    """Return what the agreement shows, formatted in the active language."""
    currency = plan.currency
    invoices = sorted(plan.invoices.all(), key=lambda invoice: (invoice.due_date, invoice.number))
    # The invoice plan_create issued for the fee and interest, if any.
    charges_invoice = next(
        (invoice.number for invoice in invoices if invoice.number.startswith(f"PLAN-{plan.pk}")), ""
    )
    covered = [invoice for invoice in invoices if invoice.number != charges_invoice]
    total = plan.principal_minor + plan.fee_minor + plan.interest_minor
    return {
        "reference": f"PLAN-{plan.pk}",
        "company": {"name": settings.HUIKUAN_COMPANY_NAME, "address": settings.HUIKUAN_COMPANY_ADDRESS},
        "customer": plan.customer,
        "start_date": _day_text(plan.start_date),
        "invoices": [
            {
                "number": invoice.number,
                "issue_date": _day_text(invoice.issue_date),
                "due_date": _day_text(invoice.due_date),
                "amount": _money_text(invoice.amount_minor, invoice.currency),
            }
            for invoice in covered
        ],
        "principal": _money_text(plan.principal_minor, currency),
        "has_fee": plan.fee_minor > 0,
        "fee": _money_text(plan.fee_minor, currency),
        "has_interest": plan.interest_minor > 0,
        "rate": _rate_text(plan.interest_rate) if plan.interest_rate else "",
        "interest": _money_text(plan.interest_minor, currency),
        "total": _money_text(total, currency),
        "instalments": [
            {
                "sequence": row.sequence,
                "due_date": _day_text(row.due_date),
                "amount": _money_text(row.amount_minor, currency),
            }
            for row in plan.instalments.order_by("sequence")
        ],
        "grace_days": plan.grace_days,
        "charges_invoice": charges_invoice,
        "notes": plan.notes,
        "payment_instructions": settings.HUIKUAN_PAYMENT_INSTRUCTIONS,
    }


def plan_agreement_html(*, plan: InstalmentPlan, language: str | None = None) -> str:
    """Return the agreement as one HTML page in ``language`` (default: the customer's)."""
    language = language if language in LANGUAGES else plan.customer.language
    if language not in LANGUAGES:
        language = "zh-hans" if settings.LANGUAGE_CODE.startswith("zh") else "en"
    with translation.override(language):
        context = plan_agreement_context(plan=plan)
        context.update(
            {"html_lang": "zh-Hans" if language == "zh-hans" else "en", "font_family": FONT_FAMILY}
        )
        return render_to_string("collections/plan_agreement.html", context)


def plan_agreement_pdf(*, plan: InstalmentPlan, language: str | None = None) -> bytes:
    """Return the agreement as a PDF to print, sign and keep."""
    from weasyprint import HTML

    return HTML(string=plan_agreement_html(plan=plan, language=language), base_url=None).write_pdf()
