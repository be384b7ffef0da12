"""Seed a fresh accessgov database for the ops tests; run inside `manage.py shell`.

    manage.py shell -c "from tests.ops.seed import main; main(revoked=0, deliveries=0, webhook_port=0)"

Prints one JSON line: the tenant, a signed-in administrator's session key and active tokens.
"""

import json
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from tenants.models import Role
from tests.conftest import current_policy, enable_api
from tests.factories import (
    ApprovedWebhookDomainFactory,
    MembershipFactory,
    TenantFactory,
    ThirdPartyTokenFactory,
    UserFactory,
    WebhookDeliveryFactory,
    WebhookDestinationFactory,
)
from tokens.models import ThirdPartyToken

PERMISSIONS = ["Me.Read", "Organizations.Read", "AuditEvents.Read", "Notify.Send"]


def main(*, tokens: int = 6, revoked: int = 0, deliveries: int = 0, webhook_port: int = 0) -> None:
    """Make a tenant with API access on, an administrator, TOKENS tokens and optional bulk rows."""
    tenant = TenantFactory(name="Ops Partner", slug="ops")
    admin = UserFactory(username="ops-admin")
    MembershipFactory(user=admin, tenant=tenant, role=Role.ADMINISTRATOR)
    enable_api(tenant, by=admin)
    made = [ThirdPartyTokenFactory(tenant=tenant, permissions=PERMISSIONS) for _ in range(tokens)]
    if revoked:
        template = ThirdPartyTokenFactory.build(tenant=tenant)
        long_ago = timezone.now() - timedelta(days=400)
        ThirdPartyToken.objects.bulk_create(
            [
                ThirdPartyToken(
                    tenant=tenant,
                    token_id=f"agt_9{index:011d}",
                    name=f"Old script {index}",
                    digest=template.digest,
                    pepper_id=template.pepper_id,
                    starts_at=long_ago,
                    permissions=["Me.Read"],
                    created_at=long_ago,
                    updated_at=long_ago,
                    secret_set_at=long_ago,
                    revoked_at=long_ago + timedelta(seconds=index),
                )
                for index in range(revoked)
            ],
            batch_size=2000,
        )
    destination_secret = ""
    if deliveries:
        ApprovedWebhookDomainFactory(tenant=tenant, domain="hooks.example.com")
        destination = WebhookDestinationFactory(
            tenant=tenant,
            url=f"https://hooks.example.com:{webhook_port}/hooks",
            host="hooks.example.com",
            events=["notify"],
        )
        destination_secret = destination.signing_secret
        for _ in range(deliveries):
            WebhookDeliveryFactory(tenant=tenant, destination=destination, event_type="notify")
    client = Client()
    client.force_login(admin)
    print(
        json.dumps(
            {
                "tenant": tenant.slug,
                "session": client.cookies["sessionid"].value,
                "tokens": [[token.token_id, token.secret] for token in made],
                "policy": current_policy().version,
                "destination_secret": destination_secret,
            }
        )
    )
