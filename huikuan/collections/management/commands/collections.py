"""``huikuan collections review``: the day's review of promises, plans and short payments."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from huikuan.collections.services import collections_review
from huikuan.core.errors import HuikuanError


def _parse_date(text: str | None) -> date:
    if not text:
        return timezone.localdate()
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(
            _("--as-of: %(text)r is not a date; write it as YYYY-MM-DD, e.g. 2026-11-23") % {"text": text},
            returncode=2,
        )


class Command(BaseCommand):
    help = "Review promises to pay, instalment plans and short payments (runs daily before dunning)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{review}")
        review = actions.add_parser(
            "review", help="mark promises kept or broken, plans completed or broken; make their tasks"
        )
        review.add_argument("--as-of", help="the business date of the review (default: today)")
        review.add_argument("--format", choices=("table", "json"), default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = _parse_date(options.get("as_of"))
        try:
            result = collections_review(as_of=as_of)
        except HuikuanError as error:
            raise CommandError(error.message, returncode=2)
        if options["format"] == "json":
            self.stdout.write(
                json.dumps({"as_of": as_of.isoformat(), **result}, ensure_ascii=False, indent=2)
            )
            return
        promises, plans = result["promises"], result["plans"]
        assert isinstance(promises, dict) and isinstance(plans, dict)
        self.stdout.write(_("Collections review for %(date)s") % {"date": as_of.isoformat()})
        self.stdout.write(
            _(
                "  promises: %(reviewed)s open reviewed, %(kept)s kept, %(partly_kept)s partly kept, "
                "%(broken)s broken, %(tasks)s tasks"
            )
            % promises
        )
        self.stdout.write(
            _(
                "  plans: %(reviewed)s current reviewed, %(completed)s completed, %(broken)s broken, %(tasks)s tasks"
            )
            % plans
        )
        self.stdout.write(
            _("  short payments: %(count)s new tasks") % {"count": result["short_payment_tasks"]}
        )
        self.stdout.write(
            _("  statements: %(count)s marked no reply")
            % {"count": result["statements_unanswered"]["no_reply"]}
        )
        issued = result.get("statements_issued")
        if issued:
            self.stdout.write(
                _(
                    "  statements for %(month)s: %(statements)s in all, %(created)s new, %(queued)s e-mailed, "
                    "%(no_email)s without an e-mail address"
                )
                % issued
            )
