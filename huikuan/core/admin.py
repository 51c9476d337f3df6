"""Admin for API tokens: listed and revoked here, created with ``huikuan token create`` (shown once)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from huikuan.core.auth import api_token_revoke
from huikuan.core.models import ApiToken

admin.site.site_header = _("Huikuan administration")
admin.site.site_title = _("Huikuan")
admin.site.index_title = _("Customers, ledger and access")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "owner", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("prefix", "name", "user__username")
    list_select_related = ("user",)
    # The digest identifies the key; nobody types or changes it here.
    readonly_fields = ("user", "key_digest", "prefix", "created_at", "last_used_at", "revoked_at")
    fields = ("user", "name", "prefix", "key_digest", "created_at", "last_used_at", "revoked_at")
    actions = ("tokens_revoke",)

    @admin.display(description=_("user"), ordering="user__username")
    def owner(self, token: ApiToken) -> str:
        return token.user.get_username()

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A token's plaintext must be shown exactly once: the `huikuan token create` command does that.
        return False

    @admin.action(description=_("Revoke the selected tokens"))
    def tokens_revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        live = list(queryset.filter(revoked_at__isnull=True))
        for token in live:
            api_token_revoke(token=token)
        self.message_user(
            request,
            ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", len(live))
            % {"count": len(live)},
            messages.SUCCESS,
        )
