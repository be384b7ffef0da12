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
# The operator's support staff, for /admin/ (which asks every staff member for a second factor).
DEMO_SUPPORT = "demo-support"
DEMO_CLIENT_NAME = "Demo PSA"
DEMO_REDIRECT_URI = "https://psa.example.com/oauth/callback"


@dataclass
class SeedResult:
    new_users: list[str] = field(default_factory=list)
    # The otpauth URI of an authenticator made for a demo user, to print once (never stored in clear elsewhere).
    new_authenticators: dict[str, str] = field(default_factory=dict)
    # The demo trusted application's OAuth client ID, and its secret when this run made one (DOT
    # keeps only a hash: a secret made earlier cannot be shown again).
    client_id: str = ""
    client_secret: str | None = None


def _add_authenticator(user, result: SeedResult) -> None:
    """Give USER a confirmed authenticator unless they have one, its URI kept in RESULT to print once."""
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
        result.new_authenticators[user.get_username()] = device.config_url


@transaction.atomic
def seed_demo(*, password: str, reset_passwords: bool, new_client_secret: bool = False) -> SeedResult:
    """Create the demo tenants, organizations and users that are missing; return who was new.

    NEW_CLIENT_SECRET gives the demo trusted application a new client secret (the old one stops).
    """
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
        if username == "demo-admin":
            # The demo tenant requires MFA of its administrators: demo-admin gets an authenticator
            # whose key is printed once, so `make run` shows the two-step sign-in.
            _add_authenticator(user, result)
    support, created = user_model.objects.get_or_create(
        username=DEMO_SUPPORT, defaults={"is_staff": True, "is_superuser": True}
    )
    if created or reset_passwords:
        support.set_password(password)
        support.save()
    if created:
        result.new_users.append(DEMO_SUPPORT)
    # /admin/ answers staff only after a second factor (accessgov.mfa.admin): same as demo-admin.
    _add_authenticator(support, result)
    result.client_id, result.client_secret = _seed_trusted_application(new_client_secret=new_client_secret)
    return result


def _seed_trusted_application(*, new_client_secret: bool) -> tuple[str, str | None]:
    """Define one trusted application, so the OAuth flow can be tried (README); return its client
    ID, and its client secret when this call made one.

    DOT stores the secret hashed, so it is returned (to be printed) only when made: on the first
    run, or when NEW_CLIENT_SECRET asks for a new one, which replaces the old.
    """
    existing = (
        TrustedApplication.objects.filter(name=DEMO_CLIENT_NAME).select_related("oauth_application").first()
    )
    if existing is not None:
        oauth_application = existing.oauth_application
        if not new_client_secret:
            return oauth_application.client_id, None
        secret = secrets.token_urlsafe(32)
        oauth_application.client_secret = secret  # hashed by DOT's field on save
        oauth_application.save(update_fields=["client_secret"])
        return oauth_application.client_id, secret
    secret = secrets.token_urlsafe(32)
    oauth_application = Application.objects.create(
        name=DEMO_CLIENT_NAME,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=DEMO_REDIRECT_URI,
        client_secret=secret,
        algorithm="",
    )
    TrustedApplication.objects.create(
        name=DEMO_CLIENT_NAME,
        vendor="Example PSA Inc.",
        description="Creates tickets for alerts and keeps organizations in sync.",
        oauth_application=oauth_application,
        permissions=["Me.Read", "Organizations.Read", "Notify.Send"],
        all_organizations=False,
    )
    return oauth_application.client_id, secret
