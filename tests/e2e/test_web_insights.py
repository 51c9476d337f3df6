"""The debtor type on the customer page, a collector's judgement and personality tags, and the
script library pages."""

from __future__ import annotations

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext

from huikuan.accounts.models import Role
from huikuan.customers.services import contact_create
from huikuan.insights.models import ClassificationSource, DebtorClassification, Script
from huikuan.insights.selectors import classification_current
from huikuan.insights.services import debtors_classify
from tests.e2e.web_builders import make_user, signed_in_client
from tests.integration.test_debtor_types import AS_OF, malicious_story

pytestmark = pytest.mark.django_db


@pytest.fixture
def collector():
    return make_user("zhao.lei", Role.COLLECTOR, name="Zhao Lei")


@pytest.fixture
def customer(collector):
    customer = malicious_story(collector)
    contact_create(customer=customer, name="Mr Li", is_primary=True, personality="scheming")
    debtors_classify(as_of=AS_OF)
    return customer


def page(client, customer) -> str:
    response = client.get(f"/customers/{customer.code}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_customer_page_shows_the_type_evidence_next_action_and_the_script_for_the_contact(
    collector, customer
):
    html = page(signed_in_client(collector), customer)

    assert "Why they do not pay" in html and "malicious" in html
    assert "1 promise broken" in html and "3 contacts unanswered" in html
    assert "Get a written, signed acknowledgement" in html
    assert "Scheming: do not be passed from person to person" in html
    assert "Script for Mr Li" in html and "Hello Mr Li" in html


def test_the_panel_takes_at_most_four_queries_beside_the_page(customer):
    contacts = list(customer.contacts.all())
    template = Template("{% load huikuan_insights %}{% insights_panel customer %}")
    with CaptureQueriesContext(connection) as queries:
        html = template.render(Context({"customer": customer, "contacts": contacts}))
    assert "Mr Li" in html and len(queries.captured_queries) <= 4


def test_a_collector_corrects_the_type_and_it_is_kept_with_the_reason(collector, customer):
    client = signed_in_client(collector)
    response = client.post(
        f"/customers/{customer.code}/debtor-type/",
        {"decision": "correct", "debtor_type": "TECHNICAL", "note": "cash squeeze after a flood"},
    )

    assert response.status_code == 303
    current = classification_current(customer=customer)
    assert current.debtor_type == "TECHNICAL" and current.source == ClassificationSource.COLLECTOR
    assert current.decided_by == collector and current.note == "cash squeeze after a flood"
    assert "cash squeeze after a flood" in page(client, customer)


def test_a_collector_confirms_and_can_ask_for_a_fresh_assessment(collector, customer):
    client = signed_in_client(collector)
    client.post(f"/customers/{customer.code}/debtor-type/", {"decision": "confirm"})
    assert classification_current(customer=customer).source == ClassificationSource.COLLECTOR

    client.post(f"/customers/{customer.code}/debtor-type/", {"decision": "assess"})
    assert DebtorClassification.objects.filter(customer=customer).count() >= 2


def test_another_collectors_customer_answers_404_and_an_auditor_may_not_judge(customer):
    other = signed_in_client(make_user("li.na", Role.COLLECTOR))
    assert other.get(f"/customers/{customer.code}/").status_code == 404
    assert other.post(f"/customers/{customer.code}/debtor-type/", {"decision": "confirm"}).status_code == 404
    auditor = signed_in_client(make_user("audit", Role.AUDITOR))
    response = auditor.post(f"/customers/{customer.code}/debtor-type/", {"decision": "confirm"})
    assert response.status_code == 403


def test_a_collector_tags_a_contacts_personality(collector, customer):
    contact = customer.contacts.get()
    client = signed_in_client(collector)

    response = client.post(
        f"/customers/{customer.code}/contacts/{contact.pk}/personality/", {"personality": "hard_line"}
    )

    assert response.status_code == 303
    contact.refresh_from_db()
    assert contact.personality == "hard_line"
    assert "Hard-line: stay calm" in page(client, customer)
    bad = client.post(
        f"/customers/{customer.code}/contacts/{contact.pk}/personality/", {"personality": "sly"}
    )
    assert bad.status_code == 303
    contact.refresh_from_db()
    assert contact.personality == "hard_line"


def test_the_script_library_is_for_controllers_managers_and_admins(collector):
    assert signed_in_client(collector).get("/insights/scripts/").status_code == 404
    manager = signed_in_client(make_user("boss", Role.MANAGER))
    html = manager.get("/insights/scripts/").content.decode()
    assert "恶意拖欠:锁定书面承诺" in html and "Malicious: secure a written commitment" in html


def test_saving_a_script_with_an_unknown_variable_shows_the_error_and_keeps_the_old_text():
    controller = signed_in_client(make_user("kong", Role.CREDIT_CONTROLLER))
    script = Script.objects.get(debtor_type="MALICIOUS", personality="", language="en")
    data = {
        "debtor_type": "MALICIOUS",
        "personality": "",
        "language": "en",
        "title": script.title,
        "body": "Hello {{ contact_name }},\nplease pay {{ total_due }}.",
    }

    response = controller.post(f"/insights/scripts/{script.pk}/", data)

    assert response.status_code == 400
    assert "line 2: unknown variable “total_due”" in response.content.decode()
    script.refresh_from_db()
    assert "total_due" not in script.body
    data["body"] = "Hello {{ contact_name }},\nplease pay {{ amount_overdue }}."
    assert controller.post(f"/insights/scripts/{script.pk}/", data).status_code == 303
    script.refresh_from_db()
    assert "{{ amount_overdue }}" in script.body


def test_the_script_library_takes_the_same_queries_for_few_or_many_scripts(django_assert_max_num_queries):
    manager = signed_in_client(make_user("boss", Role.MANAGER))
    manager.get("/insights/scripts/")  # the session and the user are read once
    with CaptureQueriesContext(connection) as few:
        manager.get("/insights/scripts/")
    for n, personality in enumerate(["hard_line", "scheming", "cooperative"] * 3):
        Script.objects.get_or_create(
            debtor_type=["TECHNICAL", "COMPETITIVE", "REASON_BASED"][n // 3],
            personality=personality,
            language="en",
            defaults={"title": f"Extra {n}", "body": "Hi"},
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        manager.get("/insights/scripts/")


def test_the_admin_refuses_a_script_with_an_unknown_variable():
    from django.contrib.auth import get_user_model

    admin_user = get_user_model().objects.create_superuser("root", password="x")
    client = signed_in_client(admin_user)
    script = Script.objects.get(debtor_type="TECHNICAL", personality="", language="zh-hans")

    response = client.post(
        f"/admin/insights/script/{script.pk}/change/",
        {
            "debtor_type": "TECHNICAL",
            "personality": "",
            "language": "zh-hans",
            "title": "x",
            "body": "{{ owed }}",
        },
    )

    assert response.status_code == 200 and "owed" in response.content.decode()
    script.refresh_from_db()
    assert script.title != "x"
