"""The demo data that `manage.py seed_demo` and `make run` create."""

import secrets
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice
from oauth2_provider.models import Application

from accessgov.trusted.models import TrustedApplication
from tenants.models import Membership, Organization, Role, Tenant

DEMO_USERS = [
    ("demo-admin", "demo", Role.ADMINISTRATOR),
    ("demo-tech", "demo", Role.TECHNICIAN),
    ("other-admin", "other", Role.ADMINISTRATOR),
]


@dataclass
class SeedResult:
    new_users: list[str] = field(default_factory=list)
    # The otpauth URI of an authenticator made for a demo user, to print once (never stored in clear elsewhere).
    new_authenticators: dict[str, str] = field(default_factory=dict)


@transaction.atomic
def seed_demo(*, password: str, reset_passwords: bool) -> SeedResult:
    """Create the demo tenants, organizations and users that are missing; return who was new."""
    result = SeedResult()
    demo, _ = Tenant.objects.get_or_create(slug="demo", defaults={"name": "Demo Partner"})
    if not demo.administrators_must_use_mfa:
        demo.administrators_must_use_mfa = True
        demo.save(update_fields=["administrators_must_use_mfa"])
    other, _ = Tenant.objects.get_or_create(slug="other", defaults={"name": "Other Partner"})
    for name in ("Contoso", "Fabrikam"):
        Organization.objects.get_or_create(tenant=demo, name=name)
    Organization.objects.get_or_create(tenant=other, name="Northwind")
    tenants = {"demo": demo, "other": other}
    user_model = get_user_model()
    for username, slug, role in DEMO_USERS:
        user, created = user_model.objects.get_or_create(username=username)
        if created or reset_passwords:
            user.set_password(password)
            user.save()
        if created:
            result.new_users.append(username)
        Membership.objects.update_or_create(user=user, tenant=tenants[slug], defaults={"role": role})
        if username == "demo-admin" and not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            # The demo tenant requires MFA of its administrators: demo-admin gets an authenticator
            # whose key is printed once, so `make run` shows the two-step sign-in.
            device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
            result.new_authenticators[username] = device.config_url
    _seed_trusted_application()
    return result


def _seed_trusted_application() -> None:
    """Define one trusted application so the Trusted Applications tab has something to show.

    Its client secret is random and thrown away (DOT stores it hashed): the demo shows the tab and
    the consent page, and support sets a real secret in the admin for a real integration.
    """
    if TrustedApplication.objects.filter(name="Demo PSA").exists():
        return
    oauth_application = Application.objects.create(
        name="Demo PSA",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://psa.example.com/oauth/callback",
        client_secret=secrets.token_urlsafe(32),
        algorithm="",
    )
    TrustedApplication.objects.create(
        name="Demo PSA",
        vendor="Example PSA Inc.",
        description="Creates tickets for alerts and keeps organizations in sync.",
        oauth_application=oauth_application,
        permissions=["Me.Read", "Organizations.Read", "Notify.Send"],
        all_organizations=False,
    )
