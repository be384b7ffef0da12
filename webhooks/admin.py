"""Support staff's read-only view of webhook settings and deliveries; signing secrets never shown."""

from django.contrib import admin

from accessgov.core.admin import ReadOnlyAdmin
from webhooks.models import ApprovedWebhookDomain, WebhookAttempt, WebhookDelivery, WebhookDestination


@admin.register(ApprovedWebhookDomain)
class ApprovedWebhookDomainAdmin(ReadOnlyAdmin):
    list_display = ["domain", "tenant", "added_by", "created_at", "last_delivery_at"]
    search_fields = ["domain", "tenant__name", "tenant__slug", "tenant__partner_id"]
    list_select_related = ["tenant", "added_by"]


@admin.register(WebhookDestination)
class WebhookDestinationAdmin(ReadOnlyAdmin):
    # The signing secrets are left out on purpose: not shown, not searchable, not exported.
    list_display = ["url", "tenant", "is_enabled", "created_at", "updated_at"]
    fields = [
        "url",
        "host",
        "description",
        "events",
        "is_enabled",
        "tenant",
        "created_by",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    search_fields = ["url", "tenant__name", "tenant__slug", "tenant__partner_id"]
    list_filter = ["is_enabled"]
    list_select_related = ["tenant"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "webhook_id",
        "event_type",
        "destination",
        "tenant",
        "state",
        "attempts",
        "next_attempt_at",
    ]
    list_filter = ["state", "event_type"]
    search_fields = ["webhook_id", "tenant__slug", "destination__url"]
    list_select_related = ["tenant", "destination"]


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "delivery", "number", "status_code", "error", "duration_ms"]
    search_fields = ["delivery__webhook_id"]
    list_select_related = ["delivery"]
