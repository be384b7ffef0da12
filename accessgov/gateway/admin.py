"""Support staff see the gateway keys (never a digest) and can delete one, audited."""

import contextlib

from django.contrib import admin
from django.http import HttpRequest

from accessgov.core.admin import ReadOnlyAdmin
from accessgov.core.clientip import get_client_ip
from accessgov.core.errors import ActionRefused
from accessgov.gateway import actions
from accessgov.gateway.models import GatewayKey


@admin.register(GatewayKey)
class GatewayKeyAdmin(ReadOnlyAdmin):
    """New keys are made with `manage.py create_gateway_key`, which prints the key once."""

    list_display = ["name", "prefix", "created_at", "last_used_at", "last_used_ip"]
    fields = ["name", "prefix", "created_by", "created_at", "last_used_at", "last_used_ip"]
    readonly_fields = fields
    search_fields = ["name", "prefix"]

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm("accessgov.delete_gatewaykey")

    def get_actions(self, request: HttpRequest, action_location=admin.ActionLocation.CHANGE_LIST) -> dict:
        found = super().get_actions(request, action_location=action_location)
        found.pop("delete_selected", None)  # Django's bulk delete would skip the audit log
        return found

    def delete_model(self, request: HttpRequest, obj: GatewayKey) -> None:
        with contextlib.suppress(ActionRefused):
            actions.delete_gateway_key(key=obj, by=request.user, ip=get_client_ip(request))
