"""The web pages of the credit area."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
