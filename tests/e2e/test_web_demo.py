"""`huikuan demo` opens on a collector's populated worklist: roles given, customers assigned, and a
day of collections work (promises, a dispute, a plan, follow-ups) recorded through the services."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from huikuan.accounts.access import user_role
from huikuan.accounts.models import Role
from huikuan.collections.models import Dispute, InstalmentPlan, PromiseStatus, PromiseToPay
from huikuan.customers.models import Customer

pytestmark = pytest.mark.django_db

AS_OF = date(2025, 6, 30)


@pytest.fixture
def demo(settings, tmp_path):
    settings.HUIKUAN_HOME = tmp_path
    out = StringIO()
    call_command(
        "demo", "--no-serve", "--as-of", AS_OF.isoformat(), "--seed", "5", "--customers", "60", stdout=out
    )
    return out.getvalue()


def signed_in(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password="demo")
    return client


def test_the_demo_gives_roles_customers_and_a_day_of_collections_work(demo):
    from django.contrib.auth import get_user_model

    users = {user.username: user for user in get_user_model().objects.all()}
    mine = Customer.objects.filter(collector__username="demo")

    assert user_role(users["demo"]) == Role.COLLECTOR
    assert user_role(users["manager"]) == Role.MANAGER
    assert user_role(users["admin"]) == Role.ADMIN
    assert {user_role(users[name]) for name in ("alice", "bob", "wangfang")} == {Role.COLLECTOR}
    assert "Demo login: username demo, password demo" in demo
    assert mine.count() >= 10
    assert PromiseToPay.objects.filter(customer__in=mine, status=PromiseStatus.BROKEN).exists()
    assert PromiseToPay.objects.filter(
        customer__in=mine, status=PromiseStatus.OPEN, promised_date=AS_OF
    ).exists()
    assert Dispute.objects.filter(customer__in=mine).exists()
    assert InstalmentPlan.objects.filter(customer__in=mine).exists()

    promises = PromiseToPay.objects.count()
    call_command("demo", "--no-serve", "--as-of", AS_OF.isoformat(), "--seed", "5", stdout=StringIO())
    assert PromiseToPay.objects.count() == promises  # a second run adds no second day of work


def test_the_demo_collectors_worklist_is_full_and_only_theirs(demo):
    response = signed_in("demo").get("/")

    work = response.context["worklist"]
    kinds = {"CALL", "VISIT", "APPROVAL", "PROMISE_DUE", "PROMISE_BROKEN", "DISPUTE", "FOLLOW_UP"}
    assert kinds <= set(work.counts)
    theirs = set(Customer.objects.filter(collector__username="demo").values_list("pk", flat=True))
    assert {item.customer_id for item in work.items} <= theirs
    shown = {item.customer.code for item in response.context["page"]}
    assert set(Customer.objects.filter(code__in=shown).values_list("collector__username", flat=True)) == {
        "demo"
    }
    scores = [item.priority.score for item in work.items]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    assert response.status_code == 200 and "Today's work" in response.content.decode()
