from django.contrib import admin

from tenants.models import Membership, Organization, Tenant


class OrganizationInline(admin.TabularInline):
    model = Organization
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "partner_id", "created_at"]
    search_fields = ["name", "slug", "partner_id"]
    readonly_fields = ["partner_id", "created_at"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [OrganizationInline, MembershipInline]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "created_at"]
    list_filter = ["tenant"]
    search_fields = ["name", "tenant__name", "tenant__slug", "tenant__partner_id"]
    list_select_related = ["tenant"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant"]
    search_fields = ["user__username", "tenant__name", "tenant__slug", "tenant__partner_id"]
    list_select_related = ["user", "tenant"]
    raw_id_fields = ["user"]
