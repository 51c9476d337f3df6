from django.urls import path

from huikuan.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("customers/", views.customers, name="customer_list"),
    path("customers/<path:code>/", views.customer_detail, name="customer_detail"),
]
