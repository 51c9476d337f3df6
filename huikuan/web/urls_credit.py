"""The web pages of the credit area."""

from django.urls import URLPattern, path

from huikuan.web import views_credit

urlpatterns: list[URLPattern] = [
    # Codes may hold "/": the customer's code is the path between credit/customers/ and the page.
    path("credit/customers/<path:code>/ratings/", views_credit.credit_history, name="credit_history"),
    path("credit/customers/<path:code>/override/", views_credit.credit_override, name="credit_override"),
    path(
        "credit/customers/<path:code>/override/end/",
        views_credit.credit_override_end_view,
        name="credit_override_end",
    ),
]
