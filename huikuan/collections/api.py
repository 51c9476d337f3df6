"""Collections over HTTP: calls and visits, promises to pay, disputes, instalment plans and tasks.

Parse the request, reach the customer (or task, dispute, plan) through
:mod:`huikuan.accounts.access` — another collector's answers 404 exactly like a missing one — and
call a service or selector. Dates a request leaves out are today in the company's time zone.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Query, Router, Status
from ninja.pagination import paginate

from huikuan.accounts.access import access_contact, access_customer, access_invoice, customer_scope
from huikuan.collections.models import Dispute, InstalmentPlan, Interaction, Task
from huikuan.collections.schemas import (
    DisputeIn,
    DisputeOut,
    DisputeStatusChange,
    InteractionIn,
    InteractionOut,
    PlanIn,
    PlanOut,
    PromiseIn,
    PromiseOut,
    TaskFilters,
    TaskOut,
    TaskSkip,
)
from huikuan.collections.selectors import (
    access_dispute,
    access_interaction,
    access_plan,
    access_task,
    dispute_list,
    interaction_list,
    plan_list,
    promise_list,
    task_list,
)
from huikuan.collections.services import (
    dispute_open,
    dispute_set_status,
    interaction_log,
    plan_agreement_pdf,
    plan_create,
    promise_create,
    task_complete,
    task_skip,
)
from huikuan.core.api_errors import InvalidInput, referenced
from huikuan.core.schemas import ErrorOut, Page, Text, money_parse
from huikuan.customers.models import Customer
from huikuan.ledger.models import Invoice

collections_router = Router(tags=["collections"])

ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


def _invoices(request: HttpRequest, customer: Customer, numbers: list[str]) -> list[Invoice]:
    invoices = []
    for number in dict.fromkeys(numbers):
        with referenced():
            invoice = access_invoice(user=request.user, number=number)
        if invoice.customer_id != customer.pk:
            raise InvalidInput(f"invoices: {number} belongs to another customer", code="of_another_customer")
        invoices.append(invoice)
    return invoices


# --- calls, visits and notes ------------------------------------------------------------------


@collections_router.get(
    "/customers/{path:code}/interactions",
    response=list[InteractionOut],
    summary="List a customer's calls, visits and notes",
)
@paginate(Page)
def interactions_list(request: HttpRequest, code: Text) -> Any:
    """Newest first."""
    return interaction_list(customer=access_customer(user=request.user, code=code))


@collections_router.post(
    "/customers/{path:code}/interactions",
    response={201: InteractionOut, **ERRORS},
    summary="Log a call, visit or note",
)
def interactions_create(request: HttpRequest, code: Text, payload: InteractionIn) -> Any:
    """Logging it completes the task it carried out; a next action date makes a follow-up task."""
    customer = access_customer(user=request.user, code=code)
    contact = None
    if payload.contact_id is not None:
        with referenced():
            contact = access_contact(user=request.user, contact_id=payload.contact_id)
    task = None
    if payload.task_id is not None:
        with referenced():
            task = access_task(user=request.user, task_id=payload.task_id)
    interaction = interaction_log(
        customer=customer,
        user=request.user,
        kind=payload.kind,
        occurred_at=payload.occurred_at or timezone.now(),
        outcome=payload.outcome or "",
        notes=payload.notes,
        next_action_date=payload.next_action_date,
        contact=contact,
        task=task,
    )
    return Status(
        201, Interaction.objects.select_related("customer", "user", "contact").get(pk=interaction.pk)
    )


# --- promises to pay --------------------------------------------------------------------------


@collections_router.get(
    "/customers/{path:code}/promises", response=list[PromiseOut], summary="List a customer's promises to pay"
)
@paginate(Page)
def promises_list(request: HttpRequest, code: Text) -> Any:
    """Latest promised date first, with what was paid towards each as of the last review."""
    return promise_list(customer=access_customer(user=request.user, code=code))


@collections_router.post(
    "/customers/{path:code}/promises", response={201: PromiseOut, **ERRORS}, summary="Record a promise to pay"
)
def promises_create(request: HttpRequest, code: Text, payload: PromiseIn) -> Any:
    """Dunning of the promised invoices pauses until the promised date plus the grace days."""
    customer = access_customer(user=request.user, code=code)
    invoices = _invoices(request, customer, payload.invoices)
    currency = payload.currency or (invoices[0].currency if invoices else customer.currency)
    interaction = None
    if payload.interaction_id is not None:
        with referenced():
            interaction = access_interaction(
                user=request.user, interaction_id=payload.interaction_id, customer=customer
            )
    promise = promise_create(
        customer=customer,
        user=request.user,
        amount=money_parse(payload.amount, currency),
        promised_date=payload.promised_date,
        invoices=invoices,
        promised_by=payload.promised_by,
        method=payload.method,
        if_broken=payload.if_broken,
        grace_days=payload.grace_days,
        interaction=interaction,
        notes=payload.notes,
        made_date=payload.made_date or (None if interaction is not None else timezone.localdate()),
    )
    return Status(201, promise_list(customer=customer).get(pk=promise.pk))


# --- disputes ---------------------------------------------------------------------------------


@collections_router.get(
    "/customers/{path:code}/disputes", response=list[DisputeOut], summary="List a customer's disputes"
)
@paginate(Page)
def disputes_list(request: HttpRequest, code: Text, active: bool = False) -> Any:
    """Newest first; `active=true` keeps the open and investigating ones."""
    return dispute_list(customer=access_customer(user=request.user, code=code), active_only=active)


@collections_router.post(
    "/customers/{path:code}/disputes", response={201: DisputeOut, **ERRORS}, summary="Open a dispute"
)
def disputes_create(request: HttpRequest, code: Text, payload: DisputeIn) -> Any:
    """The invoice leaves dunning until the dispute is rejected; its owner gets a task."""
    customer = access_customer(user=request.user, code=code)
    (invoice,) = _invoices(request, customer, [payload.invoice])
    dispute = dispute_open(
        invoice=invoice,
        reason=payload.reason,
        user=request.user,
        notes=payload.notes,
        opened_date=payload.opened_date or timezone.localdate(),
    )
    return Status(201, _dispute(dispute.pk))


def _dispute(dispute_id: int) -> Dispute:
    return Dispute.objects.select_related("invoice__customer", "owner", "raised_by").get(pk=dispute_id)


@collections_router.get(
    "/disputes/{int:dispute_id}", response={200: DisputeOut, **ERRORS}, summary="Get a dispute"
)
def disputes_get(request: HttpRequest, dispute_id: int) -> Dispute:
    return access_dispute(user=request.user, dispute_id=dispute_id)


@collections_router.post(
    "/disputes/{int:dispute_id}/status", response={200: DisputeOut, **ERRORS}, summary="Move a dispute on"
)
def disputes_set_status(request: HttpRequest, dispute_id: int, payload: DisputeStatusChange) -> Any:
    """Investigating, resolved by a credit note (issued here with `credit_note_amount`) or rejected
    (the invoice returns to dunning at its stage). A closed dispute answers 409."""
    dispute = access_dispute(user=request.user, dispute_id=dispute_id)
    amount = None
    if payload.credit_note_amount is not None:
        amount = money_parse(payload.credit_note_amount, dispute.invoice.currency, field="credit_note_amount")
    dispute_set_status(
        dispute=dispute,
        status=payload.status,
        user=request.user,
        on_date=payload.on_date or timezone.localdate(),
        credit_note_amount=amount,
        note=payload.note,
    )
    return _dispute(dispute.pk)


# --- instalment plans -------------------------------------------------------------------------


@collections_router.get(
    "/customers/{path:code}/plans", response=list[PlanOut], summary="List a customer's instalment plans"
)
@paginate(Page)
def plans_list(request: HttpRequest, code: Text) -> Any:
    return plan_list(customer=access_customer(user=request.user, code=code))


@collections_router.post(
    "/customers/{path:code}/plans", response={201: PlanOut, **ERRORS}, summary="Agree an instalment plan"
)
def plans_create(request: HttpRequest, code: Text, payload: PlanIn) -> Any:
    """Equal instalments (`count`, `interval_months`) or custom `amounts` and/or `dates`; amounts
    must add up to principal + fee + interest. While current, its invoices leave dunning."""
    customer = access_customer(user=request.user, code=code)
    invoices = _invoices(request, customer, payload.invoices)
    currency = invoices[0].currency
    plan = plan_create(
        customer=customer,
        invoices=invoices,
        start_date=payload.start_date,
        count=payload.count,
        interval_months=payload.interval_months,
        amounts=[money_parse(a, currency, field="amounts") for a in payload.amounts]
        if payload.amounts is not None
        else None,
        dates=payload.dates,
        fee=money_parse(payload.fee, currency, field="fee") if payload.fee is not None else None,
        interest_rate=payload.interest_rate,
        grace_days=payload.grace_days,
        user=request.user,
        notes=payload.notes,
    )
    return Status(201, plan_list(customer=customer).get(pk=plan.pk))


@collections_router.get(
    "/plans/{int:plan_id}", response={200: PlanOut, **ERRORS}, summary="Get an instalment plan"
)
def plans_get(request: HttpRequest, plan_id: int) -> InstalmentPlan:
    return access_plan(user=request.user, plan_id=plan_id)


@collections_router.get(
    "/plans/{int:plan_id}/agreement.pdf",
    response={200: None, **ERRORS},
    summary="The plan's agreement as a PDF",
)
def plans_agreement(request: HttpRequest, plan_id: int, language: str | None = None) -> HttpResponse:
    """In `language` (zh-hans or en; default: the customer's)."""
    plan = access_plan(user=request.user, plan_id=plan_id)
    response = HttpResponse(plan_agreement_pdf(plan=plan, language=language), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="PLAN-{plan.pk}.pdf"'
    return response


# --- tasks ------------------------------------------------------------------------------------


@collections_router.get("/tasks", response=list[TaskOut], summary="List tasks")
@paginate(Page)
def tasks_list(request: HttpRequest, filters: Query[TaskFilters]) -> Any:
    """Tasks of the customers you reach, soonest due first: open ones unless `status` says otherwise."""
    customers = customer_scope(request.user)
    if filters.customer:
        customers = customers.filter(code=filters.customer)
    return task_list(
        customers=customers,
        assignee=request.user if filters.mine else None,
        status=filters.status,
        kind=filters.kind,
        due_on_or_before=filters.due_before,
    )


@collections_router.post(
    "/tasks/{int:task_id}/complete", response={200: TaskOut, **ERRORS}, summary="Complete a task"
)
def tasks_complete(request: HttpRequest, task_id: int) -> Task:
    task = access_task(user=request.user, task_id=task_id)
    task_complete(task=task, user=request.user)
    return access_task(user=request.user, task_id=task_id)


@collections_router.post(
    "/tasks/{int:task_id}/skip", response={200: TaskOut, **ERRORS}, summary="Skip a task"
)
def tasks_skip(request: HttpRequest, task_id: int, payload: TaskSkip) -> Task:
    """Cancel it without doing it; the reason is kept in the audit trail."""
    task = access_task(user=request.user, task_id=task_id)
    task_skip(task=task, user=request.user, reason=payload.reason)
    return access_task(user=request.user, task_id=task_id)
