"""The web pages of the insights area."""

from django.urls import URLPattern, path

from huikuan.web import views_insights

urlpatterns: list[URLPattern] = [
    path("insights/scripts/", views_insights.script_library, name="insights_scripts"),
    path("insights/scripts/new/", views_insights.script_edit, name="insights_script_new"),
    path("insights/scripts/<int:script_id>/", views_insights.script_edit, name="insights_script_edit"),
    path(
        "customers/<path:code>/debtor-type/", views_insights.debtor_type_decide, name="insights_debtor_type"
    ),
    path(
        "customers/<path:code>/contacts/<int:contact_id>/personality/",
        views_insights.contact_personality,
        name="insights_personality",
    ),
]
