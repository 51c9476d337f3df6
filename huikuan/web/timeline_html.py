"""The customer timeline's events as HTML, written in Python.

The customer page opens on 25 events, each with two dates, a label, a title, a status chip and
notes; through the template language they were a good share of the page's rendering. The
markup is the one ``web/_customer_timeline.html`` had for each event, every value escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape  # what django.utils.html.escape does, without its lazy-string wrapper

from django.template.defaultfilters import linebreaksbr
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe

from huikuan.web.selectors import TimelineEvent


def timeline_events_html(events: Sequence[TimelineEvent]) -> SafeString:
    """Return the ``<li>`` of each event, as the template's ``date`` filters would show its moment
    (in the current time zone and language)."""
    items = []
    for event in events:
        at = timezone.localtime(event.at) if timezone.is_aware(event.at) else event.at
        if event.dated_only:
            machine, shown = date_format(at, "Y-m-d"), date_format(at, "SHORT_DATE_FORMAT")
        else:
            machine, shown = date_format(at, "c"), date_format(at, "SHORT_DATETIME_FORMAT")
        status = (
            f'<span class="chip status-{escape(event.status_code.lower())}">{escape(event.status)}</span>'
            if event.status
            else ""
        )
        who = f'<span class="muted">· {escape(event.who)}</span>' if event.who else ""
        detail = (
            f'<div class="event-detail">{linebreaksbr(event.detail, autoescape=True)}</div>'
            if event.detail
            else ""
        )
        items.append(
            f'\n    <li class="event event-{escape(event.kind)}">\n'
            f'      <time datetime="{escape(machine)}">{escape(shown)}</time>\n'
            f'      <div class="event-head"><span class="event-kind">{escape(event.label)}</span>\n'
            f'        <span class="event-title">{escape(event.title)}</span>\n'
            f"        {status}\n"
            f"        {who}</div>\n"
            f"      {detail}\n"
            "    </li>"
        )
    return mark_safe("".join(items))  # noqa: S308 - every value above is escaped
