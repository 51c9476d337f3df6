"""The credit panel on the customer page, the rating history and the manager's override form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from huikuan.accounts.models import Role
from huikuan.collections.models import Interaction
from huikuan.customers.credit import credit_rate
from huikuan.customers.models import CreditOverride
from tests.e2e.web_builders import make_customer, make_user, signed_in_client

pytestmark = pytest.mark.django_db


def _rated(collector=None):
    customer = make_customer("PANEL", collector=collector)
    today = timezone.localdate()
    for n in range(3):
        Interaction.objects.create(
            customer=customer,
            kind="CALL",
            outcome="NO_ANSWER",
            occurred_at=timezone.now() - timedelta(hours=n + 1),
        )
    credit_rate(as_of=today - timedelta(days=1))
    credit_rate(as_of=today)
    return customer


def test_the_customer_page_shows_the_score_why_warnings_and_last_ratings():
    collector = make_user("wang", Role.COLLECTOR)
    customer = _rated(collector)
    page = signed_in_client(collector).get(f"/customers/{customer.code}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Credit rating" in html
    assert "Why this grade" in html
    assert "calls and visits unanswered" in html
    assert "contact unreachable" in html  # the early warning that stands, and why
    assert "3 calls or visits in a row without an answer (a warning from 3)." in html
    assert "Last ratings" in html
    assert "Override the grade" not in html  # a collector may not


def test_the_worklist_row_of_an_early_warning_says_why_in_the_readers_language():
    collector = make_user("wang", Role.COLLECTOR)
    customer = _rated(collector)
    client = signed_in_client(collector)

    english = client.get("/", {"kind": "EARLY_WARNING"}).content.decode()
    chinese = client.get("/", {"kind": "EARLY_WARNING"}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert customer.name in english
    assert "3 calls or visits in a row without an answer (a warning from 3)." in english
    assert "连续 3 次电话或拜访无人应答（达到 3 次即预警）。" in chinese


def test_a_manager_overrides_from_the_panel_and_ends_it():
    manager = make_user("boss", Role.MANAGER)
    customer = _rated()
    client = signed_in_client(manager)
    assert "Override the grade" in client.get(f"/customers/{customer.code}/").content.decode()
    until = (timezone.localdate() + timedelta(days=7)).isoformat()
    response = client.post(
        f"/credit/customers/{customer.code}/override/",
        {"grade": "D", "reason": "owner in court", "until": until},
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.grade == "D"
    html = client.get(f"/customers/{customer.code}/").content.decode()
    assert "owner in court" in html
    client.post(f"/credit/customers/{customer.code}/override/end/")
    customer.refresh_from_db()
    assert customer.grade == customer.rated_grade
    # Refused without a reason; nothing is set.
    client.post(f"/credit/customers/{customer.code}/override/", {"grade": "A", "reason": " ", "until": until})
    assert CreditOverride.objects.filter(ended_at__isnull=True).count() == 0


def test_a_collector_cannot_override_nor_see_anothers_history():
    wang, li = make_user("wang", Role.COLLECTOR), make_user("li", Role.COLLECTOR)
    customer = _rated(wang)
    until = (timezone.localdate() + timedelta(days=7)).isoformat()
    signed_in_client(wang).post(
        f"/credit/customers/{customer.code}/override/", {"grade": "A", "reason": "friend", "until": until}
    )
    assert not CreditOverride.objects.exists()
    assert signed_in_client(li).get(f"/credit/customers/{customer.code}/ratings/").status_code == 404


def test_the_rating_history_lists_every_rating_in_few_queries(django_assert_max_num_queries):
    manager = make_user("boss", Role.MANAGER)
    customer = _rated()
    for n in range(2, 30):
        credit_rate(as_of=timezone.localdate() - timedelta(days=n))
    client = signed_in_client(manager)
    with django_assert_max_num_queries(12):
        page = client.get(f"/credit/customers/{customer.code}/ratings/")
    assert page.status_code == 200
    assert page.content.decode().count("<details") == 24
