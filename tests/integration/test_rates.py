"""Reference rates: the shipped history, its migration, and `huikuan rates`."""

from __future__ import annotations

import importlib
import io
import json
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection

from huikuan.dunning.models import ReferenceRate
from huikuan.dunning.rates import (
    RateFileInvalid,
    RateInvalid,
    rate_rows_read,
    rate_table_load,
    reference_rate_set,
    reference_rates_import,
    shipped_rate_rows,
)

pytestmark = pytest.mark.django_db

seed = importlib.import_module("huikuan.dunning.migrations.0002_reference_rates")


def rates(*args: str) -> str:
    out = io.StringIO()
    call_command("rates", *args, stdout=out)
    return out.getvalue()


def stored(series: str, day: date) -> str:
    return ReferenceRate.objects.get(series=series, effective_date=day).rate_percent


def test_the_migration_loads_the_shipped_history():
    shipped = shipped_rate_rows()

    assert ReferenceRate.objects.count() == len(shipped)
    assert stored("BOE_BASE", date(2023, 8, 3)) == "5.25"
    assert stored("BOE_BASE", date(2009, 3, 5)) == "0.50"
    assert stored("ECB_MRO", date(2016, 3, 16)) == "0.00"
    assert stored("ECB_MRO", date(2025, 6, 11)) == "2.15"
    assert stored("CN_LPR_1Y", date(2019, 8, 20)) == "4.25"


def test_the_shipped_lpr_has_one_fixing_a_month_from_august_2019():
    months = {
        (row.effective_date.year, row.effective_date.month)
        for row in shipped_rate_rows()
        if row.series == "CN_LPR_1Y"
    }
    expected = {(2019, month) for month in range(8, 13)} | {
        (year, month) for year in range(2020, 2026) for month in range(1, 13)
    }

    assert months == expected


def test_the_shipped_table_answers_the_rates_the_statutes_ask_for():
    table = rate_table_load()

    def on(series: str, day: date) -> Decimal:
        return max((entry for entry in table[series] if entry[0] <= day), default=(None, None))[1]

    # The UK reference rates for 2008, 2015 and 2024; the ECB's on 1 January 2008, 2015, 2019, 2024.
    assert [on("BOE_BASE", day) for day in (date(2007, 12, 31), date(2014, 12, 31), date(2023, 12, 31))] == [
        Decimal("5.50"),
        Decimal("0.50"),
        Decimal("5.25"),
    ]
    assert [on("ECB_MRO", date(year, 1, 1)) for year in (2008, 2015, 2019, 2024)] == [
        Decimal("4.00"),
        Decimal("0.05"),
        Decimal("0.00"),
        Decimal("4.50"),
    ]
    assert on("CN_LPR_1Y", date(2024, 10, 21)) == Decimal("3.10")


def test_loading_the_shipped_rates_again_adds_nothing_and_keeps_what_the_user_changed():
    ReferenceRate.objects.filter(series="BOE_BASE", effective_date=date(2023, 8, 3)).update(
        rate_percent="9.99"
    )
    ReferenceRate.objects.filter(series="ECB_MRO", effective_date=date(2025, 6, 11)).delete()
    user_row = ReferenceRate.objects.create(
        series="ECB_MRO", effective_date=date(2026, 1, 1), rate_percent="2.00"
    )
    count = ReferenceRate.objects.count()

    seed.load_shipped_rates(apps, SimpleNamespace(connection=connection))
    seed.load_shipped_rates(apps, SimpleNamespace(connection=connection))

    assert stored("BOE_BASE", date(2023, 8, 3)) == "9.99"
    assert stored("ECB_MRO", date(2025, 6, 11)) == "2.15"  # a missing shipped row comes back
    assert ReferenceRate.objects.count() == count + 1
    assert ReferenceRate.objects.get(pk=user_row.pk).rate_percent == "2.00"


def test_setting_a_rate_adds_a_date_or_replaces_that_dates_rate():
    rate, created = reference_rate_set(series="lpr", effective_date=date(2026, 1, 20), rate_percent="3.00")
    again, created_again = reference_rate_set(
        series="CN_LPR_1Y", effective_date=date(2026, 1, 20), rate_percent="2.90"
    )

    assert (created, created_again, again.pk) == (True, False, rate.pk)
    assert stored("CN_LPR_1Y", date(2026, 1, 20)) == "2.90"
    assert rate_table_load()["CN_LPR_1Y"][-1] == (date(2026, 1, 20), Decimal("2.90"))


@pytest.mark.parametrize(("series", "rate"), [("FED", "5"), ("BOE", "five"), ("BOE", "150")])
def test_a_bad_series_or_rate_is_refused(series, rate):
    with pytest.raises(RateInvalid):
        reference_rate_set(series=series, effective_date=date(2026, 1, 1), rate_percent=rate)


def test_importing_a_file_adds_new_dates_and_replaces_changed_rates():
    text = (
        "series,effective_date,rate_percent,source\n"
        "BOE_BASE,2023-08-03,5.25,same\n"
        "BOE_BASE,2025-08-07,4.1,corrected\n"
        "ecb,2026-02-04,1.90,new\n"
    )

    counts = reference_rates_import(rows=rate_rows_read(text))
    kept = reference_rates_import(rows=rate_rows_read(text.replace("4.1", "4.2")), overwrite=False)

    assert counts == {"created": 1, "updated": 1, "unchanged": 1}
    assert kept == {"created": 0, "updated": 0, "unchanged": 3}
    assert stored("BOE_BASE", date(2025, 8, 7)) == "4.1"
    assert stored("ECB_MRO", date(2026, 2, 4)) == "1.90"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("series,date,rate\n", "missing effective_date, rate_percent"),
        ("series,effective_date,rate_percent\nBOE,2024-13-01,5\n", "line 2: '2024-13-01' is not a date"),
        (
            "series,effective_date,rate_percent\nBOE,2024-01-01,5\nBOE,2024-01-01,6\n",
            "line 3: .* appears twice",
        ),
    ],
)
def test_a_bad_rate_file_names_its_first_bad_line(text, message):
    with pytest.raises(RateFileInvalid, match=message):
        rate_rows_read(text)


# --- the command -------------------------------------------------------------------------


def test_rates_list_shows_one_series_as_a_table_or_json():
    table = rates("list", "--series", "boe")
    listed = json.loads(rates("list", "--series", "ECB_MRO", "--format", "json"))

    assert "BOE_BASE  2023-08-03    5.25" in table and "ECB_MRO" not in table
    assert listed[-1] == {
        "series": "ECB_MRO",
        "effective_date": "2025-06-11",
        "rate": "2.15",
        "source": "European Central Bank, key interest rates: main refinancing operations",
    }


def test_rates_set_and_import_report_what_they_did(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text(
        "series,effective_date,rate_percent\nBOE_BASE,2026-02-05,3.50\nBOE_BASE,2025-12-18,3.75\n"
    )

    assert (
        rates("set", "BOE_BASE", "2026-03-19", "3.25", "--source", "MPC")
        == "added: BOE_BASE 2026-03-19 3.25 %\n"
    )
    assert rates("import", str(path)) == "1 added, 0 replaced, 1 unchanged\n"
    assert ReferenceRate.objects.get(series="BOE_BASE", effective_date=date(2026, 3, 19)).source == "MPC"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("set", "FED", "2026-01-01", "4"), "unknown rate series 'FED'"),
        (("set", "BOE", "tomorrow", "4"), "'tomorrow' is not a date"),
        (("list", "--series", "XX"), "unknown rate series 'XX'"),
        (("import", "/nonexistent/rates.csv"), "cannot read /nonexistent/rates.csv"),
    ],
)
def test_rates_command_refuses_bad_input_with_one_line_and_exit_code_2(args, message):
    with pytest.raises(CommandError, match=message) as raised:
        rates(*args)

    assert raised.value.returncode == 2
    assert "\n" not in str(raised.value)
