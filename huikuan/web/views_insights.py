"""The insights pages: a collector confirms or corrects a customer's debtor type and tags how its
contacts negotiate (from the customer page); controllers, managers and administrators edit the
script library (话术).

Customers are reached through huikuan.accounts.access (another collector's answers 404); views
parse the request and call the insights and customers services.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from huikuan.accounts.access import access_contact, access_customer
from huikuan.accounts.decorators import role_required, write_required
from huikuan.core.calendars import company_date
from huikuan.core.errors import HuikuanError
from huikuan.customers.models import Customer, Personality
from huikuan.customers.services import ContactNotFound, CustomerNotFound, contact_update
from huikuan.insights.models import DebtorType, Script
from huikuan.insights.scripts import LANGUAGES, SCRIPT_EDITORS, VARIABLES
from huikuan.insights.selectors import script_list
from huikuan.insights.services import classification_decide, debtors_classify, script_save

SCRIPTS_PER_PAGE = 50


def _customer(request: HttpRequest, code: str) -> Customer:
    try:
        return access_customer(user=request.user, code=code)
    except CustomerNotFound:
        raise Http404(code)


def _back(customer: Customer) -> HttpResponseRedirect:
    response = HttpResponseRedirect(reverse("web:customer_detail", args=[customer.code]) + "#debtor-type")
    response.status_code = 303
    return response


@require_POST
@write_required
def debtor_type_decide(request: HttpRequest, code: str) -> HttpResponse:
    """Confirm the type in force, correct it to the chosen one, or classify the customer again now."""
    customer = _customer(request, code)
    decision = request.POST.get("decision", "")
    today = company_date(timezone.now())
    try:
        if decision == "assess":
            debtors_classify(as_of=today, customer_ids=[customer.pk], record_run=False)
            messages.success(request, _("The debtor type was assessed again from the record."))
        elif decision in ("confirm", "correct"):
            classification_decide(
                customer=customer,
                user=request.user,
                as_of=today,
                debtor_type=request.POST.get("debtor_type", "") if decision == "correct" else None,
                note=request.POST.get("note", "")[:2000],
            )
            messages.success(request, _("Your judgement of the debtor type is recorded."))
        else:
            messages.error(request, _("Choose to confirm, correct or assess again."))
    except HuikuanError as error:
        messages.error(request, error.message)
    return _back(customer)


@require_POST
@write_required
def contact_personality(request: HttpRequest, code: str, contact_id: int) -> HttpResponse:
    """Tag how a contact negotiates (hard-line, scheming, cooperative, or not judged)."""
    customer = _customer(request, code)
    try:
        contact = access_contact(user=request.user, contact_id=contact_id)
    except ContactNotFound:
        raise Http404(str(contact_id))
    if contact.customer_id != customer.pk:
        raise Http404(str(contact_id))
    personality = request.POST.get("personality", "")
    if personality and personality not in Personality.values:
        messages.error(request, _("Choose hard-line, scheming, cooperative or not judged."))
        return _back(customer)
    contact_update(contact=contact, actor=request.user, personality=personality)
    messages.success(request, _("%(name)s is tagged.") % {"name": contact.name})
    return _back(customer)


class ScriptForm(forms.Form):
    debtor_type = forms.ChoiceField(label=gettext_lazy("Debtor type"), choices=DebtorType.choices)
    personality = forms.ChoiceField(
        label=gettext_lazy("Personality"),
        required=False,
        choices=[("", gettext_lazy("any")), *Personality.choices],
    )
    language = forms.ChoiceField(
        label=gettext_lazy("Language"), choices=[("zh-hans", "简体中文"), ("en", "English")]
    )
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    body = forms.CharField(
        label=gettext_lazy("Script"),
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=gettext_lazy("Write variables as {{ name }}; the list is beside the editor."),
    )


@role_required(*SCRIPT_EDITORS)
def script_library(request: HttpRequest) -> HttpResponse:
    """Every script, by debtor type, personality and language."""
    page = Paginator(script_list(), SCRIPTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "web/insights_scripts.html", {"page": page, "nav": "scripts"})


@role_required(*SCRIPT_EDITORS)
def script_edit(request: HttpRequest, script_id: int | None = None) -> HttpResponse:
    """Add or change a script; unknown variables are refused with the line and the name."""
    script = None
    if script_id is not None:
        script = Script.objects.filter(pk=script_id).first()
        if script is None:
            raise Http404(str(script_id))
    initial = (
        {
            "debtor_type": script.debtor_type,
            "personality": script.personality,
            "language": script.language,
            "title": script.title,
            "body": script.body,
        }
        if script is not None
        else {"language": LANGUAGES[0]}
    )
    form = ScriptForm(request.POST or None, initial=initial)
    if request.method == "POST":
        from huikuan.accounts.access import user_can_write

        if not user_can_write(request.user):
            return render(request, "accounts/read_only.html", status=403)
        if form.is_valid():
            try:
                saved = script_save(user=request.user, script=script, **form.cleaned_data)
            except HuikuanError as error:
                form.add_error("body", error.message)
            else:
                messages.success(request, _("The script “%(title)s” is saved.") % {"title": saved.title})
                response = HttpResponseRedirect(reverse("web:insights_scripts"))
                response.status_code = 303
                return response
    return render(
        request,
        "web/insights_script_edit.html",
        {
            "form": form,
            "script": script,
            "variables": [(name, str(meaning)) for name, meaning in VARIABLES.items()],
            "nav": "scripts",
        },
        status=400 if request.method == "POST" else 200,
    )
