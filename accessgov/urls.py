from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accessgov import apidocs, trusted_views, views
from accessgov.api import api

settings_api = [
    path("", views.manage_api, name="manage_api"),
    path("policy/", views.agree_policy, name="agree_policy"),
    path("access/off/", views.disable_api, name="disable_api"),
    path("keys/", views.create_api_key, name="create_api_key"),
    path("keys/<int:key_id>/delete/", views.delete_api_key, name="delete_api_key"),
    path("activity/", views.activity, name="activity"),
    path("tokens/", include("tokens.urls")),
    path("trusted-apps/", trusted_views.trusted_apps, name="trusted_apps"),
    path("trusted-apps/authorize/", trusted_views.consent, name="authorize_trusted_app"),
    path("trusted-apps/<int:pk>/revoke/", trusted_views.revoke_authorization, name="revoke_trusted_app"),
    path("webhooks/", include("webhooks.urls")),
]

tenant_urls = [
    path("", views.tenant_home, name="tenant_home"),
    path("settings/api/", include(settings_api)),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", views.login_view, name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("t/<slug:tenant_slug>/", include(tenant_urls)),
    # OAuth 2.0 for trusted applications: only what the flow needs, none of DOT's management pages.
    path("o/authorize/", trusted_views.choose_tenant, name="oauth_authorize"),
    path("o/token/", trusted_views.oauth_token, name="oauth_token"),
    path("o/revoke_token/", trusted_views.oauth_revoke_token, name="oauth_revoke_token"),
    path("api/", apidocs.docs, name="api_docs"),
    path("api/openapi.json", apidocs.schema, name="api_schema"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]
