"""``huikuan outbox deliver|list|approve|cancel``: the queue of e-mails and text messages."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from huikuan.core.errors import HuikuanError
from huikuan.messaging.delivery import BATCH_SIZE, DeliveryReport, outbox_count_due, outbox_deliver
from huikuan.messaging.models import OutboxStatus
from huikuan.messaging.selectors import outbox_list
from huikuan.messaging.services import OutboxChange, outbox_approve, outbox_cancel

FORMATS = ("table", "json")


def _when(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "-"


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a whole number", returncode=2)
    if value < 1:
        raise CommandError(f"{text} must be 1 or more", returncode=2)
    return value


class Command(BaseCommand):
    help = "Deliver, list, approve and cancel outbox messages (e-mail and SMS)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{deliver,list,approve,cancel}")
        deliver = actions.add_parser("deliver", help="send the messages that are due now")
        deliver.add_argument("--limit", type=_positive, metavar="N", help="send at most N messages")
        deliver.add_argument(
            "--channel", action="append", choices=["email", "sms"], help="only this channel (repeatable)"
        )
        deliver.add_argument(
            "--batch-size",
            type=_positive,
            default=BATCH_SIZE,
            metavar="N",
            help=f"messages per batch (default {BATCH_SIZE})",
        )
        deliver.add_argument(
            "--format", choices=FORMATS, default="table", help="output format (default table)"
        )
        listing = actions.add_parser("list", help="list the newest messages")
        listing.add_argument(
            "--status", choices=[s.lower() for s in OutboxStatus.values] + list(OutboxStatus.values)
        )
        listing.add_argument(
            "--limit", type=_positive, default=50, metavar="N", help="at most N rows (default 50)"
        )
        listing.add_argument("--format", choices=FORMATS, default="table")
        for name, what in (
            ("approve", "release messages awaiting approval"),
            ("cancel", "withdraw unsent messages"),
        ):
            sub = actions.add_parser(name, help=what)
            sub.add_argument("ids", nargs="+", type=int, metavar="ID")
            sub.add_argument("--user", metavar="USERNAME", help="who does it (recorded)")
            sub.add_argument("--format", choices=FORMATS, default="table")
            if name == "cancel":
                sub.add_argument("--reason", default="", help="why (recorded on the message)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except HuikuanError as error:
            raise CommandError(error.message, returncode=2)

    def _deliver(self, options: dict[str, Any]) -> None:
        now = timezone.now()
        channels = [c.upper() for c in options["channel"]] if options["channel"] else None
        bar = None
        if options["format"] == "table" and sys.stderr.isatty():
            from tqdm import tqdm

            total = outbox_count_due(now=now)
            if options["limit"]:
                total = min(total, options["limit"])
            bar = tqdm(total=total, unit="msg", file=sys.stderr, leave=False)
        try:
            report = outbox_deliver(
                now=now,
                limit=options["limit"],
                channels=channels,
                batch_size=options["batch_size"],
                progress=bar.update if bar is not None else None,
            )
        finally:
            if bar is not None:
                bar.close()
        if options["format"] == "json":
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
            return
        self.stdout.write(_report_table(report))

    def _list(self, options: dict[str, Any]) -> None:
        rows = list(outbox_list(status=options["status"], limit=options["limit"]))
        if options["format"] == "json":
            data = [
                {
                    "id": m.pk,
                    "status": m.status,
                    "channel": m.channel,
                    "customer": m.customer.code,
                    "template": m.template_key,
                    "recipient": m.recipient,
                    "not_before": m.not_before_at.isoformat(),
                    "attempts": m.attempts,
                    "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                    "provider_id": m.provider_id,
                    "message_id": m.message_id,
                    "last_error": m.last_error,
                }
                for m in rows
            ]
            self.stdout.write(json.dumps(data, ensure_ascii=False))
            return
        if not rows:
            self.stdout.write("No messages.")
            return
        header = (
            "id",
            "status",
            "channel",
            "customer",
            "template",
            "to",
            "not before",
            "tries",
            "sent",
            "error",
        )
        table = [
            (
                m.pk, m.status, m.channel, m.customer.code, m.template_key, m.recipient or "-",
                _when(m.not_before_at), m.attempts, _when(m.sent_at), (m.last_error or "-").splitlines()[0][:60],
            )
            for m in rows
        ]  # fmt: skip
        self.stdout.write(_table(header, table))

    def _user(self, options: dict[str, Any]) -> Any:
        if not options.get("user"):
            return None
        try:
            return get_user_model().objects.get(username=options["user"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"there is no user {options['user']!r}", returncode=2)

    def _approve(self, options: dict[str, Any]) -> None:
        change = outbox_approve(message_ids=options["ids"], user=self._user(options))
        self._change(change, "approved", options)

    def _cancel(self, options: dict[str, Any]) -> None:
        change = outbox_cancel(message_ids=options["ids"], user=self._user(options), reason=options["reason"])
        self._change(change, "cancelled", options)

    def _change(self, change: OutboxChange, verb: str, options: dict[str, Any]) -> None:
        if options["format"] == "json":
            self.stdout.write(json.dumps(change.as_dict()))
        else:
            self.stdout.write(
                f"{len(change.changed)} {verb}" + (f": {_ids(change.changed)}" if change.changed else "")
            )
            for message_id, status in sorted(change.unchanged.items()):
                self.stdout.write(f"{message_id}: left as it is ({status.lower()})")
            for message_id in change.missing:
                self.stdout.write(f"{message_id}: no such message")
        if change.missing or (change.unchanged and not change.changed):
            raise SystemExit(1)


def _ids(ids: list[int]) -> str:
    return " ".join(str(i) for i in ids)


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


def _report_table(report: DeliveryReport) -> str:
    statuses = ("sent", "queued", "failed", "cancelled")
    rows = [
        (channel, *(counts.get(status, 0) for status in statuses))
        for channel, counts in sorted(report.by_channel.items())
    ]
    lines = []
    if rows:
        lines.append(_table(("channel", "sent", "retrying", "failed", "cancelled"), rows))
    lines.append(
        f"{report.sent} sent, {report.retrying} to retry, {report.failed} failed"
        + (f", {report.cancelled} cancelled" if report.cancelled else "")
        + (f" ({report.resent} taken over from an interrupted delivery)" if report.resent else "")
        + f" in {report.seconds:.1f} s."
    )
    for channel in report.not_configured:
        setting = "HUIKUAN_EMAIL_URL" if channel == "EMAIL" else "HUIKUAN_SMS_URL"
        lines.append(f"{channel.lower()} is not configured ({setting}): those messages stay queued.")
    return "\n".join(lines)
