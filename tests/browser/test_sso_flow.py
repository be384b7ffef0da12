"""An administrator of a tenant that accepts single sign-on only tries a password, is told to use
the identity provider, signs in there (a real OpenID Connect provider on loopback: discovery,
redirect, consent, ID token checks) and lands in the tenant the provider's claim gave; a token the
provider tampered with is refused with a clear message."""

from playwright.sync_api import expect

from accessgov.audit.models import AuditEvent
from accessgov.sso.models import ProviderAccount
from tenants.models import Membership, Role
from tests.factories import PASSWORD, TenantFactory, UserFactory
from tests.sso.oidc import PROVIDER_PASSWORD


def consent_as(page, username: str) -> None:
    """At the test provider: sign in as USERNAME, then allow accessgov."""
    expect(page.get_by_role("heading", name="Test identity provider")).to_be_visible()
    page.get_by_label("Provider username").fill(username)
    page.get_by_label("Provider password").fill(PROVIDER_PASSWORD)
    page.get_by_role("button", name="Sign in to the provider").click()
    expect(page.get_by_role("heading", name="Allow accessgov to know who you are?")).to_be_visible()
    page.get_by_role("button", name="Allow").click()


def test_administrator_signs_in_through_the_provider_and_lands_in_the_tenant_the_claim_gives(
    live_server, page, sso
):
    northwind = TenantFactory(name="Northwind", slug="northwind", external_id="nw-1", password_sign_in=False)
    alice = UserFactory(username="alice", email="alice@example.com")
    # The provider says alice is an administrator of nw-1 and used a second factor there.
    sso.set_claims(
        {"alice": {"tenants": [{"external_id": "nw-1", "role": "administrator"}], "amr": ["pwd", "otp"]}}
    )

    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.get_by_text("Members of tenants that turned password sign-in off must use")).to_be_visible()
    # alice has no membership yet, so her password still works... once she belongs to Northwind it does not.
    Membership.objects.create(user=alice, tenant=northwind, role=Role.TECHNICIAN)
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text(
        "Northwind does not accept passwords: use Sign in with Example ID above."
    )

    page.get_by_role("button", name="Sign in with Example ID").click()
    consent_as(page, "alice")
    # Home leads the member of one tenant to it; the provider's second factor satisfies the
    # tenant's "Administrators must use MFA".
    expect(page).to_have_url(f"{live_server.url}/t/northwind/")
    expect(page.get_by_text("Tenant: Northwind")).to_be_visible()
    assert Membership.objects.get(user=alice).role == Role.ADMINISTRATOR
    assert ProviderAccount.objects.get(user=alice).issuer == sso.issuer
    assert set(AuditEvent.objects.filter(actor=alice).values_list("action", flat=True)) >= {
        "sign_in.password_refused",
        "sso.account_linked",
        "membership.role_changed",
        "sso.signed_in",
    }


def test_a_tampered_id_token_is_refused_with_a_clear_message(live_server, page, sso):
    TenantFactory(name="Northwind", slug="northwind", external_id="nw-1")
    sso.set_claims(
        {"bob": {"tenants": [{"external_id": "nw-1", "role": "viewer"}], "tamper": {"aud": "another-app"}}}
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("button", name="Sign in with Example ID").click()
    consent_as(page, "bob")
    expect(page.get_by_role("alert")).to_have_text(
        "Sign-in refused: The ID token was issued for another application, so it was refused."
    )
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    assert not ProviderAccount.objects.exists()
