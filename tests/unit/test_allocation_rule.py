from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from huikuan.ledger.allocation import OpenItem, allocation_order, plan_allocation

DAY0 = date(2024, 1, 1)


def item(key, open_minor, due_offset):
    return OpenItem(key=key, open_minor=open_minor, due_date=DAY0 + timedelta(days=due_offset))


def test_named_invoices_come_first_in_the_order_given_then_oldest_due():
    items = [item("a", 100, 5), item("b", 100, 1), item("c", 100, 9), item("d", 100, 3)]
    assert [i.key for i in allocation_order(items, ["c", "a"])] == ["c", "a", "b", "d"]


def test_the_remainder_stays_unapplied():
    assert plan_allocation(250, [item("a", 100, 1), item("b", 100, 2)]) == [("a", 100), ("b", 100)]


items_strategy = st.lists(
    st.tuples(st.integers(0, 10**9), st.integers(-30, 30)), min_size=0, max_size=12
).map(lambda rows: [item(f"k{i}", open_minor, due) for i, (open_minor, due) in enumerate(rows)])


@given(st.integers(0, 10**10), items_strategy)
def test_allocation_never_creates_or_loses_money(available, items):
    plan = plan_allocation(available, allocation_order(items))
    allocated = sum(amount for _key, amount in plan)
    open_total = sum(i.open_minor for i in items)
    assert allocated == min(available, open_total)
    open_by_key = {i.key: i.open_minor for i in items}
    assert all(0 < amount <= open_by_key[key] for key, amount in plan)


@given(st.integers(0, 10**10), items_strategy)
def test_an_invoice_is_only_touched_once_every_earlier_one_is_settled(available, items):
    ordered = allocation_order(items)
    plan = dict(plan_allocation(available, ordered))
    touched = [i for i in ordered if i.key in plan]
    for earlier in touched[:-1]:
        assert plan[earlier.key] == earlier.open_minor
