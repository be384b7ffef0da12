from django.contrib import admin
from django.urls import include, path

from accessgov.api import urls as api_urls
from accessgov.api.site import api, operator_api
from tokens import blocks

# Settings > API of one tenant: each tab is included from the package that owns it.
settings_api = [
    path("", include("accessgov.policy.urls")),
    path("activity/", include("accessgov.audit.urls")),
    path("tokens/", include("tokens.urls")),
    path("trusted-apps/", include("accessgov.trusted.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("blocked/", include(blocks.tenant_urls)),
]

urlpatterns = [
    path("", include("tenants.urls")),
    path("", include("accessgov.core.urls")),
    # Sign-in (password, then a second factor) and each person's own factors; /admin/ signs in
    # through the same views and budgets (accessgov.mfa.admin), so it is no side door.
    path("", include("accessgov.mfa.urls")),
    # Sign-in through the operator's OpenID Connect provider (docs/sso.md).
    path("", include("accessgov.sso.urls")),
    # Invitations by e-mail (docs/operator.md).
    path("", include("accessgov.operator.urls")),
    path("t/<slug:tenant_slug>/settings/api/", include(settings_api)),
    # The operator's staff: every credential of every tenant (docs/operator.md).
    path("staff/credentials/", include("accessgov.inventory.urls")),
    # Leaked secrets: the public intake and GitLab's revocation API; "whose key is this?".
    path("", include("accessgov.leaks.urls")),
    path("o/", include(api_urls.oauth_urls)),
    path("api/", include(api_urls.docs_urls)),
    path("api/v1/", api.urls),
    # The operator's provisioning API: operator keys only (docs/operator.md).
    path("api/operator/v1/", operator_api.urls),
    # The platform's gateway asks here about every request to the platform's API (docs/gateway.md).
    path("gateway/v1/", include(api_urls.gateway_urls)),
    # Addresses blocked after failed API requests, for staff (tokens/blocks.py).
    path("staff/blocks/", include(blocks.staff_urls)),
    path("admin/", admin.site.urls),
]
