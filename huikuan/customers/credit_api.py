"""Credit profiles, ratings, orders and the credit check over the API."""

from ninja import Router

credit_router = Router(tags=["credit"])
