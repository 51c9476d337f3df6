"""``huikuan demo``: set up the database, fill it with a demo portfolio, print the aging, serve the app."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django.utils.translation import gettext as _

from huikuan.core.demo import (
    DEMO_PASSWORD,
    DEMO_USERNAME,
    DemoDataConflict,
    demo_data_delete,
    demo_data_exists,
    demo_login_ensure,
    demo_portfolio_build,
)


def _database_pending() -> bool:
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def _database_label() -> str:
    database = settings.DATABASES[DEFAULT_DB_ALIAS]
    if database["ENGINE"].endswith("sqlite3"):
        return str(database["NAME"])
    return f"{database['ENGINE'].rsplit('.', 1)[-1]} {database.get('HOST') or 'localhost'}/{database['NAME']}"


class Command(BaseCommand):
    help = "Fill the database with a demo portfolio, print its aging, create a demo login and serve the app."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="set up and fill the database, then stop")
        parser.add_argument("--port", type=int, default=8000, help="port to serve on (default 8000)")
        parser.add_argument(
            "--seed", type=int, default=7, help="random seed: the same seed gives the same books"
        )
        parser.add_argument(
            "--reset", action="store_true", help="delete the demo portfolio and build it again"
        )
        parser.add_argument("--customers", type=int, default=200, help="how many customers (default 200)")
        parser.add_argument(
            "--as-of", type=date.fromisoformat, default=None, help="last day of the history (default today)"
        )

    def handle(self, *args, **options) -> None:
        if options["customers"] < 1:
            raise CommandError(_("--customers must be at least 1"))
        as_of = options["as_of"] or timezone.localdate()
        self.stdout.write(_("Database: %(database)s") % {"database": _database_label()})
        if _database_pending():
            self.stdout.write(_("Setting up the database…"))
            call_command("migrate", interactive=False, verbosity=0)

        if options["reset"] and demo_data_exists():
            demo_data_delete()
            self.stdout.write(_("Deleted the previous demo portfolio."))
        if demo_data_exists():
            self.stdout.write(_("The demo portfolio is already there; use --reset to build it again."))
        else:
            self.stdout.write(_("Building the demo portfolio…"))
            try:
                summary = demo_portfolio_build(
                    as_of=as_of, seed=options["seed"], customers=options["customers"]
                )
            except DemoDataConflict as error:
                raise CommandError(str(error))
            self.stdout.write(
                _(
                    "%(customers)s customers, %(invoices)s invoices from %(first)s to %(as_of)s, "
                    "%(payments)s payments, %(adjustments)s credit notes and write-offs, "
                    "%(shorts)s short payments, in %(seconds).1f s."
                )
                % {
                    "customers": summary.customers,
                    "invoices": summary.invoices,
                    "first": summary.first_issue_date.isoformat(),
                    "as_of": summary.as_of.isoformat(),
                    "payments": summary.payments,
                    "adjustments": summary.adjustments,
                    "shorts": summary.short_payments,
                    "seconds": summary.seconds,
                }
            )

        self._aging_print(as_of)
        demo_login_ensure()
        self.stdout.write(
            _("Demo login: username %(username)s, password %(password)s")
            % {"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
        )
        if options["no_serve"]:
            return
        address = f"127.0.0.1:{options['port']}"
        self.stdout.write(_("Serving on http://%(address)s/ — press Ctrl-C to stop.") % {"address": address})
        # --insecure: runserver serves the app's CSS itself even with DEBUG off.
        call_command("runserver", address, use_reloader=False, insecure_serving=True)

    def _aging_print(self, as_of: date) -> None:
        from huikuan.ledger.aging_report import aging_build, aging_table_text

        self.stdout.write("")
        self.stdout.write(aging_table_text(aging_build(as_of=as_of)))
        self.stdout.write("")
