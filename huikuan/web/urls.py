from django.urls import include, path

from huikuan.web import views, views_bank, views_customer, views_worklist

app_name = "web"
urlpatterns = [
    path("", views_worklist.worklist, name="home"),
    path("worklist/messages/", views_worklist.worklist_messages, name="worklist_messages"),
    path("worklist/tasks/<int:task_id>/done/", views_worklist.task_done, name="task_done"),
    path("worklist/tasks/<int:task_id>/skip/", views_worklist.task_skip, name="task_skip"),
    path("aging/", views.aging, name="aging"),
    path("aging/export.<str:file_format>", views.aging_export, name="aging_export"),
    path("customers/", views.customers, name="customer_list"),
    path("bank/", views_bank.bank_review, name="bank_review"),
    path("bank/unmatched/", views_bank.bank_unmatched, name="bank_unmatched"),
    path("bank/statements/", views_bank.bank_statements, name="bank_statements"),
    path("bank/statements/<int:statement_id>/", views_bank.bank_statement, name="bank_statement"),
    path("bank/lines/<int:line_id>/<slug:action>/", views_bank.bank_line_decide, name="bank_line_decide"),
    path("bank/match/", views_bank.bank_match_run, name="bank_match"),
    # Each area's pages, before the customer page, which takes any path below customers/.
    path("", include("huikuan.web.urls_credit")),
    path("", include("huikuan.web.urls_insights")),
    path("", include("huikuan.web.urls_legal")),
    # Codes may hold "/", so the pages under a customer come before the customer itself.
    path("customers/<path:code>/timeline/", views_customer.customer_timeline_more, name="customer_timeline"),
    path("customers/<path:code>/log/", views_customer.customer_log, name="customer_log"),
    path("customers/<path:code>/promise/", views_customer.customer_promise, name="customer_promise"),
    path("customers/<path:code>/dispute/", views_customer.customer_dispute, name="customer_dispute"),
    path("customers/<path:code>/plan/", views_customer.customer_plan, name="customer_plan"),
    path(
        "customers/<path:code>/statements/send/",
        views_customer.customer_statement_send,
        name="customer_statement_send",
    ),
    path(
        "customers/<path:code>/statements/<int:statement_id>/pdf/",
        views_customer.customer_statement_pdf,
        name="customer_statement_pdf",
    ),
    path(
        "customers/<path:code>/promises/<int:promise_id>/evidence/",
        views_customer.customer_promise_evidence,
        name="customer_promise_evidence",
    ),
    path(
        "customers/<path:code>/plans/<int:plan_id>/agreement/",
        views_customer.customer_plan_agreement,
        name="customer_plan_agreement",
    ),
    path(
        "customers/<path:code>/portal-link/", views_customer.customer_portal_link, name="customer_portal_link"
    ),
    path("customers/<path:code>/", views_customer.customer_detail, name="customer_detail"),
]
