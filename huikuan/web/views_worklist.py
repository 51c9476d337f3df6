"""The worklist (the home page): today's work, bulk approval of messages, tasks done or skipped.

Views only parse the request and call selectors and services. Every read starts from the
user's scope (huikuan.accounts.access); every write is refused to read-only roles.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from huikuan.accounts.access import scope_filter, user_role
from huikuan.accounts.decorators import write_required
from huikuan.accounts.models import Role
from huikuan.collections.models import Task
from huikuan.core.errors import HuikuanError
from huikuan.messaging.models import OutboxMessage
from huikuan.messaging.services import outbox_approve, outbox_cancel
from huikuan.web.forms import MessagesActionForm, TaskSkipForm, WorklistForm
from huikuan.web.selectors import WorklistFilters, worklist_build, worklist_fill, worklist_kind_choices

ITEMS_PER_PAGE = 50
# Roles whose pages honour an ``as_of`` other than today (to look back, or to rehearse a date).
AS_OF_ROLES = frozenset({Role.MANAGER, Role.ADMIN})
# Filters the worklist keeps across its own actions.
FILTER_KEYS = ("kind", "q", "everyone", "as_of", "page")


def htmx_of(request: HttpRequest) -> Any:
    """Return what django-htmx's middleware says of the request (false for a plain one)."""
    return getattr(request, "htmx", None)


def page_as_of(request: HttpRequest, requested: date | None) -> date:
    """Return the business date the page shows: today, or the requested date for managers and admins."""
    if requested is not None and user_role(request.user) in AS_OF_ROLES:
        return requested
    return timezone.localdate()


def _filters_query(data: QueryDict) -> str:
    """Return the worklist filters found in ``data`` as a query string (nothing else passes)."""
    query = QueryDict(mutable=True)
    for key in FILTER_KEYS:
        values = [value for value in data.getlist(key) if value]
        if values:
            query.setlist(key, values[:1])
    return query.urlencode()


def _back_to_worklist(request: HttpRequest) -> HttpResponseRedirect:
    """See the worklist again with the filters it was showing (303: the browser GETs it)."""
    query = _filters_query(QueryDict(request.POST.get("query", "")))
    response = HttpResponseRedirect(reverse("web:home") + (f"?{query}" if query else ""))
    response.status_code = 303
    return response


@login_required
def worklist(request: HttpRequest) -> HttpResponse:
    """Today's work for the signed-in user, highest priority first, each row saying why."""
    form = WorklistForm(request.GET or None, kinds=worklist_kind_choices())
    data: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    as_of = page_as_of(request, data.get("as_of"))
    filters = WorklistFilters(
        kind=data.get("kind") or "",
        search=(data.get("q") or "").strip(),
        everyone=bool(data.get("everyone")),
    )
    work = worklist_build(user=request.user, as_of=as_of, filters=filters)
    page = Paginator(work.items, ITEMS_PER_PAGE).get_page(request.GET.get("page"))
    worklist_fill(items=list(page.object_list), as_of=as_of)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "as_of": as_of,
        "as_of_allowed": user_role(request.user) in AS_OF_ROLES,
        "worklist": work,
        "page": page,
        "query": _filters_query(query),
        "page_query": _filters_query(request.GET),
        "total": sum(work.counts.values()),
        "nav": "worklist",
    }
    # htmx asks for the list alone when filtering, paging or after an action.
    template = (
        "web/_worklist.html" if htmx_of(request) and not htmx_of(request).boosted else "web/worklist.html"
    )
    return render(request, template, context)


@require_POST
@write_required
def worklist_messages(request: HttpRequest) -> HttpResponse:
    """Approve or skip the selected messages awaiting approval (only those the user reaches)."""
    form = MessagesActionForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return _back_to_worklist(request)
    reachable = list(
        scope_filter(OutboxMessage.objects.filter(pk__in=form.cleaned_data["message"]), user=request.user)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not reachable:
        raise Http404
    if form.cleaned_data["action"] == MessagesActionForm.APPROVE:
        change = outbox_approve(message_ids=reachable, user=request.user, now=timezone.now())
        done = ngettext("%(count)s message approved.", "%(count)s messages approved.", len(change.changed))
    else:
        change = outbox_cancel(message_ids=reachable, user=request.user, reason=_("skipped on the worklist"))
        done = ngettext("%(count)s message skipped.", "%(count)s messages skipped.", len(change.changed))
    messages.success(request, done % {"count": len(change.changed)})
    if change.unchanged:
        messages.warning(
            request,
            ngettext(
                "%(count)s message had already moved on and was left as it was.",
                "%(count)s messages had already moved on and were left as they were.",
                len(change.unchanged),
            )
            % {"count": len(change.unchanged)},
        )
    return _back_to_worklist(request)


def _task_in_scope(request: HttpRequest, task_id: int) -> Task:
    task = scope_filter(Task.objects.filter(pk=task_id), user=request.user).select_related("customer").first()
    if task is None:
        raise Http404
    return task


@require_POST
@write_required
def task_done(request: HttpRequest, task_id: int) -> HttpResponse:
    """Mark one task done."""
    from huikuan.collections.services import task_complete

    task = _task_in_scope(request, task_id)
    try:
        task_complete(task=task, user=request.user, now=timezone.now())
    except HuikuanError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Done: %(title)s") % {"title": task.title})
    return _back_to_worklist(request)


@require_POST
@write_required
def task_skip(request: HttpRequest, task_id: int) -> HttpResponse:
    """Skip one task, with an optional reason kept in the audit trail."""
    from huikuan.collections.services import task_skip as skip

    task = _task_in_scope(request, task_id)
    form = TaskSkipForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        skip(task=task, user=request.user, reason=reason, now=timezone.now())
    except HuikuanError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Skipped: %(title)s") % {"title": task.title})
    return _back_to_worklist(request)
