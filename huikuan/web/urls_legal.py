"""The web pages of the legal area."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
