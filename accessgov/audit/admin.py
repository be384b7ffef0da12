"""Support staff's view of the audit log (searchable, never changed), and their admin of tenants,
organizations and memberships, whose every change lands in the tenant's Activity.

The directory's admin lives here rather than in tenants (floor 0, which may not import the audit
log): floor 1 is the lowest that may import both, and each save or delete goes through
accessgov.audit.actions.
"""

from django.contrib import admin
from django.http import HttpRequest

from accessgov.audit import actions
from accessgov.audit.models import AuditEvent
from accessgov.core.admin import ReadOnlyAdmin
from accessgov.core.clientip import get_client_ip
from tenants.models import Membership, Organization, Tenant


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


class AuditedDirectoryAdmin(admin.ModelAdmin):
    """Saves and deletes, single or bulk, inline or not, go through the audited actions."""

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        actions.save_directory_row(row=obj, by=request.user, ip=get_client_ip(request))

    def delete_model(self, request: HttpRequest, obj) -> None:
        actions.delete_directory_row(row=obj, by=request.user, ip=get_client_ip(request))

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        # Django's bulk delete would skip the audit: one audited delete per row instead.
        for obj in queryset.select_related("tenant"):
            self.delete_model(request, obj)

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        ip = get_client_ip(request)
        for obj in formset.save(commit=False):
            actions.save_directory_row(row=obj, by=request.user, ip=ip)
        for obj in formset.deleted_objects:
            actions.delete_directory_row(row=obj, by=request.user, ip=ip)
        formset.save_m2m()


class OrganizationInline(admin.TabularInline):
    model = Organization
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(AuditedDirectoryAdmin):
    list_display = ["name", "slug", "partner_id", "external_id", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug", "partner_id", "external_id"]
    readonly_fields = ["partner_id", "created_at", "leak_response"]
    # The security contact and the response to leaked secrets are the tenant administrators' own
    # choices (Manage API, audited there); staff see the latter, change neither here.
    exclude = ["security_contacts"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [OrganizationInline, MembershipInline]

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # A tenant's audit log protects it (and would go with it); its members and organizations
        # are removed one by one instead, each in its Activity.
        return False


@admin.register(Organization)
class OrganizationAdmin(AuditedDirectoryAdmin):
    list_display = ["name", "tenant", "external_id", "created_at"]
    list_filter = ["tenant"]
    search_fields = ["name", "external_id", "tenant__name", "tenant__slug", "tenant__partner_id"]
    list_select_related = ["tenant"]

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        # An organization never moves to another tenant: authorizations and tokens name it by id.
        return ["tenant"] if obj is not None else []


@admin.register(Membership)
class MembershipAdmin(AuditedDirectoryAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant"]
    search_fields = ["user__username", "tenant__name", "tenant__slug", "tenant__partner_id"]
    list_select_related = ["user", "tenant"]
    raw_id_fields = ["user"]
