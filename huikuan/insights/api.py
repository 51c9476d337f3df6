"""Debtor types, playbooks and scripts over the API.

Every customer is reached through :mod:`huikuan.accounts.access` (another collector's customer
answers 404 like a missing one); the script library is read by everyone and changed by credit
controllers, managers and administrators.
"""

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from huikuan.accounts.access import access_contact, access_customer, require_role
from huikuan.core.api_errors import InvalidInput, referenced
from huikuan.core.calendars import company_date
from huikuan.core.errors import NotFound
from huikuan.core.schemas import ErrorOut, Page, Text
from huikuan.customers.models import Customer
from huikuan.insights.models import Script
from huikuan.insights.playbook import classification_out
from huikuan.insights.schemas import (
    ClassificationOut,
    ConfirmIn,
    CorrectIn,
    LanguageIn,
    ScriptIn,
    ScriptOut,
    ScriptPatch,
    SuggestedScriptOut,
    VariableOut,
)
from huikuan.insights.scripts import SCRIPT_EDITORS, VARIABLES
from huikuan.insights.selectors import classification_current, classification_history, script_list
from huikuan.insights.services import classification_decide, script_save
from huikuan.insights.suggest import script_for

insights_router = Router(tags=["insights"])

ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


class NotClassified(NotFound):
    code = "not_classified"


class ScriptNotFound(NotFound):
    code = "script_not_found"


def _today() -> Any:
    return company_date(timezone.now())


@insights_router.get(
    "/customers/{path:code}/debtor-type",
    response={200: ClassificationOut, **ERRORS},
    summary="Get a customer's debtor type, evidence, strategy and next best action",
)
def debtor_type_get(request: HttpRequest, code: Text) -> Any:
    """The classification in force: a collector's judgement, else the latest automatic one.
    A customer not overdue at the last run has none (404 not_classified)."""
    customer = access_customer(user=request.user, code=code)
    row = classification_current(customer=customer)
    if row is None:
        raise NotClassified(_("Customer %(code)s has not been classified yet.") % {"code": customer.code})
    return classification_out(row, customer)


@insights_router.get(
    "/customers/{path:code}/debtor-type/history",
    response=list[ClassificationOut],
    summary="List every classification of a customer",
)
@paginate(Page)
def debtor_type_history(request: HttpRequest, code: Text) -> Any:
    """Newest first, automatic ones and collectors' judgements alike."""
    customer = access_customer(user=request.user, code=code)
    return _Mapped(classification_history(customer=customer), customer)


class _Mapped:
    """A queryset whose page is turned into response dictionaries (pagination slices it)."""

    def __init__(self, queryset: Any, customer: Customer) -> None:
        self.queryset, self.customer = queryset, customer

    def __getitem__(self, index: slice) -> list[dict[str, Any]]:
        return [classification_out(row, self.customer) for row in self.queryset[index]]

    def count(self) -> int:
        return int(self.queryset.count())


@insights_router.post(
    "/customers/{path:code}/debtor-type/confirm",
    response={201: ClassificationOut, **ERRORS},
    summary="Confirm a customer's debtor type",
)
def debtor_type_confirm(request: HttpRequest, code: Text, payload: ConfirmIn) -> Any:
    """Kept as the collector's judgement until the rules say something else."""
    customer = access_customer(user=request.user, code=code)
    row = classification_decide(
        customer=customer, user=request.user, as_of=payload.as_of or _today(), note=payload.note
    )
    return Status(201, classification_out(row, customer))


@insights_router.post(
    "/customers/{path:code}/debtor-type/correct",
    response={201: ClassificationOut, **ERRORS},
    summary="Correct a customer's debtor type",
)
def debtor_type_correct(request: HttpRequest, code: Text, payload: CorrectIn) -> Any:
    """The collector's type replaces the automatic one until the record changes materially."""
    customer = access_customer(user=request.user, code=code)
    row = classification_decide(
        customer=customer,
        user=request.user,
        as_of=payload.as_of or _today(),
        debtor_type=payload.debtor_type,
        note=payload.note,
    )
    return Status(201, classification_out(row, customer))


class ScriptQuery(Schema):
    contact_id: int | None = None
    language: LanguageIn | None = None


@insights_router.get(
    "/customers/{path:code}/script",
    response={200: SuggestedScriptOut, **ERRORS},
    summary="Get the script for a call or visit to a customer",
)
def customer_script(request: HttpRequest, code: Text, filters: Query[ScriptQuery]) -> Any:
    """For the customer's debtor type and the contact's personality (default: the primary
    contact), in the language asked for (default: the customer's)."""
    customer = access_customer(user=request.user, code=code)
    contact = None
    if filters.contact_id is not None:
        with referenced():
            contact = access_contact(user=request.user, contact_id=filters.contact_id)
        if contact.customer_id != customer.pk:
            raise InvalidInput(_("That contact belongs to another customer."), code="of_another_customer")
    found = script_for(customer, contact, filters.language or customer.language, as_of=_today())
    if found is None:
        raise ScriptNotFound(_("The library has no script for this customer's debtor type."))
    return found


@insights_router.get("/scripts", response=list[ScriptOut], summary="List the script library")
@paginate(Page)
def scripts_list(request: HttpRequest) -> Any:
    return script_list()


@insights_router.get(
    "/scripts/variables", response=list[VariableOut], summary="List the variables scripts may use"
)
def scripts_variables(request: HttpRequest) -> Any:
    return [{"name": name, "meaning": str(meaning)} for name, meaning in VARIABLES.items()]


def _script(script_id: int) -> Script:
    try:
        return Script.objects.get(pk=script_id)
    except Script.DoesNotExist:
        raise ScriptNotFound(_("Script %(id)s does not exist.") % {"id": script_id})


@insights_router.get("/scripts/{int:script_id}", response={200: ScriptOut, **ERRORS}, summary="Get a script")
def scripts_get(request: HttpRequest, script_id: int) -> Any:
    return _script(script_id)


@insights_router.post("/scripts", response={201: ScriptOut, **ERRORS}, summary="Add a script")
def scripts_create(request: HttpRequest, payload: ScriptIn) -> Any:
    """One per debtor type, personality (or none) and language; unknown variables answer 400."""
    require_role(request.user, *SCRIPT_EDITORS)
    script = script_save(user=request.user, **payload.dict())
    return Status(201, script)


@insights_router.patch(
    "/scripts/{int:script_id}", response={200: ScriptOut, **ERRORS}, summary="Change a script"
)
def scripts_update(request: HttpRequest, script_id: int, payload: ScriptPatch) -> Any:
    require_role(request.user, *SCRIPT_EDITORS)
    script = _script(script_id)
    return script_save(
        user=request.user,
        script=script,
        debtor_type=script.debtor_type,
        personality=script.personality,
        language=script.language,
        title=payload.title if payload.title is not None else script.title,
        body=payload.body if payload.body is not None else script.body,
    )
