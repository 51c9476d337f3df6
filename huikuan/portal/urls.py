"""Pages of the portal app: everything under /portal/<key>/."""

from __future__ import annotations

from django.urls import path

from huikuan.portal import views

app_name = "portal"
urlpatterns = [
    path("<str:key>/", views.home, name="home"),
    path("<str:key>/statements/<int:statement_id>/", views.statement, name="statement"),
    path(
        "<str:key>/statements/<int:statement_id>/confirm/", views.statement_confirm, name="statement_confirm"
    ),
    path(
        "<str:key>/statements/<int:statement_id>/dispute/", views.statement_dispute, name="statement_dispute"
    ),
    path("<str:key>/statements/<int:statement_id>/pdf/", views.statement_pdf, name="statement_pdf"),
    path("<str:key>/invoices/<path:number>/dispute/", views.dispute, name="dispute"),
    path("<str:key>/promise/", views.promise, name="promise"),
    path("<str:key>/pay/", views.pay, name="pay"),
]
