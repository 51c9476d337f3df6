"""Server-rendered pages. Views only parse the request and call selectors."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from huikuan.accounts.access import customer_scope_or_none
from huikuan.ledger.aging_report import aging_build
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
        "buckets": report["buckets"],
        "currencies": aging_chart(buckets=report["buckets"], totals=report["totals"]),
        "customer_count": len({row["code"] for row in report["customers"]}),
        "nav": "aging",
    }
    return render(request, "web/aging.html", context)


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
