"""``huikuan demo``: set up the database, fill it with a demo portfolio, print the aging, serve the app."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django.utils.translation import gettext as _

from huikuan.core.demo import (
    DEMO_ADMIN,
    DEMO_MANAGER,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    DemoDataConflict,
    demo_collections_seed,
    demo_customers,
    demo_customers_assign,
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
    help = (
        "Fill the database with a demo portfolio and a collector's day of work, create demo logins "
        "and serve the app."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="set up and fill the database, then stop")
        parser.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
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
            # The month's bank file was made from the previous portfolio's invoices.
            for path in (settings.HUIKUAN_HOME / "bank").glob("demo-statement-*.xml"):
                path.unlink()
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

        collector = demo_login_ensure()
        assigned = demo_customers_assign(collector=collector)
        seeded = demo_collections_seed(collector=collector, as_of=as_of)
        self._aging_print(as_of)
        self._bank_month(as_of)
        self._review(as_of)
        self._credit_and_debtors(as_of)
        self._dunning_run_and_deliver(as_of)
        if seeded:
            self.stdout.write(
                _(
                    "The demo collector has %(customers)s customers: %(interactions)s calls and visits, "
                    "%(promises)s promises, %(disputes)s disputes and %(plans)s instalment plans on record."
                )
                % {"customers": assigned, **seeded}
            )
        self.stdout.write(
            _("Demo login: username %(username)s, password %(password)s")
            % {"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
        )
        self.stdout.write(
            _("Also: %(manager)s (a manager, sees every customer) and %(admin)s (users), same password.")
            % {"manager": DEMO_MANAGER, "admin": DEMO_ADMIN}
        )
        if options["no_serve"]:
            return
        host, port = options["host"], options["port"]
        self.stdout.write(
            _("Open http://%(address)s/ and sign in as %(username)s: the collector's worklist for today.")
            % {"address": f"{host}:{port}", "username": DEMO_USERNAME}
        )
        call_command("serve", host=host, port=port)

    def _bank_month(self, as_of: date) -> None:
        """The month's bank statement for the demo account, imported and matched to the invoices.

        Money that arrived is applied before the review and the dunning run, so that nobody is
        chased for an invoice already paid. Run again, the import finds nothing new.
        """
        from huikuan.banking.demo import (
            DEMO_BANK_ACCOUNT_NAME,
            DEMO_BANK_IBAN,
            demo_bank_credits,
            demo_bank_statement_xml,
        )
        from huikuan.banking.matching_service import bank_match
        from huikuan.banking.models import BankAccount
        from huikuan.banking.services import bank_account_create, bank_import
        from huikuan.ledger.models import Invoice

        if not BankAccount.objects.filter(name=DEMO_BANK_ACCOUNT_NAME).exists():
            bank_account_create(name=DEMO_BANK_ACCOUNT_NAME, account_number=DEMO_BANK_IBAN, currency="CNY")
        folder = settings.HUIKUAN_HOME / "bank"
        folder.mkdir(parents=True, exist_ok=True)
        # The file is made once per portfolio, named after what its invoices are: made again from
        # what is open after the month was applied, it would pay the same invoices twice.
        invoices = Invoice.objects.filter(customer__in=demo_customers()).order_by("number")
        portfolio = hashlib.sha256(
            "\n".join(
                f"{number} {amount}" for number, amount in invoices.values_list("number", "amount_minor")
            ).encode()
        ).hexdigest()[:12]
        path = folder / f"demo-statement-{as_of:%Y-%m}-{portfolio}.xml"
        if not path.exists():
            path.write_bytes(demo_bank_statement_xml(as_of=as_of, credits=demo_bank_credits(as_of=as_of)))
        imported = bank_import(path=path)
        matched = bank_match(as_of=as_of)
        self.stdout.write(
            _(
                "Bank statement %(file)s: %(new)s new lines; %(applied)s credits applied to invoices, "
                "%(review)s waiting for review, %(unmatched)s unapplied cash."
            )
            % {
                "file": path,
                "new": imported["new_lines"],
                "applied": matched["applied"],
                "review": matched["review"],
                "unmatched": matched["unmatched"],
            }
        )

    def _review(self, as_of: date) -> None:
        """The day's collections review, as the worker runs it before the dunning run.

        Without the monthly statements: in the first days of a month the worker would issue and
        e-mail a PDF statement to every customer, which would only slow the demo's start.
        """
        from huikuan.collections.services import collections_review

        result = collections_review(as_of=as_of, statements=False)
        promises = result["promises"]
        broken = promises.get("broken", 0) if isinstance(promises, dict) else 0
        self.stdout.write(
            _("Collections review: %(broken)s promises broken, %(tasks)s short payments to look into.")
            % {"broken": broken, "tasks": result["short_payment_tasks"]}
        )

    def _credit_and_debtors(self, as_of: date) -> None:
        """The rest of the worker's preparation for the run: credit ratings and debtor types."""
        from huikuan.customers.credit import credit_rate, run_summary
        from huikuan.customers.models import RatingKind
        from huikuan.insights.services import debtors_classify

        # Every time, not only when the month's rating is due: a rebuilt portfolio is a new record.
        rated = run_summary(credit_rate(as_of=as_of, kind=RatingKind.SCHEDULED, triggered_by="demo"))
        self.stdout.write(
            _("Credit: %(rated)s customers rated, %(changed)s grades changed, %(warnings)s early warnings.")
            % {
                "rated": rated["customers_rated"],
                "changed": rated["grades_changed"],
                "warnings": rated["warnings_raised"],
            }
        )
        classified = debtors_classify(as_of=as_of)
        counts = ", ".join(f"{kind.lower()} {count}" for kind, count in classified.counts.items() if count)
        self.stdout.write(
            _("Debtor types of %(customers)s overdue customers: %(counts)s.")
            % {"customers": classified.customers, "counts": counts or "—"}
        )

    def _dunning_run_and_deliver(self, as_of: date) -> None:
        """Run dunning weekly over the last weeks up to ``as_of`` and deliver each run's e-mail
        into a mailbox folder the user can open, so that customers stand at different stages and
        the collector has calls, visits and messages to approve today.

        Unless HUIKUAN_EMAIL_URL says otherwise, e-mail goes to HUIKUAN_HOME/mailbox as .eml files
        and letters to a print batch under HUIKUAN_HOME/letters. The demo does not wait for the
        send window: it delivers what each run queued at once. Calls and visits of runs more than a
        week old count as done.
        """
        from huikuan.collections.models import Task, TaskStatus
        from huikuan.collections.services import task_scripts_render
        from huikuan.core.calendars import previous_business_day
        from huikuan.core.demo import DEMO_RUN_EVERY_DAYS, DEMO_RUNS, demo_customers, demo_moment
        from huikuan.dunning.engine import RunRefused, dunning_run
        from huikuan.messaging.delivery import outbox_deliver
        from huikuan.messaging.email_url import FILE_BACKEND, UNCONFIGURED_BACKEND
        from huikuan.messaging.letters import letter_batch_create
        from huikuan.messaging.models import OutboxMessage, OutboxStatus

        if settings.EMAIL_BACKEND == UNCONFIGURED_BACKEND:
            settings.EMAIL_BACKEND = FILE_BACKEND
            settings.EMAIL_FILE_PATH = str(settings.HUIKUAN_HOME / "mailbox")
        sent = 0
        moment = timezone.now()
        # On working days of China, where most demo customers are: a weekend or holiday run reaches
        # nobody, so a demo started on a Sunday runs on the Fridays before it.
        last = previous_business_day(as_of, "CN")
        days = [last - timedelta(days=DEMO_RUN_EVERY_DAYS * k) for k in range(DEMO_RUNS - 1, -1, -1)]
        for day in days:
            run_at = min(timezone.now(), demo_moment(day, 8))
            try:
                result = dunning_run(as_of=day, now=run_at, triggered_by="demo", list_actions=False)
            except RunRefused as error:
                if day == last:
                    self.stdout.write(_("Dunning: %(reason)s") % {"reason": error.message})
                continue
            task_scripts_render(run_id=result.run_id)
            if result.already_ran:
                if day == last:
                    self.stdout.write(_("Dunning for %(date)s has already run.") % {"date": day.isoformat()})
                continue
            self.stdout.write(
                _(
                    "Dunning for %(date)s: %(actions)s customers reached a stage; %(messages)s messages queued, "
                    "%(tasks)s call and visit tasks, %(holds)s credit holds."
                )  # fmt: skip
                % {
                    "date": day.isoformat(),
                    "actions": result.actions_created,
                    "messages": result.messages_created,
                    "tasks": result.tasks_created,
                    "holds": result.holds_placed,
                }
            )
            queued = OutboxMessage.objects.filter(status=OutboxStatus.QUEUED)
            latest = queued.order_by("-not_before_at").values_list("not_before_at", flat=True).first()
            moment = max(run_at, latest) if latest else run_at
            sent += outbox_deliver(now=moment, channels=["EMAIL"]).sent
        Task.objects.filter(
            customer__in=demo_customers(),
            action__isnull=False,
            status=TaskStatus.OPEN,
            due_date__lt=as_of - timedelta(days=DEMO_RUN_EVERY_DAYS),
        ).update(status=TaskStatus.DONE, completed_at=moment)
        batch = letter_batch_create(now=moment)
        waiting = OutboxMessage.objects.filter(status=OutboxStatus.AWAITING_APPROVAL).count()
        self.stdout.write(
            _(
                "Delivered %(sent)s e-mails to %(where)s; %(waiting)s messages wait for approval "
                "(huikuan outbox list --status AWAITING_APPROVAL)."
            )  # fmt: skip
            % {
                "sent": sent,
                "where": settings.EMAIL_FILE_PATH or settings.EMAIL_BACKEND,
                "waiting": waiting,
            }
        )
        if batch is not None:
            self.stdout.write(_("Letters to print: %(path)s") % {"path": batch.pdf_path})

    def _aging_print(self, as_of: date) -> None:
        from huikuan.ledger.aging_report import aging_build, aging_table_text

        self.stdout.write("")
        self.stdout.write(aging_table_text(aging_build(as_of=as_of)))
        self.stdout.write("")
