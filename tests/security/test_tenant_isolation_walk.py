"""Walk every URL pattern of the console and the API and prove another tenant cannot reach it.

The walk reads django.urls.get_resolver() recursively, so a view added tomorrow is walked too. Each
pattern is either on the short PUBLIC list, a tenant console URL (t/<slug:tenant_slug>/...), or an
operation of /api/v1/; every <int:...> is filled with a real row of the victim tenant. A pattern the
walk cannot classify or fill fails the test: whoever adds it must teach the walk, and so think about
its isolation.

Console: a signed-in administrator of another tenant gets 404 on every URL of the victim's tenant,
GET and POST, and 404 again when the victim's ids are put under their own tenant. API: the
credentials of another tenant (token with every permission, API key, trusted application's access
token) get 404 for the victim's ids, and no answer of any operation carries the victim's data.
Positive controls (the victim's own administrator and token do reach the same URLs) prove the URLs
are filled correctly, so a 404 here means isolation, not a bad URL.

Attack catalogue case 8: another tenant's rows are not found.
"""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from accessgov.api.site import openapi_schema
from accessgov.audit.models import AuditEvent
from accessgov.core import catalogue
from accessgov.policy import actions
from accessgov.policy.models import ApiKey
from accessgov.trusted.models import TrustedApplicationAuthorization
from tenants.models import Organization
from tests.conftest import basic_auth, bearer_auth, enable_api
from tests.factories import (
    ApprovedWebhookDomainFactory,
    AuditEventFactory,
    OrganizationFactory,
    ThirdPartyTokenFactory,
    TrustedApplicationAuthorizationFactory,
    TrustedApplicationFactory,
    WebhookDeliveryFactory,
    WebhookDestinationFactory,
)
from tests.trusted.conftest import tokens_for
from tokens.models import ThirdPartyToken
from webhooks.models import ApprovedWebhookDomain, WebhookDelivery, WebhookDestination

pytestmark = pytest.mark.django_db

# Reachable without being a member of a tenant; each guards itself (sign-in, OAuth client auth,
# staff status) and none takes a tenant or an object id from the URL.
PUBLIC = {
    "",
    "healthz",
    "accounts/login/",
    "accounts/logout/",
    # The second sign-in step and the signed-in person's own factor: no tenant, no id in the URL;
    # another user's device id posted to confirm is refused (tests/mfa/test_totp.py), another user's
    # passkey id posted to remove is refused (tests/mfa/test_passkeys.py); recovery codes are made
    # for the signed-in person only, from no id at all (tests/mfa/test_recovery_codes.py).
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
    # Sign-in through the identity provider: no tenant or id in the URL; the callback signs in only
    # the person the provider's validated ID token names (tests/sso/).
    "accounts/sso/",
    "accounts/sso/callback/",
    "o/authorize/",
    "o/token/",
    "o/revoke_token/",
    "api/",
    "api/openapi.json",
    "api/v1/",  # Ninja's root: no operation, no credential read
    # Invitations by e-mail: no tenant in the URL; the link's 256-bit token decides which
    # invitation, and a used, expired or forged one is refused (tests/operator/test_invitations.py).
    "invitations/accept/",
    "invitations/<str:token>/",
    # The operator's staff only (is_staff and a second factor; anyone else 404): no tenant in the
    # URL, tests/inventory and tests/leaks/test_lookup.py.
    "staff/credentials/",
    "staff/credentials/export.csv",
    "staff/lookup/",
    # Public by design: anyone reports leaked secrets, GitLab with its pre-shared token; the answer
    # is the same whatever was sent (tests/leaks/test_intake.py, test_gitlab.py).
    "security/leaks/v1/reports",
    "security/gitlab/v1/revocable_token_types",
    "security/gitlab/v1/revoke_tokens",
}
# Django's admin (tests/*/test_admin.py) and the staff pages (tests/inventory, tests/leaks,
# tests/api/test_lockouts.py): staff only. The operator's API: operator keys only, which belong to no
# tenant; tenant credentials are refused there (tests/operator).
PUBLIC_PREFIXES = ("admin/", "staff/", "api/operator/")
CONSOLE_PREFIX = "t/<slug:tenant_slug>/"
API_PREFIX = "api/v1/"
PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
VICTIM_MARKERS_KEYS = ("tenant_name", "partner_id", "organization", "token", "domain", "audit")


def every_route(resolver=None, prefix: str = "") -> list[str]:
    """Return every route of the project, included patterns expanded, as one string each."""
    routes = []
    for pattern in (resolver or get_resolver()).url_patterns:
        text = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            routes.extend(every_route(pattern, text))
        else:
            assert isinstance(pattern, URLPattern)
            routes.append(text)
    return routes


GATEWAY_PREFIX = "gateway/v1/"
OPERATOR_API_PREFIX = "api/operator/v1/"


def classify(route: str) -> str:
    if route in PUBLIC or route.startswith(PUBLIC_PREFIXES):
        return "public"
    if route.startswith(CONSOLE_PREFIX):
        return "console"
    if route.startswith(API_PREFIX):
        return "api"
    if route.startswith(OPERATOR_API_PREFIX):
        # The operator's API spans every tenant by design and refuses every tenant credential:
        # tests/operator/test_api.py::test_every_endpoint_refuses_every_tenant_credential
        return "operator"
    if route.startswith(GATEWAY_PREFIX):
        # Answers the operator's gateways only, about the caller's own credential:
        # tests/api/test_decisions.py::test_another_tenants_credential_is_judged_as_its_own_tenant
        return "gateway"
    return "unknown"


def _object_for(route: str, name: str, victim: dict) -> int:
    """Return the pk of the victim's row that the parameter NAME of ROUTE expects."""
    by_name = {
        "key_id": "api_key",
        "domain_id": "domain",
        "destination_id": "destination",
        "delivery_id": "delivery",
        "organization_id": "organization",
    }
    if name in by_name:
        return victim[by_name[name]].pk
    if name == "pk":
        owner = route.split("<int:pk>")[0].rstrip("/").rsplit("/", 1)[-1]
        by_segment = {"tokens": "token", "trusted-apps": "authorization"}
        if owner in by_segment:
            return victim[by_segment[owner]].pk
    pytest.fail(f"The isolation walk cannot fill <{name}> in {route!r}: add the row it expects.")


def fill(route: str, victim: dict, slug: str) -> str:
    """Return ROUTE as a concrete path with the victim's rows (and tenant SLUG)."""

    def value(match: re.Match) -> str:
        converter, name = match["converter"], match["name"]
        if name == "tenant_slug":
            return slug
        if converter != "int":
            pytest.fail(f"The isolation walk cannot fill <{converter}:{name}> in {route!r}.")
        return str(_object_for(route, name, victim))

    return "/" + PARAMETER.sub(value, route)


@pytest.fixture
def victim(other_tenant, other_admin, policy):
    """Rival MSP with one row of every kind a console or API URL takes an id of."""
    enable_api(other_tenant, by=other_admin)
    api_key, raw = actions.issue_api_key(
        tenant=other_tenant, name="Victim server key", by=other_admin, ip=None
    )
    api_key.raw = raw
    domain = ApprovedWebhookDomainFactory(tenant=other_tenant, domain="hooks.victimcorp.com")
    destination = WebhookDestinationFactory(
        tenant=other_tenant, url="https://hooks.victimcorp.com/victim-receiver", host="hooks.victimcorp.com"
    )
    return {
        "tenant": other_tenant,
        "organization": OrganizationFactory(tenant=other_tenant, name="Victim Org Zeta"),
        "api_key": api_key,
        "token": ThirdPartyTokenFactory(
            tenant=other_tenant, name="Victim PSA script", permissions=sorted(catalogue.current().permissions)
        ),
        "domain": domain,
        "destination": destination,
        "delivery": WebhookDeliveryFactory(destination=destination, failed=True),
        "authorization": TrustedApplicationAuthorizationFactory(tenant=other_tenant),
        "audit": AuditEventFactory(tenant=other_tenant, actor_label="victim-actor-7731"),
    }


def markers(victim: dict) -> list[str]:
    return [
        victim["tenant"].name,
        victim["tenant"].partner_id,
        victim["organization"].name,
        victim["token"].name,
        victim["token"].token_id,
        victim["api_key"].prefix,
        victim["domain"].domain,
        victim["audit"].actor_label,
    ]


def snapshot(victim: dict) -> dict:
    """Return what an attack could change of the victim's rows."""
    tenant = victim["tenant"]
    return {
        "keys": list(ApiKey.objects.filter(tenant=tenant).values_list("pk", "name", "digest")),
        "tokens": list(
            ThirdPartyToken.objects.filter(tenant=tenant).values_list(
                "pk", "name", "digest", "revoked_at", "permissions", "allowed_ips", "expires_at"
            )
        ),
        "domains": list(ApprovedWebhookDomain.objects.filter(tenant=tenant).values_list("pk", "domain")),
        "destinations": list(
            WebhookDestination.objects.filter(tenant=tenant).values_list(
                "pk", "url", "signing_secret", "is_enabled"
            )
        ),
        "deliveries": list(
            WebhookDelivery.objects.filter(tenant=tenant).values_list("pk", "state", "attempts")
        ),
        "authorizations": list(
            TrustedApplicationAuthorization.objects.filter(tenant=tenant).values_list("pk", "revoked_at")
        ),
        "organizations": list(Organization.objects.filter(tenant=tenant).values_list("pk", "name")),
        "audit": AuditEvent.objects.filter(tenant=tenant).count(),
        "api_user_active": tenant.api_user.is_active,
    }


POST_DATA = {
    "confirm": "on",
    "decision": "authorize",
    "agree": "on",
    "name": "attacker",
    "domain": "attacker.example.com",
    "url": "https://attacker.example.com/x",
    "permissions": ["Me.Read"],
}


def test_every_route_is_public_a_tenant_console_url_or_an_api_operation():
    unknown = [route for route in every_route() if classify(route) == "unknown"]
    assert not unknown, f"Routes the isolation walk does not know how to classify: {unknown}"
    console = [route for route in every_route() if classify(route) == "console"]
    api = [route for route in every_route() if classify(route) == "api"]
    # The walk would prove nothing if the resolver stopped expanding includes.
    assert len(console) >= 25 and len(api) >= 7


def test_another_tenants_administrator_gets_404_on_every_console_url(
    victim, admin_client, enabled_tenant, other_admin
):
    """Attack catalogue case 8: on every console URL, by every id of the victim."""
    before = snapshot(victim)
    walked = 0
    for route in every_route():
        if classify(route) != "console":
            continue
        victim_url = fill(route, victim, victim["tenant"].slug)
        refused_methods = set()
        for method in ("get", "post"):
            response = getattr(admin_client, method)(victim_url, POST_DATA if method == "post" else None)
            # 404, as if the tenant did not exist. A view that refuses the method (405) before
            # looking at the tenant says the same for a tenant that does not exist: no leak.
            if response.status_code == 405:
                nowhere = fill(route, victim, "no-such-tenant")
                assert getattr(admin_client, method)(nowhere).status_code == 405, (method, victim_url)
                refused_methods.add(method)
            else:
                assert response.status_code == 404, (method, victim_url, response.status_code)
            for marker in markers(victim):
                assert marker not in response.content.decode(), (method, victim_url, marker)
        if "<int:" in route:
            # The victim's ids under the attacker's own tenant are not found either.
            own_url = fill(route, victim, "acme")
            for method in ("get", "post"):
                response = getattr(admin_client, method)(own_url, POST_DATA if method == "post" else None)
                expected = 405 if method in refused_methods else 404
                assert response.status_code == expected, (method, own_url, response.status_code)
        walked += 1
    assert walked >= 25
    assert snapshot(victim) == before
    # Positive control: the victim's own administrator reaches every one of those URLs.
    owner = Client()
    owner.force_login(other_admin)
    for route in every_route():
        if classify(route) == "console":
            url = fill(route, victim, victim["tenant"].slug)
            assert owner.get(url).status_code != 404, url


def _api_operations() -> dict[str, set[str]]:
    """Return the methods of every /api/v1/ route, from the resolver, checked against the schema."""
    schema_paths = {
        path: {method.upper() for method in operations}
        for path, operations in openapi_schema()["paths"].items()
    }
    operations = {}
    for route in every_route():
        if classify(route) != "api" or route in PUBLIC:
            continue
        schema_path = "/" + PARAMETER.sub(lambda m: "{" + m["name"] + "}", route)
        if schema_path not in schema_paths:
            pytest.fail(
                f"{route!r} is routed but not in the OpenAPI schema; the walk cannot tell its methods."
            )
        operations[route] = schema_paths[schema_path]
    return operations


@pytest.fixture
def attacker_credentials(enabled_tenant, admin_client, admin_user):
    """Return the Authorization headers of Acme's token, API key and trusted application token."""
    OrganizationFactory(tenant=enabled_tenant, name="Attacker Org")
    token = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=sorted(catalogue.current().permissions))
    _, raw_key = actions.issue_api_key(tenant=enabled_tenant, name="Attacker key", by=admin_user, ip=None)
    app = TrustedApplicationFactory(
        all_organizations=True, permissions=sorted(catalogue.current().permissions)
    )
    access = tokens_for(admin_client, app)["access_token"]
    return {
        "token": basic_auth(token.token_id, token.secret),
        "api_key": bearer_auth(raw_key),
        "oauth": bearer_auth(access),
    }


def _call(method: str, url: str, authorization: str | None, query: dict | None = None):
    headers = {"Authorization": authorization} if authorization else {}
    client = Client()
    if method == "POST":
        return client.post(
            url, {"Message": "hello"}, content_type="application/json", headers=headers, secure=True
        )
    return client.generic(
        method,
        url,
        headers=headers,
        secure=True,
        QUERY_STRING="&".join(f"{k}={v}" for k, v in (query or {}).items()),
    )


def test_another_tenants_credentials_never_reach_the_victims_data_on_any_api_operation(
    victim, attacker_credentials
):
    """Attack catalogue case 8: on every API operation, with each kind of credential."""
    operations = _api_operations()
    assert {"api/v1/Me", "api/v1/Organizations/<int:organization_id>", "api/v1/Notify"} <= set(operations)
    before = snapshot(victim)
    for route, methods in operations.items():
        url = fill(route, victim, victim["tenant"].slug)
        takes_victim_id = "<int:" in route
        for method in methods:
            for kind, authorization in attacker_credentials.items():
                for query in [None, {"$top": "500"}, {"$filter": f"Id eq {victim['organization'].pk}"}]:
                    if query and (method != "GET" or takes_victim_id):
                        continue
                    response = _call(method, url, authorization, query)
                    if takes_victim_id:
                        assert response.status_code in {401, 403, 404}, (
                            kind,
                            method,
                            url,
                            response.status_code,
                        )
                    else:
                        assert response.status_code in {200, 202, 400, 401, 403, 404}, (kind, method, url)
                    body = response.content.decode()
                    for marker in markers(victim):
                        assert marker not in body, (kind, method, url, marker)
                    if response.status_code == 200 and route.endswith("Organizations"):
                        ids = {row["Id"] for row in response.json()["Data"]}
                        assert victim["organization"].pk not in ids
            # No credential at all: 401 on every operation.
            response = _call(method, url, None)
            assert response.status_code == 401, (method, url)
    assert snapshot(victim) == before
    # Positive control: the victim's own token reads its own rows at the same URLs.
    own = basic_auth(victim["token"].token_id, victim["token"].secret)
    for route, methods in operations.items():
        if "GET" in methods:
            response = _call("GET", fill(route, victim, victim["tenant"].slug), own)
            assert response.status_code == 200, (route, response.content[:300])
    assert victim["organization"].name in _call("GET", "/api/v1/Organizations", own).content.decode()
