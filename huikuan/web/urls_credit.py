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
    path("credit/customers/<path:code>/check/", views_credit.credit_order_check, name="credit_order_check"),
    path(
        "credit/customers/<path:code>/orders/", views_credit.credit_order_create, name="credit_order_create"
    ),
    path(
        "credit/customers/<path:code>/orders/<int:order_id>/status/",
        views_credit.credit_order_status,
        name="credit_order_status",
    ),
]
