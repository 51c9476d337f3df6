"""``huikuan portal link|revoke|list``: the customer's own pages, reached by a link."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from huikuan.core.errors import HuikuanError
from huikuan.customers.selectors import customer_get
from huikuan.portal.services import (
    portal_link_create,
    portal_link_get,
    portal_link_list,
    portal_link_revoke,
    portal_url_for,
)


class Command(BaseCommand):
    help = "Give a customer a link to its portal pages, revoke one, or list them."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{link,revoke,list}")
        link = actions.add_parser("link", help="make a new link for a customer and print it (shown once)")
        link.add_argument("code", metavar="CODE", help="the customer's code")
        link.add_argument("--days", type=int, help="how long it works (default HUIKUAN_PORTAL_LINK_DAYS)")
        link.add_argument("--base-url", help="the site's address (default HUIKUAN_BASE_URL)")
        revoke = actions.add_parser("revoke", help="stop a link working at once")
        revoke.add_argument("prefix", metavar="PREFIX", help="the first characters of the key, as listed")
        listing = actions.add_parser("list", help="list links, newest first")
        listing.add_argument("code", metavar="CODE", nargs="?", help="only this customer's")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except HuikuanError as error:
            raise CommandError(error.message, returncode=1) from None

    def _link(self, options: dict[str, Any]) -> None:
        customer = customer_get(code=options["code"])
        link, key = portal_link_create(customer=customer, days=options.get("days"), now=timezone.now())
        self.stdout.write(portal_url_for(key=key, base_url=options.get("base_url")))
        self.stdout.write(
            f"For {customer.code} {customer.name}; works until "
            f"{timezone.localtime(link.expires_at):%Y-%m-%d %H:%M}. "
            f"It is shown only now; revoke it with: huikuan portal revoke {link.prefix}"
        )

    def _revoke(self, options: dict[str, Any]) -> None:
        link = portal_link_revoke(link=portal_link_get(prefix=options["prefix"]), now=timezone.now())
        self.stdout.write(
            f"Link {link.prefix}… of {link.customer.code} revoked "
            f"{timezone.localtime(link.revoked_at):%Y-%m-%d %H:%M}."  # type: ignore[arg-type]
        )

    def _list(self, options: dict[str, Any]) -> None:
        customer = customer_get(code=options["code"]) if options.get("code") else None
        now = timezone.now()
        count = 0
        for link in portal_link_list(customer=customer):
            count += 1
            if link.revoked_at is not None:
                state = f"revoked {timezone.localtime(link.revoked_at):%Y-%m-%d}"
            elif link.expires_at <= now:
                state = f"expired {timezone.localtime(link.expires_at):%Y-%m-%d}"
            else:
                state = f"works until {timezone.localtime(link.expires_at):%Y-%m-%d}"
            used = (
                f"last used {timezone.localtime(link.last_used_at):%Y-%m-%d %H:%M}"
                if link.last_used_at
                else "not used"
            )
            self.stdout.write(f"{link.prefix}…  {link.customer.code:<12} {state:<24} {used}")
        if not count:
            self.stdout.write("No portal links.")
