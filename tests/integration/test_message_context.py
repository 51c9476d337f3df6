"""The plain-data context of messages: what it says, and built in a fixed number of queries."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from huikuan.customers.models import Contact
from huikuan.dunning.models import Charge, ChargeKind, Stage
from huikuan.messaging.context import (
    DEADLINE_DAYS,
    message_context_for_action,
    message_context_for_actions,
    message_context_for_messages,
    message_context_preview,
)
from huikuan.messaging.models import Template
from huikuan.messaging.rendering import render_template
from tests.factories import make_action, make_customer, make_invoice, make_outbox_message

pytestmark = pytest.mark.django_db

AS_OF = date(2024, 3, 15)


@pytest.fixture(autouse=True)
def _company(settings):
    settings.HUIKUAN_COMPANY_NAME = "上海汇通贸易有限公司"
    settings.HUIKUAN_COMPANY_ADDRESS = "上海市浦东新区世纪大道100号"
    settings.HUIKUAN_PAYMENT_INSTRUCTIONS = "开户行：招商银行上海分行\n账号：1219 0000 0000 001"


def customer_with_invoices(n: int = 0, *, language: str = "zh-hans", contact_language: str = ""):
    customer = make_customer(name=f"华南贸易{n}", legal_name=f"华南贸易有限公司{n}", language=language)
    Contact.objects.create(customer=customer, name="王芳", email="wf@example.com", language=contact_language)
    invoices = [
        make_invoice(customer, amount="12345.67", issue_date=date(2024, 1, 1), due_days=30),
        make_invoice(customer, amount="500.00", issue_date=date(2023, 12, 1), due_days=30),
    ]
    return customer, invoices


def messages_for(count: int) -> list:
    messages = []
    for n in range(count):
        customer, invoices = customer_with_invoices(n)
        action = make_action(customer, invoices, as_of=AS_OF)
        Charge.objects.create(
            kind=ChargeKind.INTEREST,
            customer=customer,
            invoice=invoices[0],
            action=action,
            currency="CNY",
            amount_minor=1234,
            charge_date=AS_OF,
        )
        messages.append(make_outbox_message(action, "EMAIL"))
    return messages


def test_the_context_of_a_formal_notice_names_invoices_amounts_charges_and_deadline():
    (message,) = messages_for(1)
    Charge.objects.create(
        kind=ChargeKind.FEE,
        customer=message.customer,
        action=message.action,
        currency="CNY",
        amount_minor=5000,
        charge_date=AS_OF,
        waived_at=timezone.now(),  # a waived charge is not claimed
    )

    context = message_context_for_messages([message])[message.id]

    assert context["language"] == "zh-hans"
    assert [invoice["number"] for invoice in context["invoices"]] == [
        line.invoice.number for line in message.action.invoice_lines.order_by("invoice__due_date")
    ]
    first, second = context["invoices"]
    assert (first["open_amount"], first["due_date"], first["days_overdue"]) == ("500.00", "2023-12-31", 75)
    assert (second["open_amount"], second["open_amount_text"]) == ("12,345.67", "12,345.67 元")
    assert context["amount_due"] == "12,845.67 元"
    assert context["max_days_overdue"] == 75
    assert [(charge["kind"], charge["text"]) for charge in context["charges"]] == [("INTEREST", "12.34 元")]
    assert context["amount_due_with_charges"] == "12,858.01 元"
    assert context["deadline_iso"] == date(2024, 3, 15 + DEADLINE_DAYS).isoformat()
    assert context["deadline"] == "2024年3月22日"
    assert context["company"]["payment_instructions"].startswith("开户行")
    assert context["customer"]["legal_name"] == "华南贸易有限公司0"
    assert context["contact"] == {"name": "王芳"}
    assert context["stage"]["name"] == "Formal notice"


def test_the_sender_is_the_stages_voice():
    (message,) = messages_for(1)
    rep = get_user_model().objects.create_user("li", first_name="娜", last_name="李")
    customer = message.customer
    customer.sales_rep = rep
    customer.save()
    message.sender_role = "SALES_REP"

    context = message_context_for_messages([message])[message.id]

    assert context["sender"]["name"] in {"娜 李", "李 娜"}
    message.sender_role = "COMPANY"
    assert message_context_for_messages([message])[message.id]["sender"]["name"] == "上海汇通贸易有限公司"


def test_the_contacts_language_wins_over_the_customers():
    customer, invoices = customer_with_invoices(language="zh-hans", contact_language="en")
    message = make_outbox_message(make_action(customer, invoices, as_of=AS_OF), "EMAIL")

    context = message_context_for_messages([message])[message.id]

    assert context["language"] == "en"
    assert context["amount_due"] == "CNY 12,845.67"
    assert context["deadline"] == "22 March 2024"


def test_the_context_is_in_the_language_of_the_template_that_will_be_used():
    (message,) = messages_for(1)
    Template.objects.filter(key="formal-notice", channel="EMAIL", language="zh-hans").delete()

    context = message_context_for_messages([message])[message.id]
    rendered = render_template(
        key="formal-notice", channel="EMAIL", language=context["language"], context=context
    )

    assert context["language"] == "en" and rendered.language == "en"
    assert "CNY 12,845.67" in rendered.text


@pytest.mark.parametrize("count", [1, 20])
def test_contexts_for_a_batch_of_messages_take_six_queries_whatever_its_size(
    count, django_assert_num_queries
):
    messages = messages_for(count)

    with django_assert_num_queries(6):
        contexts = message_context_for_messages(messages)

    assert len(contexts) == count
    assert all(len(context["invoices"]) == 2 and context["charges"] for context in contexts.values())


@pytest.mark.parametrize("count", [1, 20])
def test_contexts_for_a_batch_of_actions_take_six_queries_whatever_its_size(count, django_assert_num_queries):
    action_ids = [message.action_id for message in messages_for(count)]

    with django_assert_num_queries(6):
        contexts = message_context_for_actions(action_ids, channel="SCRIPT")

    assert sorted(contexts) == sorted(action_ids)


def test_the_context_of_one_action_renders_its_call_script():
    (message,) = messages_for(1)

    context = message_context_for_action(message.action)
    rendered = render_template(key="call", channel="SCRIPT", language=context["language"], context=context)

    assert "12,845.67 元" in rendered.text and "王芳" in rendered.text


def test_a_preview_builds_the_same_context_from_invoices_without_an_action():
    customer, invoices = customer_with_invoices(contact_language="zh-hans")
    stage = Stage.objects.get(policy__code="standard", name="Friendly reminder")

    context = message_context_preview(
        customer=customer, invoices=invoices, stage=stage, as_of=AS_OF, language=""
    )
    rendered = render_template(key="friendly", channel="EMAIL", language=context["language"], context=context)

    assert context["amount_due"] == "12,845.67 元"
    assert [invoice["days_overdue"] for invoice in context["invoices"]] == [75, 44]
    assert context["charges"] == []
    for invoice in invoices:
        assert invoice.number in rendered.text and invoice.number in rendered.html
    assert "2024年3月22日" in rendered.text


def test_a_later_letter_shows_the_interest_accrued_since_the_due_date_not_just_this_runs_increment():
    from huikuan.dunning.charges import charges_book_for_run
    from huikuan.dunning.models import ContractTerms, InterestRule

    customer = make_customer(language="en")
    ContractTerms.objects.create(customer=customer, interest_rule=InterestRule.CONTRACT, annual_rate="12")
    invoice = make_invoice(customer, amount="10000.00", issue_date=date(2024, 1, 1), due_days=30)
    first = make_action(customer, [invoice], as_of=date(2024, 3, 1))  # the formal notice starts interest
    charges_book_for_run(run=first.run)
    second = make_action(customer, [invoice], as_of=date(2024, 4, 1))
    charges_book_for_run(run=second.run)

    contexts = message_context_for_actions([first.id, second.id], channel="LETTER")

    # 10,000 x 12 % x 30 / 365 = 98.63 to 1 March; x 61 / 365 = 200.55 to 1 April, of which the
    # second run booked 101.92. Each letter claims the interest to its own date.
    assert [(c["kind"], c["invoice"], c["amount"]) for c in contexts[first.id]["charges"]] == [
        ("INTEREST", invoice.number, "98.63")
    ]
    assert [(c["kind"], c["invoice"], c["amount"]) for c in contexts[second.id]["charges"]] == [
        ("INTEREST", invoice.number, "200.55")
    ]
    assert contexts[second.id]["amount_due_with_charges"] == "CNY 10,200.55"
    assert sorted(Charge.objects.values_list("amount_minor", flat=True)) == [9_863, 10_192]
