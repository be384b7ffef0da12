"""Policy: administrators of a tenant that requires MFA add a factor before any tenant page; staff
must be verified to use /admin/, and /admin/ signs in through the same two steps."""

import pytest
import time_machine
from django.test import Client

from accessgov.audit.models import AuditEvent
from tenants.models import Role, Tenant
from tests.conftest import verified_client_for
from tests.factories import PASSWORD, MembershipFactory, TenantFactory, UserFactory
from tests.mfa.conftest import code_for
from tests.mfa.test_totp import NOW, sign_in_password, submit_code

pytestmark = pytest.mark.django_db


def test_new_tenants_require_mfa_of_their_administrators(db):
    assert Tenant.objects.create(name="New", slug="new").administrators_must_use_mfa is True


@pytest.mark.parametrize("path", ["/t/acme/", "/t/acme/settings/api/", "/t/acme/settings/api/tokens/"])
def test_an_administrator_without_a_factor_is_sent_to_add_one(admin_client, tenant, path):
    tenant.administrators_must_use_mfa = True
    tenant.save()
    response = admin_client.get(path)
    assert response.status_code == 302 and response["Location"] == "/accounts/mfa/"


def test_a_verified_administrator_uses_the_tenant(admin_user, tenant):
    tenant.administrators_must_use_mfa = True
    tenant.save()
    assert verified_client_for(admin_user).get("/t/acme/").status_code == 200


def test_other_roles_and_other_tenants_are_not_asked(tenant, admin_client):
    relaxed = TenantFactory(slug="relaxed", administrators_must_use_mfa=False)
    strict = TenantFactory(slug="strict", administrators_must_use_mfa=True)
    technician = UserFactory(username="tech")
    MembershipFactory(user=technician, tenant=strict, role=Role.TECHNICIAN)
    user = UserFactory(username="boss")
    MembershipFactory(user=user, tenant=relaxed, role=Role.ADMINISTRATOR)
    tech_client, boss_client = Client(), Client()
    tech_client.force_login(technician)
    boss_client.force_login(user)
    assert tech_client.get("/t/strict/").status_code == 200
    assert boss_client.get("/t/relaxed/").status_code == 200


def test_a_stranger_still_gets_404_not_a_redirect(admin_client, other_tenant):
    other_tenant.administrators_must_use_mfa = True
    other_tenant.save()
    assert admin_client.get("/t/rival/").status_code == 404


def test_staff_signed_in_with_a_password_only_cannot_use_the_admin(db):
    staff = UserFactory(username="support", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert client.get(response["Location"])["Location"] == "/accounts/mfa/"
    assert client.get("/admin/tenants/tenant/").status_code == 302


def test_staff_sign_in_to_the_admin_with_a_password_and_a_code(db):
    staff = UserFactory(username="support", is_staff=True, is_superuser=True)
    device = staff.totpdevice_set.create(name="Authenticator app", confirmed=True)
    client = Client()
    with time_machine.travel(NOW, tick=False):
        response = client.post(
            "/admin/login/?next=/admin/",
            {"username": "support", "password": PASSWORD, "next": "/admin/"},
            REMOTE_ADDR="203.0.113.5",
        )
        assert response["Location"] == "/accounts/login/verify/"
        assert "_auth_user_id" not in client.session
        assert submit_code(client, code_for(device))["Location"] == "/admin/"
        assert client.get("/admin/").status_code == 200
    assert AuditEvent.objects.filter(actor=staff, action="mfa.verified").exists()


def test_signing_in_at_the_console_without_a_factor_leaves_the_admin_shut(db):
    UserFactory(username="support", is_staff=True, is_superuser=True)
    client = Client()
    sign_in_password(client, username="support")
    assert client.get("/admin/").status_code == 302
