"""The insights API: a customer's debtor type with its evidence, confirming and correcting it,
the script for a call, and the script library."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from huikuan.accounts.models import Profile, Role
from huikuan.core.auth import api_token_create
from huikuan.customers.services import contact_create
from huikuan.insights.models import Script
from huikuan.insights.services import debtors_classify
from tests.e2e.api_client import ApiClient, api, api_token, api_user, assert_error  # noqa: F401
from tests.factories import make_customer
from tests.integration.test_debtor_types import AS_OF, malicious_story

pytestmark = pytest.mark.django_db


def client_with(username: str, role: Role) -> tuple[ApiClient, object]:
    user = get_user_model().objects.create_user(username=username)
    Profile.objects.create(user=user, role=role)
    _token, key = api_token_create(user=user)
    return ApiClient(key), user


@pytest.fixture
def malicious(api_user):
    customer = malicious_story(api_user)
    debtors_classify(as_of=AS_OF)
    return customer


def test_the_debtor_type_comes_with_its_evidence_strategy_and_next_action(api, malicious):
    response = api.get(f"/insights/customers/{malicious.code}/debtor-type")

    assert response.status_code == 200
    body = response.json()
    assert body["debtor_type"] == "MALICIOUS" and body["source"] == "AUTOMATIC"
    broken = next(item for item in body["evidence"] if item["code"] == "promises_broken")
    assert broken["figures"] == {"count": 1, "last": "2024-04-24"} and "1 promise broken" in broken["text"]
    assert body["next_action"]["code"] == "WRITTEN_ACKNOWLEDGEMENT" and body["strategy"]


def test_a_customer_never_classified_answers_not_classified(api):
    customer = make_customer()
    response = api.get(f"/insights/customers/{customer.code}/debtor-type")
    assert_error(response, 404, "not_classified")


def test_a_correction_is_kept_and_shows_in_the_history(api, malicious):
    response = api.post(
        f"/insights/customers/{malicious.code}/debtor-type/correct",
        {"debtor_type": "TECHNICAL", "note": "owner ill; paid well for years", "as_of": "2024-06-30"},
    )
    assert response.status_code == 201, response.content
    assert response.json()["source"] == "COLLECTOR" and response.json()["automatic_type"] == "MALICIOUS"
    debtors_classify(as_of=AS_OF)

    current = api.get(f"/insights/customers/{malicious.code}/debtor-type").json()
    history = api.get(f"/insights/customers/{malicious.code}/debtor-type/history").json()

    assert current["debtor_type"] == "TECHNICAL" and current["decided_by"] == "clerk"
    assert [item["debtor_type"] for item in history["items"]] == ["TECHNICAL", "MALICIOUS"]
    assert history["count"] == 2


def test_confirming_and_bad_types(api, malicious):
    confirmed = api.post(f"/insights/customers/{malicious.code}/debtor-type/confirm", {})
    assert confirmed.status_code == 201 and confirmed.json()["debtor_type"] == "MALICIOUS"
    wrong = api.post(f"/insights/customers/{malicious.code}/debtor-type/correct", {"debtor_type": "GREEDY"})
    assert_error(wrong, 400, "validation_error")


def test_another_collectors_customer_answers_404_and_an_auditor_cannot_correct(malicious):
    stranger, _user = client_with("li", Role.COLLECTOR)
    assert_error(stranger.get(f"/insights/customers/{malicious.code}/debtor-type"), 404, "customer_not_found")
    auditor, _user = client_with("audit", Role.AUDITOR)
    assert auditor.get(f"/insights/customers/{malicious.code}/debtor-type").status_code == 200
    response = auditor.post(
        f"/insights/customers/{malicious.code}/debtor-type/correct", {"debtor_type": "TECHNICAL"}
    )
    assert response.status_code == 403


def test_the_script_for_a_call_follows_the_contacts_personality(api, malicious):
    contact = contact_create(customer=malicious, name="Mr Li", personality="scheming")

    response = api.get(
        f"/insights/customers/{malicious.code}/script", {"contact_id": contact.pk, "language": "en"}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["personality"] == "scheming" and body["text"].startswith("Hello Mr Li")


def test_a_contact_of_another_customer_is_refused(api, malicious):
    other = make_customer()
    contact = contact_create(customer=other, name="Someone")
    response = api.get(f"/insights/customers/{malicious.code}/script", {"contact_id": contact.pk})
    assert_error(response, 400, "of_another_customer")


def test_the_library_is_edited_by_controllers_and_unknown_variables_are_refused(api):
    script = Script.objects.get(debtor_type="COMPETITIVE", personality="", language="en")

    bad = api.patch(f"/insights/scripts/{script.pk}", {"body": "Pay {{ amount_due }} now."})
    good = api.patch(
        f"/insights/scripts/{script.pk}", {"body": "Pay {{ amount_overdue }} now, {{ contact_name }}."}
    )

    assert_error(bad, 400, "script_variable_unknown")
    assert "amount_due" in bad.json()["message"]
    assert good.status_code == 200 and good.json()["is_shipped_default"] is False
    listed = api.get("/insights/scripts", {"page_size": 100}).json()
    assert listed["count"] == Script.objects.count()
    names = [item["name"] for item in api.get("/insights/scripts/variables").json()]
    assert "amount_overdue" in names


def test_collectors_may_read_the_library_but_not_change_it(api):
    collector, _user = client_with("wang", Role.COLLECTOR)
    script = Script.objects.first()
    assert collector.get(f"/insights/scripts/{script.pk}").status_code == 200
    response = collector.post(
        "/insights/scripts",
        {
            "debtor_type": "TECHNICAL",
            "personality": "hard_line",
            "language": "en",
            "title": "T",
            "body": "Hi",
        },
    )
    assert_error(response, 403, "role_not_allowed")


def test_a_controller_adds_a_script_for_a_personality(api):
    response = api.post(
        "/insights/scripts",
        {
            "debtor_type": "TECHNICAL",
            "personality": "hard_line",
            "language": "zh-hans",
            "title": "技术性 · 强硬型",
            "body": "{{ contact_name }}您好,请确认付款日期。",
        },
    )
    assert response.status_code == 201 and response.json()["personality"] == "hard_line"
    again = api.post(
        "/insights/scripts",
        {
            "debtor_type": "TECHNICAL",
            "personality": "hard_line",
            "language": "zh-hans",
            "title": "x",
            "body": "y",
        },
    )
    assert_error(again, 400, "script_exists")


def test_the_history_and_the_library_take_the_same_queries_for_few_or_many_rows(
    api, api_user, malicious, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from huikuan.insights.services import classification_decide

    url = f"/insights/customers/{malicious.code}/debtor-type/history"
    with CaptureQueriesContext(connection) as few:
        assert api.get(url).json()["count"] == 1
    with CaptureQueriesContext(connection) as few_scripts:
        api.get("/insights/scripts")
    for debtor_type in ["TECHNICAL", "COMPETITIVE", "REASON_BASED", "UNDETERMINED"] * 3:
        classification_decide(customer=malicious, user=api_user, as_of=AS_OF, debtor_type=debtor_type)
    for personality in ("hard_line", "cooperative"):
        Script.objects.create(
            debtor_type="REASON_BASED", personality=personality, language="en", title="t", body="b"
        )

    with django_assert_max_num_queries(len(few.captured_queries)):
        assert api.get(url).json()["count"] == 13
    with django_assert_max_num_queries(len(few_scripts.captured_queries)):
        api.get("/insights/scripts")
