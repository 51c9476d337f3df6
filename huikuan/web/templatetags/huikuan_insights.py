"""Panels of the insights area on the customer page."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def insights_panel(context: template.Context, customer: object) -> str:
    return ""
