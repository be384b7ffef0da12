"""Support staff's view of policies, API users and keys: no digest ever shown, deletes audited."""

import contextlib

from django.contrib import admin
from django.http import HttpRequest

from accessgov.core.admin import ReadOnlyAdmin
from accessgov.core.clientip import get_client_ip
from accessgov.core.errors import ActionRefused
from accessgov.policy import actions
from accessgov.policy.models import ApiKey, ApiUser, PolicyAcceptance, PolicyVersion


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    list_display = ["version", "published_at"]
    search_fields = ["version"]


@admin.register(PolicyAcceptance)
class PolicyAcceptanceAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "version", "accepted_by", "accepted_at", "ip_address"]
    list_filter = ["version"]
    search_fields = ["tenant__name", "tenant__slug", "tenant__partner_id"]
    list_select_related = ["tenant", "version", "accepted_by"]


@admin.register(ApiUser)
class ApiUserAdmin(ReadOnlyAdmin):
    list_display = ["username", "tenant", "is_active", "created_at", "disabled_at"]
    list_filter = ["is_active"]
    search_fields = ["username", "tenant__name", "tenant__slug", "tenant__partner_id"]
    list_select_related = ["tenant"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    # The digest and pepper id are left out on purpose: not shown, not editable, not searchable.
    list_display = ["name", "prefix", "tenant", "created_by", "created_at", "last_used_at"]
    fields = ["name", "prefix", "tenant", "created_by", "created_at", "last_used_at", "last_used_ip"]
    readonly_fields = fields
    search_fields = ["name", "prefix", "tenant__name", "tenant__slug", "tenant__partner_id"]
    list_filter = ["tenant"]
    list_select_related = ["tenant", "created_by"]
    actions = ["delete_selected_keys"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_actions(self, request: HttpRequest, action_location=admin.ActionLocation.CHANGE_LIST) -> dict:
        # Django's bulk delete skips our audit; the action below replaces it.
        found = super().get_actions(request, action_location=action_location)
        found.pop("delete_selected", None)
        return found

    def delete_model(self, request: HttpRequest, obj: ApiKey) -> None:
        # Deleted meanwhile by someone else: the outcome the staff member asked for.
        with contextlib.suppress(ActionRefused):
            actions.delete_api_key(api_key=obj, by=request.user, ip=get_client_ip(request))

    @admin.action(description="Delete selected API keys (they stop working at once)", permissions=["delete"])
    def delete_selected_keys(self, request: HttpRequest, queryset) -> None:
        count = 0
        for api_key in queryset.select_related("tenant"):
            self.delete_model(request, api_key)
            count += 1
        self.message_user(request, f"Deleted {count} API key(s).")
