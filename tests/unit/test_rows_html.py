"""The worklist's rows and the timeline's events, written in Python, are the markup the
templates wrote (the templates are kept here as they were, to compare with)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.template import engines
from django.utils import timezone, translation
from django.utils.safestring import mark_safe

from huikuan.web.priority import priority_compute
from huikuan.web.selectors import TimelineEvent, WorkCustomer, WorkItem
from huikuan.web.timeline_html import timeline_events_html
from huikuan.web.worklist_html import worklist_rows_html

ROWS_TEMPLATE = """{% load i18n huikuan_web %}{% translate "Due" as due_label %}{% translate "Approve" as approve_label %}{% translate "Skip" as skip_label %}{% translate "Done" as done_label %}{% translate "Log call" as call_label %}{% translate "Log visit" as visit_label %}{% for item in page %}
      <tr id="{{ item.key }}" data-row tabindex="0" class="kind-{{ item.kind|lower }}" aria-label="{{ item.kind_label }} · {{ item.customer.name }}">
        <td class="select">{% if item.source == "message" %}<input type="checkbox" name="message" value="{{ item.record_id }}" form="bulk" id="select-{{ item.key }}" data-shortcut-select aria-label="{% blocktranslate with customer=item.customer.name %}Select the message to {{ customer }}{% endblocktranslate %}">{% endif %}</td>
        <td class="num priority"><strong title="{{ item.priority.score|score }}">{{ item.priority.score|score_compact }}</strong>
          <span class="why">{{ item.priority|priority_text }}</span></td>
        <td class="work"><span class="kind">{{ item.kind_label }}</span><br>{{ item.title }}{% if item.detail %}<br><span class="muted">{{ item.detail }}</span>{% endif %}</td>
        <td class="customer"><a href="{{ item.links.customer }}" data-shortcut-open>{{ item.customer.name }}</a><br>
          <span class="muted">{{ item.customer.code }}</span> <span class="grade grade-{{ item.customer.grade }}" title="{{ item.customer.get_grade_display }}">{{ item.customer.grade }}</span></td>
        <td class="due">{% if item.due_date %}<span class="label-inline">{{ due_label }}: </span>{{ item.due_date|date:"SHORT_DATE_FORMAT" }}{% endif %}</td>
        <td class="actions-cell"><div class="actions">
          {% if item.source == "message" %}
          <form method="post" action="{{ messages_url }}" hx-post="{{ messages_url }}">{{ csrf_input }}
            <input type="hidden" name="query" value="{{ page_query }}"><input type="hidden" name="message" value="{{ item.record_id }}">
            <button type="submit" name="action" value="approve" data-shortcut="a">{{ approve_label }}<span class="visually-hidden"> · {{ item.customer.name }}</span></button>
            <button type="submit" name="action" value="skip" class="secondary" data-shortcut="s">{{ skip_label }}<span class="visually-hidden"> · {{ item.customer.name }}</span></button>
          </form>
          {% elif item.source == "task" %}
          <a class="button" href="{{ item.links.customer }}?task={{ item.record_id }}#log" data-shortcut="c">{% if item.kind == "VISIT" %}{{ visit_label }}{% else %}{{ call_label }}{% endif %}<span class="visually-hidden"> · {{ item.customer.name }}</span></a>
          <form method="post" action="{{ item.links.done }}">{{ csrf_input }}
            <input type="hidden" name="query" value="{{ page_query }}">
            <button type="submit" class="secondary" hx-post="{{ item.links.done }}" data-shortcut="d">{{ done_label }}<span class="visually-hidden"> · {{ item.customer.name }}</span></button>
            <button type="submit" class="secondary" formaction="{{ item.links.skip }}" hx-post="{{ item.links.skip }}" data-shortcut="s">{{ skip_label }}<span class="visually-hidden"> · {{ item.customer.name }}</span></button>
          </form>
          {% else %}
          <a class="button" href="{{ item.links.customer }}#log" data-shortcut="c">{{ call_label }}<span class="visually-hidden"> · {{ item.customer.name }}</span></a>
          {% endif %}
        </div></td>
      </tr>{% endfor %}"""

TIMELINE_TEMPLATE = """{% for event in timeline %}
    <li class="event event-{{ event.kind }}">
      <time datetime="{% if event.dated_only %}{{ event.at|date:'Y-m-d' }}{% else %}{{ event.at|date:'c' }}{% endif %}">{% if event.dated_only %}{{ event.at|date:"SHORT_DATE_FORMAT" }}{% else %}{{ event.at|date:"SHORT_DATETIME_FORMAT" }}{% endif %}</time>
      <div class="event-head"><span class="event-kind">{{ event.label }}</span>
        <span class="event-title">{{ event.title }}</span>
        {% if event.status %}<span class="chip status-{{ event.status_code|lower }}">{{ event.status }}</span>{% endif %}
        {% if event.who %}<span class="muted">· {{ event.who }}</span>{% endif %}</div>
      {% if event.detail %}<div class="event-detail">{{ event.detail|linebreaksbr }}</div>{% endif %}
    </li>{% endfor %}"""

LINKS = {"customer": "/customers/A%26B/", "done": "/tasks/1/done/", "skip": "/tasks/1/skip/"}


def _item(
    key: str, kind: str, *, name: str, grade: str, detail: str = "", due: date | None = None
) -> WorkItem:
    priority = priority_compute(
        overdue=Decimal("12000.00"), currency="CNY", days=45, grade=grade, broken_promises=2
    )
    item = WorkItem(
        key=key,
        kind=kind,
        record_id=int(key.split("-")[1]),
        customer_id=1,
        customer_code='A&B "7"',
        due_date=due,
        priority=priority,
        grade=grade,
    )
    item.customer = WorkCustomer(code=item.customer_code, name=name, grade=grade)
    item.kind_label, item.title, item.detail, item.links = kind.lower(), f"<{kind}> title", detail, LINKS
    return item


ITEMS = [
    _item("task-1", "CALL", name="上海 <华东> & Co", grade="C", due=date(2026, 12, 1)),
    _item("task-2", "VISIT", name="O'Brien", grade="A", detail="note"),
    _item("message-3", "APPROVAL", name='"Quoted"', grade="Z", detail="Subject <b>"),
    _item("promise-4", "PROMISE_DUE", name="Plain", grade="D", due=date(2026, 12, 6), detail="王会计"),
]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_worklist_rows_are_what_the_template_wrote(language):
    context = {
        "page": ITEMS,
        "page_query": "kind=CALL&q=<x>",
        "messages_url": "/worklist/messages/",
        "csrf_input": mark_safe('<input type="hidden" name="csrfmiddlewaretoken" value="t">'),
    }
    with translation.override(language):
        expected = engines["django"].from_string(ROWS_TEMPLATE).render(context)
        written = worklist_rows_html(
            ITEMS,
            page_query=context["page_query"],
            messages_url=context["messages_url"],
            csrf_input=context["csrf_input"],
        )

    assert written == expected


EVENTS = [
    TimelineEvent(
        at=datetime(2026, 12, 5, 23, 30, tzinfo=UTC),
        kind="call",
        label="call",
        title="reached · 王 <芳>",
        detail="line one\nline <two> & three",
        status="next action 12/08/2026",
        who="Alice O'Neil",
    ),
    TimelineEvent(
        at=timezone.make_aware(datetime(2026, 12, 4)),
        kind="payment",
        label="payment",
        title="1,000.00 CNY",
        dated_only=True,
    ),
    TimelineEvent(
        at=datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
        kind="promise",
        label="promise to pay",
        title="12,000.00 CNY by 12/31/2026",
        status="broken",
        status_code="BROKEN",
    ),
]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_timeline_events_are_what_the_template_wrote(language):
    with translation.override(language):
        expected = engines["django"].from_string(TIMELINE_TEMPLATE).render({"timeline": EVENTS})
        written = timeline_events_html(EVENTS)

    assert written == expected
