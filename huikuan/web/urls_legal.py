"""The web pages of the legal area."""

from django.urls import URLPattern, path

from huikuan.web import views_legal

urlpatterns: list[URLPattern] = [
    path("legal/", views_legal.legal_list, name="legal_list"),
    path("legal/handovers/<int:handover_id>/", views_legal.legal_handover, name="legal_handover"),
    path("legal/handovers/<int:handover_id>/recover/", views_legal.legal_recover, name="legal_recover"),
    path("legal/handovers/<int:handover_id>/end/", views_legal.legal_end, name="legal_end"),
    # Codes may hold "/": the customer's code is the path between legal/customers/ and the action.
    path(
        "legal/customers/<path:code>/handover/",
        views_legal.legal_customer_handover,
        name="legal_customer_handover",
    ),
    path(
        "legal/customers/<path:code>/evidence-pack/",
        views_legal.legal_evidence_pack,
        name="legal_evidence_pack",
    ),
    path(
        "legal/customers/<path:code>/demand-letter/",
        views_legal.legal_demand_letter,
        name="legal_demand_letter",
    ),
    path("legal/customers/<path:code>/offer/", views_legal.legal_customer_offer, name="legal_customer_offer"),
    path(
        "legal/incentives/<int:incentive_id>/<slug:action>/",
        views_legal.legal_incentive_action,
        name="legal_incentive_action",
    ),
]
