from django.urls import path

from huikuan.web import views

app_name = "web"
urlpatterns = [
    path("", views.worklist, name="home"),
    path("aging/", views.aging, name="aging"),
    path("customers/", views.customers, name="customer_list"),
    path("customers/<path:code>/", views.customer_detail, name="customer_detail"),
]
