"""The worklist's rows as HTML, written in Python.

A page holds 50 rows or more, each with a dozen values and three forms; through the template
language they took two thirds of the time the page cost the server. The markup is the one
``web/_worklist_rows.html`` had: ids, ``data-shortcut`` attributes and labels are what the
keyboard shortcuts and the tests rely on. Every value is escaped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape  # what django.utils.html.escape does, without its lazy-string wrapper

from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from huikuan.customers.models import Grade
from huikuan.web.priority import Priority
from huikuan.web.selectors import WorkItem
from huikuan.web.templatetags.huikuan_web import priority_text, score, score_compact


def worklist_rows_html(
    items: Sequence[WorkItem], *, page_query: str, messages_url: str, csrf_input: str
) -> SafeString:
    """Return the rows of ``items`` (links already on each item), in the reader's language."""
    due_label = escape(_("Due"))
    approve, skip, done = escape(_("Approve")), escape(_("Skip")), escape(_("Done"))
    log_call, log_visit = escape(_("Log call")), escape(_("Log visit"))
    select_label = _("Select the message to %(customer)s")
    query_input = f'<input type="hidden" name="query" value="{escape(page_query)}">'
    messages_url = escape(messages_url)
    grades = {value: escape(str(label)) for value, label in Grade.choices}
    # The cell is the same for every item of one customer in one currency: made once.
    priority_cells: dict[Priority, str] = {}
    rows = []
    for item in items:
        customer = item.customer
        assert customer is not None, "worklist_fill gives every shown item its customer"
        name = escape(customer.name)
        key = escape(item.key)
        customer_url = escape(item.links["customer"])
        hidden_name = f'<span class="visually-hidden"> · {name}</span>'
        select = ""
        if item.source == "message":
            select = (
                f'<input type="checkbox" name="message" value="{item.record_id}" form="bulk" '
                f'id="select-{key}" data-shortcut-select aria-label="'
                f'{escape(select_label % {"customer": customer.name})}">'
            )
            actions = (
                f'\n          <form method="post" action="{messages_url}" hx-post="{messages_url}">{csrf_input}\n'
                f'            {query_input}<input type="hidden" name="message" value="{item.record_id}">\n'
                f'            <button type="submit" name="action" value="approve" data-shortcut="a">{approve}{hidden_name}</button>\n'
                f'            <button type="submit" name="action" value="skip" class="secondary" data-shortcut="s">{skip}{hidden_name}</button>\n'
                "          </form>\n          "
            )
        elif item.source == "task":
            done_url, skip_url = escape(item.links["done"]), escape(item.links["skip"])
            label = log_visit if item.kind == "VISIT" else log_call
            actions = (
                f'\n          <a class="button" href="{customer_url}?task={item.record_id}#log" data-shortcut="c">{label}{hidden_name}</a>\n'
                f'          <form method="post" action="{done_url}">{csrf_input}\n'
                f"            {query_input}\n"
                f'            <button type="submit" class="secondary" hx-post="{done_url}" data-shortcut="d">{done}{hidden_name}</button>\n'
                f'            <button type="submit" class="secondary" formaction="{skip_url}" hx-post="{skip_url}" data-shortcut="s">{skip}{hidden_name}</button>\n'
                "          </form>\n          "
            )
        else:
            actions = f'\n          <a class="button" href="{customer_url}#log" data-shortcut="c">{log_call}{hidden_name}</a>\n          '
        detail = f'<br><span class="muted">{escape(item.detail)}</span>' if item.detail else ""
        due = (
            f'<span class="label-inline">{due_label}: </span>{escape(date_format(item.due_date, "SHORT_DATE_FORMAT"))}'
            if item.due_date
            else ""
        )
        priority_cell = priority_cells.get(item.priority)
        if priority_cell is None:
            priority_cell = priority_cells[item.priority] = (
                f'<td class="num priority"><strong title="{escape(score(item.priority.score))}">'
                f"{escape(score_compact(item.priority.score))}</strong>\n"
                f'          <span class="why">{escape(priority_text(item.priority))}</span></td>'
            )
        rows.append(
            f'\n      <tr id="{key}" data-row tabindex="0" class="kind-{escape(item.kind.lower())}" '
            f'aria-label="{escape(item.kind_label)} · {name}">\n'
            f'        <td class="select">{select}</td>\n'
            f"        {priority_cell}\n"
            f'        <td class="work"><span class="kind">{escape(item.kind_label)}</span><br>{escape(item.title)}{detail}</td>\n'
            f'        <td class="customer"><a href="{customer_url}" data-shortcut-open>{name}</a><br>\n'
            f'          <span class="muted">{escape(customer.code)}</span> <span class="grade grade-{escape(customer.grade)}" '
            f'title="{grades.get(customer.grade) or escape(customer.grade)}">{escape(customer.grade)}</span></td>\n'
            f'        <td class="due">{due}</td>\n'
            f'        <td class="actions-cell"><div class="actions">\n          {actions}\n        </div></td>\n'
            "      </tr>"
        )
    return mark_safe("".join(rows))  # noqa: S308 - every value above is escaped
