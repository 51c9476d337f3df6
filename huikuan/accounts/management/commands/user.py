"""``huikuan user add|list|role|deactivate|activate|password``: people who sign in, and their roles."""

from __future__ import annotations

import unicodedata
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huikuan.accounts.access import user_assigned_role
from huikuan.accounts.models import Role
from huikuan.accounts.selectors import user_list
from huikuan.accounts.services import (
    password_generate,
    role_parse,
    user_activate,
    user_create,
    user_deactivate,
    user_password_reset,
    user_set_password,
    user_set_role,
)
from huikuan.core.auth import user_get
from huikuan.core.errors import HuikuanError


def _width(text: str) -> int:
    """Return how many terminal columns the text takes (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


ROLE_NAMES = ", ".join(role.value.lower() for role in Role)


class Command(BaseCommand):
    help = "Add users, give them roles, deactivate them, reset their passwords."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(
            dest="action", required=True, metavar="{add,list,role,deactivate,activate,password}"
        )
        add = actions.add_parser(
            "add", help="add a user; prints a generated password unless --password is given"
        )
        add.add_argument("username")
        add.add_argument("--role", required=True, help=ROLE_NAMES)
        add.add_argument("--password", default=None)
        add.add_argument("--email", default="")
        add.add_argument("--name", default="", help="the full name shown in the app")
        listing = actions.add_parser("list", help="list users with their roles")
        listing.add_argument("--all", action="store_true", help="include deactivated users")
        role = actions.add_parser("role", help="give a user another role")
        role.add_argument("username")
        role.add_argument("role", help=ROLE_NAMES)
        deactivate = actions.add_parser("deactivate", help="stop a user from signing in")
        deactivate.add_argument("username")
        activate = actions.add_parser("activate", help="let a deactivated user sign in again")
        activate.add_argument("username")
        password = actions.add_parser(
            "password", help="set a new password; prints a generated one unless --password is given"
        )
        password.add_argument("username")
        password.add_argument("--password", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except HuikuanError as error:
            raise CommandError(error.message, returncode=2)

    def _add(self, options: dict[str, Any]) -> None:
        role = role_parse(options["role"])
        password = options["password"]
        generated = password is None
        if generated:
            password = password_generate()
        user = user_create(
            username=options["username"],
            role=role,
            password=password,
            email=options["email"],
            name=options["name"],
        )
        self.stderr.write(f"User {user.get_username()} added as {role.label}.")
        if generated:
            self.stderr.write("Their password is shown only this once:")
            self.stdout.write(password)

    def _list(self, options: dict[str, Any]) -> None:
        rows = [
            (
                user.get_username(),
                user_assigned_role(user).value.lower(),
                user.get_full_name() or "-",
                user.email or "-",
                "active" if user.is_active else "deactivated",
            )
            for user in user_list(active=None if options["all"] else True)
        ]
        if not rows:
            self.stdout.write(
                "There are no users yet; add one with `huikuan user add USERNAME --role admin`."
            )
            return
        header = ("username", "role", "name", "e-mail", "status")
        widths = [max(_width(row[i]) for row in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            cells = (cell + " " * (width - _width(cell)) for cell, width in zip(row, widths, strict=True))
            self.stdout.write("  ".join(cells).rstrip())

    def _role(self, options: dict[str, Any]) -> None:
        user = user_get(username=options["username"])
        profile = user_set_role(user=user, role=options["role"])
        self.stdout.write(f"{user.get_username()} is now {Role(profile.role).label}.")

    def _deactivate(self, options: dict[str, Any]) -> None:
        user = user_deactivate(user=user_get(username=options["username"]))
        self.stdout.write(f"{user.get_username()} is deactivated and can no longer sign in.")

    def _activate(self, options: dict[str, Any]) -> None:
        user = user_activate(user=user_get(username=options["username"]))
        self.stdout.write(f"{user.get_username()} can sign in again.")

    def _password(self, options: dict[str, Any]) -> None:
        user = user_get(username=options["username"])
        if options["password"] is not None:
            user_set_password(user=user, password=options["password"])
            self.stdout.write(f"The password of {user.get_username()} is changed.")
            return
        password = user_password_reset(user=user)
        self.stderr.write(f"New password of {user.get_username()}, shown only this once:")
        self.stdout.write(password)
