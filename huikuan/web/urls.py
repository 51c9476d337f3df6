from django.urls import path

from huikuan.web import views, views_worklist

app_name = "web"
urlpatterns = [
    path("", views_worklist.worklist, name="home"),
    path("worklist/messages/", views_worklist.worklist_messages, name="worklist_messages"),
    path("worklist/tasks/<int:task_id>/done/", views_worklist.task_done, name="task_done"),
    path("worklist/tasks/<int:task_id>/skip/", views_worklist.task_skip, name="task_skip"),
    path("aging/", views.aging, name="aging"),
    path("customers/", views.customers, name="customer_list"),
    path("customers/<path:code>/", views.customer_detail, name="customer_detail"),
]
