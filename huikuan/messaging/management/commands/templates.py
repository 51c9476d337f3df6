"""``huikuan templates list|show|sync``: the message templates, and installing the shipped ones."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huikuan.messaging.defaults import template_install_defaults
from huikuan.messaging.models import Template, TemplateChannel
from huikuan.messaging.rendering import normalise_language

CHANNELS = [channel.value for channel in TemplateChannel]


class Command(BaseCommand):
    help = "List and show message templates; install or refresh the shipped ones (edited ones are kept)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{list,show,sync}")
        listing = actions.add_parser("list", help="list the templates")
        listing.add_argument("--key", default="", help="only this key, e.g. formal-notice")
        show = actions.add_parser("show", help="print a template's subject, text and HTML")
        show.add_argument("key")
        show.add_argument("--channel", type=str.upper, choices=CHANNELS, help="EMAIL, SMS, LETTER or SCRIPT")
        show.add_argument("--language", default="", help="zh-hans or en")
        actions.add_parser("sync", help="install missing shipped templates and refresh unedited ones")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _list(self, options: dict[str, Any]) -> None:
        rows = Template.objects.order_by("key", "channel", "language")
        if options["key"]:
            rows = rows.filter(key=options["key"])
        table = [
            (
                row.key,
                row.channel,
                row.language,
                "shipped" if row.is_shipped_default else "edited",
                row.subject,
            )
            for row in rows
        ]
        if not table:
            self.stdout.write("No templates. Run `huikuan templates sync` to install the shipped ones.")
            return
        header = ("key", "channel", "language", "origin", "subject")
        widths = [max(len(str(row[i])) for row in [header, *table]) for i in range(len(header) - 1)]
        for row in [header, *table]:
            cells = [str(cell).ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
            self.stdout.write("  ".join([*cells, str(row[-1])]).rstrip())

    def _show(self, options: dict[str, Any]) -> None:
        rows = Template.objects.filter(key=options["key"]).order_by("channel", "language")
        if options["channel"]:
            rows = rows.filter(channel=options["channel"])
        if options["language"]:
            rows = rows.filter(language=normalise_language(options["language"]))
        found = list(rows)
        if not found:
            raise CommandError(f"no template {options['key']!r} with that channel and language", returncode=1)
        for index, row in enumerate(found):
            if index:
                self.stdout.write("")
            origin = "shipped" if row.is_shipped_default else "edited"
            self.stdout.write(f"== {row.key} · {row.channel} · {row.language} ({origin})")
            if row.subject:
                self.stdout.write(f"Subject: {row.subject}")
            self.stdout.write("--- text")
            self.stdout.write(row.body_text.rstrip("\n"))
            if row.body_html:
                self.stdout.write("--- html")
                self.stdout.write(row.body_html.rstrip("\n"))

    def _sync(self, options: dict[str, Any]) -> None:
        report = template_install_defaults()
        self.stdout.write(
            f"Templates: {report.created} installed, {report.updated} refreshed, "
            f"{report.unchanged} unchanged, {report.kept_edited} edited by you and kept."
        )
