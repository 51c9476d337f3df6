"""The worklist (the home page): today's work, bulk approval of messages, tasks done or skipped.

Views only parse the request and call selectors and services. Every read starts from the
user's scope (huikuan.accounts.access); every write is refused to read-only roles.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import quote, urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import RFC3986_SUBDELIMS
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
from huikuan.web.selectors import (
    WorkItem,
    WorklistFilters,
    worklist_build,
    worklist_fill,
    worklist_kind_choices,
)
from huikuan.web.worklist_html import worklist_rows_html

# The list opens on its first 50 items, highest priority first; "Show more" adds 50 at a time
# (a collector works top-down). ``shown`` in the address keeps how many are on screen, up to
# SHOWN_MAX, so that the list comes back the same after an action.
ITEMS_STEP = 50
SHOWN_MAX = 1000
# What reverse() leaves unquoted in a path (django.urls.resolvers).
URL_SAFE = RFC3986_SUBDELIMS + "/~:@"
# Roles whose pages honour an ``as_of`` other than today (to look back, or to rehearse a date).
AS_OF_ROLES = frozenset({Role.MANAGER, Role.ADMIN})
# Filters the worklist keeps across its own actions.
FILTER_KEYS = ("kind", "q", "everyone", "as_of", "shown")


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


def _link_maker(name: str, sentinel: str) -> Callable[[object], str]:
    """Return a function giving ``reverse(name, args=[value])`` for any value, reversing once.

    A page of the worklist links each row to its customer and its task's actions; reversing
    each link is a good share of the time it takes to show the page.
    """
    head, tail = reverse(name, args=[sentinel]).split(sentinel)
    return lambda value: f"{head}{quote(str(value), safe=URL_SAFE)}{tail}"


def _links_add(items: list[WorkItem]) -> None:
    customer = _link_maker("web:customer_detail", "customer-code")
    done = _link_maker("web:task_done", "987654321")
    skip = _link_maker("web:task_skip", "987654321")
    for item in items:
        item.links = {"customer": customer(item.customer_code)}
        if item.source == "task":
            item.links |= {"done": done(item.record_id), "skip": skip(item.record_id)}


def _number(value: str | None, *, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(value or default)))
    except ValueError:
        return default


def _back_to_worklist(request: HttpRequest) -> HttpResponseRedirect:
    """See the worklist again with the filters it was showing (303: the browser GETs it).

    With htmx the address the browser shows says it best (rows added by "Show more" moved it on);
    without, the form's own copy of the filters does.
    """
    shown_at = urlsplit(getattr(htmx_of(request), "current_url", None) or "")
    if shown_at.path == reverse("web:home"):
        query = _filters_query(QueryDict(shown_at.query))
    else:
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
    shown = _number(request.GET.get("shown"), default=ITEMS_STEP, low=ITEMS_STEP, high=SHOWN_MAX)
    htmx = htmx_of(request)
    if htmx and not htmx.boosted and "offset" in request.GET:
        # "Show more": only the rows that follow the ones on screen.
        offset = _number(request.GET.get("offset"), default=0, low=0, high=SHOWN_MAX)
        work = worklist_build(
            user=request.user, as_of=as_of, filters=filters, offset=offset, limit=max(0, shown - offset)
        )
        template = "web/_worklist_rows.html"
    else:
        work = worklist_build(user=request.user, as_of=as_of, filters=filters, limit=shown)
        # htmx asks for the list alone when filtering or after an action.
        template = "web/_worklist.html" if htmx and not htmx.boosted else "web/worklist.html"
    worklist_fill(items=work.items, as_of=as_of)
    _links_add(work.items)
    query = request.GET.copy()
    for key in ("shown", "offset"):
        query.pop(key, None)
    filters_query = _filters_query(query)

    def showing(count: int) -> str:
        shown_part = f"shown={count}" if count != ITEMS_STEP else ""
        return "&".join(part for part in (filters_query, shown_part) if part)

    end = work.offset + len(work.items)
    page_query = showing(max(ITEMS_STEP, end))
    # One hidden field for the many forms of the rows, made once.
    csrf_input = format_html(
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request)
    )
    context = {
        "form": form,
        "as_of": as_of,
        "as_of_allowed": user_role(request.user) in AS_OF_ROLES,
        "worklist": work,
        "page": work.items,
        # Forms carry the filters and how many rows are on screen, to come back to the same list.
        "page_query": page_query,
        "rows": worklist_rows_html(
            work.items,
            page_query=page_query,
            messages_url=reverse("web:worklist_messages"),
            csrf_input=csrf_input,
        ),
        "more": work.more and end < SHOWN_MAX,
        "more_query": showing(end + ITEMS_STEP),
        "more_offset": end,
        "total": work.total,
        "nav": "worklist",
    }
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
