"""The URL names are app:verb_noun; the paths people, scripts and bookmarks use stay exactly as they were."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

# Every path of the project (the admin aside) before the URL names were namespaced. A path that
# moves breaks bookmarks, scripts and OAuth clients: change this list only on purpose.
PATHS = [
    "",
    "healthz",
    "security/leaks/v1/reports",
    "security/gitlab/v1/revocable_token_types",
    "security/gitlab/v1/revoke_tokens",
    "staff/lookup/",
    "t/<slug:tenant_slug>/settings/api/lookup/",
    "t/<slug:tenant_slug>/settings/api/leaks/",
    "staff/credentials/",
    "staff/credentials/export.csv",
    "accounts/login/",
    "accounts/logout/",
    "t/<slug:tenant_slug>/",
    "t/<slug:tenant_slug>/settings/api/",
    "t/<slug:tenant_slug>/settings/api/policy/",
    "t/<slug:tenant_slug>/settings/api/access/off/",
    "t/<slug:tenant_slug>/settings/api/contact/",
    "t/<slug:tenant_slug>/settings/api/keys/",
    "t/<slug:tenant_slug>/settings/api/keys/<int:key_id>/delete/",
    "t/<slug:tenant_slug>/settings/api/keys/<int:key_id>/suspend/",
    "t/<slug:tenant_slug>/settings/api/keys/<int:key_id>/resume/",
    "t/<slug:tenant_slug>/settings/api/lifetime/",
    "t/<slug:tenant_slug>/settings/api/activity/",
    "t/<slug:tenant_slug>/settings/api/tokens/",
    "t/<slug:tenant_slug>/settings/api/tokens/new/",
    "t/<slug:tenant_slug>/settings/api/tokens/<int:pk>/",
    "t/<slug:tenant_slug>/settings/api/tokens/<int:pk>/edit/",
    "t/<slug:tenant_slug>/settings/api/tokens/<int:pk>/revoke/",
    "t/<slug:tenant_slug>/settings/api/tokens/<int:pk>/suspend/",
    "t/<slug:tenant_slug>/settings/api/tokens/<int:pk>/resume/",
    "t/<slug:tenant_slug>/settings/api/tokens/<int:pk>/regenerate/",
    "t/<slug:tenant_slug>/settings/api/trusted-apps/",
    "t/<slug:tenant_slug>/settings/api/trusted-apps/authorize/",
    "t/<slug:tenant_slug>/settings/api/trusted-apps/<int:pk>/revoke/",
    "t/<slug:tenant_slug>/settings/api/webhooks/",
    "t/<slug:tenant_slug>/settings/api/webhooks/domains/add/",
    "t/<slug:tenant_slug>/settings/api/webhooks/domains/<int:domain_id>/remove/",
    "t/<slug:tenant_slug>/settings/api/webhooks/destinations/add/",
    "t/<slug:tenant_slug>/settings/api/webhooks/destinations/<int:destination_id>/",
    "t/<slug:tenant_slug>/settings/api/webhooks/destinations/<int:destination_id>/edit/",
    "t/<slug:tenant_slug>/settings/api/webhooks/destinations/<int:destination_id>/delete/",
    "t/<slug:tenant_slug>/settings/api/webhooks/destinations/<int:destination_id>/secret/",
    "t/<slug:tenant_slug>/settings/api/webhooks/destinations/<int:destination_id>/secret/rotate/",
    "t/<slug:tenant_slug>/settings/api/webhooks/destinations/<int:destination_id>/test/",
    "t/<slug:tenant_slug>/settings/api/webhooks/destinations/<int:destination_id>/enable/",
    "t/<slug:tenant_slug>/settings/api/webhooks/destinations/<int:destination_id>/replay/",
    "t/<slug:tenant_slug>/settings/api/blocked/",
    "t/<slug:tenant_slug>/settings/api/blocked/unblock/",
    "staff/blocks/",
    "staff/blocks/unblock/",
    "t/<slug:tenant_slug>/settings/api/webhooks/destinations/<int:destination_id>/deliveries/<int:delivery_id>/",
    "t/<slug:tenant_slug>/settings/api/webhooks/destinations/<int:destination_id>/deliveries/<int:delivery_id>/redeliver/",
    "o/authorize/",
    "o/token/",
    "o/revoke_token/",
    "api/",
    "api/openapi.json",
    "api/v1/Me",
    "api/v1/RateLimits",
    "api/v1/AuditEvents",
    "api/v1/Organizations",
    "api/v1/Organizations/<int:organization_id>",
    "api/v1/WebhookDomains",
    "api/v1/Notify",
    "api/v1/",
    # Added on purpose since: the platform's gateway (docs/gateway.md).
    "gateway/v1/decide",
    "gateway/v1/refusal",
    "gateway/v1/introspect",
    # Added on purpose since: the second sign-in step and each person's own second factor.
    "accounts/login/verify/",
    "accounts/mfa/",
    "accounts/mfa/totp/",
    "accounts/mfa/totp/confirm/",
    "accounts/mfa/recovery-codes/",
    "accounts/mfa/remove/",
    "accounts/mfa/passkeys/remove/",
    "accounts/mfa/passkeys/begin/",
    "accounts/mfa/passkeys/complete/",
    "accounts/login/passkey/begin/",
    "accounts/login/passkey/complete/",
    "accounts/passkeys/messages.js",
    # Added on purpose since: rolling secrets with an overlap, and renewing a token (issue 14).
    "t/<slug:tenant_slug>/settings/api/keys/<int:key_id>/regenerate/",
    "t/<slug:tenant_slug>/settings/api/keys/<int:key_id>/retire-old-secret/",
    "t/<slug:tenant_slug>/settings/api/tokens/<int:pk>/retire-old-secret/",
    "t/<slug:tenant_slug>/settings/api/tokens/<int:pk>/renew/",
    "t/<slug:tenant_slug>/settings/api/webhooks/destinations/<int:destination_id>/secret/retire-old/",
    # Added on purpose since: sign-in through the operator's OpenID Connect provider (docs/sso.md).
    "accounts/sso/",
    "accounts/sso/callback/",
    # Added on purpose since: the operator's provisioning API (docs/operator.md).
    # (Ninja lists a path once per router operation: GET and POST of a list are two patterns.)
    "api/operator/v1/Tenants",
    "api/operator/v1/Tenants",
    "api/operator/v1/Credentials",
    "api/operator/v1/Tenants/<int:tenant_id>",
    "api/operator/v1/Organizations",
    "api/operator/v1/Organizations",
    "api/operator/v1/Organizations/<int:org_id>",
    "api/operator/v1/Memberships",
    "api/operator/v1/Memberships",
    "api/operator/v1/Memberships/<int:membership_id>",
    "api/operator/v1/",
    # Added on purpose since: invitations by e-mail (docs/operator.md).
    "invitations/accept/",
    "invitations/<str:token>/",
    # Added on purpose since: usage per credential over the API (issue 15).
    "api/v1/Usage",
    "api/v1/Usage/Addresses",
    # Added on purpose since: usage per credential (issue 15): narrowing a token to what it used,
    # and a trusted application authorization's own page.
    "t/<slug:tenant_slug>/settings/api/tokens/<int:pk>/narrow/",
    "t/<slug:tenant_slug>/settings/api/trusted-apps/<int:pk>/",
]


def routes(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    """Return every route of the project, included patterns expanded."""
    found = []
    for pattern in (resolver or get_resolver()).url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found.extend(routes(pattern, route))
        else:
            assert isinstance(pattern, URLPattern)
            found.append(route)
    return found


def test_every_path_is_exactly_the_one_it_was():
    assert sorted(route for route in routes() if not route.startswith("admin/")) == sorted(PATHS)


@pytest.mark.parametrize(
    ("name", "args", "path"),
    [
        ("tenants:list_tenants", [], "/"),
        ("tenants:show_tenant", ["acme"], "/t/acme/"),
        ("core:check_health", [], "/healthz"),
        ("mfa:sign_in", [], "/accounts/login/"),
        ("mfa:verify_sign_in", [], "/accounts/login/verify/"),
        ("mfa:manage_mfa", [], "/accounts/mfa/"),
        ("mfa:add_totp", [], "/accounts/mfa/totp/"),
        ("mfa:confirm_totp", [], "/accounts/mfa/totp/confirm/"),
        ("mfa:remove_mfa", [], "/accounts/mfa/remove/"),
        ("mfa:remove_passkey", [], "/accounts/mfa/passkeys/remove/"),
        ("mfa:begin_passkey_sign_in", [], "/accounts/login/passkey/begin/"),
        ("mfa:complete_passkey_sign_in", [], "/accounts/login/passkey/complete/"),
        ("core:sign_out", [], "/accounts/logout/"),
        ("policy:show_manage_api", ["acme"], "/t/acme/settings/api/"),
        ("policy:agree_policy", ["acme"], "/t/acme/settings/api/policy/"),
        ("policy:turn_off_api_access", ["acme"], "/t/acme/settings/api/access/off/"),
        ("policy:create_api_key", ["acme"], "/t/acme/settings/api/keys/"),
        ("policy:delete_api_key", ["acme", 7], "/t/acme/settings/api/keys/7/delete/"),
        ("policy:suspend_api_key", ["acme", 7], "/t/acme/settings/api/keys/7/suspend/"),
        ("policy:resume_api_key", ["acme", 7], "/t/acme/settings/api/keys/7/resume/"),
        ("policy:set_lifetime_policy", ["acme"], "/t/acme/settings/api/lifetime/"),
        ("audit:list_events", ["acme"], "/t/acme/settings/api/activity/"),
        ("tokens:list_tokens", ["acme"], "/t/acme/settings/api/tokens/"),
        ("tokens:create_token", ["acme"], "/t/acme/settings/api/tokens/new/"),
        ("tokens:show_token", ["acme", 7], "/t/acme/settings/api/tokens/7/"),
        ("tokens:edit_token", ["acme", 7], "/t/acme/settings/api/tokens/7/edit/"),
        ("tokens:revoke_token", ["acme", 7], "/t/acme/settings/api/tokens/7/revoke/"),
        ("tokens:suspend_token", ["acme", 7], "/t/acme/settings/api/tokens/7/suspend/"),
        ("tokens:resume_token", ["acme", 7], "/t/acme/settings/api/tokens/7/resume/"),
        ("tokens:regenerate_secret", ["acme", 7], "/t/acme/settings/api/tokens/7/regenerate/"),
        ("tokens:retire_old_secret", ["acme", 7], "/t/acme/settings/api/tokens/7/retire-old-secret/"),
        ("tokens:renew_token", ["acme", 7], "/t/acme/settings/api/tokens/7/renew/"),
        ("tokens:narrow_token", ["acme", 7], "/t/acme/settings/api/tokens/7/narrow/"),
        ("policy:regenerate_api_key", ["acme", 7], "/t/acme/settings/api/keys/7/regenerate/"),
        ("policy:retire_old_key_secret", ["acme", 7], "/t/acme/settings/api/keys/7/retire-old-secret/"),
        (
            "webhooks:retire_old_secret",
            ["acme", 7],
            "/t/acme/settings/api/webhooks/destinations/7/secret/retire-old/",
        ),
        ("trusted:list_applications", ["acme"], "/t/acme/settings/api/trusted-apps/"),
        ("trusted:authorize_application", ["acme"], "/t/acme/settings/api/trusted-apps/authorize/"),
        ("trusted:show_authorization", ["acme", 7], "/t/acme/settings/api/trusted-apps/7/"),
        ("trusted:revoke_authorization", ["acme", 7], "/t/acme/settings/api/trusted-apps/7/revoke/"),
        ("webhooks:show_webhooks", ["acme"], "/t/acme/settings/api/webhooks/"),
        ("webhooks:add_domain", ["acme"], "/t/acme/settings/api/webhooks/domains/add/"),
        ("webhooks:remove_domain", ["acme", 7], "/t/acme/settings/api/webhooks/domains/7/remove/"),
        ("webhooks:add_destination", ["acme"], "/t/acme/settings/api/webhooks/destinations/add/"),
        ("webhooks:show_destination", ["acme", 7], "/t/acme/settings/api/webhooks/destinations/7/"),
        ("webhooks:edit_destination", ["acme", 7], "/t/acme/settings/api/webhooks/destinations/7/edit/"),
        ("webhooks:delete_destination", ["acme", 7], "/t/acme/settings/api/webhooks/destinations/7/delete/"),
        ("webhooks:reveal_secret", ["acme", 7], "/t/acme/settings/api/webhooks/destinations/7/secret/"),
        (
            "webhooks:rotate_secret",
            ["acme", 7],
            "/t/acme/settings/api/webhooks/destinations/7/secret/rotate/",
        ),
        ("webhooks:send_test", ["acme", 7], "/t/acme/settings/api/webhooks/destinations/7/test/"),
        ("webhooks:enable_destination", ["acme", 7], "/t/acme/settings/api/webhooks/destinations/7/enable/"),
        ("webhooks:replay_deliveries", ["acme", 7], "/t/acme/settings/api/webhooks/destinations/7/replay/"),
        (
            "webhooks:redeliver_delivery",
            ["acme", 7, 9],
            "/t/acme/settings/api/webhooks/destinations/7/deliveries/9/redeliver/",
        ),
        ("oauth:choose_tenant", [], "/o/authorize/"),
        ("oauth:issue_token", [], "/o/token/"),
        ("oauth:revoke_token", [], "/o/revoke_token/"),
        ("docs:show_documentation", [], "/api/"),
        ("docs:show_schema", [], "/api/openapi.json"),
        ("gateway:decide", [], "/gateway/v1/decide"),
        ("gateway:render_refusal", [], "/gateway/v1/refusal"),
        ("gateway:introspect_token", [], "/gateway/v1/introspect"),
    ],
)
def test_each_console_url_name_is_app_verb_noun_and_reverses_to_its_path(name, args, path):
    assert reverse(name, args=args) == path
