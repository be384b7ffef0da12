from django.urls import path

from accessgov.leaks import views

app_name = "leaks"

urlpatterns = [
    # Public: secret scanners and GitLab call these (docs/secret-scanning.md).
    path("security/leaks/v1/reports", views.report_leaks, name="report_leaks"),
    path("security/gitlab/v1/revocable_token_types", views.gitlab_token_types, name="gitlab_token_types"),
    path("security/gitlab/v1/revoke_tokens", views.gitlab_revoke_tokens, name="gitlab_revoke_tokens"),
    # "Whose key is this?": staff across tenants, an administrator within the tenant.
    path("staff/lookup/", views.lookup_for_staff, name="lookup_for_staff"),
    path("t/<slug:tenant_slug>/settings/api/lookup/", views.lookup_for_tenant, name="lookup_for_tenant"),
]
