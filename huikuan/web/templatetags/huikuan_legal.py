"""Panels of the legal area on the customer page."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def legal_panel(context: template.Context, customer: object) -> str:
    return ""
