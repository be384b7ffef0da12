"""Signing in through the test provider with Django's test client: linking, creating, memberships
from the tenants claim, the provider's MFA word, password sign-in turned off, and the audit log."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accessgov.audit.models import AuditEvent
from accessgov.sso.models import ProviderAccount
from tenants.models import Membership, Role
from tests.factories import PASSWORD, MembershipFactory, TenantFactory, UserFactory
from tests.sso.oidc import sign_in_through_provider

pytestmark = pytest.mark.django_db(transaction=True)


def actions_of(**filters) -> list[str]:
    return list(AuditEvent.objects.filter(**filters).order_by("pk").values_list("action", flat=True))


def test_first_sign_in_creates_the_account_and_lands_in_the_tenant_the_claim_gives(sso):
    tenant = TenantFactory(name="Northwind", slug="northwind", external_id="nw-1")
    sso.set_claims({"alice": {"tenants": [{"external_id": "nw-1", "role": "technician"}]}})
    client = Client()
    response = sign_in_through_provider(client, "alice")
    assert response.status_code == 302
    assert response["Location"] == "/"
    user = get_user_model().objects.get(email="alice@example.com")
    assert user.username == "alice" and not user.has_usable_password()
    assert Membership.objects.get(user=user).tenant == tenant
    assert ProviderAccount.objects.get(user=user).issuer == sso.issuer
    # The home page leads a member of one tenant straight to it.
    assert client.get("/", follow=True).redirect_chain[-1][0] == "/t/northwind/"
    assert actions_of(actor=user) == ["sso.account_created", "membership.added", "sso.signed_in"]
    added = AuditEvent.objects.get(action="membership.added")
    assert added.tenant == tenant and added.details["source"] == "identity provider"


def test_an_existing_account_is_linked_by_its_verified_email_once_then_by_subject(sso):
    user = UserFactory(username="bob-here", email="Bob@Example.com")
    client = Client()
    assert sign_in_through_provider(client, "bob").status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    link = ProviderAccount.objects.get(user=user)
    # The provider's e-mail changes: the stored subject still finds the account.
    sso.set_claims({"bob": {"email": "robert@example.com"}})
    other = Client()
    assert sign_in_through_provider(other, "bob").status_code == 302
    assert other.session["_auth_user_id"] == str(user.pk)
    assert ProviderAccount.objects.get() == link
    assert actions_of(actor=user) == ["sso.account_linked", "sso.signed_in", "sso.signed_in"]


def test_an_unverified_email_never_links_an_account(sso):
    UserFactory(username="carol", email="carol@example.com")
    sso.set_claims({"carol": {"email_verified": False}})
    response = sign_in_through_provider(Client(), "carol")
    assert response.status_code == 403
    assert "did not say your e-mail address is verified" in response.content.decode()
    assert not ProviderAccount.objects.exists()
    [refused] = AuditEvent.objects.filter(action="sso.refused")
    assert refused.details == {"reason": "unverified_email"}


def test_a_staff_account_is_never_linked_by_email_alone(sso):
    staff = UserFactory(username="staffer", email="staffer@example.com", is_staff=True)
    client = Client()
    response = sign_in_through_provider(client, "staffer")
    assert response.status_code == 403
    assert "belongs to a staff account" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not ProviderAccount.objects.filter(user=staff).exists()


def test_nobody_gets_an_account_without_a_tenant_from_the_claim(sso):
    response = sign_in_through_provider(Client(), "dave")
    assert response.status_code == 403
    assert "No accessgov account matches this sign-in" in response.content.decode()
    assert not get_user_model().objects.filter(username="dave").exists()


def test_the_claim_changes_roles_and_removes_memberships_at_each_sign_in_and_audits_them(sso):
    northwind = TenantFactory(slug="northwind", external_id="nw-1")
    contoso = TenantFactory(slug="contoso", external_id="co-1")
    by_hand = TenantFactory(slug="by-hand")  # no external ID: not the claim's to manage
    user = UserFactory(username="erin", email="erin@example.com")
    MembershipFactory(user=user, tenant=northwind, role=Role.VIEWER)
    MembershipFactory(user=user, tenant=contoso, role=Role.VIEWER)
    MembershipFactory(user=user, tenant=by_hand, role=Role.VIEWER)
    sso.set_claims(
        {"erin": {"tenants": [{"external_id": "nw-1", "role": "administrator"}, {"external_id": "gone"}]}}
    )
    # A malformed claim (an entry without a role) refuses the sign-in and changes nothing.
    assert sign_in_through_provider(Client(), "erin").status_code == 403
    assert Membership.objects.filter(user=user).count() == 3
    sso.set_claims(
        {
            "erin": {
                "tenants": [
                    {"external_id": "nw-1", "role": "administrator"},
                    {"external_id": "unknown", "role": "viewer"},
                ]
            }
        }
    )
    northwind.administrators_must_use_mfa = False
    northwind.save()
    assert sign_in_through_provider(Client(), "erin").status_code == 302
    roles = dict(Membership.objects.filter(user=user).values_list("tenant__slug", "role"))
    assert roles == {"northwind": "administrator", "by-hand": "viewer"}
    assert actions_of(tenant=northwind) == ["membership.role_changed"]
    assert actions_of(tenant=contoso) == ["membership.removed"]
    assert actions_of(tenant=by_hand) == []
    signed_in = AuditEvent.objects.get(action="sso.signed_in")
    assert signed_in.details["unknown_tenants"] == ["unknown"]
    # The same claim again changes nothing, so nothing more is audited.
    assert sign_in_through_provider(Client(), "erin").status_code == 302
    assert actions_of(tenant=northwind) == ["membership.role_changed"]


def test_an_administrator_is_verified_for_mfa_only_when_the_provider_says_so(sso):
    tenant = TenantFactory(slug="northwind", external_id="nw-1", administrators_must_use_mfa=True)
    claim = {"tenants": [{"external_id": "nw-1", "role": "administrator"}]}
    sso.set_claims({"frank": claim})
    client = Client()
    assert sign_in_through_provider(client, "frank").status_code == 302
    # No amr from the provider: accessgov asks for its own second factor, as after a password.
    assert client.get("/t/northwind/")["Location"] == "/accounts/mfa/"
    sso.set_claims({"frank": {**claim, "amr": ["pwd", "mfa"]}})
    client = Client()
    assert sign_in_through_provider(client, "frank").status_code == 302
    assert client.get("/t/northwind/").status_code == 200
    assert tenant.memberships.get().role == Role.ADMINISTRATOR
    # /admin/ still wants accessgov's own second factor (and staff status).
    assert client.get("/admin/").status_code == 302


def test_someone_with_an_authenticator_gives_its_code_after_the_provider(sso):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = UserFactory(username="bob", email="bob@example.com")
    TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    client = Client()
    response = sign_in_through_provider(client, "bob")
    assert response["Location"] == "/accounts/login/verify/"
    assert "_auth_user_id" not in client.session


def test_password_sign_in_turned_off_sends_members_to_the_provider(sso):
    tenant = TenantFactory(name="Northwind", slug="northwind", external_id="nw-1", password_sign_in=False)
    tenant.administrators_must_use_mfa = False
    tenant.save()
    user = UserFactory(username="alice", email="alice@example.com")
    MembershipFactory(user=user, tenant=tenant, role=Role.TECHNICIAN)
    client = Client()
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with Example ID" in page and "must use" in page
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 403
    assert (
        "Northwind does not accept passwords: use <strong>Sign in with Example ID</strong> above."
        in response.content.decode()
    )
    assert "_auth_user_id" not in client.session
    assert actions_of(tenant=tenant) == ["sign_in.password_refused"]
    # A wrong password says only that: nobody learns which tenants refuse passwords.
    wrong = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert "Northwind" not in wrong.content.decode()
    # Through the provider the same person gets in.
    sso.set_claims({"alice": {"tenants": [{"external_id": "nw-1", "role": "technician"}]}})
    assert sign_in_through_provider(client, "alice").status_code == 302
    assert client.get("/t/northwind/").status_code == 200


def test_staff_keep_their_password_but_open_an_sso_only_tenant_only_after_sso(sso):
    tenant = TenantFactory(slug="northwind", password_sign_in=False, administrators_must_use_mfa=False)
    staff = UserFactory(username="support-1", is_staff=True)
    MembershipFactory(user=staff, tenant=tenant, role=Role.VIEWER)
    client = Client()
    assert client.post("/accounts/login/", {"username": "support-1", "password": PASSWORD}).status_code == 302
    response = client.get("/t/northwind/")
    assert response.status_code == 403
    assert "does not accept password sign-in" in response.content.decode()


def test_a_refused_consent_is_a_clear_refusal_and_audited(sso):
    response = sign_in_through_provider(Client(), "alice", allow=False)
    assert response.status_code == 403
    assert "The identity provider did not sign you in (access_denied)" in response.content.decode()
    assert AuditEvent.objects.get(action="sso.refused").details == {"reason": "provider_error"}


def test_a_callback_this_browser_did_not_start_is_refused(sso):
    client = Client()
    response = client.get("/accounts/sso/callback/?code=abc&state=forged")
    assert response.status_code == 403
    assert "was not started in this browser" in response.content.decode()


def test_the_start_is_a_post_and_without_a_provider_nothing_is_offered(client, settings):
    settings.OIDC_DISCOVERY_URL = ""
    assert client.get("/accounts/sso/").status_code == 405
    assert "single sign-on" not in client.get("/accounts/login/").content.decode().lower()
    response = client.post("/accounts/sso/")
    assert response.status_code == 403
    assert "Single sign-on is not set up" in response.content.decode()


def test_staff_see_links_and_unlinking_one_is_audited(staff_client, sso):
    user = UserFactory(username="bob", email="bob@example.com")
    assert sign_in_through_provider(Client(), "bob").status_code == 302
    link = ProviderAccount.objects.get(user=user)
    page = staff_client.get("/admin/accessgov/provideraccount/")
    assert page.status_code == 200 and "bob" in page.content.decode()
    assert (
        staff_client.post(f"/admin/accessgov/provideraccount/{link.pk}/delete/", {"post": "yes"}).status_code
        == 302
    )
    assert not ProviderAccount.objects.exists()
    unlinked = AuditEvent.objects.get(action="sso.account_unlinked")
    assert unlinked.actor_label == "support (staff)" and unlinked.details["subject"] == link.subject


def test_staff_turning_password_sign_in_off_is_in_the_tenants_activity(staff_client):
    tenant = TenantFactory(name="Northwind", slug="northwind")
    data = {
        "name": "Northwind",
        "slug": "northwind",
        "administrators_must_use_mfa": "on",
        "external_id": "",
        **{
            f"{prefix}-{key}": value
            for prefix in ("organizations", "memberships")
            for key, value in {
                "TOTAL_FORMS": "0",
                "INITIAL_FORMS": "0",
                "MIN_NUM_FORMS": "0",
                "MAX_NUM_FORMS": "1000",
            }.items()
        },
    }
    response = staff_client.post(f"/admin/tenants/tenant/{tenant.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]
    tenant.refresh_from_db()
    assert tenant.password_sign_in is False and tenant.external_id is None
    [event] = AuditEvent.objects.filter(action="tenant.password_sign_in_changed")
    assert event.tenant == tenant and event.details == {"password_sign_in": [True, False]}
