"""``huikuan token create|list|revoke``: the per-user bearer tokens of the REST API."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from huikuan.core.auth import (
    api_token_create,
    api_token_list,
    api_token_revoke_by_prefix,
    user_get,
)
from huikuan.core.errors import HuikuanError


def _when(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "-"


class Command(BaseCommand):
    help = "Create, list and revoke API tokens (Authorization: Bearer <token>)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")
        create = actions.add_parser("create", help="create a token and print it once")
        create.add_argument("username")
        create.add_argument("--name", default="", help="what the token is for, e.g. 'ERP sync'")
        listing = actions.add_parser("list", help="list a user's tokens (prefixes only)")
        listing.add_argument("username")
        revoke = actions.add_parser("revoke", help="revoke the token that starts with PREFIX")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except HuikuanError as error:
            raise CommandError(error.message, returncode=2)

    def _create(self, options: dict[str, Any]) -> None:
        user = user_get(username=options["username"])
        token, key = api_token_create(user=user, name=options["name"])
        self.stderr.write(
            f"Token {token.prefix}… created for {options['username']}. "
            "It is shown only this once; keep it somewhere safe."
        )
        self.stdout.write(key)

    def _list(self, options: dict[str, Any]) -> None:
        user = user_get(username=options["username"])
        rows = [
            (
                token.prefix,
                token.name or "-",
                _when(token.created_at),
                _when(token.last_used_at),
                f"revoked {_when(token.revoked_at)}" if token.revoked_at else "active",
            )
            for token in api_token_list(user=user)
        ]
        if not rows:
            self.stdout.write(f"{options['username']} has no API tokens.")
            return
        header = ("prefix", "name", "created", "last used", "status")
        widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            cells = (str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
            self.stdout.write("  ".join(cells).rstrip())

    def _revoke(self, options: dict[str, Any]) -> None:
        token = api_token_revoke_by_prefix(prefix=options["prefix"])
        self.stdout.write(f"Token {token.prefix}… of {token.user} is revoked.")
