"""Pages of the accounts app: the administrators' user pages (sign-in is routed in config.urls)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from huikuan.accounts import views

app_name = "accounts"
urlpatterns: list[URLPattern | URLResolver] = [
    path("users/", views.user_list_page, name="user_list"),
    path("users/add/", views.user_add_page, name="user_add"),
    path("users/<int:user_id>/", views.user_edit_page, name="user_edit"),
    path("users/<int:user_id>/password/", views.user_password_page, name="user_password"),
]
