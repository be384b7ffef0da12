"""Support staff define trusted applications here and can revoke a tenant's authorization."""

import contextlib

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from accessgov.core import catalogue
from accessgov.core.admin import ReadOnlyAdmin
from accessgov.core.clientip import get_client_ip
from accessgov.core.errors import ActionRefused
from accessgov.trusted import actions
from accessgov.trusted.models import TrustedApplication, TrustedApplicationAuthorization


class TrustedApplicationForm(forms.ModelForm):
    permissions = forms.MultipleChoiceField(
        # A callable: the catalogue in force when the form is shown.
        choices=lambda: [(p.name, f"{p.name} — {p.label}") for p in catalogue.current().all_permissions],
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

    def save_model(self, request: HttpRequest, obj: TrustedApplication, form, change: bool) -> None:
        # Fewer permissions narrow the live authorizations too, each audited.
        actions.save_application(application=obj, by=request.user, ip=get_client_ip(request))

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

    # Without `permissions`, Django offers an action to anyone who may view the list.
    @admin.action(
        description="Revoke selected authorizations (their tokens stop at once)", permissions=["change"]
    )
    def revoke_selected(self, request: HttpRequest, queryset) -> None:
        count = 0
        for authorization in queryset.live().select_related("tenant", "application"):
            with contextlib.suppress(ActionRefused):
                actions.revoke_authorization(
                    authorization=authorization, by=request.user, ip=get_client_ip(request)
                )
                count += 1
        self.message_user(request, f"Revoked {count} authorization(s).")
