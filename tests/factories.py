"""factory_boy factories for the suite's rows."""

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from accessgov import keys
from accessgov.models import ApiKey, ApiUser, AuditEvent, PolicyVersion
from tenants.models import Membership, Organization, Role, Tenant

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Organization {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    tenant = factory.SubFactory(TenantFactory)
    role = Role.ADMINISTRATOR


class PolicyVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PolicyVersion
        django_get_or_create = ["version"]

    version = factory.Sequence(lambda n: f"9.{n}")
    text = "Use the API responsibly."


class ApiUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiUser

    tenant = factory.SubFactory(TenantFactory)
    username = factory.LazyAttribute(lambda o: ApiUser.username_for(o.tenant))
    is_active = True


class ApiKeyFactory(factory.django.DjangoModelFactory):
    """An API key; the raw value is on the instance as `raw` (tests only)."""

    class Meta:
        model = ApiKey
        exclude = ["raw"]

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Integration {n}")
    raw = factory.LazyFunction(lambda: keys.generate_secret(keys.API_KEY_PREFIX))
    prefix = factory.LazyAttribute(lambda o: keys.visible_prefix(o.raw, keys.API_KEY_PREFIX))
    digest = factory.LazyAttribute(lambda o: keys.digest_secret(o.raw))
    pepper_id = factory.LazyFunction(keys.current_pepper_id)
    created_at = factory.LazyFunction(timezone.now)


class AuditEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditEvent

    tenant = factory.SubFactory(TenantFactory)
    actor_label = "someone"
    action = "api_key.created"
