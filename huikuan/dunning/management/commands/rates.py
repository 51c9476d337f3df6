"""``huikuan rates``: list, set and import the reference rates interest is computed from."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huikuan.core.errors import HuikuanError
from huikuan.dunning.rates import (
    SHIPPED_RATES_PATH,
    date_parse,
    rate_rows_read,
    reference_rate_list,
    reference_rate_set,
    reference_rates_import,
)

FORMATS = ("table", "json")


def _usage_error(message: str) -> CommandError:
    return CommandError(message, returncode=2)


class Command(BaseCommand):
    help = "Reference rates (Bank of England base rate, ECB main refinancing rate, China one-year LPR)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="list|set|import")
        actions.required = True
        listing = actions.add_parser("list", help="show the stored rates")
        listing.add_argument("--series", metavar="SERIES", help="BOE_BASE, ECB_MRO or CN_LPR_1Y")
        listing.add_argument("--format", default="table", metavar="|".join(FORMATS))
        setting = actions.add_parser("set", help="record the rate of a series from a date")
        setting.add_argument("series", metavar="SERIES")
        setting.add_argument("effective_date", metavar="DATE")
        setting.add_argument("rate", metavar="RATE", help="percent, e.g. 5.25")
        setting.add_argument("--source", default="", help="where the rate was published")
        importing = actions.add_parser("import", help="load rates from a CSV file")
        importing.add_argument(
            "file",
            metavar="FILE",
            help=f"CSV with series,effective_date,rate_percent[,source]; the shipped table is {SHIPPED_RATES_PATH}",
        )
        importing.add_argument(
            "--keep-existing", action="store_true", help="add new dates only, never change a stored rate"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            handler = {"list": self._list, "set": self._set, "import": self._import}[options["action"]]
            handler(options)
        except HuikuanError as error:
            raise _usage_error(error.message)

    def _list(self, options: dict[str, Any]) -> None:
        if options["format"] not in FORMATS:
            raise _usage_error(f"--format: {options['format']!r} is not one of {', '.join(FORMATS)}")
        rows = list(
            reference_rate_list(series=options["series"]).values_list(
                "series", "effective_date", "rate_percent", "source"
            )
        )
        if options["format"] == "json":
            data = [
                {"series": series, "effective_date": effective.isoformat(), "rate": rate, "source": source}
                for series, effective, rate, source in rows
            ]
            self.stdout.write(json.dumps(data, ensure_ascii=False))
            return
        if not rows:
            self.stdout.write("no reference rates stored")
            return
        width = max(len(series) for series, *_ in rows)
        for series, effective, rate, source in rows:
            self.stdout.write(f"{series.ljust(width)}  {effective.isoformat()}  {rate:>6}  {source}".rstrip())

    def _set(self, options: dict[str, Any]) -> None:
        effective: date = date_parse(options["effective_date"])
        rate, created = reference_rate_set(
            series=options["series"],
            effective_date=effective,
            rate_percent=options["rate"],
            source=options["source"],
        )
        verb = "added" if created else "replaced"
        self.stdout.write(f"{verb}: {rate.series} {rate.effective_date.isoformat()} {rate.rate_percent} %")

    def _import(self, options: dict[str, Any]) -> None:
        path = Path(options["file"])
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise _usage_error(f"cannot read {path}: {getattr(error, 'strerror', None) or error}")
        counts = reference_rates_import(rows=rate_rows_read(text), overwrite=not options["keep_existing"])
        self.stdout.write(
            f"{counts['created']} added, {counts['updated']} replaced, {counts['unchanged']} unchanged"
        )
