from django.db import migrations
from django.utils import timezone

POLICY_TEXT = """By agreeing to this API Policy, you, on behalf of your organization, accept that:

1. API credentials (API keys and third-party token secrets) are confidential. Store them in a secret manager, use them only from trusted server-side code, and never paste them into browser code, public repositories, screenshots, support chats or customer-facing documentation.

2. Each credential should serve one integration, so that one can be deleted or revoked without breaking the others. Delete or revoke a credential immediately if it may have leaked.

3. API requests are authenticated, made over HTTPS only, and subject to rate limits. Clients that exceed the limits or send repeated failed requests are temporarily blocked.

4. Webhook data is sent only to destinations on approved domains that you own or explicitly trust. Review your approved webhook domains periodically and remove those no longer required.

5. Every change to API access, credentials and webhook settings is recorded in the tenant's audit log with who made it, when and from where.

6. An administrator may turn API access off at any time; every credential of the tenant then stops working at once."""


def add_default_policy(apps, schema_editor):
    PolicyVersion = apps.get_model("accessgov", "PolicyVersion")
    PolicyVersion.objects.get_or_create(version="1.0", defaults={"text": POLICY_TEXT, "published_at": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [("accessgov", "0001_initial")]

    operations = [migrations.RunPython(add_default_policy, migrations.RunPython.noop)]
