"""``huikuan dunning run|preview|policies``: the daily run, what one customer would receive, the ladders."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from huikuan.collections.services import task_scripts_render
from huikuan.core.errors import HuikuanError
from huikuan.dunning.engine import RunResult, dunning_run
from huikuan.dunning.preview import dunning_preview
from huikuan.dunning.selectors import policy_list


def _usage_error(message: str) -> CommandError:
    return CommandError(message, returncode=2)


def _parse_date(text: str | None) -> date:
    if not text:
        return timezone.localdate()
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise _usage_error(f"--as-of: {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-11-23")


def run_json(result: RunResult) -> dict[str, Any]:
    """The run as the JSON contract gives it."""
    return {
        "run_id": result.run_id,
        "as_of": result.as_of.isoformat(),
        "created": result.created,
        "actions": [
            {key: entry[key] for key in ("customer", "stage", "channel", "invoices", "amount", "currency")}
            | {
                "days_overdue": entry["days_overdue"],
                "policy": entry["policy"],
                "policy_version": entry["policy_version"],
            }
            for entry in result.actions
        ],
        "dry_run": result.dry_run,
        "already_ran": result.already_ran,
        "invoices_considered": result.invoices_considered,
        "messages": result.messages_created,
        "tasks": result.tasks_created,
        "holds_placed": result.holds_placed,
        "holds_released": result.holds_released,
        "charges": result.charges_booked,
    }


class Command(BaseCommand):
    help = "Run today's dunning, preview what a customer would receive, or list the policies."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{run,preview,policies}")
        run = actions.add_parser("run", help="decide and record the day's dunning for every customer")
        run.add_argument("--as-of", help="the business date of the run (default: today)")
        run.add_argument("--dry-run", action="store_true", help="show what would be done; write nothing")
        run.add_argument("--format", choices=("table", "json"), default="table")
        preview = actions.add_parser("preview", help="render exactly what one customer would receive")
        preview.add_argument("customer_code")
        preview.add_argument("--as-of", help="the date to preview (default: today)")
        preview.add_argument("--format", choices=("text", "json"), default="text")
        policies = actions.add_parser("policies", help="list the policies and their stages")
        policies.add_argument("--format", choices=("table", "json"), default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except HuikuanError as error:
            raise CommandError(error.message, returncode=2)

    def _run(self, options: dict[str, Any]) -> None:
        as_of = _parse_date(options["as_of"])
        result = dunning_run(as_of=as_of, dry_run=options["dry_run"], triggered_by="cli")
        if not result.dry_run and result.tasks_created:
            task_scripts_render(run_id=result.run_id)
        if options["format"] == "json":
            self.stdout.write(json.dumps(run_json(result), ensure_ascii=False, indent=2))
            return
        self.stdout.write(run_table_text(result))

    def _preview(self, options: dict[str, Any]) -> None:
        as_of = _parse_date(options["as_of"])
        previews = dunning_preview(customer_code=options["customer_code"], as_of=as_of)
        if options["format"] == "json":
            self.stdout.write(json.dumps([p.as_dict() for p in previews], ensure_ascii=False, indent=2))
            return
        if not previews:
            self.stdout.write(f"{options['customer_code']}: nothing would be sent on {as_of.isoformat()}.")
            return
        for preview in previews:
            self.stdout.write(preview.as_text())
            self.stdout.write("")

    def _policies(self, options: dict[str, Any]) -> None:
        policies = policy_list()
        if options["format"] == "json":
            self.stdout.write(json.dumps(policies, ensure_ascii=False, indent=2))
            return
        for policy in policies:
            grades = ", ".join(policy["grades"]) or "-"
            types = f"; debtor types {', '.join(policy['debtor_types'])}" if policy["debtor_types"] else ""
            self.stdout.write(
                f"{policy['code']}  {policy['name']}  (grades {grades}{types}; version {policy['version']})"
            )
            for stage in policy["stages"]:
                flags = [flag for flag in ("approval", "interest", "letter") if stage.get(flag)]
                self.stdout.write(
                    f"  {stage['position']:>2}. {stage['trigger_days']:>+4} d  {stage['name']:<20} "
                    f"{' + '.join(c.lower() for c in stage['channels']):<30} {stage['sender'].lower()}"
                    + (f"  [{', '.join(flags)}]" if flags else "")
                )


def run_table_text(result: RunResult) -> str:
    """A short human summary of a run: counts, then actions per stage and channel."""
    if result.already_ran:
        return f"A run for {result.as_of.isoformat()} already exists (run {result.run_id}); nothing new was created."
    lines = [
        f"Dunning run {result.as_of.isoformat()}" + (" (dry run: nothing written)" if result.dry_run else ""),
        f"  invoices due for a stage: {result.invoices_considered}",
        f"  actions: {result.actions_created}   messages: {result.messages_created}   "
        f"tasks: {result.tasks_created}   holds placed: {result.holds_placed}   "
        f"holds released: {result.holds_released}   charges: {result.charges_booked}",
    ]
    counts: dict[tuple[str, str], int] = {}
    for entry in result.actions:
        key = (entry["stage"], entry["channel"])
        counts[key] = counts.get(key, 0) + 1
    if counts:
        lines.append("")
        lines.append(f"  {'stage':<22} {'channel':<16} {'customers':>9}")
        for (stage, channel), count in sorted(counts.items()):
            lines.append(f"  {stage:<22} {channel:<16} {count:>9}")
    return "\n".join(lines)
