"""Debtor types, playbooks and scripts over the API."""

from ninja import Router

insights_router = Router(tags=["insights"])
