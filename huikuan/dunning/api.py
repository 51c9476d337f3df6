"""Dunning over HTTP: an order system's credit-status check, the runs, the policies."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from huikuan.accounts.access import COMPANY_WIDE_ROLES, require_role
from huikuan.core.schemas import ErrorOut
from huikuan.customers.models import Customer
from huikuan.dunning.engine import dunning_run
from huikuan.dunning.management.commands.dunning import run_json
from huikuan.dunning.models import DunningRun
from huikuan.dunning.selectors import customer_credit_status, policy_list

dunning_router = Router(tags=["dunning"])

ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


class HoldOut(Schema):
    kind: str
    currency: str
    cap: str | None
    since: str
    reason: str


class LimitOut(Schema):
    amount: str
    currency: str


class CreditStatusOut(Schema):
    customer: str
    status: str  # "ok", "limited" or "hold"
    as_of: str
    holds: list[HoldOut]
    limit: LimitOut | None
    overdue: dict[str, str]
    reasons: list[str]


class RunIn(Schema):
    as_of: date | None = None
    dry_run: bool = False


class RunOut(Schema):
    id: int
    as_of: date
    invoices_considered: int
    actions_created: int
    messages_created: int
    tasks_created: int
    triggered_by: str


class DunningPreviewOut(Schema):
    kind: str  # "message", "task" or "credit_hold"
    channel: str
    stage: str
    invoices: list[str]
    amount: str
    currency: str
    status: str
    language: str
    recipient: str
    subject: str
    text: str
    attachments: list[str]


def credit_status_answer(*, customer: Customer) -> dict[str, Any]:
    """Answer GET /customers/{code}/credit-status (routed with the customers, before their catch-all path)."""
    return customer_credit_status(customer=customer, as_of=timezone.localdate())


@dunning_router.get("/runs", response=list[RunOut], summary="The latest dunning runs")
def runs_list(request: HttpRequest, limit: int = 30) -> Any:
    return DunningRun.objects.order_by("-as_of")[: max(1, min(limit, 365))]


@dunning_router.post("/runs", response={200: dict, **ERRORS}, summary="Run (or dry-run) the day's dunning")
def runs_create(request: HttpRequest, payload: RunIn) -> Any:
    """The same run as `huikuan dunning run`; the answer is the command's JSON.

    The run acts for the whole company: credit controllers, managers and administrators only.
    """
    require_role(request.user, *COMPANY_WIDE_ROLES)
    result = dunning_run(
        as_of=payload.as_of or timezone.localdate(),
        dry_run=payload.dry_run,
        triggered_by=f"api:{request.user}",
    )
    return run_json(result)


@dunning_router.get("/policies", response=list[dict], summary="The policies and their stages")
def policies_list(request: HttpRequest) -> Any:
    return policy_list()
