"""factory_boy factories for the suite's rows."""

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from accessgov.audit.models import AuditEvent
from accessgov.core import keys
from accessgov.policy.models import ApiKey, ApiUser, PolicyVersion
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
    # The model's default is on (tests/mfa/test_policy.py); most tests are about other pages, and
    # their administrators sign in with a password only. Tests of the MFA policy turn it on.
    administrators_must_use_mfa = False


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


from datetime import timedelta  # noqa: E402  (appended with the factory that needs it)


class ThirdPartyTokenFactory(factory.django.DjangoModelFactory):
    """A third-party token; the raw secret is on the instance as `secret` (tests only).

    Traits: revoked=True (revoked now), expired=True, scheduled=True, selected_organizations=True.
    """

    class Meta:
        model = "tokens.ThirdPartyToken"

    class Params:
        revoked = factory.Trait(revoked_at=factory.LazyFunction(timezone.now))
        expired = factory.Trait(
            starts_at=factory.LazyFunction(lambda: timezone.now() - timedelta(days=10)),
            expires_at=factory.LazyFunction(lambda: timezone.now() - timedelta(days=1)),
        )
        scheduled = factory.Trait(starts_at=factory.LazyFunction(lambda: timezone.now() + timedelta(days=1)))
        selected_organizations = factory.Trait(all_organizations=False)

    tenant = factory.SubFactory(TenantFactory)
    token_id = factory.Sequence(lambda n: f"agt_{n:012d}")
    name = factory.Sequence(lambda n: f"Script {n}")
    secret = factory.LazyFunction(lambda: keys.generate_secret(keys.TOKEN_SECRET_PREFIX))
    digest = factory.LazyAttribute(lambda o: keys.digest_secret(o.secret))
    pepper_id = factory.LazyFunction(keys.current_pepper_id)
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    expires_at = None
    permissions = factory.LazyFunction(lambda: ["Me.Read"])
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyAttribute(lambda o: o.created_at)
    secret_set_at = factory.LazyAttribute(lambda o: o.created_at)

    @classmethod
    def _create(cls, model_class, *args, secret: str, **kwargs):
        token = super()._create(model_class, *args, **kwargs)
        token.secret = secret
        return token

    @classmethod
    def _build(cls, model_class, *args, secret: str, **kwargs):
        token = super()._build(model_class, *args, **kwargs)
        token.secret = secret
        return token


# Webhook API (webhooks app)
from webhooks import signing as webhook_signing  # noqa: E402
from webhooks.models import (  # noqa: E402
    ApprovedWebhookDomain,
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDestination,
)


class ApprovedWebhookDomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApprovedWebhookDomain

    tenant = factory.SubFactory(TenantFactory)
    domain = factory.Sequence(lambda n: f"hooks{n}.example.com")


class WebhookDestinationFactory(factory.django.DjangoModelFactory):
    """A destination; its host is taken from the URL, its events default to notify and test."""

    class Meta:
        model = WebhookDestination

    tenant = factory.SubFactory(TenantFactory)
    url = factory.Sequence(lambda n: f"https://hooks.example.com/receiver/{n}")
    host = factory.LazyAttribute(lambda o: o.url.split("/")[2].split(":")[0])
    events = factory.LazyFunction(lambda: ["notify", "test"])
    is_enabled = True
    signing_secret = factory.LazyFunction(webhook_signing.generate_secret)

    class Params:
        disabled = factory.Trait(is_enabled=False)


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    destination = factory.SubFactory(WebhookDestinationFactory)
    tenant = factory.SelfAttribute("destination.tenant")
    webhook_id = factory.LazyFunction(webhook_signing.generate_message_id)
    event_type = "notify"
    body = '{"data":{},"timestamp":"2026-01-01T00:00:00Z","type":"notify"}'
    state = DeliveryState.PENDING
    next_attempt_at = factory.LazyFunction(timezone.now)

    class Params:
        failed = factory.Trait(state=DeliveryState.FAILED, attempts=7, next_attempt_at=None)


class WebhookAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookAttempt

    delivery = factory.SubFactory(WebhookDeliveryFactory)
    tenant = factory.SelfAttribute("delivery.tenant")
    destination = factory.SelfAttribute("delivery.destination")
    number = 1
    started_at = factory.LazyFunction(timezone.now)
    status_code = 200
    succeeded = True


# Trusted Applications (accessgov.trusted)
from oauth2_provider.models import Application as OAuthApplication  # noqa: E402

from accessgov.trusted.models import TrustedApplication, TrustedApplicationAuthorization  # noqa: E402

OAUTH_CLIENT_SECRET = "test-client-secret-" + "s" * 40
OAUTH_REDIRECT_URI = "https://app.example.com/callback"


class OAuthApplicationFactory(factory.django.DjangoModelFactory):
    """A DOT application for the authorization code flow; its raw secret is OAUTH_CLIENT_SECRET."""

    class Meta:
        model = OAuthApplication

    name = factory.Sequence(lambda n: f"OAuth client {n}")
    client_type = OAuthApplication.CLIENT_CONFIDENTIAL
    authorization_grant_type = OAuthApplication.GRANT_AUTHORIZATION_CODE
    redirect_uris = OAUTH_REDIRECT_URI
    client_secret = OAUTH_CLIENT_SECRET
    algorithm = ""


class TrustedApplicationFactory(factory.django.DjangoModelFactory):
    """A trusted application asking for Me.Read and Organizations.Read of organizations chosen at consent."""

    class Meta:
        model = TrustedApplication

    name = factory.Sequence(lambda n: f"Trusted app {n}")
    vendor = "Kaseya"
    description = "Syncs tickets."
    oauth_application = factory.SubFactory(OAuthApplicationFactory)
    permissions = factory.LazyFunction(lambda: ["Me.Read", "Organizations.Read"])
    all_organizations = False


class TrustedApplicationAuthorizationFactory(factory.django.DjangoModelFactory):
    """A tenant's authorization of a trusted application. Trait: revoked=True."""

    class Meta:
        model = TrustedApplicationAuthorization

    class Params:
        revoked = factory.Trait(revoked_at=factory.LazyFunction(timezone.now))

    tenant = factory.SubFactory(TenantFactory)
    application = factory.SubFactory(TrustedApplicationFactory)
    authorized_at = factory.LazyFunction(timezone.now)
    permissions = factory.LazyFunction(lambda: ["Me.Read"])
    all_organizations = True
