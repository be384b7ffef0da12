from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accessgov.api import decisions, oauth
from accessgov.api import docs as api_docs
from accessgov.api.site import api
from accessgov.audit import views as audit_views
from accessgov.core import views as core_views
from accessgov.policy import views as policy_views
from accessgov.trusted import views as trusted_views
from tenants import views as tenant_views

settings_api = [
    path("", policy_views.manage_api, name="manage_api"),
    path("policy/", policy_views.agree_policy, name="agree_policy"),
    path("access/off/", policy_views.disable_api, name="disable_api"),
    path("keys/", policy_views.create_api_key, name="create_api_key"),
    path("keys/<int:key_id>/delete/", policy_views.delete_api_key, name="delete_api_key"),
    path("activity/", audit_views.activity, name="activity"),
    path("tokens/", include("tokens.urls")),
    path("trusted-apps/", trusted_views.trusted_apps, name="trusted_apps"),
    path("trusted-apps/authorize/", trusted_views.consent, name="authorize_trusted_app"),
    path("trusted-apps/<int:pk>/revoke/", trusted_views.revoke_authorization, name="revoke_trusted_app"),
    path("webhooks/", include("webhooks.urls")),
]

tenant_urls = [
    path("", tenant_views.tenant_home, name="tenant_home"),
    path("settings/api/", include(settings_api)),
]

urlpatterns = [
    path("", tenant_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("accounts/login/", core_views.login_view, name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("t/<slug:tenant_slug>/", include(tenant_urls)),
    # OAuth 2.0 for trusted applications: only what the flow needs, none of DOT's management pages.
    path("o/authorize/", trusted_views.choose_tenant, name="oauth_authorize"),
    path("o/token/", oauth.oauth_token, name="oauth_token"),
    path("o/revoke_token/", oauth.oauth_revoke_token, name="oauth_revoke_token"),
    path("api/", api_docs.docs, name="api_docs"),
    path("api/openapi.json", api_docs.schema, name="api_schema"),
    path("api/v1/", api.urls),
    # The platform's gateway asks here about every request to the platform's API (docs/gateway.md).
    path("gateway/v1/decide", decisions.decide, name="gateway_decide"),
    path("gateway/v1/refusal", decisions.refusal, name="gateway_refusal"),
    path("gateway/v1/introspect", decisions.introspect, name="gateway_introspect"),
    path("admin/", admin.site.urls),
]
