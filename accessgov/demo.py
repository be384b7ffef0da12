"""The demo data that `manage.py seed_demo` and `make run` create."""

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction

from tenants.models import Membership, Organization, Role, Tenant

DEMO_USERS = [
    ("demo-admin", "demo", Role.ADMINISTRATOR),
    ("demo-tech", "demo", Role.TECHNICIAN),
    ("other-admin", "other", Role.ADMINISTRATOR),
]


@dataclass
class SeedResult:
    new_users: list[str] = field(default_factory=list)


@transaction.atomic
def seed_demo(*, password: str, reset_passwords: bool) -> SeedResult:
    """Create the demo tenants, organizations and users that are missing; return who was new."""
    result = SeedResult()
    demo, _ = Tenant.objects.get_or_create(slug="demo", defaults={"name": "Demo Partner"})
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
    return result
