"""Support staff see which accounts are linked to the identity provider, and can unlink one, audited."""

from django.contrib import admin
from django.http import HttpRequest

from accessgov.core.admin import ReadOnlyAdmin
from accessgov.core.clientip import get_client_ip
from accessgov.sso import actions
from accessgov.sso.models import ProviderAccount


@admin.register(ProviderAccount)
class ProviderAccountAdmin(ReadOnlyAdmin):
    """Links are made by the first sign-in through the provider; unlinking lets the next one link again."""

    list_display = ["user", "issuer", "subject", "created_at", "last_sign_in_at"]
    fields = list_display
    readonly_fields = fields
    search_fields = ["user__username", "user__email", "subject"]
    list_select_related = ["user"]

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm("accessgov.delete_provideraccount")

    def get_actions(self, request: HttpRequest, action_location=admin.ActionLocation.CHANGE_LIST) -> dict:
        found = super().get_actions(request, action_location=action_location)
        found.pop("delete_selected", None)  # Django's bulk delete would skip the audit log
        return found

    def delete_model(self, request: HttpRequest, obj: ProviderAccount) -> None:
        actions.unlink_account(link=obj, by=request.user, ip=get_client_ip(request))
