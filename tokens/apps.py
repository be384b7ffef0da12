from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "tokens"

    def ready(self) -> None:
        # The policy floor owns the cap on live credentials but may not import tokens: it asks.
        from accessgov.audit.actions import organization_deleted
        from accessgov.policy.access import live_credentials_counted
        from tokens.models import count_live_tokens, drop_deleted_organization

        live_credentials_counted.connect(count_live_tokens, dispatch_uid="tokens-live-credentials")
        # Deleting an organization takes it out of every token's scope (the audit floor asks).
        organization_deleted.connect(drop_deleted_organization, dispatch_uid="tokens-organization-deleted")
