"""``huikuan credit``: the check's JSON is exactly the API's, rating, overrides and order imports."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from huikuan.customers.models import CreditOverride, CreditRating, Order
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("credit", *args, stdout=out)
    return out.getvalue()


def test_check_answers_the_contract_in_json():
    today = timezone.localdate()
    customer = make_customer("CLI", credit_limit_minor=50_000)
    make_invoice(customer, amount="100.00", issue_date=today, due_days=30)
    answer = json.loads(run("check", "CLI", "--amount", "600", "--format", "json"))
    assert answer == {"decision": "limited", "allowed_amount": "400.00", "reasons": answer["reasons"]}
    assert len(answer["reasons"]) == 1
    assert "LIMITED" in run("check", "CLI", "--amount", "600")
    with pytest.raises(CommandError, match="more than zero"):
        run("check", "CLI", "--amount", "-1")
    with pytest.raises(CommandError, match="does not exist"):
        run("check", "NOBODY", "--amount", "1")


def test_rate_override_and_show():
    make_customer("R1")
    summary = json.loads(run("rate", "--no-progress", "--format", "json"))
    assert summary["customers_rated"] == 1 and summary["rated"] is True
    assert CreditRating.objects.count() == 1
    assert "Rated 1 customers" in run("rate", "--no-progress")
    until = (timezone.localdate() + timedelta(days=3)).isoformat()
    run("override", "R1", "--grade", "D", "--reason", "owner left", "--until", until)
    assert CreditOverride.objects.get().grade == "D"
    shown = json.loads(run("show", "R1", "--format", "json"))
    assert shown["grade"] == "D" and shown["override"]["reason"] == "owner left"
    with pytest.raises(CommandError, match="--reason"):
        run("override", "R1", "--grade", "A", "--until", until)
    assert json.loads(run("override", "R1", "--end", "--format", "json"))["grade"] == "B"
    assert "No rating due" in run("rate", "--if-due") or CreditRating.objects.count() == 3


def test_orders_import_creates_updates_and_reports_bad_rows(tmp_path):
    make_customer("IMP")
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_number,customer_code,order_date,currency,amount,status\n"
        "SO-1,IMP,2026-11-01,CNY,1200.50,\n"
        "SO-2,IMP,2026-11-02,CNY,99,OPEN\n"
        "SO-3,NOBODY,2026-11-02,CNY,99,\n"
        "SO-4,IMP,2026-11-02,CNY,9.999,\n",
        encoding="utf-8",
    )
    result = json.loads(run("orders", str(path), "--format", "json"))
    assert (result["created"], result["updated"]) == (2, 0)
    assert [error["row"] for error in result["errors"]] == [4, 5]
    assert Order.objects.get(number="SO-1").amount_minor == 120050
    path.write_text(
        "order_number,customer_code,order_date,currency,amount,status\nSO-1,IMP,2026-11-01,CNY,1200.50,INVOICED\n"
    )
    assert json.loads(run("orders", str(path), "--format", "json"))["updated"] == 1
    assert Order.objects.get(number="SO-1").status == "INVOICED"
