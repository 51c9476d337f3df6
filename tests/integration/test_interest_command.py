"""`huikuan interest`: the JSON contract, the table, the options and refusals, on the shipped rates."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db

BIN = Path(sys.executable).parent


def interest(*args: str) -> str:
    out = io.StringIO()
    call_command("interest", *args, stdout=out)
    return out.getvalue()


def interest_json(*args: str) -> dict:
    return json.loads(interest(*args, "--format", "json"))


UK_EXAMPLE = ("--amount", "10000", "--currency", "GBP", "--due", "2024-01-31", "--until", "2024-04-30")


def test_the_uk_example_gives_the_json_contract_exactly():
    assert interest_json(*UK_EXAMPLE, "--rule", "uk-late-payment") == {
        "principal": "10000.00",
        "currency": "GBP",
        "rule": "uk-late-payment",
        "periods": [
            {
                "from": "2024-02-01",
                "to": "2024-04-30",
                "days": 90,
                "annual_rate": "13.25",
                "interest": "326.71",
            }
        ],
        "interest": "326.71",
        "compensation": "100.00",
        "total": "426.71",
    }


def test_json_is_the_default_and_the_table_shows_the_same_figures():
    table = interest(*UK_EXAMPLE, "--rule", "uk-late-payment", "--format", "table")

    assert json.loads(interest(*UK_EXAMPLE, "--rule", "uk-late-payment"))["total"] == "426.71"
    assert "2024-02-01  2024-04-30    90   13.25    326.71" in table
    assert "compensation  100.00 GBP" in table and "total         426.71 GBP" in table


def test_eu_interest_in_france_is_split_at_the_half_year_on_the_shipped_ecb_rates():
    # ECB on 1 Jan 2024 4.50 + 10 = 14.5 %; on 1 Jul 2024 4.25 + 10 = 14.25 %.
    result = interest_json(
        "--amount", "2000", "--currency", "EUR", "--due", "2024-06-15", "--until", "2024-07-15",
        "--rule", "eu-late-payment", "--country", "FR",
    )  # fmt: skip

    assert [(p["from"], p["to"], p["days"], p["annual_rate"]) for p in result["periods"]] == [
        ("2024-06-16", "2024-06-30", 15, "14.5"),
        ("2024-07-01", "2024-07-15", 15, "14.25"),
    ]
    # 2,000 x 14.5 % x 15/365 = 11.9178; 2,000 x 14.25 % x 15/365 = 11.7123; 23.6301 -> 23.63
    assert (result["interest"], result["compensation"], result["total"]) == ("23.63", "40.00", "63.63")


def test_cn_lpr_uses_the_fixing_in_force_at_the_breach_and_the_markup_given():
    base = ("--amount", "100000", "--currency", "CNY", "--due", "2024-10-20", "--until", "2024-11-19")
    # Breach on 21 Oct 2024, the day the LPR fell to 3.10 %: x 1.5 = 4.65 %, x 1.3 = 4.03 %.
    assert interest_json(*base, "--rule", "cn-lpr")["periods"][0]["annual_rate"] == "4.65"
    assert interest_json(*base, "--rule", "CN-LPR", "--markup", "0.3")["periods"][0]["annual_rate"] == "4.03"


def test_contract_interest_with_payments_grace_day_count_and_compounding():
    result = interest_json(
        "--amount", "10000", "--currency", "CNY", "--due", "2024-05-31", "--until", "2024-07-31",
        "--rule", "contract", "--rate", "12", "--day-count", "ACT/360", "--grace", "5",
        "--payment", "2024-06-20:4000", "--payment", "2024-07-10:1000.50", "--compound-monthly",
    )  # fmt: skip

    # From 6 Jun (5 grace days); the payments split at 21 Jun and 11 Jul, the months at 1 Jul.
    assert [(p["from"], p["to"], p["days"]) for p in result["periods"]] == [
        ("2024-06-06", "2024-06-20", 15),
        ("2024-06-21", "2024-06-30", 10),
        ("2024-07-01", "2024-07-10", 10),
        ("2024-07-11", "2024-07-31", 21),
    ]
    # 10,000 x 12 % x 15/360 = 50; 6,000 x 12 % x 10/360 = 20; capitalised 70 on 1 Jul:
    # 6,070 x 12 % x 10/360 = 20.2333; 5,069.50 x 12 % x 21/360 = 35.4865; total 125.7198 -> 125.72
    assert result["interest"] == "125.72"
    assert sum(p["days"] for p in result["periods"]) == 61 - 5


def test_until_the_due_date_gives_no_periods_and_nothing_due():
    result = interest_json(
        "--amount",
        "5",
        "--currency",
        "JPY",
        "--due",
        "2024-01-31",
        "--until",
        "2024-01-31",
        "--rule",
        "cn-sme-daily",
    )

    assert result == {
        "principal": "5",
        "currency": "JPY",
        "rule": "cn-sme-daily",
        "periods": [],
        "interest": "0",
        "compensation": "0",
        "total": "0",
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"--amount": "ten"}, "--amount: 'ten' is not a number"),
        ({"--amount": "10.001"}, "--amount: .*more than 2 decimal places"),
        ({"--currency": "XXY"}, "--currency: 'XXY' is not an ISO currency code"),
        ({"--due": "31/01/2024"}, "--due: '31/01/2024' is not a date"),
        ({"--until": "2023-12-31"}, "--until: 2023-12-31 is before the due date 2024-01-31"),
        ({"--rule": "simple"}, "--rule: 'simple' is not one of"),
        ({"--rule": "CONTRACT"}, "--rule CONTRACT needs the contract's annual rate"),
        ({"--rate": "8"}, "--rate: only --rule CONTRACT takes a rate"),
        ({"--payment": "2024-02-01"}, "--payment: '2024-02-01' should read DATE:AMOUNT"),
        ({"--grace": "a week"}, "--grace: 'a week' is not a number of days"),
        ({"--day-count": "30/360"}, "--day-count: '30/360' is not ACT/365 or ACT/360"),
        ({"--format": "xml"}, "--format: 'xml' is not one of json, table"),
        ({"--compound-monthly": None}, "only contractual interest can compound"),
        ({"--due": "2000-01-31", "--until": "2000-03-01"}, "no BOE_BASE rate is in force on 1999-12-31"),
    ],
)
def test_bad_input_is_refused_with_one_line_and_exit_code_2(changes, message):
    options = (
        dict(zip(UK_EXAMPLE[::2], UK_EXAMPLE[1::2], strict=True)) | {"--rule": "uk-late-payment"} | changes
    )
    args = [part for key, value in options.items() for part in ((key,) if value is None else (key, value))]

    with pytest.raises(CommandError, match=message) as raised:
        interest(*args)

    assert raised.value.returncode == 2
    assert "\n" not in str(raised.value)


def test_the_huikuan_console_command_prints_the_json_and_exits_2_on_bad_input(tmp_path):
    env = {
        **os.environ,
        "HUIKUAN_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    huikuan = str(BIN / "huikuan")
    subprocess.run([huikuan, "migrate", "--verbosity", "0"], env=env, check=True, timeout=300)  # noqa: S603

    good = subprocess.run(  # noqa: S603
        [huikuan, "interest", *UK_EXAMPLE, "--rule", "uk-late-payment"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    bad = subprocess.run(  # noqa: S603
        [huikuan, "interest", *UK_EXAMPLE, "--rule", "uk-late-payment", "--grace", "-3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert good.returncode == 0 and json.loads(good.stdout)["total"] == "426.71"
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == ["CommandError: --grace: '-3' is not a number of days"]
