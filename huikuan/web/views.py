"""Server-rendered pages. Views only parse the request and call selectors."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language

from huikuan.accounts.access import customer_scope_or_none
from huikuan.ledger.aging_export import aging_csv, aging_pdf, aging_xlsx_bytes
from huikuan.ledger.aging_report import GROUPINGS, aging_build
from huikuan.web.charts import aging_chart
from huikuan.web.forms import AgingForm, CustomerSearchForm
from huikuan.web.selectors import customer_search

CUSTOMERS_PER_PAGE = 50


@login_required
def aging(request: HttpRequest) -> HttpResponse:
    """The aging overview (账龄分析) as of a chosen date: totals per currency and bucket."""
    today = timezone.localdate()
    form = AgingForm(request.GET or None, initial={"as_of": today})
    as_of = (form.cleaned_data.get("as_of") if form.is_valid() else None) or today
    report = aging_build(as_of=as_of, customer_scope=customer_scope_or_none(request.user))
    context: dict[str, Any] = {
        "form": form,
        "as_of": as_of,
        "as_of_iso": as_of.isoformat(),
        "buckets": report["buckets"],
        "currencies": aging_chart(buckets=report["buckets"], totals=report["totals"]),
        "customer_count": len({row["code"] for row in report["customers"]}),
        "nav": "aging",
    }
    return render(request, "web/aging.html", context)


EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


@login_required
def aging_export(request: HttpRequest, file_format: str) -> HttpResponse:
    """The aging as a file (CSV, XLSX or PDF), of the customers the signed-in user may see.

    ``?as_of=`` picks the date (today by default) and ``?by=`` groups the CSV and XLSX rows by
    collector, grade or currency instead of customer.
    """
    if file_format not in EXPORT_TYPES:
        raise Http404(file_format)
    today = timezone.localdate()
    form = AgingForm(request.GET or None, initial={"as_of": today})
    as_of = (form.cleaned_data.get("as_of") if form.is_valid() else None) or today
    by = request.GET.get("by", "customer")
    if by not in GROUPINGS:
        by = "customer"
    report = aging_build(as_of=as_of, by=by, customer_scope=customer_scope_or_none(request.user))
    if file_format == "csv":
        # A byte-order mark lets Excel open the CSV with Chinese names intact.
        body = ("\ufeff" + aging_csv(report)).encode("utf-8")
    elif file_format == "xlsx":
        body = aging_xlsx_bytes(report)
    else:
        body = aging_pdf(report, language=get_language() or "en")
    response = HttpResponse(body, content_type=EXPORT_TYPES[file_format])
    suffix = "" if by == "customer" else f"-by-{by}"
    response["Content-Disposition"] = (
        f'attachment; filename="aging-{as_of.isoformat()}{suffix}.{file_format}"'
    )
    return response


@login_required
def customers(request: HttpRequest) -> HttpResponse:
    """Customers, searchable by code or name, a page at a time."""
    form = CustomerSearchForm(request.GET or None)
    search = grade = ""
    if form.is_valid():
        search, grade = form.cleaned_data["q"].strip(), form.cleaned_data["grade"]
    queryset = customer_search(user=request.user, search=search, grade=grade)
    page = Paginator(queryset, CUSTOMERS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "nav": "customers"}
    return render(request, "web/customer_list.html", context)
