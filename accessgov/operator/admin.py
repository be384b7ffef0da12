"""Superusers make operator keys in the admin (the key is shown once, in the answer to the POST that
made it); staff with the permission see them (never a digest) and delete them, audited."""

import contextlib

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

from accessgov.core import catalogue
from accessgov.core.clientip import get_client_ip
from accessgov.core.errors import ActionRefused
from accessgov.operator import actions
from accessgov.operator.models import OperatorKey


class OperatorKeyForm(forms.ModelForm):
    permissions = forms.MultipleChoiceField(
        choices=lambda: [(p.name, f"{p.name} — {p.label}") for p in catalogue.OPERATOR_PERMISSIONS],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = OperatorKey
        fields = ["name", "permissions"]

    def clean(self):
        data = super().clean()
        if not self.errors:
            # Refused now, with the form shown again, rather than after the save (unique name...).
            name = " ".join(data.get("name", "").split())
            if OperatorKey.objects.filter(name=name).exists():
                self.add_error("name", f"An operator key named “{name}” already exists.")
        return data


@admin.register(OperatorKey)
class OperatorKeyAdmin(admin.ModelAdmin):
    """Adding goes through issue_operator_key (audited, digest only); nothing can be changed later."""

    form = OperatorKeyForm
    list_display = ["name", "prefix", "permission_list", "created_at", "last_used_at", "last_used_ip"]
    readonly_fields = [
        "name",
        "prefix",
        "permissions",
        "created_by",
        "created_at",
        "last_used_at",
        "last_used_ip",
    ]
    search_fields = ["name", "prefix"]

    @admin.display(description="Permissions")
    def permission_list(self, obj: OperatorKey) -> str:
        return ", ".join(obj.permissions)

    def get_fields(self, request: HttpRequest, obj=None):
        return ["name", "permissions"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return [] if obj is None else self.readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        # An operator key can create and deactivate any tenant: superusers only.
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm("accessgov.delete_operatorkey")

    def get_actions(self, request: HttpRequest, action_location=admin.ActionLocation.CHANGE_LIST) -> dict:
        found = super().get_actions(request, action_location=action_location)
        found.pop("delete_selected", None)  # Django's bulk delete would skip the audit log
        return found

    def save_model(self, request: HttpRequest, obj: OperatorKey, form, change: bool) -> None:
        key, raw = actions.issue_operator_key(
            name=form.cleaned_data["name"],
            permissions=form.cleaned_data["permissions"],
            by=request.user,
            ip=get_client_ip(request),
        )
        obj.pk = key.pk
        obj.prefix = key.prefix
        # Kept on this request only, for response_add to show once; never in the session or a URL.
        request.operator_key_raw = raw

    def save_related(self, request, form, formsets, change) -> None:
        """Nothing related to save: the action made the row."""

    def log_addition(self, request, obj, message):
        """The audit log has it (operator_key.created); Django's LogEntry would repeat it."""

    def response_add(self, request: HttpRequest, obj: OperatorKey, post_url_continue=None) -> HttpResponse:
        response = TemplateResponse(
            request,
            "admin/operator/key_created.html",
            {
                **self.admin_site.each_context(request),
                "title": "Operator key created",
                "key": obj,
                "raw": request.operator_key_raw,
                "opts": self.opts,
            },
        )
        add_never_cache_headers(response)
        response["Referrer-Policy"] = "no-referrer"
        return response

    def delete_model(self, request: HttpRequest, obj: OperatorKey) -> None:
        with contextlib.suppress(ActionRefused):
            actions.delete_operator_key(key=obj, by=request.user, ip=get_client_ip(request))
