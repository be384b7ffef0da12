"""Support staff's view of the audit log: searchable, never changed."""

from django.contrib import admin

from accessgov.audit.models import AuditEvent
from accessgov.core.admin import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "tenant", "actor_label", "action", "target_label", "ip_address"]
    list_filter = ["action", "created_at"]
    search_fields = [
        "actor_label",
        "action",
        "target_label",
        "tenant__name",
        "tenant__slug",
        "tenant__partner_id",
    ]
    list_select_related = ["tenant"]
    date_hierarchy = "created_at"
