"""Agency and legal hand-overs and the evidence pack over the API.

Everyone reaches the hand-overs of the customers they reach (another collector's answer 404);
only credit controllers, managers and administrators hand debts over, record recoveries and end
hand-overs (others: 403). The evidence pack and the demand letter follow the customer's scope.
"""

from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Query, Router, Status
from ninja.pagination import paginate

from huikuan.accounts.access import access_customer, access_invoice, require_write
from huikuan.collections.incentive_models import Incentive
from huikuan.collections.incentives import (
    ApprovalLimitExceeded,
    access_incentive,
    approval_limit,
    concession_percent,
    incentive_approve,
    incentive_close,
    incentive_list,
    incentive_offer,
    incentive_scope,
    incentive_send,
)
from huikuan.collections.legal import (
    access_handover,
    handover_create,
    handover_end,
    handover_list,
    handover_scope,
    recovery_record,
    require_legal_role,
)
from huikuan.collections.legal_letter import demand_letter_filename, demand_letter_pdf, letter_language
from huikuan.collections.legal_models import LegalHandover
from huikuan.collections.legal_pack import evidence_pack_build, evidence_pack_open
from huikuan.collections.legal_schemas import (
    HandoverDetailOut,
    HandoverEndIn,
    HandoverFilters,
    HandoverIn,
    HandoverOut,
    IncentiveCloseIn,
    IncentiveFilters,
    IncentiveIn,
    IncentiveOut,
    RecoveryIn,
)
from huikuan.core.api_errors import InvalidInput, referenced
from huikuan.core.schemas import ErrorOut, Page, Text, money_parse

legal_router = Router(tags=["legal"])

ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


def _detail(handover_id: int) -> LegalHandover:
    return (
        LegalHandover.objects.select_related("customer", "created_by")
        .prefetch_related("invoices")
        .get(pk=handover_id)
    )


def _may_change(request: HttpRequest) -> None:
    require_write(request.user)
    require_legal_role(request.user)


@legal_router.get("/handovers", response=list[HandoverOut], summary="List hand-overs to agencies and lawyers")
@paginate(Page)
def handovers_list(request: HttpRequest, filters: Query[HandoverFilters]) -> Any:
    """Of the customers you reach, newest first."""
    handovers = (
        handover_scope(request.user).select_related("customer", "created_by").prefetch_related("invoices")
    )
    if filters.status:
        handovers = handovers.filter(status=filters.status)
    if filters.customer:
        handovers = handovers.filter(customer__code=filters.customer)
    return handovers.order_by("-handed_over_date", "-id")


@legal_router.get(
    "/customers/{path:code}/handovers", response=list[HandoverOut], summary="List a customer's hand-overs"
)
@paginate(Page)
def customer_handovers(request: HttpRequest, code: Text) -> Any:
    return handover_list(customer=access_customer(user=request.user, code=code)).prefetch_related("invoices")


@legal_router.post(
    "/customers/{path:code}/handovers",
    response={201: HandoverDetailOut, **ERRORS},
    summary="Hand a customer's debt to a collection agency or a lawyer",
)
def customer_handover_create(request: HttpRequest, code: Text, payload: HandoverIn) -> Any:
    """Every open invoice (in `currency`), or the ones named; the customer is "with legal" until it ends."""
    customer = access_customer(user=request.user, code=code)
    _may_change(request)
    invoices = []
    for number in dict.fromkeys(payload.invoices):
        with referenced():
            invoice = access_invoice(user=request.user, number=number)
        if invoice.customer_id != customer.pk:
            raise InvalidInput(f"invoices: {number} belongs to another customer", code="of_another_customer")
        invoices.append(invoice)
    handover = handover_create(
        customer=customer,
        user=request.user,
        kind=payload.kind,
        agent_name=payload.agent_name,
        agent_reference=payload.agent_reference,
        commission_percent=payload.commission_percent,
        handed_over_date=payload.handed_over_date or timezone.localdate(),
        invoices=invoices or None,
        currency=payload.currency,
        notes=payload.notes,
    )
    return Status(201, _detail(handover.pk))


@legal_router.get(
    "/handovers/{int:handover_id}", response={200: HandoverDetailOut, **ERRORS}, summary="A hand-over"
)
def handover_detail(request: HttpRequest, handover_id: int) -> Any:
    return _detail(access_handover(user=request.user, handover_id=handover_id).pk)


@legal_router.post(
    "/handovers/{int:handover_id}/recoveries",
    response={201: HandoverDetailOut, **ERRORS},
    summary="Record money the agency or lawyer recovered",
)
def handover_recovery(request: HttpRequest, handover_id: int, payload: RecoveryIn) -> Any:
    """The commission is computed on the recoveries; recovering everything ends the hand-over."""
    handover = access_handover(user=request.user, handover_id=handover_id)
    _may_change(request)
    recovery_record(
        handover=handover,
        user=request.user,
        amount=money_parse(payload.amount, handover.currency),
        recovered_date=payload.recovered_date or timezone.localdate(),
        notes=payload.notes,
    )
    return Status(201, _detail(handover.pk))


@legal_router.post(
    "/handovers/{int:handover_id}/end",
    response={200: HandoverDetailOut, **ERRORS},
    summary="End a hand-over: returned by the agent, or closed",
)
def handover_finish(request: HttpRequest, handover_id: int, payload: HandoverEndIn) -> Any:
    handover = access_handover(user=request.user, handover_id=handover_id)
    _may_change(request)
    handover_end(
        handover=handover,
        user=request.user,
        status=payload.status,
        ended_date=payload.ended_date or timezone.localdate(),
        reason=payload.reason,
    )
    return _detail(handover.pk)


@legal_router.get(
    "/customers/{path:code}/evidence-pack.zip",
    response={200: None, **ERRORS},
    summary="The customer's evidence pack: one ZIP with a SHA-256 manifest",
)
def customer_evidence_pack(request: HttpRequest, code: Text, language: str | None = None) -> FileResponse:
    """Invoices, confirmed statements, the timeline, messages with delivery records, promises with
    their evidence, the interest computation and the demand letter (zh-hans or en; default: the
    customer's), as of today."""
    customer = access_customer(user=request.user, code=code)
    pack = evidence_pack_build(customer=customer, as_of=timezone.localdate(), language=language)
    return FileResponse(
        evidence_pack_open(pack), as_attachment=True, filename=pack.filename, content_type="application/zip"
    )


@legal_router.get(
    "/customers/{path:code}/demand-letter.pdf",
    response={200: None, **ERRORS},
    summary="The demand letter (催告函) as a PDF",
)
def customer_demand_letter(request: HttpRequest, code: Text, language: str | None = None) -> HttpResponse:
    """In `language` (zh-hans or en; default: the customer's), stating the debt and interest as of today."""
    customer = access_customer(user=request.user, code=code)
    today = timezone.localdate()
    chosen = letter_language(customer, language)
    response = HttpResponse(
        demand_letter_pdf(customer=customer, as_of=today, language=chosen), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'inline; filename="{demand_letter_filename(customer, today, chosen)}"'
    return response


# --- incentives -------------------------------------------------------------------------------


def _incentive(incentive_id: int) -> Incentive:
    return Incentive.objects.select_related("customer", "created_by", "approved_by").get(pk=incentive_id)


@legal_router.get("/incentives", response=list[IncentiveOut], summary="List discount and settlement offers")
@paginate(Page)
def incentives_list(request: HttpRequest, filters: Query[IncentiveFilters]) -> Any:
    """Of the customers you reach, newest first; `status=AWAITING_APPROVAL` is what waits for an approver."""
    incentives = incentive_scope(request.user).select_related("customer", "created_by", "approved_by")
    if filters.status:
        incentives = incentives.filter(status=filters.status)
    return incentives.order_by("-offered_date", "-id")


@legal_router.get(
    "/customers/{path:code}/incentives", response=list[IncentiveOut], summary="List a customer's offers"
)
@paginate(Page)
def customer_incentives(request: HttpRequest, code: Text) -> Any:
    return incentive_list(customer=access_customer(user=request.user, code=code)).order_by(
        "-offered_date", "-id"
    )


@legal_router.post(
    "/customers/{path:code}/incentives",
    response={201: IncentiveOut, **ERRORS},
    summary="Offer an early-payment discount or a settlement",
)
def customer_incentive_create(request: HttpRequest, code: Text, payload: IncentiveIn) -> Any:
    """Beyond your role's approval limit the offer waits (AWAITING_APPROVAL) for someone whose limit covers it."""
    customer = access_customer(user=request.user, code=code)
    require_write(request.user)
    invoices = []
    for number in dict.fromkeys(payload.invoices):
        with referenced():
            invoice = access_invoice(user=request.user, number=number)
        if invoice.customer_id != customer.pk:
            raise InvalidInput(f"invoices: {number} belongs to another customer", code="of_another_customer")
        invoices.append(invoice)
    settle = None
    if payload.settle_amount is not None:
        settle = money_parse(payload.settle_amount, invoices[0].currency, field="settle_amount")
    incentive = incentive_offer(
        customer=customer,
        user=request.user,
        kind=payload.kind,
        invoices=invoices,
        pay_by_date=payload.pay_by_date,
        offered_date=timezone.localdate(),
        discount_percent=payload.discount_percent,
        settle_amount=settle,
        terms=payload.terms,
        notes=payload.notes,
    )
    return Status(201, _incentive(incentive.pk))


@legal_router.post(
    "/incentives/{int:incentive_id}/approve",
    response={200: IncentiveOut, **ERRORS},
    summary="Approve an offer",
)
def incentive_approval(request: HttpRequest, incentive_id: int) -> Any:
    """Your role's approval limit must cover what the offer gives up (403 `approval_limit` otherwise)."""
    incentive = access_incentive(user=request.user, incentive_id=incentive_id)
    require_write(request.user)
    incentive_approve(incentive=incentive, user=request.user)
    return _incentive(incentive.pk)


@legal_router.post(
    "/incentives/{int:incentive_id}/withdraw",
    response={200: IncentiveOut, **ERRORS},
    summary="Withdraw an offer",
)
def incentive_withdrawal(request: HttpRequest, incentive_id: int, payload: IncentiveCloseIn) -> Any:
    incentive = access_incentive(user=request.user, incentive_id=incentive_id)
    require_write(request.user)
    incentive_close(incentive=incentive, user=request.user, status="WITHDRAWN", reason=payload.reason)
    return _incentive(incentive.pk)


@legal_router.post(
    "/incentives/{int:incentive_id}/reject",
    response={200: IncentiveOut, **ERRORS},
    summary="Refuse to approve an offer",
)
def incentive_rejection(request: HttpRequest, incentive_id: int, payload: IncentiveCloseIn) -> Any:
    """Needs the approval limit that approving would (403 `approval_limit` otherwise)."""
    incentive = access_incentive(user=request.user, incentive_id=incentive_id)
    require_write(request.user)
    needed = concession_percent(concession_minor=incentive.concession_minor, open_minor=incentive.open_minor)
    if needed > approval_limit(request.user):
        raise ApprovalLimitExceeded(
            "the offer is beyond your role's approval limit; you may neither approve nor refuse it"
        )
    incentive_close(incentive=incentive, user=request.user, status="REJECTED", reason=payload.reason)
    return _incentive(incentive.pk)


@legal_router.post(
    "/incentives/{int:incentive_id}/send",
    response={200: IncentiveOut, **ERRORS},
    summary="E-mail the offer to the customer",
)
def incentive_sending(request: HttpRequest, incentive_id: int) -> Any:
    """Queued in the outbox like every message, from the offer template in the contact's language."""
    incentive = access_incentive(user=request.user, incentive_id=incentive_id)
    require_write(request.user)
    incentive_send(incentive=incentive, user=request.user)
    return _incentive(incentive.pk)
