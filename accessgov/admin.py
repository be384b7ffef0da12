"""Support staff's view: everything visible, no secret or digest ever shown, audit read-only."""

import contextlib

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from accessgov import actions, catalogue, trusted
from accessgov.clientip import get_client_ip
from accessgov.models import (
    ApiKey,
    ApiUser,
    AuditEvent,
    PolicyAcceptance,
    PolicyVersion,
    TrustedApplication,
    TrustedApplicationAuthorization,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


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
        with contextlib.suppress(actions.ActionRefused):
            actions.delete_api_key(api_key=obj, by=request.user, ip=get_client_ip(request))

    @admin.action(description="Delete selected API keys (they stop working at once)", permissions=["delete"])
    def delete_selected_keys(self, request: HttpRequest, queryset) -> None:
        count = 0
        for api_key in queryset.select_related("tenant"):
            self.delete_model(request, api_key)
            count += 1
        self.message_user(request, f"Deleted {count} API key(s).")


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


class TrustedApplicationForm(forms.ModelForm):
    permissions = forms.MultipleChoiceField(
        choices=[(e.permission, f"{e.permission} — {e.label}") for e in catalogue.ENDPOINTS],
        widget=forms.CheckboxSelectMultiple,
        help_text="The most a tenant can grant it; the consent page shows these.",
    )

    class Meta:
        model = TrustedApplication
        fields = [
            "name",
            "vendor",
            "description",
            "logo_url",
            "oauth_application",
            "permissions",
            "all_organizations",
            "is_enabled",
        ]

    def clean_oauth_application(self):
        application = self.cleaned_data["oauth_application"]
        # The consent page is the only way in: no other grant, and never a skipped consent.
        if application.authorization_grant_type != application.GRANT_AUTHORIZATION_CODE:
            raise forms.ValidationError("Use an OAuth application with the authorization-code grant type.")
        if application.skip_authorization:
            raise forms.ValidationError("Untick “Skip authorization”: a tenant administrator must consent.")
        uris = application.redirect_uris.split()
        if not uris or any(not uri.startswith("https://") for uri in uris):
            raise forms.ValidationError("Register at least one redirect URI, https only.")
        return application


@admin.register(TrustedApplication)
class TrustedApplicationAdmin(admin.ModelAdmin):
    """Support defines trusted applications here, on top of an OAuth application made in
    "Django OAuth Toolkit › Applications" (its client secret is shown only while creating it:
    DOT stores a hash)."""

    form = TrustedApplicationForm
    list_display = ["name", "vendor", "oauth_application", "all_organizations", "is_enabled", "created_at"]
    list_filter = ["is_enabled", "all_organizations"]
    search_fields = ["name", "vendor", "oauth_application__client_id"]
    raw_id_fields = ["oauth_application"]
    list_select_related = ["oauth_application"]

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Authorizations point at it; untick "Is enabled" to withdraw an application instead.
        return False


@admin.register(TrustedApplicationAuthorization)
class TrustedApplicationAuthorizationAdmin(ReadOnlyAdmin):
    list_display = ["application", "tenant", "authorized_by", "authorized_at", "last_used_at", "revoked_at"]
    list_filter = ["application"]
    search_fields = ["application__name", "tenant__name", "tenant__slug", "tenant__partner_id"]
    list_select_related = ["application", "tenant", "authorized_by"]
    actions = ["revoke_selected"]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Needed for the revoke action; every field stays read-only.
        return request.user.has_perm("accessgov.change_trustedapplicationauthorization")

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    @admin.action(description="Revoke selected authorizations (their tokens stop at once)")
    def revoke_selected(self, request: HttpRequest, queryset) -> None:
        count = 0
        for authorization in queryset.live().select_related("tenant", "application"):
            with contextlib.suppress(actions.ActionRefused):
                trusted.revoke_authorization(
                    authorization=authorization, by=request.user, ip=get_client_ip(request)
                )
                count += 1
        self.message_user(request, f"Revoked {count} authorization(s).")
