"""Agency and legal hand-overs and the evidence pack over the API."""

from ninja import Router

legal_router = Router(tags=["legal"])
