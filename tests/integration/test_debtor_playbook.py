"""The script library and the script offered for a customer's debtor type and contact's personality."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth import get_user_model

from huikuan.customers.services import contact_create
from huikuan.insights.defaults import SHIPPED_SCRIPTS
from huikuan.insights.models import DebtorType, Script
from huikuan.insights.playbook import evidence_text, next_action, personality_tactics, strategy
from huikuan.insights.scripts import ScriptInvalid
from huikuan.insights.services import debtors_classify, script_save
from huikuan.insights.suggest import script_for, scripts_for_customers
from tests.factories import make_customer, make_invoice
from tests.integration.test_debtor_types import AS_OF, malicious_story

pytestmark = pytest.mark.django_db


@pytest.fixture
def collector():
    return get_user_model().objects.create_user("zhao.lei", first_name="Lei", last_name="Zhao", password="x")


def test_the_shipped_scripts_are_installed_once_for_every_type_in_both_languages():
    assert Script.objects.filter(is_shipped_default=True).count() == len(SHIPPED_SCRIPTS)
    for debtor_type in DebtorType.values:
        for language in ("zh-hans", "en"):
            assert Script.objects.filter(debtor_type=debtor_type, personality="", language=language).exists()


def test_a_malicious_debtors_script_names_the_amount_invoices_and_broken_promises(collector, settings):
    settings.HUIKUAN_COMPANY_NAME = "汇款科技"
    customer = malicious_story(collector)
    contact = contact_create(customer=customer, name="王经理", is_primary=True)
    debtors_classify(as_of=AS_OF)

    script = script_for(customer, None, "zh-hans", as_of=AS_OF)

    assert script.debtor_type == DebtorType.MALICIOUS and script.language == "zh-hans"
    invoice = customer.invoices.get()
    assert "王经理您好" in script.text and "汇款科技" in script.text
    assert invoice.number in script.text and "5,000.00 元" in script.text
    assert "已逾期 91 天" in script.text and "有 1 次没有兑现" in script.text
    assert "{{" not in script.text
    assert contact.personality == ""


def test_the_contacts_personality_picks_its_own_script_and_the_type_falls_back_to_the_general_one(collector):
    customer = malicious_story(collector)
    scheming = contact_create(customer=customer, name="Mr Li", personality="scheming")
    cooperative = contact_create(customer=customer, name="Ms Wu", personality="cooperative")
    debtors_classify(as_of=AS_OF)

    own = script_for(customer, scheming, "en", as_of=AS_OF)
    general = script_for(customer, cooperative, "en", as_of=AS_OF)

    assert own.personality == "scheming" and "Mr Li" in own.text and "the person who decides" in own.text
    assert general.personality == "" and general.title.startswith("Malicious")


def test_a_customer_never_classified_gets_the_script_for_finding_the_cause(collector):
    customer = make_customer(collector=collector)
    make_invoice(customer, issue_date=date(2024, 5, 1))

    (script,) = scripts_for_customers([customer], language="en", as_of=AS_OF).values()

    assert script.debtor_type == DebtorType.UNDETERMINED and "Could you tell me why" in script.text


def test_scripts_for_many_customers_take_a_fixed_number_of_queries(collector, django_assert_max_num_queries):
    customers = [make_customer(collector=collector) for _ in range(6)]
    for customer in customers:
        make_invoice(customer, issue_date=date(2024, 5, 1))
    customers = list(
        type(customers[0]).objects.select_related("collector").filter(pk__in=[c.pk for c in customers])
    )

    with django_assert_max_num_queries(5):
        found = scripts_for_customers(customers, language="zh-hans", as_of=AS_OF)

    assert len(found) == 6


def test_a_script_with_an_unknown_variable_is_not_saved(collector):
    script = Script.objects.get(debtor_type="TECHNICAL", personality="", language="en")
    with pytest.raises(ScriptInvalid) as error:
        script_save(
            user=collector,
            script=script,
            debtor_type="TECHNICAL",
            personality="",
            language="en",
            title="Mine",
            body="Hello {{ contact_name }}, you owe {{ total }}.",
        )
    assert "total" in error.value.message
    script.refresh_from_db()
    assert script.is_shipped_default and "{{ total }}" not in script.body


def test_an_edited_script_is_no_longer_a_default_and_a_second_one_for_the_same_slot_is_refused(collector):
    script = Script.objects.get(debtor_type="TECHNICAL", personality="", language="en")
    edited = script_save(
        user=collector,
        script=script,
        debtor_type="TECHNICAL",
        personality="",
        language="en",
        title="Offer a plan",
        body="Hello {{ contact_name }}, shall we agree instalments?",
    )
    assert not edited.is_shipped_default and edited.updated_by == collector
    with pytest.raises(ScriptInvalid):
        script_save(
            user=collector,
            debtor_type="TECHNICAL",
            personality="",
            language="en",
            title="Another",
            body="Hi",
        )


def test_the_playbook_says_what_to_do_next_for_where_the_account_stands():
    assert next_action("MALICIOUS", {}).code == "WRITTEN_ACKNOWLEDGEMENT"
    assert next_action("MALICIOUS", {"promises_written": 1}).code == "STOP_SUPPLY"
    assert next_action("MALICIOUS", {"promises_written": 1, "credit_hold": True}).code == "REFER_TO_LAWYER"
    assert next_action("TECHNICAL", {}).code == "OFFER_INSTALMENT_PLAN"
    assert next_action("TECHNICAL", {"plans_active": 1}).code == "FOLLOW_THE_PLAN"
    assert next_action("COMPETITIVE", {}).code == "CREDIT_HOLD"
    assert next_action("COMPETITIVE", {"credit_hold": True}).code == "PRIORITY_INCENTIVE"
    assert next_action("REASON_BASED", {"disputes_open": 1}).code == "RESOLVE_DISPUTE"
    assert next_action("UNDETERMINED", {}).code == "CALL_TO_FIND_CAUSE"
    assert all(strategy(t) for t in DebtorType.values)
    assert all(personality_tactics(p) for p in ("hard_line", "scheming", "cooperative"))


def test_evidence_reads_in_chinese_and_english():
    from django.utils import translation

    item = {"code": "promises_broken", "count": 2, "last": "2024-04-24"}
    assert evidence_text(item).startswith("2 promises broken")
    with translation.override("zh-hans"):
        assert evidence_text(item)  # the catalogue is filled later; never an error
