"""The set-based writers every bulk path goes through: what goes in comes back out, on SQLite
(executemany, or one JSON statement) and PostgreSQL (COPY, JSON on the server) alike."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huikuan.core.bulk import (
    ids_reserve,
    rows_insert,
    rows_insert_returning,
    rows_update,
    table_rows_insert,
    values_subquery,
)
from huikuan.customers.models import Order, OrderStatus
from tests.factories import make_customer

pytestmark = pytest.mark.django_db
both_ways = pytest.mark.parametrize("one_statement", [False, True], ids=["executemany", "one-statement"])

FIELDS = ("number", "customer", "order_date", "currency", "amount_minor", "status", "description", "created_at",
          "updated_at")  # fmt: skip
# Text as people type it, and worse: every plane, quotes, backslashes, tabs and line breaks (not
# NUL, which PostgreSQL text cannot hold, nor lone surrogates, which no encoding can).
texts = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=120)
amounts = st.integers(min_value=-(2**63), max_value=2**63 - 1)
days = st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31))


@pytest.fixture
def customer():
    return make_customer("BULK")


def order_row(customer, number: str, *, day: date, amount: int, text: str) -> tuple:
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(timezone.now())
    return (
        number,
        customer.pk,
        ops.adapt_datefield_value(day),
        "CNY",
        amount,
        OrderStatus.OPEN,
        text,
        stamp,
        stamp,
    )


@both_ways
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(days, amounts, texts), min_size=1, max_size=20))
def test_what_goes_in_comes_back_out_exactly(customer, one_statement, rows):
    Order.objects.all().delete()
    written = [order_row(customer, f"SO-{n}", day=day, amount=amount, text=text) for n, (day, amount, text) in
               enumerate(rows)]  # fmt: skip

    rows_insert(Order, FIELDS, written, one_statement=one_statement)

    stored = list(
        Order.objects.order_by("id").values_list("number", "order_date", "amount_minor", "description")
    )
    assert stored == [(f"SO-{n}", day, amount, text) for n, (day, amount, text) in enumerate(rows)]


def test_keys_come_back_in_the_rows_order(customer):
    rows = [order_row(customer, f"R-{n}", day=date(2026, 1, n + 1), amount=n, text="") for n in range(7)]

    with transaction.atomic():
        keys = rows_insert_returning(Order, FIELDS, rows)

    assert dict(Order.objects.values_list("pk", "amount_minor")) == {key: n for n, key in enumerate(keys)}


def test_reserved_keys_are_new_and_the_rows_written_with_them_take_them(customer):
    make = order_row(customer, "OLD", day=date(2026, 1, 1), amount=1, text="")
    rows_insert(Order, FIELDS, [make])

    with transaction.atomic():
        keys = ids_reserve(Order, 3)
        rows_insert(
            Order,
            ("id", *FIELDS),
            [
                (key, *order_row(customer, f"N-{key}", day=date(2026, 1, 2), amount=2, text=""))
                for key in keys
            ],
        )
        after = ids_reserve(Order, 1)

    assert min(keys) > Order.objects.get(number="OLD").pk
    assert sorted(Order.objects.filter(amount_minor=2).values_list("pk", flat=True)) == keys
    assert after[0] > max(keys)


@both_ways
def test_an_update_writes_each_row_and_counts_them(customer, one_statement):
    rows_insert(Order, FIELDS, [order_row(customer, f"U-{n}", day=date(2026, 2, 1), amount=n, text="a") for n in
                                range(4)])  # fmt: skip
    keys = list(Order.objects.order_by("id").values_list("pk", flat=True))

    changes = [(100 + n, f"b{n}", key) for n, key in enumerate(keys[:3])]
    updated = rows_update(Order, ("amount_minor", "description"), changes, one_statement=one_statement)

    assert updated == 3
    assert list(Order.objects.order_by("id").values_list("amount_minor", "description")) == [
        (100, "b0"), (101, "b1"), (102, "b2"), (3, "a")
    ]  # fmt: skip


@both_ways
def test_a_guarded_update_leaves_a_row_someone_changed_meanwhile(customer, one_statement):
    rows_insert(Order, FIELDS, [order_row(customer, f"G-{n}", day=date(2026, 3, 1), amount=n, text="") for n in
                                range(3)])  # fmt: skip
    first, second, third = Order.objects.order_by("id")
    Order.objects.filter(pk=second.pk).update(status=OrderStatus.CANCELLED)  # someone else, meanwhile

    updated = rows_update(
        Order,
        ("status",),
        [(OrderStatus.INVOICED, order.pk, OrderStatus.OPEN) for order in (first, second, third)],
        unless_changed="status",
        one_statement=one_statement,
    )

    assert updated == 2
    assert list(Order.objects.order_by("id").values_list("status", flat=True)) == [
        OrderStatus.INVOICED, OrderStatus.CANCELLED, OrderStatus.INVOICED
    ]  # fmt: skip


@both_ways
def test_a_duplicate_key_is_djangos_integrity_error_and_writes_nothing(customer, one_statement):
    rows_insert(Order, FIELDS, [order_row(customer, "DUP", day=date(2026, 4, 1), amount=1, text="")])

    numbers = ["D-0", "D-1", "D-2", "DUP"]
    rows = [
        order_row(customer, number, day=date(2026, 4, 1), amount=n, text="")
        for n, number in enumerate(numbers)
    ]
    with pytest.raises(IntegrityError), transaction.atomic():
        rows_insert(Order, FIELDS, rows, one_statement=one_statement)

    assert list(Order.objects.values_list("number", flat=True)) == ["DUP"]


@both_ways
def test_a_table_without_a_model_takes_rows_by_its_column_names(customer, one_statement):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE bulk_probe (id bigint PRIMARY KEY, label varchar(20))")
        table_rows_insert(
            "bulk_probe", ("id", "label"), [(1, "一"), (2, 'two "2"'), (3, None)], one_statement=one_statement
        )
        cursor.execute("SELECT id, label FROM bulk_probe ORDER BY id")
        rows = cursor.fetchall()
        cursor.execute("DROP TABLE bulk_probe")

    assert rows == [(1, "一"), (2, 'two "2"'), (3, None)]


@settings(max_examples=40, deadline=None)
@given(numbers=st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=50), words=st.lists(texts,
       max_size=30))  # fmt: skip
def test_a_list_goes_as_one_parameter_and_comes_back_whole(numbers, words):
    with connection.cursor() as cursor:
        for values in (numbers, words):
            if not values:
                continue
            sql, params = values_subquery(values)
            assert len(params) == 1
            cursor.execute(sql, params)
            found = [row[0] for row in cursor.fetchall()]
            assert sorted(found, key=str) == sorted(values, key=str)
