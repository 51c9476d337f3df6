"""The admin keeps bank accounts and shows imported statements and lines without changing them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from huikuan.banking import services
from huikuan.banking.models import BankAccount, BankStatement, BankStatementLine
from huikuan.banking.parsing import ParsedLine, ParsedStatement
from huikuan.banking.services import bank_account_create, bank_import
from huikuan.core.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(tmp_path, monkeypatch):
    account = bank_account_create(name="ICBC", account_number="6222020200001234", currency="CNY")
    lines = [
        ParsedLine(
            booking_date=date(2024, 3, 1), amount=Decimal("1234.50"), currency="CNY", remittance="INV-1"
        ),
        ParsedLine(booking_date=date(2024, 3, 1), amount=Decimal("-15"), currency="CNY", remittance="手续费"),
    ]
    parsed = ParsedStatement(format="csv", account_number="6222020200001234", currency="CNY", lines=lines)
    monkeypatch.setattr(services, "statement_file_parse", lambda path, **kwargs: [parsed])
    path = tmp_path / "icbc.csv"
    path.write_text("…")
    bank_import(path=path)
    return account


@pytest.mark.parametrize("model", ["bankaccount", "bankstatement", "bankstatementline"])
def test_the_admin_lists_accounts_statements_and_lines(admin_client, imported, model):
    response = admin_client.get(f"/admin/banking/{model}/")

    assert response.status_code == 200


def test_lines_show_amounts_as_decimals(admin_client, imported):
    listing = admin_client.get("/admin/banking/bankstatementline/").content.decode()

    assert "1234.50 CNY" in listing and "-15.00 CNY" in listing


@pytest.mark.parametrize("model", ["bankstatement", "bankstatementline"])
def test_imported_rows_cannot_be_added_changed_or_deleted_in_the_admin(admin_client, imported, model):
    row = (BankStatement if model == "bankstatement" else BankStatementLine).objects.first()

    assert admin_client.get(f"/admin/banking/{model}/add/").status_code == 403
    assert admin_client.post(f"/admin/banking/{model}/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    page = admin_client.get(f"/admin/banking/{model}/{row.pk}/change/")
    assert page.status_code == 200 and not page.context["has_change_permission"]


def account_form(**changes) -> dict:
    form = {
        "name": "CMB",
        "account_number": "7559 1234 5678",
        "currency": "cny",
        "bank_name": "招商银行",
        "bic": "",
        "csv_mapping": '{"preset": "cmb"}',
        "is_active": "on",
    }
    form.update(changes)
    return form


def test_an_account_added_in_the_admin_is_stored_as_the_import_compares_it(admin_client):
    response = admin_client.post("/admin/banking/bankaccount/add/", account_form())

    assert response.status_code == 302, response.context["adminform"].form.errors
    account = BankAccount.objects.get(name="CMB")
    assert (account.account_number, account.currency, account.csv_mapping) == (
        "755912345678",
        "CNY",
        {"preset": "cmb"},
    )
    assert AuditEntry.objects.filter(entity="banking.bankaccount", entity_id=str(account.pk)).exists()


def test_the_admin_refuses_a_mapping_the_reader_would_refuse(admin_client):
    response = admin_client.post(
        "/admin/banking/bankaccount/add/", account_form(csv_mapping='{"colums": {}}')
    )

    assert response.status_code == 200
    assert "unknown keys" in str(response.context["adminform"].form.errors["csv_mapping"])
    assert not BankAccount.objects.exists()


def test_the_currency_of_an_account_with_lines_cannot_change(admin_client, imported):
    page = admin_client.get(f"/admin/banking/bankaccount/{imported.pk}/change/")

    assert "currency" not in page.context["adminform"].form.fields


def test_an_account_changed_in_the_admin_keeps_its_number_normalised_and_the_change_audited(admin_client):
    account = bank_account_create(name="CMB", account_number="1", currency="CNY")

    response = admin_client.post(
        f"/admin/banking/bankaccount/{account.pk}/change/",
        account_form(account_number="ab 12", csv_mapping="{}"),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    account.refresh_from_db()
    assert account.account_number == "AB12"
    change = AuditEntry.objects.get(entity="banking.bankaccount", action="UPDATE")
    assert change.before["account_number"] == "1" and change.after["account_number"] == "AB12"
