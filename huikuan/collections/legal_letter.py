"""The demand letter (催告函) and the interest computation it states, per open overdue invoice.

The interest follows the customer's contract terms (``dunning.ContractTerms``) through the same
computation the dunning run books charges with; a customer without an interest rule is claimed
no interest, and the letter says so. The letter is written in the customer's language (Chinese
or English) from a template per language, since it is a legal document whose wording is chosen,
not translated word by word.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import formats, translation

from huikuan.core.money import format_minor, from_minor
from huikuan.customers.models import Customer
from huikuan.ledger.models import Allocation, Invoice, InvoiceAdjustment
from huikuan.messaging.letters import FONT_FAMILY

LANGUAGES = ("zh-hans", "en")
# Days the debtor is given to pay after the letter's date.
DEMAND_DAYS_DEFAULT = 7
# Invoices the letter lists one by one; the rest are summed up (the pack lists them all).
LETTER_INVOICES_MAX_DEFAULT = 200


def letter_invoices_max() -> int:
    return int(getattr(settings, "HUIKUAN_LEGAL_LETTER_INVOICES_MAX", LETTER_INVOICES_MAX_DEFAULT))


def demand_days() -> int:
    return int(getattr(settings, "HUIKUAN_LEGAL_DEMAND_DAYS", DEMAND_DAYS_DEFAULT))


def letter_language(customer: Customer, language: str | None = None) -> str:
    """Return zh-hans or en: the one asked for, else the customer's, else the company's."""
    for candidate in (language, customer.language, settings.LANGUAGE_CODE):
        text = (candidate or "").lower()
        if text.startswith("zh"):
            return "zh-hans"
        if text.startswith("en"):
            return "en"
    return "en"


@dataclass(frozen=True)
class InterestPeriodRow:
    start: date
    end: date
    days: int
    annual_rate: str  # percent a year, e.g. "5.25"
    base: str  # the amount the rate ran on, major units
    interest_minor: int


@dataclass(frozen=True)
class InvoiceClaim:
    """One open overdue invoice as the letter and the pack state it."""

    number: str
    issue_date: date
    due_date: date
    currency: str
    amount_minor: int
    open_minor: int
    days_overdue: int
    rule: str  # the interest rule, "NONE" when the contract has none
    interest_minor: int
    compensation_minor: int
    periods: tuple[InterestPeriodRow, ...] = ()
    error: str = ""  # why no interest could be computed, when that happened

    @property
    def claimed_minor(self) -> int:
        return self.open_minor + self.interest_minor + self.compensation_minor


@dataclass
class CurrencyTotal:
    currency: str
    open_minor: int = 0
    interest_minor: int = 0
    compensation_minor: int = 0

    @property
    def claimed_minor(self) -> int:
        return self.open_minor + self.interest_minor + self.compensation_minor


@dataclass
class Claim:
    customer: Customer
    as_of: date
    rule: str
    invoices: list[InvoiceClaim] = field(default_factory=list)

    def totals(self) -> list[CurrencyTotal]:
        by_currency: dict[str, CurrencyTotal] = {}
        for row in self.invoices:
            total = by_currency.setdefault(row.currency, CurrencyTotal(row.currency))
            total.open_minor += row.open_minor
            total.interest_minor += row.interest_minor
            total.compensation_minor += row.compensation_minor
        return [by_currency[currency] for currency in sorted(by_currency)]


def _claimed_invoices(customer: Customer, as_of: date) -> list[Invoice]:
    """The open invoices past due on ``as_of``; all open ones when none is past due yet."""
    from huikuan.collections.legal import open_invoices_of

    open_invoices = list(open_invoices_of(customer).order_by("due_date", "number"))
    overdue = [invoice for invoice in open_invoices if invoice.due_date < as_of]
    return overdue or open_invoices


def claim_compute(*, customer: Customer, as_of: date) -> Claim:
    """Return what is claimed from the customer on ``as_of``: open amounts and interest per invoice.

    Reads the invoices, their allocations and adjustments and the rate table in a fixed number of
    queries, whatever the number of invoices.
    """
    from huikuan.dunning.charges import interest_for_terms
    from huikuan.dunning.interest import InterestError, rate_text
    from huikuan.dunning.models import ContractTerms, InterestRule
    from huikuan.dunning.rates import RateInvalid, rate_table_load

    invoices = _claimed_invoices(customer, as_of)
    terms = ContractTerms.objects.filter(customer=customer).first()
    rule = terms.interest_rule if terms is not None else InterestRule.NONE
    claim = Claim(customer=customer, as_of=as_of, rule=rule)
    payments: dict[int, list[tuple[date, int]]] = defaultdict(list)
    ids = [invoice.pk for invoice in invoices]
    if rule != InterestRule.NONE and ids:
        for invoice_id, day, amount in Allocation.objects.filter(
            invoice_id__in=ids, allocation_date__lte=as_of
        ).values_list("invoice_id", "allocation_date", "amount_minor"):
            payments[invoice_id].append((day, amount))
        for invoice_id, day, amount in InvoiceAdjustment.objects.filter(
            invoice_id__in=ids, adjustment_date__lte=as_of
        ).values_list("invoice_id", "adjustment_date", "amount_minor"):
            payments[invoice_id].append((day, amount))
    rates: Any = None
    for invoice in invoices:
        days_overdue = max((as_of - invoice.due_date).days, 0)
        common: dict[str, Any] = {
            "number": invoice.number,
            "issue_date": invoice.issue_date,
            "due_date": invoice.due_date,
            "currency": invoice.currency,
            "amount_minor": invoice.amount_minor,
            "open_minor": invoice.open_minor,
            "days_overdue": days_overdue,
            "rule": rule,
        }
        if terms is None or rule == InterestRule.NONE or invoice.due_date >= as_of:
            claim.invoices.append(InvoiceClaim(**common, interest_minor=0, compensation_minor=0))
            continue
        try:
            if rates is None:
                rates = rate_table_load()
            result = interest_for_terms(
                terms=terms,
                principal_minor=invoice.amount_minor,
                currency=invoice.currency,
                due_date=invoice.due_date,
                until_date=as_of,
                payments=payments.get(invoice.pk, ()),
                rates=rates,
            )
        except (InterestError, RateInvalid) as error:
            claim.invoices.append(
                InvoiceClaim(**common, interest_minor=0, compensation_minor=0, error=error.message)
            )
            continue
        detail = result.detail()
        periods = tuple(
            InterestPeriodRow(
                start=period.start,
                end=period.end,
                days=period.days,
                annual_rate=rate_text(period.annual_rate),
                base=row["base"],
                interest_minor=period.interest_minor,
            )
            for period, row in zip(result.periods, detail["periods"], strict=True)
        )
        claim.invoices.append(
            InvoiceClaim(
                **common,
                interest_minor=result.interest_minor,
                compensation_minor=result.compensation_minor,
                periods=periods,
            )
        )
    return claim


INTEREST_CSV_HEADER = (
    "invoice",
    "currency",
    "principal",
    "open",
    "due_date",
    "until",
    "rule",
    "period_from",
    "period_to",
    "days",
    "annual_rate_percent",
    "base",
    "interest",
    "compensation",
    "note",
)


def interest_csv_rows(claim: Claim) -> list[tuple[str, ...]]:
    """Return the computation as CSV rows: one per period, then one total per invoice."""
    rows: list[tuple[str, ...]] = [INTEREST_CSV_HEADER]
    until = claim.as_of.isoformat()
    for invoice in claim.invoices:
        money = invoice.currency
        head = (
            invoice.number,
            money,
            format_minor(invoice.amount_minor, money),
            format_minor(invoice.open_minor, money),
        )
        for period in invoice.periods:
            rows.append(
                (
                    *head,
                    invoice.due_date.isoformat(),
                    until,
                    invoice.rule,
                    period.start.isoformat(),
                    period.end.isoformat(),
                    str(period.days),
                    period.annual_rate,
                    period.base,
                    format_minor(period.interest_minor, money),
                    "",
                    "",
                )
            )
        rows.append(
            (
                *head,
                invoice.due_date.isoformat(),
                until,
                invoice.rule,
                "",
                "",
                str(sum(period.days for period in invoice.periods)),
                "",
                "",
                format_minor(invoice.interest_minor, money),
                format_minor(invoice.compensation_minor, money),
                invoice.error or "total",
            )
        )
    return rows


def _money(minor: int, currency: str) -> str:
    return f"{currency} {from_minor(minor, currency):,}"


def _day(day: date) -> str:
    return formats.date_format(day, "DATE_FORMAT")


def demand_letter_context(*, claim: Claim, language: str) -> dict[str, Any]:
    from huikuan.dunning.models import InterestRule

    customer = claim.customer
    deadline = claim.as_of + timedelta(days=demand_days())
    # A letter stays readable: past the limit it lists the oldest invoices and sums up the rest,
    # which the pack's interest.csv lists in full; the totals always cover every invoice.
    shown = claim.invoices[: letter_invoices_max()]
    more: dict[str, int] = defaultdict(int)
    for row in claim.invoices[len(shown) :]:
        more[row.currency] += row.open_minor
    return {
        "html_lang": "zh-Hans" if language == "zh-hans" else "en",
        "font_family": FONT_FAMILY,
        "company": {"name": settings.HUIKUAN_COMPANY_NAME, "address": settings.HUIKUAN_COMPANY_ADDRESS},
        "customer": customer,
        "debtor_name": customer.legal_name or customer.name,
        "reference": f"DL-{customer.code}-{claim.as_of:%Y%m%d}",
        "date": _day(claim.as_of),
        "deadline": _day(deadline),
        "demand_days": demand_days(),
        "rule": claim.rule,
        "rule_label": str(dict(InterestRule.choices).get(claim.rule, claim.rule)),
        "has_interest": any(row.interest_minor or row.compensation_minor for row in claim.invoices),
        "invoices": [
            {
                "number": row.number,
                "issue_date": _day(row.issue_date),
                "due_date": _day(row.due_date),
                "amount": _money(row.amount_minor, row.currency),
                "open": _money(row.open_minor, row.currency),
                "days_overdue": row.days_overdue,
                "interest": _money(row.interest_minor + row.compensation_minor, row.currency),
                "periods": [
                    {
                        "start": _day(period.start),
                        "end": _day(period.end),
                        "days": period.days,
                        "rate": period.annual_rate,
                        "base": f"{row.currency} {period.base}",
                        "interest": _money(period.interest_minor, row.currency),
                    }
                    for period in row.periods
                ],
                "error": row.error,
            }
            for row in shown
        ],
        "more_count": len(claim.invoices) - len(shown),
        "more_totals": [
            {"currency": currency, "open": _money(minor, currency)}
            for currency, minor in sorted(more.items())
        ],
        "totals": [
            {
                "currency": total.currency,
                "open": _money(total.open_minor, total.currency),
                "interest": _money(total.interest_minor + total.compensation_minor, total.currency),
                "claimed": _money(total.claimed_minor, total.currency),
            }
            for total in claim.totals()
        ],
        "payment_instructions": settings.HUIKUAN_PAYMENT_INSTRUCTIONS,
    }


def demand_letter_html(*, claim: Claim, language: str | None = None) -> str:
    chosen = letter_language(claim.customer, language)
    with translation.override(chosen):
        context = demand_letter_context(claim=claim, language=chosen)
        return render_to_string(f"collections/legal_demand_letter.{chosen}.html", context)


def demand_letter_pdf(*, customer: Customer, as_of: date, language: str | None = None) -> bytes:
    """Return the demand letter (催告函) as a PDF in the customer's language (or ``language``)."""
    from weasyprint import HTML

    claim = claim_compute(customer=customer, as_of=as_of)
    return HTML(string=demand_letter_html(claim=claim, language=language), base_url=None).write_pdf()


def demand_letter_pdf_for(*, claim: Claim, language: str | None = None) -> bytes:
    from weasyprint import HTML

    return HTML(string=demand_letter_html(claim=claim, language=language), base_url=None).write_pdf()


def demand_letter_filename(customer: Customer, as_of: date, language: str | None = None) -> str:
    return f"DL-{customer.code.replace('/', '_')}-{as_of:%Y%m%d}.{letter_language(customer, language)}.pdf"
