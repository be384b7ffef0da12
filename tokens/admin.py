"""Support staff's view of third-party tokens: searchable, filterable, revocable; no digest anywhere."""

import contextlib

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from accessgov.core.admin import ReadOnlyAdmin
from accessgov.core.clientip import get_client_ip
from accessgov.core.errors import ActionRefused
from tokens import actions
from tokens.models import ThirdPartyToken, TokenStatus


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return TokenStatus.choices

    def queryset(self, request: HttpRequest, queryset):
        if self.value() in TokenStatus.values:
            return queryset.with_status(self.value(), timezone.now())
        return queryset


@admin.register(ThirdPartyToken)
class ThirdPartyTokenAdmin(ReadOnlyAdmin):
    """Read-only but for "Revoke selected tokens": tokens go by revocation and purge_revoked only,
    so the grace period and the audit log always apply."""

    # The digest and pepper id are left out on purpose: not shown, not editable, not searchable.
    list_display = ["name", "token_id", "tenant", "status", "created_at", "expires_at", "last_used_at"]
    fields = [
        "name",
        "token_id",
        "tenant",
        "status",
        "description",
        "starts_at",
        "expires_at",
        "allowed_ips",
        "all_organizations",
        "organization_ids",
        "permissions",
        "created_by",
        "created_at",
        "updated_at",
        "secret_set_at",
        "revoked_at",
        "revoked_by",
        "last_used_at",
        "last_used_ip",
    ]
    readonly_fields = fields
    search_fields = ["name", "token_id", "tenant__name", "tenant__slug", "tenant__partner_id"]
    list_filter = [StatusFilter]
    list_select_related = ["tenant"]
    actions = ["revoke_selected"]

    @admin.display(description="status")
    def status(self, token: ThirdPartyToken) -> str:
        return token.describe_status(timezone.now())

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tokens.change_thirdpartytoken")

    @admin.action(description="Revoke selected tokens (they stop working at once)", permissions=["revoke"])
    def revoke_selected(self, request: HttpRequest, queryset) -> None:
        count = 0
        for token in queryset.select_related("tenant").filter(revoked_at__isnull=True).iterator():
            # Revoked meanwhile by someone else: the outcome the staff member asked for.
            with contextlib.suppress(ActionRefused):
                actions.revoke_token(token=token, by=request.user, ip=get_client_ip(request))
                count += 1
        self.message_user(request, f"Revoked {count} token(s).")
