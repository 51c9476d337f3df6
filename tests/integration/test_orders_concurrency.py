"""The same order number posted twice at once: the second is refused as taken, never a crash."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from django.db import connection, connections, transaction

from huikuan.core.money import Money
from huikuan.customers.models import Order
from huikuan.customers.orders import OrderNumberTaken, order_create
from tests.factories import make_customer

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_order_number_inserted_meanwhile_by_another_connection_is_refused_as_taken():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite admits one writer at a time: the other insert cannot be in flight here")
    customer = make_customer("RACE")
    inserted, release, failures = threading.Event(), threading.Event(), []

    def other_clerk() -> None:
        try:
            with transaction.atomic():
                Order.objects.create(
                    customer=customer,
                    number="SO-R",
                    order_date=date(2026, 12, 1),
                    currency="CNY",
                    amount_minor=100,
                )
                inserted.set()
                release.wait(10)
        except Exception as error:  # reported to the test below
            failures.append(error)
            inserted.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_clerk)
    thread.start()
    assert inserted.wait(10) and not failures
    # The other insert is not committed: the check before the insert cannot see it, the unique
    # index makes this insert wait for it, and it commits a moment later.
    threading.Timer(0.3, release.set).start()
    with pytest.raises(OrderNumberTaken):
        order_create(
            customer=customer, number="SO-R", order_date=date(2026, 12, 1), amount=Money.of("5", "CNY")
        )
    thread.join(10)

    assert not failures and Order.objects.filter(number="SO-R").count() == 1
